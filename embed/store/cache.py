"""paratopic's on-disk caches: one small SQLite key-value store (:class:`KeyValueStore`) and the caches built on it.

- :class:`EmbeddingCache`: vectors keyed by model id + normalised-text hash, written batch by batch as vectors
  are computed: rebuilding or extending an index embeds only paragraphs never seen before, and an interrupted
  run resumes where it stopped.
- ``cluster.words.segments.cached_segments``: pyvi's word segmentation by text.

Both live under :func:`cache_root`. The store opens its file in WAL mode (readers never wait for a writer,
several processes, e.g. the embedding actors of a distributed build, can write the same file) with a busy
timeout, so a second writer waits instead of failing; SQLite's own locking and transactions make every batch
appear whole or not at all. Nothing bounds its size: entries are small (1.5 kB per e5 vector) and
deleting the file only costs recomputation.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["EmbeddingCache", "KeyValueStore", "default_cache_path", "cache_root", "available_cores"]

logger = logging.getLogger(__name__)

#: Keys per ``IN (...)`` query (SQLite allows 999 host parameters in old builds).
QUERY_CHUNK = 500
#: Seconds a writer waits for another one to finish its transaction.
BUSY_TIMEOUT_S = 30.0


def cache_root() -> Path:
    """paratopic's cache folder: ``$PARATOPIC_CACHE_DIR``, else the user cache folder
    (embeddings, the built e5 engine, compiled numba code)."""
    import platformdirs  # here: a query in a new process needs available_cores, not the cache

    return Path(os.environ.get("PARATOPIC_CACHE_DIR") or platformdirs.user_cache_dir("paratopic"))


def default_cache_path() -> Path:
    """``<cache root>/embeddings.sqlite``."""
    return cache_root() / "embeddings.sqlite"


def available_cores() -> int:
    """Cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


class KeyValueStore:
    """Values by text key in one table of a SQLite file, optionally split by a namespace column.

    The table is ``(namespace, key, *values)`` with the primary key ``(namespace, key)`` (or ``(key, *values)``
    keyed by ``key`` alone); it is created if missing, so a file written by an earlier version with the same
    columns is read as it is. One connection per store; SQLite connections belong to the thread that opened them.

    Args:
        path: the SQLite file (created with its folder if missing).
        table: table name.
        key: name of the key column (text).
        values: value column names -> SQLite types (``"BLOB"``, ``"TEXT"``, ``"INTEGER"``).
        namespace: name of a text column that every call fixes (e.g. the model id), or None.
    """

    def __init__(self, path: str | Path, table: str, *, key: str, values: Mapping[str, str],
                 namespace: str | None = None) -> None:
        for name in (table, key, *values, *([namespace] if namespace else [])):
            if not name.isidentifier():
                raise ValueError(f"{name!r} is not a plain SQL name")
        self.path = Path(path)
        self.table, self.key, self.values, self.namespace = table, key, list(values), namespace
        self.path.parent.mkdir(parents=True, exist_ok=True)
        import sqlite3

        self.db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S)
        try:
            try:
                self.db.execute("PRAGMA journal_mode=WAL")
            except sqlite3.OperationalError as exc:  # a read-only file or folder: the default journal still reads
                logger.debug("%s: WAL mode not available (%s)", self.path, exc)
            keys = [namespace, key] if namespace else [key]
            columns = ", ".join([*(f"{k} TEXT NOT NULL" for k in keys), *(f"{v} {t} NOT NULL" for v, t in values.items())])
            self.db.execute(f"CREATE TABLE IF NOT EXISTS {table} ({columns}, PRIMARY KEY ({', '.join(keys)}))")
            self.db.commit()
        except BaseException:
            self.db.close()
            raise

    def _where(self, space: str | None) -> tuple[str, list[Any]]:
        if (space is None) != (self.namespace is None):
            need = f"needs a {self.namespace!r} value" if self.namespace else "has no namespace column"
            raise ValueError(f"{self.path}: table {self.table!r} {need}")
        return (f"{self.namespace} = ? AND ", [space]) if self.namespace else ("", [])

    def get_many(self, keys: Sequence[str], space: str | None = None) -> dict[str, tuple[Any, ...]]:
        """The stored values (a tuple per key) of those ``keys`` that are present, in namespace ``space``."""
        where, fixed = self._where(space)
        found: dict[str, tuple[Any, ...]] = {}
        unique = list(dict.fromkeys(keys))
        columns = ", ".join([self.key, *self.values])
        for start in range(0, len(unique), QUERY_CHUNK):
            chunk = unique[start : start + QUERY_CHUNK]
            rows = self.db.execute(
                f"SELECT {columns} FROM {self.table} WHERE {where}{self.key} IN ({','.join('?' * len(chunk))})",
                [*fixed, *chunk],
            )
            found.update((row[0], tuple(row[1:])) for row in rows)
        return found

    def put_many(self, rows: Iterable[tuple[Any, ...]], space: str | None = None) -> None:
        """Store ``(key, *values)`` rows in namespace ``space`` (replacing what was stored) in one transaction."""
        _, fixed = self._where(space)
        names = [*([self.namespace] if self.namespace else []), self.key, *self.values]
        with self.db:
            self.db.executemany(
                f"INSERT OR REPLACE INTO {self.table} ({', '.join(names)}) VALUES ({','.join('?' * len(names))})",
                [(*fixed, *row) for row in rows],
            )

    def count(self, space: str | None = None) -> int:
        """Number of entries (in namespace ``space``, or all)."""
        if space is None or self.namespace is None:
            return int(self.db.execute(f"SELECT COUNT(*) FROM {self.table}").fetchone()[0])
        query = f"SELECT COUNT(*) FROM {self.table} WHERE {self.namespace} = ?"
        return int(self.db.execute(query, [space]).fetchone()[0])

    def close(self) -> None:
        """Close the connection."""
        self.db.close()

    def __enter__(self) -> KeyValueStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class EmbeddingCache:
    """Vectors by (model id, text hash) in a SQLite file (a :class:`KeyValueStore`).

    Args:
        path: the SQLite file (created with its folder if missing); by default
            :func:`default_cache_path`.
    """

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else default_cache_path()
        self.store = KeyValueStore(self.path, "vectors", key="hash", values={"dim": "INTEGER", "vector": "BLOB"},
                                   namespace="model")

    def get_many(self, model_id: str, hashes: Sequence[str]) -> dict[str, np.ndarray]:
        """Cached vectors for those ``hashes`` that are present."""
        found: dict[str, np.ndarray] = {}
        for digest, (dim, blob) in self.store.get_many(hashes, model_id).items():
            vector = np.frombuffer(blob, dtype=np.float32)
            if vector.shape[0] == dim:
                found[digest] = vector
        return found

    def put_many(self, model_id: str, hashes: Sequence[str], vectors: np.ndarray) -> None:
        """Store ``vectors`` (one row per hash) and commit."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self.store.put_many([(h, int(v.shape[0]), v.tobytes()) for h, v in zip(hashes, vectors)], model_id)

    def count(self, model_id: str | None = None) -> int:
        """Number of cached vectors (for one model, or all)."""
        return self.store.count(model_id)

    def close(self) -> None:
        """Close the SQLite connection."""
        self.store.close()

    def __repr__(self) -> str:
        return f"EmbeddingCache({str(self.path)!r})"
