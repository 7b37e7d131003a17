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
