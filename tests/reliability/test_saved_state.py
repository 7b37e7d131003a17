"""Saved state under a busy newsroom: readers during writers, interrupted first saves, full disks, symlinks
and tampered files. Every case ends in a result or one clear error, and nothing saved is lost."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO
from harness import injected, interrupted_save, load_kind, reader_race, save_kind

from cluster import ModelFormatError, StoryModel, TopicModel
from embed import IndexFormatError, ParagraphIndex, ParatopicError, SaveError
from embed.store.storage import write_atomic

CLI = [sys.executable, "-c", "from paratopic.cli import app; app()"]


@pytest.fixture(scope="module")
def saved(seed_index, tmp_path_factory) -> Path:
    """``root/index``: the seed index with its topic model and stories saved in it."""
    root = tmp_path_factory.mktemp("saved-state")
    folder = root / "index"
    seed_index.save(folder)
    TopicModel(random_state=0).fit(seed_index).save(folder / "topics", index_dir=folder)
    StoryModel().fit(seed_index).save(folder / "stories", index_dir=folder)
    return folder


def copy_of(saved: Path, tmp_path: Path, *drop: str) -> Path:
    target = tmp_path / "index"
    shutil.copytree(saved, target, symlinks=True)
    for name in drop:
        shutil.rmtree(target / name)
    return target


# ------------------------------------------------------------------ readers while a writer saves
@pytest.mark.parametrize("kind", ["index", "topics", "stories"])
def test_no_read_fails_while_a_writer_saves_in_a_loop(saved, tmp_path, kind):
    folder = copy_of(saved, tmp_path)
    outcome = reader_race(kind, folder, 40, repo=REPO)
    assert outcome["saves"] >= 5, outcome  # the writer really was saving meanwhile
    assert outcome["failed"] == 0, outcome


def test_an_open_index_keeps_its_generation_and_knows_a_newer_one_exists(saved, tmp_path):
    folder = copy_of(saved, tmp_path)
    reader = ParagraphIndex.load(folder)
    generation = reader.generation
    assert generation == json.loads((folder / "manifest.json").read_text())["generation"] and not reader.is_stale()
    writer = ParagraphIndex.load(folder)
    writer.save(folder)
    writer.save(folder)  # two saves: the generation the reader opened is gone from the disk now
    assert reader.is_stale() and reader.generation == generation and writer.generation != generation
    assert not (folder / f"vectors-{generation}.npy").exists()
    assert len(reader.search("tên lửa", k=3)) == 3  # still works on what it opened
    assert not ParagraphIndex.load(folder).is_stale()


# ------------------------------------------------------------------ interrupted first saves recover
LEFTOVERS = {
    "index": ["paragraphs-0123456789ab.parquet", "vectors-0123456789ab.npy", ".manifest.json.k1l2m3.tmp"],
    "topics": ["labels-0123456789ab.npy", "centroids-0123456789ab.npy", ".topic_model.json.x_y9.tmp"],
    "stories": [".stories.json.ab12_c.tmp"],
}


@pytest.mark.parametrize("kind", ["index", "topics", "stories"])
def test_what_a_killed_first_save_leaves_is_cleaned_by_the_next_save(saved, tmp_path, kind):
    source = load_kind(kind, saved)
    target = tmp_path / "new" if kind == "index" else copy_of(saved, tmp_path, kind)
    folder = target if kind == "index" else target / kind
    folder.mkdir(parents=True)
    for name in [*LEFTOVERS[kind], ".paratopic.lock"]:
        (folder / name).write_bytes(b"half written")
    save_kind(kind, source, target)
    assert not {p.name for p in folder.iterdir()} & set(LEFTOVERS[kind])
    load_kind(kind, target)
    (folder / "notes.txt").write_text("mine")  # anything else: not ours, a first save still refuses
    for name in ("manifest.json", "topic_model.json", "stories.json"):
        (folder / name).unlink(missing_ok=True)
    with pytest.raises(ParatopicError, match="not ours to write into"):
        save_kind(kind, source, target)
    assert (folder / "notes.txt").read_text() == "mine"


@pytest.mark.parametrize(("kind", "point"), [("index", 2), ("index", 5), ("topics", 3), ("stories", 2)])
def test_a_first_save_killed_at_a_write_step_is_followed_by_a_good_save(saved, tmp_path, kind, point):
    target = tmp_path / "new" if kind == "index" else copy_of(saved, tmp_path, kind)
    completed, said = interrupted_save(kind, saved, target, point, "kill", repo=REPO)
    assert not completed, said
    folder = target if kind == "index" else target / kind
    assert folder.is_dir() and any(folder.iterdir())  # the killed save left something behind
    save_kind(kind, load_kind(kind, saved), target)
    load_kind(kind, target)
    marker = {"index": "manifest.json", "topics": "topic_model.json", "stories": "stories.json"}[kind]
    assert not [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]
    assert (folder / marker).is_file()


# ------------------------------------------------------------------ write errors: one line, nothing lost
@pytest.mark.parametrize("kind", ["index", "topics", "stories"])
@pytest.mark.parametrize("how", ["enospc", "erofs", "eacces"])
def test_a_failing_disk_is_one_line_and_the_saved_state_is_intact(saved, tmp_path, kind, how):
    target = copy_of(saved, tmp_path)
    folder = target if kind == "index" else target / kind
    before = sorted(p.name for p in folder.iterdir())
    source = load_kind(kind, target)
    for point in (1, 3):
        with pytest.raises(SaveError) as caught, injected(point, how):
            save_kind(kind, source, target)
        message = str(caught.value)
        assert "\n" not in message and str(target) in message and os.strerror(caught.value.errno) in message
        assert "unchanged" in message
        assert sorted(p.name for p in folder.iterdir()) == before  # nothing half-written stays behind
        load_kind(kind, target)
    save_kind(kind, source, target)  # and once the disk is fine again, saving works
    load_kind(kind, target)


def test_a_full_disk_during_a_first_save_leaves_a_folder_the_next_save_uses(saved, tmp_path):
    source = ParagraphIndex.load(saved)
    with pytest.raises(SaveError, match="No space left on device"), injected(4, "enospc"):
        source.save(tmp_path / "new")
    source.save(tmp_path / "new")
    assert len(ParagraphIndex.load(tmp_path / "new")) == len(source)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders; covered by the injected EROFS")
def test_a_read_only_folder_is_one_line(saved, tmp_path):
    target = copy_of(saved, tmp_path)
    target.chmod(0o555)
    try:
        with pytest.raises(SaveError, match="ermission denied"):
            ParagraphIndex.load(target).save(target)
    finally:
        target.chmod(0o755)


def test_a_cli_write_error_is_one_line_without_traceback(saved, tmp_path):
    target = copy_of(saved, tmp_path)
    script = (
        "import sys; sys.path.insert(0, sys.argv[1]); from harness import injected\n"
        "from paratopic.cli import app\n"
        "with injected(1, 'enospc', sys.argv[3]):\n    app(sys.argv[2:])\n"
    )
    result = subprocess.run([sys.executable, "-c", script, str(Path(__file__).parent), "topics", str(target), "--refit"],
                            cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr[-2000:]
    assert "No space left on device" in result.stderr
    TopicModel.load(target / "topics", index=target)


# ------------------------------------------------------------------ temporary files of write_atomic
def test_dead_temporary_files_are_cleaned_and_live_ones_kept(tmp_path):
    dead = tmp_path / ".report.html.dead_1.tmp"
    dead.write_text("killed")
    live = tmp_path / ".report.html.live_2.tmp"
    live.write_text("being written")
    other = tmp_path / ".other.html.dead_3.tmp"
    other.write_text("another file's")
    with open(live, "rb") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        write_atomic(tmp_path / "report.html", b"<html>")
        assert not dead.exists() and live.exists() and other.exists()
    assert (tmp_path / "report.html").read_bytes() == b"<html>"


def test_concurrent_atomic_writes_of_one_file_never_fail(tmp_path):
    errors = []

    def write(n: int) -> None:
        try:
            for i in range(30):
                write_atomic(tmp_path / "report.html", f"{n}-{i}".encode())
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and not list(tmp_path.glob(".*.tmp"))


# ------------------------------------------------------------------ symlinks
@pytest.mark.parametrize("name", ["manifest.json", "topics/topic_model.json", "stories/stories.json", "topics",
                                  "stories"])
def test_a_symlink_where_a_reader_opens_a_file_is_refused(saved, tmp_path, name):
    target = copy_of(saved, tmp_path)
    outside = tmp_path / "outside"
    shutil.move(target / name, outside)
    (target / name).symlink_to(outside, target_is_directory=outside.is_dir())
    kind = "index" if name == "manifest.json" else name.split("/")[0]
    with pytest.raises(ParatopicError, match="symbolic link") as caught:
        load_kind(kind, target, ParagraphIndex.load(saved))
    assert "\n" not in str(caught.value)


def test_a_fifo_manifest_is_refused_without_blocking(saved, tmp_path):
    target = copy_of(saved, tmp_path)
    (target / "manifest.json").unlink()
    os.mkfifo(target / "manifest.json")

    class Blocked(Exception):  # not an OSError: nothing may swallow it
        pass

    def hang(*_):
        raise Blocked("opening the manifest blocked")

    previous = signal.signal(signal.SIGALRM, hang)
    signal.alarm(10)
    try:
        with pytest.raises(IndexFormatError, match="FIFO"):
            ParagraphIndex.load(target)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.mark.parametrize("kind", ["index", "topics"])
def test_a_symlinked_lock_file_is_a_clear_error_and_its_target_untouched(saved, tmp_path, kind):
    target = copy_of(saved, tmp_path)
    folder = target if kind == "index" else target / kind
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    (folder / ".paratopic.lock").unlink(missing_ok=True)
    (folder / ".paratopic.lock").symlink_to(victim)
    with pytest.raises(ParatopicError, match="lock file .* must be a regular file"):
        save_kind(kind, load_kind(kind, saved), target)
    assert victim.read_text() == "precious"
    if kind == "index":
        result = subprocess.run([*CLI, "index", str(REPO / "seeds"), "--out", str(target)], cwd=REPO,
                                capture_output=True, text=True)
        assert result.returncode == 1 and "Traceback" not in result.stderr and "symbolic link" in result.stderr


# ------------------------------------------------------------------ tampered saved state is bounded
def nested(depth: int) -> object:
    value: object = 0
    for _ in range(depth):
        value = [value]
    return value


def tamper(path: Path, change) -> None:
    document = json.loads(path.read_text())
    change(document)
    path.write_text(json.dumps(document))


MANIFEST_TAMPERS = {
    "deep": lambda m: m.update(sources=nested(100)),
    "dim-huge": lambda m: m["embedder"].update(dim=10**12),
    "bytes-negative": lambda m: m["files"]["vectors"].update(bytes=-1),
    "kind-bogus": lambda m: m.update(requested_kind="bogus"),
    "sources-numbers": lambda m: m.update(sources=[1, 2]),
    "generation-path": lambda m: m.update(generation="../x"),
}


@pytest.mark.parametrize("name", list(MANIFEST_TAMPERS))
def test_a_tampered_manifest_is_bounded_and_a_clear_error(saved, tmp_path, name):
    target = copy_of(saved, tmp_path)
    tamper(target / "manifest.json", MANIFEST_TAMPERS[name])
    with pytest.raises(IndexFormatError, match=str(target)):
        ParagraphIndex.load(target)


def test_a_manifest_nested_beyond_recursion_is_a_clear_error_in_the_cli(saved, tmp_path):
    target = copy_of(saved, tmp_path)
    (target / "manifest.json").write_text("[" * 200_000 + "]" * 200_000)
    with pytest.raises(IndexFormatError, match="nested"):
        ParagraphIndex.load(target)
    result = subprocess.run([*CLI, "info", str(target)], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 1 and "Traceback" not in result.stderr and "nested" in result.stderr


STORY_TAMPERS = {
    "next-id-4e9": (lambda d: d.update(next_story_id=4_000_000_000), "next_story_id"),
    "next-id-1e30": (lambda d: d.update(next_story_id=10**30), "next_story_id"),
    "next-id-float": (lambda d: d.update(next_story_id=1e30), "next_story_id"),
    "param-nan": (lambda d: d["params"].update(min_similarity=float("nan")), "min_similarity"),
    "deep": (lambda d: d["index"].update(extra=nested(100)), "nested"),
    "story-without-topic": (lambda d: next(iter(d["stories"].values())).pop("topic"), "expected 'topic' and 'central'"),
}


@pytest.mark.parametrize("name", list(STORY_TAMPERS))
def test_tampered_stories_are_bounded_before_anything_is_allocated(saved, tmp_path, name):
    target = copy_of(saved, tmp_path)
    change, message = STORY_TAMPERS[name]
    tamper(target / "stories" / "stories.json", change)
    with pytest.raises(ModelFormatError, match=message):
        StoryModel.load(target / "stories", ParagraphIndex.load(target))


TOPIC_TAMPERS = {
    "label-number": (lambda d: d["custom_labels"].update({"0": 5}), "custom_labels"),
    "n-topics-huge": (lambda d: d.update(n_topics=10**9), "n_topics"),
    "weight-nan": (lambda d: d["keywords"]["0"].append(["x", float("inf")]), "keyword entry"),
    "param-type": (lambda d: d["init_params"].update(n_keywords="ten"), "n_keywords"),
    "arrays-bogus": (lambda d: d.update(arrays=["labels"]), "arrays"),
}


@pytest.mark.parametrize("name", list(TOPIC_TAMPERS))
def test_a_tampered_topic_model_is_bounded_and_type_checked(saved, tmp_path, name):
    target = copy_of(saved, tmp_path)
    change, message = TOPIC_TAMPERS[name]
    tamper(target / "topics" / "topic_model.json", change)
    with pytest.raises(ModelFormatError, match=message):
        TopicModel.load(target / "topics", index=ParagraphIndex.load(target))


def test_an_array_header_claiming_more_than_the_file_holds_is_refused_before_allocating(saved, tmp_path):
    target = copy_of(saved, tmp_path)
    document = json.loads((target / "topics" / "topic_model.json").read_text())
    path = target / "topics" / document["files"]["labels"]
    path.unlink()
    with open(path, "wb") as handle:  # a header for 2**40 labels (8 TiB) over a few bytes
        np.lib.format.write_array_header_1_0(handle, {"descr": "<i8", "fortran_order": False, "shape": (1 << 40,)})
        handle.write(b"\0" * 64)
    with pytest.raises(ModelFormatError, match="header says"):
        TopicModel.load(target / "topics", index=target)


def test_nothing_outside_the_folder_is_deleted_by_a_tampered_previous_manifest(saved, tmp_path):
    target = copy_of(saved, tmp_path)
    (target / "notes.md").write_text("mine")
    tamper(target / "manifest.json", lambda m: m["files"]["faiss"].update(name="notes.md"))
    loaded = ParagraphIndex.load(saved)
    index = ParagraphIndex(loaded.paragraphs, loaded.vectors, embedder_description=loaded.embedder_description)
    index.save(target)
    index.save(target)
    assert (target / "notes.md").read_text() == "mine"
