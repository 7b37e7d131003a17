"""Defaults that adapt to the number of paragraphs in the fit.

Measured on 3,000 VNTC leads (e5-small vectors, 2 cores): UMAP to 5-D with
15 neighbours, then HDBSCAN with ``min_cluster_size`` near ``sqrt(n)`` gives
about ten topics; BERTopic's fixed ``min_cluster_size=10`` gives dozens of
fragments and ~40% outliers.

Why a topic sometimes swallowed a third of the data (issue 19): in some UMAP
layouts the sections touch, the biggest child of HDBSCAN's root stays whole
over a long density range while it only sheds pieces smaller than
``min_cluster_size``, and excess of mass (stability = points x density range)
then prefers it to any set of its sub-clusters; which layouts do this changes
with the seed. So no selected topic may hold more than :data:`MAX_TOPIC_SHARE`
of the paragraphs: HDBSCAN's ``max_cluster_size`` makes excess of mass select
the best set of sub-clusters of a larger one instead (it stays whole only when
its tree has no split into two parts of ``min_cluster_size``); and
``min_samples`` is 7 (was 5), a less noisy density. Ten seeds on the same
layouts, worst / median ARI and the largest topic (largest label 5-14%):

=====================  ================  ================  ================  ================
                       800 VNTC leads    3,000 VNTC leads  10k VNTC paras    1,100 20NG docs
=====================  ================  ================  ================  ================
before (ms 5, none)    .211 /.280, 43%   .288 /.302, 29%   .218 /.270, 28%   .314 /.327, 15%
bound 0.15, ms 5       .215 /.304, 22%   .312 /.332, 18%   .421 /.457, 18%   .309 /.326, 19%
bound 0.15, ms 7       .280 /.303, 17%   .308 /.333, 19%   .431 /.470, 18%   .301 /.323, 18%
bound 0.15, ms mcs//3  .277 /.316, 17%   .350 /.368, 19%   .450 /.463, 19%   .239 /.315, 23%
=====================  ================  ================  ================  ================

``min_samples`` of a third of ``min_cluster_size`` is best on VNTC but loses
on 20 Newsgroups (20 groups of 5%); without the bound it collapses 10k
paragraphs into one topic of 87% on every seed. Bounds of 0.10 and 0.20 did
worse (800 leads: worst .247; 10k paragraphs: worst .403), as did leaf
selection (3,000 leads: worst .300, median .311). On a
handful of paragraphs every size shrinks so UMAP's spectral step and
HDBSCAN still have room (n=2 and n=3..6 crash UMAP with its defaults):
on the 45 seed paragraphs, 10 neighbours, ``min_cluster_size=4`` and
``min_samples=3`` kept the Hwasong-15 and the Hanoi-summit paragraphs in
two different topics for every one of six seeds tried.

Below :data:`cluster.topics.direct.DIRECT_BELOW` paragraphs, unless a UMAP setting
(``n_neighbors``, ``n_components``, a ``umap_model``) is given or
``allow_direct`` is False, there is no UMAP at all:
``reduction`` is ``"none"`` and HDBSCAN runs on cosine distances
(:mod:`cluster.topics.direct`, which says why, with numbers).
"""

from __future__ import annotations

import math
from typing import Any

from cluster.topics.direct import DIRECT_BELOW, direct_min_cluster_size
from embed.errors import InputError

__all__ = ["LAYOUTS", "LAYOUTS_UP_TO", "MAX_TOPIC_SHARE", "MIN_PARAGRAPHS", "MAP_NEIGHBORS", "adaptive_params", "validate_params"]

_SELECTION_METHODS = ("auto", "eom", "leaf")
#: Neighbours of each point in the 2-D map's UMAP (the fit's neighbour graph has at least this many).
MAP_NEIGHBORS = 15
#: Fewer fitted paragraphs than this cannot form two topics: no fit is tried.
MIN_PARAGRAPHS = 4
#: Below this many points UMAP starts from a random layout, not spectral.
SPECTRAL_INIT_FROM = 100
#: On the UMAP path no HDBSCAN (excess-of-mass) topic may hold more than this
#: share of the fitted paragraphs: a larger one is replaced by the best
#: selection among its sub-clusters (HDBSCAN's ``max_cluster_size``).
MAX_TOPIC_SHARE = 0.15
#: ... from this many paragraphs: on a 266-paragraph sample of 800 VNTC leads
#: (:mod:`cluster.topics.sampled`) the bound gave 3 topics and ARI 0.099, none 5 and 0.211.
BOUND_FROM = 500
#: UMAP layouts a fit of up to :data:`LAYOUTS_UP_TO` paragraphs compares, keeping the central one
#: (:func:`cluster.topics.fitting.central_fit`; ``TopicModel(n_layouts=...)``).
LAYOUTS = 3
LAYOUTS_UP_TO = 5_000


