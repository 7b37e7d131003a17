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


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_renamed_options_still_work_with_a_warning(tmp_path):
    """Options are named like the parameters they set; the old spellings are hidden aliases that warn and
    set the same parameter (the refusals below name the new option, so the value reached it)."""
    missing = tmp_path / "no-index"
    for old, new, value in [("--seed", "--random-state", "1"), ("--min-topic-size", "--min-cluster-size", "3")]:
        result = runner.invoke(app, ["topics", str(missing), old, value, "--update"])
        out = _flat(result.output)
        assert result.exit_code == 1, result.output
        assert f"warning: {old} is deprecated" in out and f"use {new}" in out
        assert f"cannot be combined with {new}" in out
        both = runner.invoke(app, ["topics", str(missing), old, value, new, value])
        assert both.exit_code == 1 and "give it once" in _flat(both.output), both.output
    result = runner.invoke(app, ["topics", str(missing), "--sample", "30", "--update"])
    assert result.exit_code == 1 and "--sample-size fits anew" in _flat(result.output), result.output
    assert "warning: --sample is deprecated" in _flat(result.output)
    result = runner.invoke(app, ["index", str(SEEDS), "--out", str(tmp_path / "x"), "--model", "e6"])
    out = _flat(result.output)
    assert result.exit_code == 1 and "warning: --model is deprecated" in out and "--embedder 'e6' is not a model name" in out
    assert not (tmp_path / "x").exists()
    topics_help = _flat(runner.invoke(app, ["topics", "--help"]).output)
    assert "--min-cluster-size" in topics_help and "--random-state" in topics_help and "--sample-size" in topics_help
    assert "--seed" not in topics_help and "--min-topic-size" not in topics_help and "--sample " not in topics_help
    index_help = _flat(runner.invoke(app, ["index", "--help"]).output)
    assert "--embedder" in index_help and "--model" not in index_help


def test_workspace_builds_fits_updates_and_reports(tmp_path):
    """The operations the commands call, on the library: build an index from part of the seeds, fit topics
    and stories, add the rest, update both without a refit (old rows keep their topics), write a report."""
    import shutil

    import numpy as np

    from cluster.workspace import Workspace

    first, rest = tmp_path / "first", tmp_path / "rest"
    first.mkdir()
    rest.mkdir()
    files = sorted(SEEDS.glob("*.txt"))
    for path in files[:3]:
        shutil.copy(path, first / path.name)
    for path in files[3:]:
        shutil.copy(path, rest / path.name)
    out = tmp_path / "idx"
    lines: list[str] = []
    workspace, done = Workspace.index_articles(out, [first], notify=lines.append, embedder="e5", cache=False)
    assert not done.extended and done.stats.documents == 3 and (out / "manifest.json").is_file()
    workspace = Workspace.load(out, notify=lines.append)
    topics = workspace.fit_topics()
    assert (out / "topics" / "topic_model.json").is_file() and any("fitting topics over" in line for line in lines)
    before = topics.labels_.copy()
    assert workspace.fit_stories().n_stories_ >= 1 and (out / "stories" / "stories.json").is_file()
    _, added = Workspace.index_articles(out, [rest], embedder="e5", cache=False)
    assert added.extended and added.stats.documents == len(files) - 3
    grown = Workspace.load(out, notify=lines.append)
    assert grown.fitted_topics().labels_.shape == before.shape  # as fitted: the paragraphs they were fitted on
    assert any("have no topic yet" in line for line in lines)
    updated = grown.update_topics()
    assert updated.last_update_["counts"]["added"] == len(grown.index) - len(before)
    assert np.array_equal(updated.labels_[: len(before)], before)  # old rows keep their topics
    assert grown.stories is not None and not grown.stories.unseen_articles()  # the saved stories took them in
    again = Workspace.open(out)
    assert again.topics is not None and again.stories is not None and again.notes == []
    path = again.write_report(tmp_path / "r.json")
    assert json.loads(path.read_text(encoding="utf-8"))["overview"]["paragraphs"] == len(again.index)
