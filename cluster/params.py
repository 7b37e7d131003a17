"""Defaults that adapt to the number of paragraphs in the fit.

Measured on 3,000 VNTC leads (e5-small vectors, 2 cores): UMAP to 5-D with
15 neighbours, then HDBSCAN with ``min_cluster_size`` near ``sqrt(n)`` and
``min_samples=5`` gives about ten topics (ARI .34 against the labels); BERTopic's fixed
``min_cluster_size=10`` gives dozens of fragments and ~40% outliers. On a
handful of paragraphs every size shrinks so UMAP's spectral step and
HDBSCAN still have room (n=2 and n=3..6 crash UMAP with its defaults):
on the 45 seed paragraphs, 10 neighbours, ``min_cluster_size=4`` and
``min_samples=3`` kept the Hwasong-15 and the Hanoi-summit paragraphs in
two different topics for every one of six seeds tried.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["MIN_PARAGRAPHS", "adaptive_params"]

#: Fewer fitted paragraphs than this cannot form two topics: no fit is tried.
MIN_PARAGRAPHS = 4
#: Below this many points UMAP starts from a random layout, not spectral.
SPECTRAL_INIT_FROM = 100


def adaptive_params(
    n: int,
    *,
    n_neighbors: int | None = None,
    n_components: int | None = None,
    min_cluster_size: int | None = None,
    min_samples: int | None = None,
) -> dict[str, Any]:
    """Effective UMAP/HDBSCAN parameters for ``n`` paragraphs; a value given
    explicitly is kept (but clipped to what ``n`` allows)."""
    if n < MIN_PARAGRAPHS:
        raise ValueError(f"need at least {MIN_PARAGRAPHS} paragraphs to fit topics, got {n}")
    nn = min(15, round(1.5 * math.sqrt(n))) if n_neighbors is None else int(n_neighbors)
    nn = max(2, min(nn, n - 1))
    nc = 5 if n_components is None else int(n_components)
    nc = max(1, min(nc, n - 2))
    if min_cluster_size is None:
        mcs = max(2, min(round(math.sqrt(n)), n // 10))
        if n >= 40:
            mcs = max(mcs, 3)
    else:
        mcs = max(2, int(min_cluster_size))
    ms = min(5, max(1, mcs - 1)) if min_samples is None else max(1, int(min_samples))
    return {
        "n_neighbors": nn,
        "n_components": nc,
        "min_dist": 0.0,
        "metric": "cosine",
        "init": "spectral" if n >= SPECTRAL_INIT_FROM else "random",
        "min_cluster_size": mcs,
        "min_samples": ms,
    }
