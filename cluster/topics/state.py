"""What a fitted topic model holds, as the helper modules see it.

:class:`FittedTopics` names the public fitted attributes of
:class:`cluster.topics.model.TopicModel` that the helpers (layout,
representatives, similarity, views, history, tracking, persistence, reports)
read or set; they take any object with them, so none of them imports the
model class. :class:`IndexRows` is the first rows of a grown index.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import numpy as np

__all__ = ["FittedTopics", "IndexRows"]


class FittedTopics(Protocol):
    """The fitted state of a topic model (every attribute public, trailing underscore for fitted values).

    Attributes:
        index: the paragraph index fitted (``paragraphs``, ``vectors``, ``embedder``).
        fitted_mask_: which index rows were fitted (bool, one per row).
        fit_labels_: topic of each fitted row (-1 = outlier), in index order.
        labels_: topic of every index row (duplicates take their original's).
        n_topics_: number of topics; ids are 0..n_topics_-1.
        centroids_: (n_topics_, dim) unit topic centres.
        thresholds_: per-topic outlier thresholds (cosine to the centre).
        keywords_: ``{topic: [(word, weight), ...]}``.
        phrase_labels_: ``{topic: phrase}`` automatic labels.
        custom_labels_: ``{topic: label}`` hand-set labels.
        params_: the parameters used (and timings, thresholds found).
        coordinates_: (n_rows, 2) map coordinates, or None until computed.
        history_: fit/update/refit entries (:mod:`cluster.topics.history`).
        tokens_: the fitted paragraphs' keyword tokens, or None until needed.
    """

    index: Any
    index_dir_: Path | None
    fitted_mask_: np.ndarray
    fit_labels_: np.ndarray
    labels_: np.ndarray
    n_topics_: int
    centroids_: np.ndarray
    thresholds_: np.ndarray
    keywords_: dict[int, list[tuple[str, float]]]
    phrase_labels_: dict[int, str]
    custom_labels_: dict[int, str]
    params_: dict[str, Any]
    message_: str
    outlier_share_: float
    coordinates_: np.ndarray | None
    history_: list[dict[str, Any]]
    tokens_: list[list[str]] | None
    include_flagged: bool
    outlier_threshold: float | str | None
    article_context: float
    random_state: int | None

    @property
    def embedding_2d_(self) -> np.ndarray: ...

    def topic_label(self, topic: int) -> str: ...

    def topic_info(self) -> Any: ...

    def get_topic(self, topic: int) -> list[tuple[str, float]]: ...

    def representative_paragraphs(self, topic: int, n: int = 3) -> Any: ...


class IndexRows:
    """The first ``n`` rows of an index, for a model saved before rows were
    appended (:func:`cluster.topics.tracking.load_for_update`). Only
    ``paragraphs`` and ``vectors`` (and the index's embedder) are available."""

    def __init__(self, index: Any, n: int) -> None:
        self.parent = index
        self.paragraphs = index.paragraphs.iloc[:n].reset_index(drop=True)
        self.vectors = np.asarray(index.vectors, dtype=np.float32)[:n]

    @property
    def embedder(self) -> Any:
        """The parent index's embedder."""
        return self.parent.embedder

    def __len__(self) -> int:
        return len(self.paragraphs)
