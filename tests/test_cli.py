from __future__ import annotations

import json

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