def adaptive_params(
    n: int,
    *,
    n_neighbors: int | None = None,
    n_components: int | None = None,
    min_cluster_size: int | None = None,
    min_samples: int | None = None,
    allow_direct: bool = True,
    max_topic_share: float | None = MAX_TOPIC_SHARE,
) -> dict[str, Any]:
    """Effective UMAP/HDBSCAN parameters for ``n`` paragraphs; a value given
    explicitly is kept (but clipped to what ``n`` allows).

    ``max_cluster_size`` (0 = no bound) is ``max_topic_share * n`` on the UMAP
    path from :data:`BOUND_FROM` paragraphs, never below twice ``min_cluster_size``;
    the direct path has none."""
    if n < MIN_PARAGRAPHS:
        raise InputError(f"need at least {MIN_PARAGRAPHS} paragraphs to fit topics, got {n}")
    nn = min(15, round(1.5 * math.sqrt(n))) if n_neighbors is None else int(n_neighbors)
    nn = max(2, min(nn, n - 1))
    nc = 5 if n_components is None else int(n_components)
    nc = max(1, min(nc, n - 2))
    direct = n < DIRECT_BELOW and n_neighbors is None and n_components is None and allow_direct
    if min_cluster_size is None and direct:
        mcs = direct_min_cluster_size(n)
    elif min_cluster_size is None:
        mcs = max(2, min(round(math.sqrt(n)), n // 10))
        if n >= 40:
            mcs = max(mcs, 3)
    else:
        mcs = max(2, int(min_cluster_size))
    if min_samples is not None:
        ms = max(1, int(min_samples))
    else:
        ms = mcs if direct else min(7, max(1, mcs - 1))
    bound = 0 if direct or max_topic_share is None or n < BOUND_FROM else max(math.ceil(float(max_topic_share) * n), 2 * mcs)
    return {
        "reduction": "none" if direct else "umap",
        "n_neighbors": nn,
        "n_components": nc,
        "min_dist": 0.0,
        "metric": "cosine",
        "init": "spectral" if n >= SPECTRAL_INIT_FROM else "random",
        "min_cluster_size": mcs,
        "min_samples": ms,
        "max_cluster_size": bound,
    }


def validate_params(model: Any) -> None:
    """Raise :class:`~embed.errors.InputError` (a ValueError) for a TopicModel setting out of range (called by ``fit``)."""
    if model.cluster_selection_method not in _SELECTION_METHODS:
        raise InputError(
            f"cluster_selection_method must be one of {_SELECTION_METHODS}, got {model.cluster_selection_method!r}"
        )
    thr = model.outlier_threshold
    if not (thr is None or thr == "auto" or (isinstance(thr, (int, float)) and -1 <= thr <= 1)):
        raise InputError(f"outlier_threshold must be 'auto', None or a cosine in [-1, 1], got {thr!r}")
    share = model.max_topic_share
    if share is not None and (isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 < share <= 1):
        raise InputError(f"max_topic_share must be a share in (0, 1] or None, got {share!r}")
    if isinstance(model.n_layouts, bool) or not isinstance(model.n_layouts, int) or model.n_layouts < 1:
        raise InputError(f"n_layouts must be a whole number of at least 1, got {model.n_layouts!r}")
    if model.language not in ("auto", "vi", "en", "other"):
        raise InputError(f"language must be 'auto', 'vi', 'en' or 'other', got {model.language!r}")
    if model.n_topics is not None and int(model.n_topics) < 1:
        raise InputError(f"n_topics must be at least 1 or None, got {model.n_topics!r}")
    if int(model.n_keywords) < 1:
        raise InputError(f"n_keywords must be at least 1, got {model.n_keywords!r}")
    for name, value, top in (("diversity", model.diversity, 1), ("article_context", model.article_context, 10)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= top:
            raise InputError(f"{name} must be a number in [0, {top}], got {value!r}")
    for name in ("n_neighbors", "n_components", "min_cluster_size", "min_samples"):
        value = getattr(model, name)
        if value is not None and int(value) < 1:
            raise InputError(f"{name} must be a positive integer or None, got {value!r}")
    if model.umap_model is not None and not hasattr(model.umap_model, "fit_transform"):
        raise InputError(f"umap_model must have fit_transform(X); got {type(model.umap_model).__name__}")
    if model.hdbscan_model is not None and not hasattr(model.hdbscan_model, "fit"):
        raise InputError(f"hdbscan_model must have fit(X) setting labels_; got {type(model.hdbscan_model).__name__}")
