"""The embedder interface: texts in, float32 L2-normalised 2-D arrays out.

Every embedder knows the difference between passages (paragraphs) and queries,
adding the prefixes or prompts its model wants.
"""

from __future__ import annotations

import unicodedata
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

import numpy as np

from embed.errors import InputError
from embed.vectors import unit_rows  # re-exported: embed.engine.base.unit_rows was its home before

__all__ = ["Embedder", "check_texts", "unit_rows"]


def check_texts(texts: Sequence[str] | str) -> list[str]:
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
        return self._batched(check_texts(texts), is_query=False, show_progress=show_progress)

    def embed_queries(self, texts: Sequence[str] | str) -> np.ndarray:
        """Embed search queries; returns an ``(n, dim)`` float32 array of unit vectors."""
        return self._batched(check_texts(texts), is_query=True, show_progress=False)

    def _batched(self, texts: list[str], *, is_query: bool, show_progress: bool) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = np.empty((len(texts), self.dim), dtype=np.float32)

        def run(done: Any) -> np.ndarray:
            for start in range(0, len(texts), self.batch_size):
                batch = texts[start : start + self.batch_size]
                out[start : start + len(batch)] = unit_rows(self._encode(batch, is_query=is_query))
                done(len(batch))
            return out

        if not show_progress:  # no bar, and no tqdm to import (a query in a new process)
            return run(lambda n: None)
        from tqdm.auto import tqdm

        with tqdm(total=len(texts), desc="embedding", unit="para") as bar:
            return run(bar.update)

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

