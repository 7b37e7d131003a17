"""Concurrent writers and what a save may touch: one writer at a time per
index folder, no lost paragraphs, nothing outside the index's own files."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, SEEDS
from harness import writer_setup

from embed import IndexChangedError, IndexFormatError, ParagraphIndex

CLI = [sys.executable, "-c", "from paratopic.cli import app; app()"]
SEED_FILES = sorted(SEEDS.glob("*.txt"))


@pytest.fixture(scope="module")
def base(tmp_path_factory, e5) -> Path:
    """An index of the first two seed articles, and the cache warm for all five."""
    root = tmp_path_factory.mktemp("writers")
    writer_setup(root, SEEDS, e5)
    return root


def concurrent_trials(base: Path, trials: int) -> dict[str, int]:
    """Two `paratopic index` runs add different articles to one index at once, ``trials`` times."""
    lost = broken = 0
    for trial in range(trials):
        target = base / f"trial-{trial}"
        shutil.copytree(base / "index", target)
        procs = [subprocess.Popen([*CLI, "index", str(base / part), "--out", str(target)], cwd=REPO,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE) for part in ("a", "b")]
        codes = [p.wait(timeout=300) for p in procs]
        assert codes == [0, 0], [p.stderr.read().decode()[-1500:] for p in procs]
        try:
            docs = set(ParagraphIndex.load(target).paragraphs["doc_id"])
        except IndexFormatError:
            broken += 1
            continue
        lost += len({f.stem for f in SEED_FILES} - docs)
        shutil.rmtree(target)
    return {"trials": trials, "lost_documents": lost, "broken_indexes": broken}


def test_two_cli_writers_at_once_lose_nothing(base):
    assert concurrent_trials(base, 3) == {"trials": 3, "lost_documents": 0, "broken_indexes": 0}


@pytest.mark.slow
def test_fifty_overlapping_cli_writers_lose_nothing(base):
    assert concurrent_trials(base, 50) == {"trials": 50, "lost_documents": 0, "broken_indexes": 0}


def test_a_library_save_over_another_writers_save_is_refused(base, e5):
    target = base / "library"
    shutil.copytree(base / "index", target)
    first, second = ParagraphIndex.load(target, embedder=e5), ParagraphIndex.load(target, embedder=e5)
    first.add(base / "a")
    first.save(target)
    second.add(base / "b")
    with pytest.raises(IndexChangedError, match="another writer saved"):
        second.save(target)
    assert set(ParagraphIndex.load(target).paragraphs["doc_id"]) >= {f.stem for f in SEED_FILES[:4]}


def test_save_keeps_what_it_did_not_write(base, e5):
    target = base / "owned"
    shutil.copytree(base / "index", target)
    (target / "index").mkdir()  # e.g. the folder `paratopic run` writes
    (target / "index" / "keep.txt").write_text("mine")
    (target / "vectors-notes.txt").write_text("mine too")
    orphan = target / "vectors-0123456789ab.npy"  # left by a save that was killed
    orphan.write_bytes(b"x")
    (target / ".manifest.json.abc123.tmp").write_text("{}")
    previous = {e["name"] for e in json.loads((target / "manifest.json").read_text())["files"].values()}
    index = ParagraphIndex.load(target, embedder=e5)
    index.add(base / "a")
    index.save(target)
    assert (target / "index" / "keep.txt").read_text() == "mine"
    assert (target / "vectors-notes.txt").read_text() == "mine too"
    assert not orphan.exists() and not (target / ".manifest.json.abc123.tmp").exists()
    names = {e["name"] for e in json.loads((target / "manifest.json").read_text())["files"].values()}
    leftovers = {p.name for p in target.iterdir()} - names - {"manifest.json", ".paratopic.lock", "index", "vectors-notes.txt"}
    assert leftovers == previous  # the generation it replaced stays for readers that opened it; the next save removes it
    index.save(target)
    assert not previous & {p.name for p in target.iterdir()}


def test_saving_into_a_folder_that_is_not_an_index_is_refused(base, e5, tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "report.html").write_text("<html>")
    index = ParagraphIndex.load(base / "index", embedder=e5)
    with pytest.raises(IndexFormatError, match="not empty"):
        index.save(folder)
    assert [p.name for p in folder.iterdir()] == ["report.html"]
    result = subprocess.run([*CLI, "index", str(base / "a"), "--out", str(folder)], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 1 and "not empty" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "tamper",
    [
        lambda m: m["files"]["paragraphs"].update(name="../outside.parquet"),
        lambda m: m["files"]["vectors"].update(name="/etc/passwd"),
        lambda m: m.update(files=5),
        lambda m: m.pop("embedder"),
        lambda m: m["embedder"].update(dim="384"),
        lambda m: m["files"].update(faiss=[]),
    ],
    ids=["traversal", "absolute", "files-not-object", "no-embedder", "dim-not-int", "entry-not-object"],
)
def test_a_tampered_manifest_is_a_clear_error(base, tmp_path, tamper):
    target = tmp_path / "idx"
    shutil.copytree(base / "index", target)
    manifest = json.loads((target / "manifest.json").read_text())
    tamper(manifest)
    (target / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IndexFormatError, match=str(target)):
        ParagraphIndex.load(target)
    result = subprocess.run([*CLI, "info", str(target)], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 1 and "error:" in result.stderr and "Traceback" not in result.stderr


def test_a_manifest_that_is_a_list_or_names_a_symlink_is_refused(base, tmp_path):
    target = tmp_path / "idx"
    shutil.copytree(base / "index", target)
    manifest = json.loads((target / "manifest.json").read_text())
    outside = tmp_path / "outside.npy"
    shutil.copy(target / manifest["files"]["vectors"]["name"], outside)
    os.remove(target / manifest["files"]["vectors"]["name"])
    os.symlink(outside, target / manifest["files"]["vectors"]["name"])
    with pytest.raises(IndexFormatError, match="symbolic link"):
        ParagraphIndex.load(target)
    (target / "manifest.json").write_text("[]")
    with pytest.raises(IndexFormatError, match="not a paratopic index manifest"):
        ParagraphIndex.load(target)
