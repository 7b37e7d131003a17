"""Shared by the reliability tests and benchmarks/bench_reliability.py:
generated input files, and how each run of the pipeline on them ended."""

from __future__ import annotations

import json
import shutil
import signal
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from embed import ParagraphIndex, ParatopicError, read_corpus

OUTCOMES = ("result", "clear error", "traceback", "hang")

_odd_text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)) | st.sampled_from(list("\u2028\u2029\u0085\x00\t\r\n ")),
    max_size=120,
)
_vi_text = st.sampled_from([
    "Triều Tiên phóng tên lửa đạn đạo.", "Hội nghị thượng đỉnh tại Hà Nội.", "Giá vàng hôm nay tăng mạnh.",
    "fb yt zl tw", "Tin liên quan", "Vie\u0302\u0323t Nam", "",
])
_scalar = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | _odd_text
_value = st.recursive(_scalar, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3), max_leaves=6)
_row = st.fixed_dictionaries(
    {"text": _vi_text | _odd_text | _scalar},
    optional={"id": _scalar, "title": _scalar, "date": _scalar, "source": _value, "extra": _value},
)


@st.composite
def input_files(draw: Any) -> tuple[str, bytes]:
    """(file name, content) of a .jsonl, .json, .csv or .txt file as users have them, broken or not."""
    kind = draw(st.sampled_from(["jsonl", "json", "csv", "txt", "bytes"]))
    if kind == "jsonl":
        rows = draw(st.lists(_row, max_size=5))
        lines = [json.dumps(r, ensure_ascii=draw(st.booleans()), default=str) for r in rows]
        if draw(st.booleans()):
            lines.insert(draw(st.integers(0, len(lines))), draw(_odd_text))
        return "input.jsonl", "\n".join(lines).encode("utf-8")
    if kind == "json":
        return "input.json", json.dumps(draw(st.lists(_row, max_size=4) | _value), default=str).encode("utf-8")
    if kind == "csv":
        rows = draw(st.lists(st.tuples(_vi_text | _odd_text, _odd_text), max_size=4))
        header = draw(st.sampled_from(["text,source", "body,source", "text", ""]))
        return "input.csv", (header + "\n" + "\n".join(f'"{a}",{b}' for a, b in rows)).encode("utf-8", "replace")
    if kind == "txt":
        return "input.txt", ("\n\n".join(draw(st.lists(_vi_text | _odd_text, max_size=5)))).encode("utf-8")
    return draw(st.sampled_from(["input.txt", "input.jsonl", "input.csv"])), draw(st.binary(max_size=200))


class _Hang(Exception):
    pass


def run_case(path: Path, embedder: Any, out: Path, *, seconds: int = 20) -> tuple[str, str]:
    """Read ``path``, build, save and reload an index; return (outcome, detail)."""

    def alarm(*_: Any) -> None:
        raise _Hang()

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(seconds)
    try:
        table = read_corpus(path)
        index = ParagraphIndex.build(table, embedder=embedder)
        index.save(out)
        again = ParagraphIndex.load(out)
        if len(again) != len(table):
            return "traceback", f"saved {len(table)} rows, loaded {len(again)}"
        return "result", f"{len(table)} paragraphs"
    except _Hang:
        return "hang", f"over {seconds} s"
    except ParatopicError as exc:
        named = str(path) in str(exc) or str(out) in str(exc) or path.name in str(exc)
        return ("clear error", str(exc)) if named else ("traceback", f"error without the file name: {exc}")
    except Exception:  # noqa: BLE001 - this is what the harness counts
        return "traceback", traceback.format_exc(limit=3)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def tally(cases: list[tuple[str, str]]) -> dict[str, int]:
    return {outcome: sum(1 for o, _ in cases if o == outcome) for outcome in OUTCOMES}


