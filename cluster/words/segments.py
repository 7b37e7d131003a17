"""pyvi's word segmentation, cached on disk by text.

Segmenting is the slowest step of keywords, labels and stories (~800 news
paragraphs/s per core): 12k paragraphs took 22 s in every ``topics --update``
of the tracking benchmark although only a few hundred were new. The output
of each text is kept in ``<cache root>/segments.sqlite`` (see
:func:`embed.store.cache.cache_root`), keyed by the SHA-1 of pyvi's version and the
text, so a text is segmented once per machine (a
:class:`embed.store.cache.KeyValueStore`, like the embedding cache). A cache that cannot be opened
or written (a read-only folder, a locked file) is skipped with a warning:
the results are the same, only slower.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
from collections.abc import Callable, Sequence
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from embed.store.cache import KeyValueStore

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


def _open() -> KeyValueStore:
    from embed.store.cache import KeyValueStore, cache_root  # numpy only when segmenting, not at import

    return KeyValueStore(cache_root() / "segments.sqlite", "segments", key="key", values={"segmented": "TEXT"})


def cached_segments(texts: Sequence[str], segment: Callable[[Sequence[str]], list[str]]) -> list[str]:
    """``segment(texts)`` with every text already seen on this machine read from the cache."""
    keys = _keys(texts)
    try:
        store = _open()
    except (OSError, sqlite3.Error) as exc:
        logger.warning("word segmentation cache unavailable (%s); segmenting every text", exc)
        return segment(texts)
    with store:
        found = {key: values[0] for key, values in store.get_many(keys).items()}
        todo = [i for i, key in enumerate(keys) if key not in found]
        if todo:
            done = segment([texts[i] for i in todo])
            fresh = {keys[i]: s for i, s in zip(todo, done)}
            found.update(fresh)
            try:
                store.put_many(fresh.items())
            except sqlite3.Error as exc:
                logger.warning("could not store word segmentations (%s)", exc)
        logger.debug("segmentation: %d of %d texts from the cache", len(texts) - len(todo), len(texts))
    return [found[key] for key in keys]
