"""The paragraph index and what keeps it on disk: the index itself, atomic two-generation storage, the writer
lock, the IVF-SQ structure for millions of rows, the embedding cache, on-disk vector spills and output rules.

Public names are imported on first use (PEP 562), so importing the package costs nothing until one is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from embed.lazy import lazy_exports

_LAZY = {
    "ParagraphIndex": "embed.store.index",
    "BuildStats": "embed.store.index",
    "write_atomic": "embed.store.storage",
    "check_target": "embed.store.storage",
    "writer_lock": "embed.store.locking",
    "EmbeddingCache": "embed.store.cache",
    "check_output_file": "embed.store.outputs",
    "is_index_folder": "embed.store.outputs",
}

if TYPE_CHECKING:
    from embed.store.cache import EmbeddingCache
    from embed.store.index import BuildStats, ParagraphIndex
    from embed.store.locking import writer_lock
    from embed.store.outputs import check_output_file, is_index_folder
    from embed.store.storage import check_target, write_atomic

__getattr__, __dir__ = lazy_exports("embed.store", _LAZY, globals())

__all__ = ["ParagraphIndex", "BuildStats", "write_atomic", "check_target", "writer_lock", "EmbeddingCache", "check_output_file", "is_index_folder"]
