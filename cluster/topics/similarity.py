"""Topic-to-topic similarity on a scale that tells topics apart.

Sentence embeddings share a large common direction: any two news paragraphs
of the bundled e5 model have a cosine of about 0.85, so the raw cosines
between topic centres all read 0.93-0.97 and say nothing. Here each topic
centre (the mean of its members) has the mean of every modelled paragraph
subtracted first: what the whole collection shares is removed, and the cosine
compares what is particular to each topic. 0 means no closer than to the
collection as a whole, above 0 related, below 0 apart. The sizes of the
topics balance around the mean, so with few topics the values lean negative
(with exactly two they are about -1).

Everything is recomputed from the index's vectors and the topic labels, so it
follows merges, reductions and saved models of any format version.
"""

from __future__ import annotations

import weakref

import numpy as np
from scipy.sparse import csr_matrix

from cluster.topics.state import FittedTopics as TopicModel
from embed.vectors import unit_rows

__all__ = ["SIMILARITY_NOTE", "centred_centroids", "query_similarity", "topic_similarity_matrix", "raw_similarity_range", "find_topics"]

#: The one-line explanation shown next to similarities in reports.
SIMILARITY_NOTE = (
    "Similarity is the cosine between topic centres after subtracting the mean of all modelled paragraphs "
    "(what every paragraph shares): 1 = same direction, 0 = no closer than to the collection as a whole, "
    "below 0 = apart."
)

_cache: weakref.WeakKeyDictionary[TopicModel, tuple[tuple[object, ...], np.ndarray]] = weakref.WeakKeyDictionary()


def centred_centroids(model: TopicModel) -> np.ndarray:
    """(n_topics, dim) unit vectors: each topic's mean vector minus the mean
    of all modelled paragraphs (outliers included), normalised.

    Cached per model until its labels, fitted paragraphs or vectors change."""
    vectors = model.index.vectors
    key = (model.fit_labels_, model.fitted_mask_, vectors, model.n_topics_)
    cached = _cache.get(model)
    if cached is not None and len(cached[0]) == len(key) and all(a is b for a, b in zip(cached[0], key)):
        return cached[1]
    fitted = np.asarray(vectors, dtype=np.float32)[np.asarray(model.fitted_mask_, dtype=bool)]
    labels = np.asarray(model.fit_labels_)
    k = int(model.n_topics_)
    if k == 0 or not len(fitted):
        result = np.zeros((k, fitted.shape[1] if fitted.ndim == 2 else 0), dtype=np.float32)
    else:
        mean = fitted.mean(axis=0, dtype=np.float64)
        members = np.flatnonzero(labels >= 0)
        onehot = csr_matrix((np.ones(len(members)), (labels[members], members)), shape=(k, len(fitted)))
        counts = np.asarray(onehot.sum(axis=1)).ravel()
        sums = np.asarray(onehot @ fitted.astype(np.float64))
        means = np.where(counts[:, None] > 0, sums / np.maximum(counts, 1)[:, None], mean)
        result = unit_rows(means - mean, dtype=None).astype(np.float32)
    _cache[model] = (key, result)
    return result


def topic_similarity_matrix(model: TopicModel) -> np.ndarray:
    """(n_topics, n_topics) cosines between the centred topic centres (see
    :func:`centred_centroids`); 1 on the diagonal."""
    centres = centred_centroids(model)
    sims = np.clip(centres @ centres.T, -1.0, 1.0)
    np.fill_diagonal(sims, 1.0)
    return sims


def query_similarity(model: TopicModel, vector: np.ndarray) -> np.ndarray:
    """(n_topics,) cosines between a query vector and the topic centres, both
    with the modelled paragraphs' mean removed (the scale of
    :func:`topic_similarity_matrix`). On the seeds a question about the Hanoi
    summit ranked the summit topic 3rd of 5 by raw cosine, 2nd on this scale."""
    fitted = np.asarray(model.index.vectors, dtype=np.float32)[np.asarray(model.fitted_mask_, dtype=bool)]
    query = np.asarray(vector, dtype=np.float64) - fitted.mean(axis=0, dtype=np.float64)
    return centred_centroids(model) @ unit_rows(query, dtype=None).astype(np.float32)


def find_topics(model: TopicModel, query: str, n: int = 5) -> list[tuple[int, float]]:
    """The ``n`` topics most similar to the text ``query`` (embedded as a query), on the
    :func:`query_similarity` scale, best first."""
    if not model.n_topics_:
        return []
    sims = query_similarity(model, model.index.embedder.embed_queries([query])[0])
    order = np.argsort(-sims, kind="stable")[:n]
    return [(int(t), float(sims[t])) for t in order]


def raw_similarity_range(model: TopicModel) -> tuple[float, float] | None:
    """(lowest, highest) raw cosine between two different topic centres, or
    None with fewer than two topics: what the centred scale replaces."""
    k = int(model.n_topics_)
    if k < 2:
        return None
    sims = np.asarray(model.centroids_, dtype=np.float32) @ np.asarray(model.centroids_, dtype=np.float32).T
    off = sims[~np.eye(k, dtype=bool)]
    return float(off.min()), float(off.max())
