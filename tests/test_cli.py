from __future__ import annotations

import json
import re

from conftest import HWASONG, SEEDS
from typer.testing import CliRunner

from paratopic.cli import app

runner = CliRunner()


def test_index_search_similar_info_roundtrip(tmp_path):
    out = tmp_path / "idx"
    result = runner.invoke(app, ["index", str(SEEDS), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "paragraphs in index" in result.output and "128" in result.output
    result = runner.invoke(app, ["search", str(out), "Triều Tiên phóng tên lửa đạn đạo liên lục địa", "-k", "3", "--json"])
    assert result.exit_code == 0, result.output
    hits = json.loads(result.output)
    assert len(hits) == 3 and hits[0]["id"] in HWASONG
    result = runner.invoke(app, ["similar", str(out), HWASONG[0], "-k", "2", "--other-documents", "--json"])
    assert result.exit_code == 0, result.output
    assert all(h["doc_id"] != "000_bafd0c5b1fa3f0f2" for h in json.loads(result.output))
    result = runner.invoke(app, ["info", str(out)])
    assert result.exit_code == 0 and "boilerplate: photo caption" in result.output
    # indexing the same folder again embeds nothing and skips every document
    result = runner.invoke(app, ["index", str(SEEDS), "--out", str(out)])
    assert result.exit_code == 0 and "extended" in result.output


def test_errors_are_one_clear_line(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    result = runner.invoke(app, ["index", str(empty), "--out", str(tmp_path / "x")])
    assert result.exit_code == 1
    assert "no readable files" in result.output and "Traceback" not in result.output
    result = runner.invoke(app, ["search", str(tmp_path / "nothing"), "query"])
    assert result.exit_code == 1 and "no such index directory" in result.output


def test_run_writes_report_and_topics_reloads(tmp_path):
    out = tmp_path / "seeds"
    result = runner.invoke(app, ["run", str(SEEDS), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert (out / "report.html").stat().st_size > 100_000
    assert "### Topic 0:" in (out / "report.md").read_text(encoding="utf-8")
    assert (out / "index" / "topics").is_dir()
    result = runner.invoke(app, ["topics", str(out / "index"), "--details", "1"])
    assert result.exit_code == 0, result.output
    assert "topics over" in result.output and "topic 0:" in result.output
    result = runner.invoke(app, ["report", str(out / "index"), "--out", str(tmp_path / "r.json")])
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert data["overview"]["paragraphs"] == 128 and data["topics"]


def _unboxed(text: str) -> str:
    """Table output without borders and spaces: a value folded over lines reads whole again."""
    return re.sub(r"[\s│]", "", text)


def test_commands_accept_the_folder_run_wrote(tmp_path):
    """`paratopic search OUT` (OUT from `run`) uses OUT/index; the fit message counts the paragraphs modelled."""
    from cluster.topics.setaside import fit_mask
    from embed import ParagraphIndex

    out = tmp_path / "seeds"
    result = runner.invoke(app, ["run", str(SEEDS), "--out", str(out)])
    assert result.exit_code == 0, result.output
    index = ParagraphIndex.load(out / "index")
    modelled = int(fit_mask(index.paragraphs).sum())
    assert f"fitting topics over {modelled} of {len(index)} paragraphs" in " ".join(result.output.split())
    assert index.model_id in _unboxed(result.output)  # the model id whole in the index table, not cut with "…"
    result = runner.invoke(app, ["search", str(out), "Triều Tiên phóng tên lửa đạn đạo liên lục địa", "-k", "2", "--json"])
    assert result.exit_code == 0, result.output
    assert "using the index in" in result.stderr and json.loads(result.stdout)[0]["id"] in HWASONG
    result = runner.invoke(app, ["similar", str(out), HWASONG[0], "-k", "1", "--json"])
    assert result.exit_code == 0 and len(json.loads(result.stdout)) == 1, result.output
    result = runner.invoke(app, ["info", str(out)])
    assert result.exit_code == 0 and index.model_id in _unboxed(result.stdout), result.output
    result = runner.invoke(app, ["topics", str(out), "--details", "1"])
    assert result.exit_code == 0 and "topic 0:" in result.stdout, result.output
    result = runner.invoke(app, ["report", str(out), "--out", str(tmp_path / "r.md")])
    assert result.exit_code == 0 and "## Topic similarity" in (tmp_path / "r.md").read_text("utf-8"), result.output
    assert not (out / "topics").exists()  # nothing written beside index/


def test_obvious_mistakes_are_refused_before_any_work(tmp_path):
    missing = tmp_path / "no-index-here"
    for args in (["--out", str(tmp_path / "x.pdf")], ["--out", str(tmp_path / "x.html"), "--format", "pdf"]):
        result = runner.invoke(app, ["report", str(missing), *args])
        assert result.exit_code == 1 and "html, md, json" in result.output, result.output
        assert "no such index" not in result.output and "Traceback" not in result.output  # refused first
    assert not any(tmp_path.iterdir())
    result = runner.invoke(app, ["topics", str(missing), "--details", "-1"])
    assert result.exit_code == 2 and "--details" in result.output, result.output


def test_topics_on_a_sample(tmp_path):
    out = tmp_path / "idx"
    assert runner.invoke(app, ["index", str(SEEDS), "--out", str(out)]).exit_code == 0
    result = runner.invoke(app, ["topics", str(out), "--sample", "30"])
    assert result.exit_code == 0, result.output
    assert "sample of 30 of 128" in result.output and (out / "topics" / "topic_model.json").is_file()
    assert runner.invoke(app, ["report", str(out), "--out", str(tmp_path / "r.html")]).exit_code == 0
    refused = runner.invoke(app, ["topics", str(out), "--ray", "auto"])
    assert refused.exit_code == 1 and "--ray needs --sample" in refused.output


def test_help_and_version_load_no_heavy_library():
    """`paratopic --help` and `--version` answer without importing pandas, numpy, FAISS or ONNX Runtime
    (the library is loaded inside each command), and `--version` prints the package's version."""
    import subprocess
    import sys

    from paratopic import __version__

    probe = ("import sys; from paratopic.cli import app; sys.argv = ['paratopic', sys.argv[1]]\n"
             "try:\n    app()\nexcept SystemExit:\n    pass\n"
             "print('LOADED', sorted(m for m in ('pandas', 'numpy', 'faiss', 'onnxruntime', 'cluster.topics.model') "
             "if m in sys.modules))")
    for flag in ("--help", "--version"):
        out = subprocess.run([sys.executable, "-c", probe, flag], capture_output=True, text=True, check=True).stdout
        assert out.rstrip().endswith("LOADED []"), out
    version = subprocess.run([sys.executable, "-c", probe, "--version"], capture_output=True, text=True).stdout
    assert version.startswith(f"paratopic {__version__}")
