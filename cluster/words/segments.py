"""pyvi's word segmentation, cached on disk by text.

Segmenting is the slowest step of keywords, labels and stories (~800 news
paragraphs/s per core): 12k paragraphs took 22 s in every ``topics --update``
of the tracking benchmark although only a few hundred were new. The output
of each text is kept in ``<cache root>/segments.sqlite`` (see
:func:`embed.store.cache.cache_root`), keyed by the SHA-1 of pyvi's version and the
text, so a text is segmented once per machine. A cache that cannot be opened
or written (a read-only folder, a locked file) is skipped with a warning:
the results are the same, only slower.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
from collections.abc import Callable, Sequence
from importlib.metadata import PackageNotFoundError, version

__all__ = ["cached_segments"]

logger = logging.getLogger(__name__)


def _pyvi_version() -> str:
    try:
        return version("pyvi")
    except PackageNotFoundError:  # pragma: no cover - pyvi is a dependency
        return "unknown"


def _keys(texts: Sequence[str]) -> list[str]:
    prefix = f"pyvi {_pyvi_version()}\0".encode()
    return [hashlib.sha1(prefix + t.encode("utf-8")).hexdigest() for t in texts]


def _open() -> sqlite3.Connection:
    from embed.store.cache import cache_root

    path = cache_root() / "segments.sqlite"
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, timeout=30)
    db.execute("CREATE TABLE IF NOT EXISTS segments (key TEXT PRIMARY KEY, segmented TEXT NOT NULL)")
    return db


def cached_segments(texts: Sequence[str], segment: Callable[[Sequence[str]], list[str]]) -> list[str]:
    """``segment(texts)`` with every text already seen on this machine read from the cache."""
    keys = _keys(texts)
    try:
        db = _open()
    except (OSError, sqlite3.Error) as exc:
        logger.warning("word segmentation cache unavailable (%s); segmenting every text", exc)
        return segment(texts)
    with db:
        found: dict[str, str] = {}
        unique = list(dict.fromkeys(keys))
        for start in range(0, len(unique), 500):
            chunk = unique[start:start + 500]
            rows = db.execute(f"SELECT key, segmented FROM segments WHERE key IN ({','.join('?' * len(chunk))})", chunk)
            found.update(rows)
        todo = [i for i, key in enumerate(keys) if key not in found]
        if todo:
            done = segment([texts[i] for i in todo])
            fresh = {keys[i]: s for i, s in zip(todo, done)}
            found.update(fresh)
            try:
                db.executemany("INSERT OR REPLACE INTO segments (key, segmented) VALUES (?, ?)", list(fresh.items()))
            except sqlite3.Error as exc:
                logger.warning("could not store word segmentations (%s)", exc)
        logger.debug("segmentation: %d of %d texts from the cache", len(texts) - len(todo), len(texts))
    db.close()
    return [found[key] for key in keys]
