"""Topics of small collections: HDBSCAN directly on cosine distances.

Below :data:`DIRECT_BELOW` modelled paragraphs (one reader's handful of
articles) :class:`~cluster.topics.model.TopicModel` skips UMAP and runs HDBSCAN on
the cosine distances between the paragraphs' context vectors
(:mod:`cluster.topics.context`) after removing their mean vector, which spreads
e5's narrow cosine range (most pairs of news paragraphs sit at 0.75-0.9).
If it leaves most paragraphs as noise (:data:`DIRECT_MAX_OUTLIERS`: broad
subjects, no stories), UMAP is used after all. The direct path has no random step, so a collection gets the same topics for every seed,
and tiny vector differences (another CPU's int8 kernels) leave them alone.

Measured on ViMs draws (``benchmarks/bench_small.py`` → ``benchmarks/results/small.md``;
ARI against the events, mean over draws, all on the same vectors):

======  ==========  =======  ==================  =================  ========
events  paragraphs  default  before (UMAP path)  no article context  BERTopic
======  ==========  =======  ==================  =================  ========
3       ~134        0.995    0.949               0.935              0.972
5       ~252        0.994    0.937               0.887              0.936
10      ~443        0.963    0.884               0.855              0.877
20      ~949        0.911    0.809               0.747              0.832
======  ==========  =======  ==================  =================  ========

``min_cluster_size`` is 5 (3 or 4 under 50 paragraphs): a ViMs event has 4-10
articles, 20-70 paragraphs; on the 43 seed paragraphs 5 merged four of the five
articles into one topic, 4 kept each article's story apart.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from embed.vectors import unit_rows

__all__ = ["DIRECT_BELOW", "DIRECT_MAX_OUTLIERS", "direct_min_cluster_size", "fit_direct"]

#: Fewer modelled paragraphs than this are clustered directly (no UMAP).
DIRECT_BELOW = 1_000
#: When HDBSCAN on cosine distances leaves more than this share as noise, the
#: collection has no dense groups (stories) and the fit uses UMAP after all.
#: On ViMs draws of 3-20 events the share was at most 0.08; on 200 or 800
#: one-line VNTC leads (ten broad sections, no stories) about 0.7.
DIRECT_MAX_OUTLIERS = 0.25


def direct_min_cluster_size(n: int) -> int:
    """Smallest topic for ``n`` paragraphs on the direct path."""
    return max(2, min(5, n // 10))


def centred_cosine_distances(vectors: np.ndarray) -> np.ndarray:
    """(n, n) float64 cosine distances after removing the rows' mean vector."""
    centred = np.asarray(vectors, dtype=np.float64) - np.asarray(vectors, dtype=np.float64).mean(axis=0)
    centred = unit_rows(centred, dtype=None)
    distances = np.clip(1.0 - centred @ centred.T, 0.0, 2.0)
    np.fill_diagonal(distances, 0.0)
    return distances


def fit_direct(vectors: np.ndarray, *, min_cluster_size: int, min_samples: int, selection: str = "eom") -> tuple[Any, np.ndarray]:
    """Fit HDBSCAN on :func:`centred_cosine_distances`; returns (model, labels)."""
    import hdbscan

    model = hdbscan.HDBSCAN(
        min_cluster_size=min_cluster_size, min_samples=min_samples, metric="precomputed",
        cluster_selection_method=selection,
    )
    model.fit(centred_cosine_distances(vectors))
    return model, np.asarray(model.labels_, dtype=np.int64)
