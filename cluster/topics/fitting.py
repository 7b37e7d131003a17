"""The steps of a topic fit as functions: reduce, cluster, renumber, centres, assign, spread to duplicates.

:class:`~cluster.topics.model.TopicModel` runs them in ``fit``; tracking new
articles (:mod:`cluster.topics.updates`) and sampled fitting
(:mod:`cluster.topics.sampled`) call the same functions on their own
vectors, so no half-made model is ever built. Each works on arrays or on a
model's public fitted state (:class:`cluster.topics.state.FittedTopics`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from cluster.topics.direct import fit_direct
from cluster.topics.params import LAYOUTS, LAYOUTS_UP_TO, MAP_NEIGHBORS, adaptive_params
from cluster.topics.reduction import fit_umap, knn_graph, make_umap
from cluster.topics.state import FittedTopics
from embed.errors import InputError
from embed.vectors import unit_rows

__all__ = [
    "Reduction", "reduce_vectors", "cluster_reduced", "central_fit", "renumber", "topic_centres", "update_centres",
    "AssignmentRule", "assignment_rule", "assign", "assign_outliers", "duplicate_sources", "nearest_rows", "fitted_vectors", "input_vectors", "refresh_labels", "spread_labels", "AUTO_THRESHOLD_QUANTILE",
]

logger = logging.getLogger(__name__)

#: ``outlier_threshold="auto"``: an outlier joins its nearest topic when its
#: cosine to the topic centre is at least this quantile of the members' own.
AUTO_THRESHOLD_QUANTILE = 0.05
#: Rows per block of every dense product against the fitted rows (at most) ...
CHUNK_ROWS = 1024
#: ... and at most this many products per block (64 MiB of float32): 186 rows against 90k fitted rows.
BLOCK_ELEMENTS = 1 << 24
#: The agreement of :func:`central_fit`'s chosen topics to the other layouts' (mean ARI) under which it warns.
LOW_AGREEMENT = 0.5


def block_rows(n_base: int) -> int:
    """Rows per block of a product against ``n_base`` rows: :data:`CHUNK_ROWS`, fewer for a large base."""
    return max(16, min(CHUNK_ROWS, BLOCK_ELEMENTS // max(n_base, 1)))


@dataclass
class Reduction:
    """What :func:`reduce_vectors` made: the vectors to cluster, the reducer (None: no reduction),
    the neighbour graph (reused by the 2-D map) and the effective parameters."""

    vectors: np.ndarray
    reducer: Any
    knn: tuple[np.ndarray, np.ndarray] | None
    params: dict[str, Any] = field(default_factory=dict)


def reduce_vectors(
    vectors: np.ndarray, *, n_neighbors: int | None = None, n_components: int | None = None,
    min_cluster_size: int | None = None, min_samples: int | None = None, max_topic_share: float | None = None,
    umap_model: Any = None, random_state: int | None = None, allow_direct: bool = True,
) -> Reduction:
    """Parameters for ``len(vectors)`` paragraphs (:func:`cluster.topics.params.adaptive_params`), the
    neighbour graph, and the UMAP reduction (or none: HDBSCAN then runs on the vectors directly)."""
    n = len(vectors)
    effective = adaptive_params(
        n, n_neighbors=n_neighbors, n_components=n_components, min_cluster_size=min_cluster_size,
        min_samples=min_samples, allow_direct=allow_direct and umap_model is None, max_topic_share=max_topic_share,
    )
    knn = knn_graph(vectors, max(effective["n_neighbors"], MAP_NEIGHBORS))
    if effective["reduction"] == "none":
        return Reduction(vectors, None, knn, effective)
    if umap_model is not None:
        effective["umap_model"] = repr(umap_model)
        reducer = umap_model
    else:
        reducer = make_umap(
            n_neighbors=effective["n_neighbors"], n_components=effective["n_components"],
            min_dist=effective["min_dist"], init=effective["init"], random_state=random_state, knn=knn,
        )
    logger.info("reducing %d vectors with %s", n, type(reducer).__name__)
    return Reduction(fit_umap(reducer, vectors), reducer, knn, effective)


def cluster_reduced(
    reduction: Reduction, *, method: str = "auto", hdbscan_model: Any = None
) -> tuple[Any, np.ndarray, dict[str, Any]]:
    """HDBSCAN (or ``hdbscan_model``) over ``reduction.vectors``: (clusterer, labels, parameters used).

    ``method`` ``"auto"`` runs eom and falls back to leaf when eom puts most paragraphs into one or two topics."""
    params = dict(reduction.params)
    reduced = reduction.vectors
    if hdbscan_model is not None:
        params["hdbscan_model"] = repr(hdbscan_model)
        hdbscan_model.fit(reduced)
        return hdbscan_model, np.asarray(hdbscan_model.labels_, dtype=np.int64), params
    import hdbscan

    first = "eom" if method == "auto" else method

    def run(selection: str) -> tuple[Any, np.ndarray]:
        if params["reduction"] == "none":
            return fit_direct(reduced, min_cluster_size=params["min_cluster_size"],
                              min_samples=params["min_samples"], selection=selection)
        model = hdbscan.HDBSCAN(
            min_cluster_size=params["min_cluster_size"], min_samples=params["min_samples"],
            cluster_selection_method=selection, metric="euclidean",
            max_cluster_size=params["max_cluster_size"] if selection == "eom" else 0,
        )
        model.fit(reduced)
        return model, np.asarray(model.labels_, dtype=np.int64)

    clusterer, labels = run(first)
    if method == "auto":
        sizes = np.bincount(labels[labels >= 0]) if (labels >= 0).any() else np.zeros(0, dtype=int)
        if len(sizes) <= 2 and (not len(sizes) or sizes.max() > 0.5 * len(labels)):
            leaf_model, leaf_labels = run("leaf")
            if leaf_labels.max(initial=-1) + 1 > len(sizes):
                logger.info("eom gave %d topic(s) holding most paragraphs; using leaf selection", len(sizes))
                clusterer, labels, first = leaf_model, leaf_labels, "leaf"
    params["cluster_selection_method"] = first
    return clusterer, labels, params


def layout_seeds(random_state: int | None, n: int) -> list[int | None]:
    """``n - 1`` more UMAP seeds for :func:`central_fit` after ``random_state``'s own: independent draws from it
    (None: unseeded layouts)."""
    if random_state is None:
        return [None] * (n - 1)
    return [int(s) for s in np.random.default_rng(random_state).integers(0, 2**31 - 1, size=n - 1)]


def central_fit(
    vectors: np.ndarray, *, random_state: int | None, method: str = "auto", layouts: int = LAYOUTS,
    up_to: int = LAYOUTS_UP_TO, **reduce_kwargs: Any,
) -> tuple[Reduction, Any, np.ndarray, dict[str, Any]]:
    """Reduce and cluster ``vectors``; on the UMAP path with up to ``up_to`` paragraphs, over ``layouts`` UMAP
    layouts (``random_state``'s own and ``layouts - 1`` drawn from it), keeping the one whose topics agree best
    with the others' (mean ARI): the central partition.

    Why (issue 19): one UMAP layout in a few can join three blurred sections into one topic (800 VNTC leads on an
    Intel Xeon: ARI 0.235 against a median of 0.306 over five seeds); the central one of three layouts is never
    the odd one out. Returns (reduction, clusterer, labels, parameters used; ``layout_agreement`` among them)."""
    first = reduce_vectors(vectors, random_state=random_state, **reduce_kwargs)
    fits = [(first, *cluster_reduced(first, method=method))]
    if first.reducer is None or reduce_kwargs.get("umap_model") is not None or layouts < 2 or len(vectors) > up_to:
        return fits[0]
    from sklearn.metrics import adjusted_rand_score

    for seed in layout_seeds(random_state, layouts):
        reduction = reduce_vectors(vectors, random_state=seed, **reduce_kwargs)
        fits.append((reduction, *cluster_reduced(reduction, method=method)))
    agreement = np.array([
        np.mean([adjusted_rand_score(a[2], b[2]) for j, b in enumerate(fits) if j != i]) for i, a in enumerate(fits)
    ])
    best = int(agreement.argmax())
    reduction, clusterer, labels, used = fits[best]
    used.update(layouts=layouts, layout_agreement=round(float(agreement[best]), 3))
    if agreement[best] < LOW_AGREEMENT:
        logger.warning("topic maps from %d UMAP layouts agree poorly (ARI %.2f): the topics depend on the seed",
                       layouts, agreement[best])
    return reduction, clusterer, labels, used


def nearest_rows(queries: np.ndarray, base: np.ndarray) -> np.ndarray:
    """Position in ``base`` of each query's highest dot product, in blocks of :func:`block_rows` queries
    (at most :data:`BLOCK_ELEMENTS` products at once, never ``len(queries) x len(base)``)."""
    out = np.zeros(len(queries), dtype=np.int64)
    if not len(base):
        return out
    step = block_rows(len(base))
    for start in range(0, len(queries), step):
        out[start : start + step] = (np.asarray(queries[start : start + step], dtype=np.float32) @ base.T).argmax(axis=1)
    return out


def renumber(labels: np.ndarray, custom: dict[int, str] | None = None) -> tuple[np.ndarray, dict[int, str], int]:
    """Topic ids 0..K-1 by decreasing size (ties by old id): (new labels, ``custom`` labels renumbered, K)."""
    old = [t for t in np.unique(labels) if t >= 0]
    sizes = {t: int((labels == t).sum()) for t in old}
    order = sorted(old, key=lambda t: (-sizes[t], t))
    mapping = {int(t): i for i, t in enumerate(order)}
    out = np.full_like(labels, -1)
    for t, new in mapping.items():
        out[labels == t] = new
    return out, {mapping[t]: v for t, v in (custom or {}).items() if t in mapping}, len(order)


def topic_centres(vectors: np.ndarray, labels: np.ndarray, n_topics: int) -> tuple[np.ndarray, np.ndarray]:
    """(centres, thresholds): each topic's unit mean vector and the :data:`AUTO_THRESHOLD_QUANTILE` of its
    members' cosines to it."""
    centroids = np.zeros((n_topics, vectors.shape[1]), dtype=np.float32)
    thresholds = np.zeros(n_topics, dtype=np.float32)
    for t in range(n_topics):
        members = vectors[labels == t]
        centroids[t] = unit_rows(members.mean(axis=0), dtype=None)
        thresholds[t] = np.quantile(members @ centroids[t], AUTO_THRESHOLD_QUANTILE)
    return centroids, thresholds


def fitted_vectors(model: FittedTopics) -> np.ndarray:
    """The vectors of the model's fitted rows (float32)."""
    return np.asarray(model.index.vectors, dtype=np.float32)[model.fitted_mask_]


def update_centres(model: FittedTopics) -> None:
    """Recompute ``centroids_`` and ``thresholds_`` from the members (and forget the member-distance threshold)."""
    model.params_.pop("auto_nn_threshold", None)
    model.centroids_, model.thresholds_ = topic_centres(fitted_vectors(model), model.fit_labels_, model.n_topics_)


@dataclass
class AssignmentRule:
    """How a fitted model gives a topic to a new vector: small (centres, thresholds, member vectors) so it
    ships to Ray workers, and the one implementation ``predict``, outlier reassignment, tracking and
    sampled fitting all use.

    A number ``outlier_threshold``: the nearest topic centre when the cosine reaches it. ``"auto"`` (and
    None): the nearest centre when as close as the topic's own members (its threshold), else the topic of
    the nearest member paragraph when as close as members are to their nearest same-topic neighbour."""

    centroids: np.ndarray
    thresholds: np.ndarray
    members: np.ndarray
    member_topics: np.ndarray
    outlier_threshold: float | str | None = "auto"
    nn_threshold: float | None = None

    @property
    def n_topics(self) -> int:
        """Number of topics the rule can give."""
        return len(self.centroids)

    def nearest_member(self, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Topic and cosine of each vector's nearest topic member (in blocks of :func:`block_rows`)."""
        topics = np.empty(len(vectors), dtype=np.int64)
        scores = np.empty(len(vectors), dtype=np.float32)
        step = block_rows(len(self.members))
        for start in range(0, len(vectors), step):
            sims = vectors[start : start + step] @ self.members.T
            best = sims.argmax(axis=1)
            topics[start : start + step] = self.member_topics[best]
            scores[start : start + step] = sims[np.arange(len(best)), best]
        return topics, scores

    def member_threshold(self) -> float:
        """The 5th percentile of members' cosine to their nearest other member of the same topic (computed once)."""
        if self.nn_threshold is None:
            self.nn_threshold = _nn_threshold(self.members, self.member_topics)
        return self.nn_threshold

    def assign(self, vectors: np.ndarray, threshold: float | str | None | bool = True) -> np.ndarray:
        """Topic for each vector, or -1 (``threshold``: the rule's own when True)."""
        threshold = self.outlier_threshold if threshold is True else threshold
        if not self.n_topics:
            return np.full(len(vectors), -1, dtype=np.int64)
        vectors = unit_rows(vectors)
        sims = vectors @ self.centroids.T
        best = sims.argmax(axis=1)
        score = sims[np.arange(len(best)), best]
        if threshold is not None and threshold != "auto":
            return np.where(score >= float(threshold), best, -1).astype(np.int64)
        out = np.where(score >= self.thresholds[best], best, -1).astype(np.int64)
        todo = np.flatnonzero(out < 0)
        if len(todo):
            topics, scores = self.nearest_member(vectors[todo])
            out[todo] = np.where(scores >= self.member_threshold(), topics, -1)
        return out


def _nn_threshold(members: np.ndarray, topics: np.ndarray) -> float:
    if len(members) < 2:
        return 1.0
    rng = np.random.default_rng(0)
    sample = rng.choice(len(members), size=min(len(members), 5000), replace=False)
    best = np.full(len(sample), -1.0, dtype=np.float32)
    step = block_rows(len(members))
    for start in range(0, len(sample), step):
        idx = sample[start : start + step]
        sims = members[idx] @ members.T
        sims[np.arange(len(idx)), idx] = -2.0
        sims[topics[idx][:, None] != topics[None, :]] = -2.0
        best[start : start + step] = sims.max(axis=1)
    best = best[best > -1.5]
    return float(np.quantile(best, AUTO_THRESHOLD_QUANTILE)) if len(best) else 1.0


def assignment_rule(model: FittedTopics) -> AssignmentRule:
    """The :class:`AssignmentRule` of a fitted model. The member-distance threshold is taken from
    ``params_["auto_nn_threshold"]`` when known; :func:`assign` records it there once computed."""
    keep = model.fit_labels_ >= 0
    members = np.asarray(model.index.vectors, dtype=np.float32)[np.flatnonzero(model.fitted_mask_)[keep]]
    return AssignmentRule(
        centroids=model.centroids_, thresholds=model.thresholds_, members=members,
        member_topics=model.fit_labels_[keep], outlier_threshold=model.outlier_threshold,
        nn_threshold=model.params_.get("auto_nn_threshold"),
    )


def assign(model: FittedTopics, vectors: np.ndarray, threshold: float | str | None | bool = True) -> np.ndarray:
    """Topic of each vector by ``model``'s rule (``threshold``: the model's ``outlier_threshold`` when True)."""
    if not model.n_topics_:
        return np.full(len(vectors), -1, dtype=np.int64)
    rule = assignment_rule(model)
    out = rule.assign(vectors, threshold)
    if rule.nn_threshold is not None:
        model.params_["auto_nn_threshold"] = rule.nn_threshold
    return out


def assign_outliers(model: FittedTopics, threshold: float | str | None | bool = True) -> None:
    """Give the fitted rows without a topic one by the model's rule (:func:`assign`); others never change."""
    outliers = np.flatnonzero(model.fit_labels_ < 0)
    if len(outliers):
        labels = model.fit_labels_.copy()
        labels[outliers] = assign(model, fitted_vectors(model)[outliers], threshold)
        model.fit_labels_ = labels
        logger.info("reassigned %d of %d outliers", int((labels[outliers] >= 0).sum()), len(outliers))


def input_vectors(data: Any, embedder: Any, dim: int) -> np.ndarray:
    """Vectors of ``data`` for assignment: a (n, dim) or (dim,) array as is, texts (one or a list) embedded
    as passages with ``embedder``; anything else an :class:`~embed.errors.InputError` naming the item."""
    if isinstance(data, str):
        data = [data]
    if isinstance(data, np.ndarray):
        vectors = data[None, :] if data.ndim == 1 else data
        if vectors.ndim != 2 or vectors.shape[1] != dim:
            raise InputError(f"vectors have shape {data.shape}; expected (n, {dim})")
        return vectors
    texts = list(data)
    if not texts:
        return np.zeros((0, dim), dtype=np.float32)
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise InputError(f"item {i} is {type(text).__name__} {text!r}; expected text or a vector array")
    return np.asarray(embedder.embed_passages(texts), dtype=np.float32)


def refresh_labels(model: FittedTopics) -> None:
    """Set ``labels_`` (every index row, :func:`spread_labels`) and ``outlier_share_`` from ``fit_labels_``;
    map coordinates of another number of rows are dropped (recomputed on use)."""
    model.labels_ = spread_labels(model.index.paragraphs, model.fitted_mask_, model.fit_labels_)
    n_fit = int(model.fitted_mask_.sum())
    model.outlier_share_ = float((model.fit_labels_ < 0).sum() / n_fit) if n_fit else 0.0
    coords = getattr(model, "coordinates_", None)
    model.coordinates_ = None if coords is None or len(coords) != len(model.labels_) else coords


def duplicate_sources(table: pd.DataFrame, fitted: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
    """For each of ``rows`` (default: every row not ``fitted``), the row of the paragraph it duplicates
    (its ``duplicate_of``) when that row is ``fitted`` (rows past ``len(fitted)`` never are), or -1.

    The one rule by which a duplicate inherits from its original: its topic (:func:`spread_labels`, also
    in sampled fits and updates) and its map position (:mod:`cluster.topics.layout`)."""
    fitted = np.asarray(fitted, dtype=bool)
    rows = np.flatnonzero(~fitted[: len(table)]) if rows is None else np.asarray(rows, dtype=np.int64)
    out = np.full(len(rows), -1, dtype=np.int64)
    if not len(rows) or "duplicate_of" not in table.columns:
        return out
    originals = table["duplicate_of"].to_numpy()[rows]
    wanted = [i for i, o in enumerate(originals) if o is not None]
    if not wanted:
        return out
    row_of = dict(zip(table["id"].tolist(), range(len(table))))  # tolist: iterating an Arrow column is 10x slower
    for i in wanted:
        source = row_of.get(originals[i])
        if source is not None and source < len(fitted) and fitted[source]:
            out[i] = source
    return out


def spread_labels(table: pd.DataFrame, fitted: np.ndarray, fit_labels: np.ndarray) -> np.ndarray:
    """Labels for every row of ``table``: fitted rows keep theirs (``fit_labels``, in row order), a
    duplicate takes its original's (:func:`duplicate_sources`), anything else -1."""
    labels = np.full(len(table), -1, dtype=np.int64)
    labels[fitted] = fit_labels
    rest = np.flatnonzero(~fitted)
    sources = duplicate_sources(table, fitted, rest)
    found = sources >= 0
    labels[rest[found]] = labels[sources[found]]
    return labels
