"""A persistent embedding cache keyed by model id + normalised-text hash.

Stored in one SQLite file, written batch by batch as vectors are computed:
rebuilding or extending an index embeds only paragraphs never seen before,
and an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import platformdirs

__all__ = ["EmbeddingCache", "default_cache_path", "cache_root", "available_cores"]

logger = logging.getLogger(__name__)


def cache_root() -> Path:
    """paratopic's cache folder: ``$PARATOPIC_CACHE_DIR``, else the user cache folder
    (embeddings, the built e5 engine, compiled numba code)."""
    return Path(os.environ.get("PARATOPIC_CACHE_DIR") or platformdirs.user_cache_dir("paratopic"))


def default_cache_path() -> Path:
    """``<cache root>/embeddings.sqlite``."""
    return cache_root() / "embeddings.sqlite"


def available_cores() -> int:
    """Cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


class EmbeddingCache:
    """Vectors by (model id, text hash) in a SQLite file.

    Args:
        path: the SQLite file (created with its folder if missing); by default
            :func:`default_cache_path`.
    """

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else default_cache_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS vectors (model TEXT NOT NULL, hash TEXT NOT NULL, "
            "dim INTEGER NOT NULL, vector BLOB NOT NULL, PRIMARY KEY (model, hash))"
        )
        self._db.commit()

    def get_many(self, model_id: str, hashes: Sequence[str]) -> dict[str, np.ndarray]:
        """Cached vectors for those ``hashes`` that are present."""
        found: dict[str, np.ndarray] = {}
        unique = list(dict.fromkeys(hashes))
        for start in range(0, len(unique), 500):
            chunk = unique[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self._db.execute(
                f"SELECT hash, dim, vector FROM vectors WHERE model = ? AND hash IN ({marks})", [model_id, *chunk]
            )
            for digest, dim, blob in rows:
                vector = np.frombuffer(blob, dtype=np.float32)
                if vector.shape[0] == dim:
                    found[digest] = vector
        return found

    def put_many(self, model_id: str, hashes: Sequence[str], vectors: np.ndarray) -> None:
        """Store ``vectors`` (one row per hash) and commit."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self._db.executemany(
            "INSERT OR REPLACE INTO vectors (model, hash, dim, vector) VALUES (?, ?, ?, ?)",
            [(model_id, h, int(v.shape[0]), v.tobytes()) for h, v in zip(hashes, vectors)],
        )
        self._db.commit()

    def count(self, model_id: str | None = None) -> int:
        """Number of cached vectors (for one model, or all)."""
        if model_id is None:
            return int(self._db.execute("SELECT COUNT(*) FROM vectors").fetchone()[0])
        return int(self._db.execute("SELECT COUNT(*) FROM vectors WHERE model = ?", [model_id]).fetchone()[0])

    def close(self) -> None:
        self._db.close()

    def __repr__(self) -> str:
        return f"EmbeddingCache({str(self.path)!r})"