def write_case(folder: Path, name: str, content: bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(content)
    return path


Check = Callable[[Path], tuple[str, str]]


def writer_setup(root: Path, seeds: Path, embedder: Any = None) -> None:
    """``root/base`` (seed articles 1-2, indexed as ``root/index``), ``root/a`` (3-4) and
    ``root/b`` (5), with the embedding cache warm for all five."""
    files = sorted(seeds.glob("*.txt"))
    for name, chosen in {"base": files[:2], "a": files[2:4], "b": files[4:]}.items():
        (root / name).mkdir()
        for file in chosen:
            shutil.copy(file, root / name)
    ParagraphIndex.build(seeds, embedder=embedder)
    ParagraphIndex.build(root / "base", embedder=embedder).save(root / "index")


# ------------------------------------------------------------------ saved state: readers, writers, interrupted saves
KINDS = ("index", "topics", "stories")

#: Re-saves one kind of saved state in a loop, printing a line per save (argv: kind, index folder).
WRITER_LOOP = r"""
import sys
from pathlib import Path
kind, folder = sys.argv[1], Path(sys.argv[2])
from embed import ParagraphIndex
if kind == "index":
    obj = ParagraphIndex.load(folder)
    save = lambda: obj.save(folder)
elif kind == "topics":
    from cluster import TopicModel
    obj = TopicModel.load(folder / "topics", index=folder)
    save = lambda: obj.save(folder / "topics", index_dir=folder)
else:
    from cluster import StoryModel
    obj = StoryModel.load(folder / "stories", folder)
    save = lambda: obj.save(folder / "stories", index_dir=folder)
print("ready", flush=True)
while True:
    save()
    print("saved", flush=True)
"""


def load_kind(kind: str, folder: Path, index: Any = None) -> Any:
    """Load one kind of saved state from an index folder (``index``: the loaded index, for topics and stories)."""
    if kind == "index":
        return ParagraphIndex.load(folder)
    if kind == "topics":
        from cluster import TopicModel

        return TopicModel.load(folder / "topics", index=index if index is not None else folder)
    from cluster import StoryModel

    return StoryModel.load(folder / "stories", index if index is not None else folder)


def save_kind(kind: str, obj: Any, folder: Path) -> None:
    """Save ``obj`` (loaded by :func:`load_kind`) back into the index folder ``folder``."""
    if kind == "index":
        obj.save(folder)
    else:
        obj.save(folder / kind, index_dir=folder)


#: The least time :func:`reader_race` reads for, so that the writer saves several times meanwhile.
RACE_SECONDS = 6.0


def reader_race(kind: str, folder: Path, loads: int, *, repo: Path) -> dict[str, Any]:
    """Load ``kind`` from ``folder`` ``loads`` times while another process re-saves it in a loop;
    returns loads, failed loads, the writer's saves meanwhile (after its first) and the first failure."""
    import os
    import subprocess
    import sys
    import time

    index = ParagraphIndex.load(folder) if kind != "index" else None
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(repo), os.environ.get("PYTHONPATH", "")])}
    writer = subprocess.Popen([sys.executable, "-c", WRITER_LOOP, kind, str(folder)], cwd=repo, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    failed, first = 0, ""
    try:
        assert writer.stdout is not None
        line = writer.stdout.readline()
        if line.strip() != "ready":
            raise RuntimeError(f"the writer did not start: {line}{writer.stderr.read() if writer.stderr else ''}")
        # its first save pays for imports (pyarrow's writer, ...): race it from its second save on, so that a
        # busy machine does not leave the loads all done before the writer gets going
        line = writer.stdout.readline()
        if line.strip() != "saved":
            raise RuntimeError(f"the writer did not save: {line}{writer.stderr.read() if writer.stderr else ''}")
        # at least ``loads`` loads and at least RACE_SECONDS of them: a fast load (a topic model checked by its
        # index files' checksums) must still meet several saves
        done, until = 0, time.monotonic() + RACE_SECONDS
        while done < loads or (time.monotonic() < until and done < 50 * loads):
            done += 1
            try:
                load_kind(kind, folder, index)
            except Exception as exc:  # noqa: BLE001 - every failed read counts
                failed += 1
                first = first or f"{type(exc).__name__}: {exc}"
        loads = done
    finally:
        writer.terminate()
        out, err = writer.communicate(timeout=60)
    saves = out.count("saved")
    return {"kind": kind, "loads": loads, "failed": failed, "saves": saves, "first_failure": first}


#: Saves one kind of state with an injected failure at the ``point``-th write step (argv: kind, source folder,
#: target folder, point, how): "kill" ends the process there at once (like SIGKILL), "enospc" raises a full disk.
INTERRUPTED_SAVE = r"""
import sys
from pathlib import Path
sys.path.insert(0, sys.argv[6])
from harness import injected, load_kind, save_kind
kind, source, target, point, how = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
obj = load_kind(kind, source)
with injected(point, how) as steps:
    save_kind(kind, obj, target)
print("completed", steps[0], flush=True)
"""


class injected:
    """Within the block, the ``point``-th write step (creating, syncing, renaming, deleting a file, writing an
    array) fails: ``how`` "kill" ends the process on the spot (``os._exit``, nothing cleaned up), "enospc" /
    "erofs" / "eacces" raise that OSError. ``as steps``: a one-item list counting the steps seen. With
    ``within``, only steps on files below that folder count (libraries write temporary files of their own)."""

    def __init__(self, point: int, how: str, within: Path | None = None) -> None:
        self.point, self.how, self.steps = point, how, [0]
        self.within = str(Path(within).resolve()) if within is not None else None

    def _counts(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
        import os

        if self.within is None:
            return True
        candidates = [kwargs.get("dir"), *args[:2]]
        for value in candidates:
            if hasattr(value, "fileno"):
                value = value.fileno()
            if isinstance(value, int) and not isinstance(value, bool):
                try:
                    value = os.readlink(f"/proc/self/fd/{value}")
                except OSError:
                    continue
            if isinstance(value, (str, Path)) and os.path.abspath(value).startswith(self.within):
                return True
        return False

    def __enter__(self) -> list[int]:
        import errno
        import os
        import tempfile

        import numpy as np

        import cluster.topics.persist
        import embed.store.files
        import embed.store.storage

        self._saved = []

        def wrap(owner: Any, name: str) -> None:
            original = getattr(owner, name)

            def step(*args: Any, **kwargs: Any) -> Any:
                if not self._counts(args, kwargs):
                    return original(*args, **kwargs)
                self.steps[0] += 1
                if self.steps[0] == self.point:
                    if self.how == "kill":
                        os._exit(137)
                    code = {"enospc": errno.ENOSPC, "erofs": errno.EROFS, "eacces": errno.EACCES}[self.how]
                    raise OSError(code, os.strerror(code))
                return original(*args, **kwargs)

            self._saved.append((owner, name, original))
            setattr(owner, name, step)

        for owner, name in ((os, "fsync"), (os, "replace"), (os, "unlink"), (tempfile, "mkstemp"), (embed.store.files, "create_temp"), (np, "save"),
                            (embed.store.storage, "create_exclusive"), (cluster.topics.persist, "create_exclusive")):
            wrap(owner, name)
        return self.steps

    def __exit__(self, *exc: Any) -> None:
        for owner, name, original in reversed(self._saved):
            setattr(owner, name, original)


def interrupted_save(kind: str, source: Path, target: Path, point: int, how: str, *, repo: Path) -> tuple[bool, str]:
    """Run a save of ``kind`` from ``source`` into ``target`` with failure ``how`` at ``point`` in a fresh
    process; returns (whether the save completed because it has fewer steps, what the process said)."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(repo), os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run(
        [sys.executable, "-c", INTERRUPTED_SAVE, kind, str(source), str(target), str(point), how,
         str(Path(__file__).parent)], cwd=repo, env=env, capture_output=True, text=True, timeout=300,
    )
    return result.returncode == 0 and "completed" in result.stdout, (result.stdout + result.stderr)[-2000:]
