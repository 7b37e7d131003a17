"""The paragraph index and what keeps it on disk: the index itself (``index``; building its rows and vectors in
``building``), atomic two-generation storage (``storage``, on the file helpers of ``files``), the writer lock,
the FAISS structure of each kind (``ann``), the paragraph table as read from disk (``rows``: a pyarrow Table, the
DataFrame built on first use), the SQLite caches (``cache``), on-disk vector spills and output rules.

Public names are imported on first use (PEP 562), so importing the package costs nothing until one is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from embed.lazy import lazy_exports

_LAZY = {
    "ParagraphIndex": "embed.store.index",
    "BuildStats": "embed.store.building",
    "write_atomic": "embed.store.files",
    "check_target": "embed.store.storage",
    "writer_lock": "embed.store.locking",
    "EmbeddingCache": "embed.store.cache",
    "KeyValueStore": "embed.store.cache",
    "check_output_file": "embed.store.outputs",
    "is_index_folder": "embed.store.outputs",
}

if TYPE_CHECKING:
    from embed.store.building import BuildStats
    from embed.store.cache import EmbeddingCache, KeyValueStore
    from embed.store.files import write_atomic
    from embed.store.index import ParagraphIndex
    from embed.store.locking import writer_lock
    from embed.store.outputs import check_output_file, is_index_folder
    from embed.store.storage import check_target

__getattr__, __dir__ = lazy_exports("embed.store", _LAZY, globals())

__all__ = ["ParagraphIndex", "BuildStats", "write_atomic", "check_target", "writer_lock", "EmbeddingCache", "KeyValueStore", "check_output_file", "is_index_folder"]
