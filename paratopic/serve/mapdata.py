"""The map's points in a compact binary form, sampled to what a browser can draw, with the topic labels.

``/api/map.bin`` answers one body::

    b"PTM1"  uint32 header_bytes  header (UTF-8 JSON, padded with spaces to a multiple of 4)
    float32 x[sent]  float32 y[sent]  uint32 row[sent]  int16 topic[sent]   (little-endian)

``header`` holds ``n`` (paragraphs in the index), ``sent`` (points in the body), ``sampled`` (true when ``sent <
n``), the ``labels`` (each topic's label at the median of *all* its points, with its size) and ``bounds``. 14 bytes
a point: 1.4 MB for 100k points, against about 60 bytes a point for the columnar JSON of ``/api/map`` without its
hover text. Over the budget, points are a uniform random sample (seed 0, the same on every request), each topic
keeping at least :data:`MIN_PER_TOPIC` of its points so that small topics stay visible; hover text and ids come from
``/api/point/{row}`` when a point is hovered or clicked.
"""

from __future__ import annotations

import json
import struct
from typing import Any

import numpy as np

__all__ = ["MAGIC", "MAP_BUDGET", "MAX_MAP_POINTS", "MIN_PER_TOPIC", "encode", "decode", "sample_rows",
           "topic_labels"]

MAGIC = b"PTM1"
#: Points sent by default: plotly's WebGL scatter draws this many in about a second in headless Chromium
#: (software WebGL, benchmarks/results/serve.md); the page may ask for up to MAX_MAP_POINTS.
MAP_BUDGET = 100_000
MAX_MAP_POINTS = 2_000_000
#: Over the budget, each topic keeps at least this many of its points (all of them when it has fewer).
MIN_PER_TOPIC = 50


def sample_rows(topics: np.ndarray, budget: int, seed: int = 0) -> np.ndarray:
    """Sorted rows to send: all of them when they fit in ``budget``, else a uniform random sample of ``budget``
    rows plus, for each topic with fewer than :data:`MIN_PER_TOPIC` sampled, that many of its rows."""
    n = len(topics)
    if n <= budget:
        return np.arange(n, dtype=np.uint32)
    rng = np.random.default_rng(seed)
    chosen = np.zeros(n, dtype=bool)
    chosen[rng.choice(n, size=budget, replace=False)] = True
    for topic in np.unique(topics):
        members = np.flatnonzero(topics == topic)
        missing = min(MIN_PER_TOPIC, len(members)) - int(chosen[members].sum())
        if missing > 0:
            chosen[rng.choice(members[~chosen[members]], size=missing, replace=False)] = True
    return np.flatnonzero(chosen).astype(np.uint32)


def topic_labels(xy: np.ndarray, topics: np.ndarray, labels: dict[int, str]) -> list[dict[str, Any]]:
    """Each topic's label at the median of its points, largest topic first (outliers, -1, have none)."""
    out = []
    order = np.argsort(topics, kind="stable")
    sorted_topics = topics[order]
    for t in labels:
        lo, hi = np.searchsorted(sorted_topics, [t, t + 1])
        if hi > lo:
            cx, cy = np.median(xy[order[lo:hi]], axis=0)
            out.append({"topic": int(t), "label": labels[t], "x": round(float(cx), 3), "y": round(float(cy), 3),
                        "size": int(hi - lo)})
    return sorted(out, key=lambda label: (-label["size"], label["topic"]))


def encode(header: dict[str, Any], xy: np.ndarray, rows: np.ndarray, topics: np.ndarray) -> bytes:
    """The body of ``/api/map.bin`` for the points ``rows`` (see the module docstring)."""
    text = json.dumps(header, ensure_ascii=False).encode("utf-8")
    text += b" " * (-len(text) % 4)
    parts = [MAGIC, struct.pack("<I", len(text)), text,
             np.ascontiguousarray(xy[rows, 0], dtype="<f4").tobytes(),
             np.ascontiguousarray(xy[rows, 1], dtype="<f4").tobytes(),
             np.ascontiguousarray(rows, dtype="<u4").tobytes(),
             np.ascontiguousarray(topics[rows], dtype="<i2").tobytes()]
    return b"".join(parts)


def decode(body: bytes) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """``(header, {"x", "y", "row", "topic"})`` from a body of ``/api/map.bin`` (for tests and benchmarks)."""
    if body[:4] != MAGIC:
        raise ValueError(f"not a paratopic map: it starts with {body[:4]!r}, expected {MAGIC!r}")
    (size,) = struct.unpack("<I", body[4:8])
    header = json.loads(body[8 : 8 + size].decode("utf-8"))
    n, at = int(header["sent"]), 8 + size
    arrays = {}
    for name, dtype in (("x", "<f4"), ("y", "<f4"), ("row", "<u4"), ("topic", "<i2")):
        width = np.dtype(dtype).itemsize * n
        arrays[name] = np.frombuffer(body[at : at + width], dtype=dtype)
        at += width
    if at != len(body):
        raise ValueError(f"a map of {n} points should be {at} bytes long; this one is {len(body)}")
    return header, arrays
