"""Topic tracking: new articles join the fitted topics without a refit; refits keep the ids.

An index only ever appends rows (``paratopic index NEW --out DIR``), so a
model saved on the first ``N`` rows still describes them after articles are
added. :func:`update_topics` keeps every one of those rows' topics and:

1. checks that the index's first ``N`` rows are the model's rows (ids, text
   hashes and vectors; anything else is refused with
   :class:`~cluster.errors.IndexMismatchError`);
2. gives each new modelled paragraph a topic with the model's own rule
   (:func:`cluster.topics.fitting.assign` with ``outlier_threshold``, what
   ``predict`` does);
3. clusters the paragraphs left without a topic since the last fit or refit
   (this update's and earlier updates' outliers, never the fit's own outliers)
   among themselves, with the small-collection method (:mod:`cluster.topics.direct`,
   article context included; UMAP from :data:`~cluster.topics.direct.DIRECT_BELOW`
   paragraphs on): each group found, with at least ``min_documents``
   articles, becomes a new topic with the next free id (``K``, ``K+1``, ...);
4. refreshes every topic centre and threshold from its members (old members
   never move: only outliers are assigned), gives the remaining pool
   paragraphs one more chance with the same rule, recomputes keywords for all
   topics and phrase labels for the new ones only: a topic's label never
   changes under an update.

Ids stay contiguous ``0..n_topics_-1``. A full refit (:func:`match_refit`)
matches its topics to the previous ids by paragraph overlap (Hungarian
assignment on overlap counts, a pair counts when its Jaccard overlap reaches
:data:`MIN_JACCARD`). Rule for ids after a refit: a matched topic keeps its
old id when that id is below the new number of topics; every other topic
takes a free id, never-used ids first (from the previous highest id up),
then ids of vanished topics, lowest first. Each reuse of a vanished topic's
id is written in the history ("retired id 4 reused after refit").

Every fit, update and refit adds an entry to ``model.history_`` (saved with
the model): when, the data's latest date, and each topic's size and top
keywords (:mod:`cluster.topics.history`).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from cluster.errors import IndexMismatchError, check_fitted
from cluster.topics.context import with_article_context
from cluster.topics.describe import compute_keywords
from cluster.topics.direct import DIRECT_BELOW
from cluster.topics.fitting import assign, cluster_reduced, reduce_vectors, refresh_labels, update_centres
from cluster.topics.history import ensure_history, history_entry
from cluster.topics.layout import place_rows
from cluster.topics.params import MAX_TOPIC_SHARE
from cluster.topics.setaside import fit_mask
from cluster.topics.state import FittedTopics as TopicModel
from cluster.words.keywords import short_label
from embed.errors import InputError
from embed.vectors import unit_rows

__all__ = ["update_topics", "match_to_previous", "match_refit", "relabel_topics", "MIN_JACCARD",
           "POOL_MIN_CLUSTER_SIZE"]

logger = logging.getLogger(__name__)

#: A refit topic takes an old id only when the two share at least this
#: Jaccard overlap of their paragraphs (over paragraphs in both models).
MIN_JACCARD = 0.3
#: Largest smallest-topic size for groups formed by an update.
POOL_MIN_CLUSTER_SIZE = 5


def _current_label(model: TopicModel, topic: int) -> str:
    """A topic's label without its hand-set override (those are kept apart)."""
    return model.phrase_labels_.get(topic) or short_label([w for w, _ in model.keywords_.get(topic, [])])


def _check_prefix(model: TopicModel, index: Any) -> int:
    """Number of rows the model covers; raises when they are not the index's first rows.
    (``index`` may be the model's own index object, grown by ``add``: it only appends.)"""
    n = len(model.fitted_mask_)
    old, new = model.index.paragraphs.iloc[:n], index.paragraphs
    if len(new) < n:
        raise IndexMismatchError(f"the index has {len(new)} paragraphs, fewer than the {n} the topic model was fitted on")
    for column in ("id", "text_hash"):
        same = old[column].astype(str).to_numpy() == new[column].iloc[:n].astype(str).to_numpy()
        if not same.all():
            row = int(np.flatnonzero(~same)[0])
            raise IndexMismatchError(
                f"row {row} of the index is {new[column].iat[row]!r} ({column}), but the topic model has "
                f"{old[column].iat[row]!r} there: the index was rebuilt or changed, not only extended; refit the topics"
            )
    if not np.array_equal(np.asarray(model.index.vectors, dtype=np.float32)[:n], np.asarray(index.vectors, dtype=np.float32)[:n]):
        raise IndexMismatchError("the index's vectors for the model's paragraphs changed (another embedding model?); refit the topics")
    return n


def _cluster_pool(model: TopicModel, rows: np.ndarray, vectors: np.ndarray, table: pd.DataFrame) -> np.ndarray:
    """Groups among the pool ``rows`` (-1 = none), small-collection method with article context."""
    mcs = max(2, min(int(model.params_.get("min_cluster_size") or POOL_MIN_CLUSTER_SIZE), POOL_MIN_CLUSTER_SIZE))
    if len(rows) < max(mcs, 4):
        return np.full(len(rows), -1, dtype=np.int64)
    docs = table["doc_id"].astype(str).to_numpy()
    fitted = np.flatnonzero(model.fitted_mask_)
    context = with_article_context(vectors[fitted], docs[fitted], float(model.article_context))
    centred = context - context.mean(axis=0)  # centred on the whole collection, not the pool (often one story)
    centred = centred[np.searchsorted(fitted, rows)]
    if len(rows) >= DIRECT_BELOW:
        reduction = reduce_vectors(centred, min_cluster_size=mcs, max_topic_share=MAX_TOPIC_SHARE,
                                   random_state=model.random_state, allow_direct=False)
        return cluster_reduced(reduction)[1]
    import hdbscan

    centred = unit_rows(centred, dtype=None)
    distances = np.clip(1.0 - centred.astype(np.float64) @ centred.T.astype(np.float64), 0.0, 2.0)
    np.fill_diagonal(distances, 0.0)
    clusterer = hdbscan.HDBSCAN(min_cluster_size=mcs, min_samples=mcs, metric="precomputed", allow_single_cluster=True)
    return np.asarray(clusterer.fit(distances).labels_, dtype=np.int64)


def _group_topics(model: TopicModel, vectors: np.ndarray, groups: np.ndarray) -> dict[int, int]:
    """Old topic each group of new paragraphs belongs to: the nearest topic centre, when the
    group's centre is at least as close to it as that topic's nearest other topic's centre is."""
    k = int(model.n_topics_)
    if not k:
        return {}
    centres = model.centroids_
    between = centres @ centres.T
    np.fill_diagonal(between, -np.inf)
    bar = between.max(axis=1) if k > 1 else model.thresholds_.astype(np.float64)
    out = {}
    for g in np.unique(groups[groups >= 0]):
        centre = vectors[groups == g].mean(axis=0)
        sims = centres @ unit_rows(centre, dtype=None)
        best = int(sims.argmax())
        if sims[best] >= bar[best]:
            out[int(g)] = best
    return out


def update_topics(model: TopicModel, index: Any, *, min_documents: int = 1, method: str = "groups") -> TopicModel:
    """Give the paragraphs appended to ``index`` since ``model`` was fitted
    a topic, without refitting; returns ``model``, updated in place.

    Args:
        model: a fitted model whose ``index`` holds the first rows of ``index``
            (a model loaded with :func:`load_for_update`, or one whose index
            object has grown since with ``add``).
        index: the grown :class:`embed.ParagraphIndex`.
        min_documents: a group of new paragraphs becomes a topic only when it
            spans at least this many articles.
        method: ``"groups"`` (default): the pool (new paragraphs and earlier
            updates' outliers) is clustered first; a group joins the old
            topic whose centre is nearest when it is at least as close as
            that topic's nearest other topic, else it is a new topic; the
            paragraphs in no group get the model's rule. ``"rule"``: every
            new paragraph first gets the model's rule (``transform``), and
            only those left over are clustered into new topics.

    The last history entry says what happened (``counts``: added, modelled,
    joined, new_topic_paragraphs, outliers; ``new_topics``: the ids created);
    ``model.last_update_`` is that entry, or None when ``index`` holds nothing
    new (then nothing changes and no entry is added).
    """
    check_fitted(model)
    if isinstance(min_documents, bool) or not isinstance(min_documents, int) or min_documents < 1:
        raise InputError(f"min_documents must be a positive integer, got {min_documents!r}")
    if method not in ("groups", "rule"):
        raise InputError(f"method must be 'groups' or 'rule', got {method!r}")
    n_old = _check_prefix(model, index)
    history = ensure_history(model)
    model.last_update_ = None
    if n_old == len(index.paragraphs):
        logger.info("update: no paragraphs added since the model was fitted or last updated")
        return model
    table, vectors = index.paragraphs, np.asarray(index.vectors, dtype=np.float32)
    k_old = int(model.n_topics_)
    frozen = {t: _current_label(model, t) for t in range(k_old)}
    mask = fit_mask(table, include_flagged=bool(model.include_flagged))
    mask[:n_old] = model.fitted_mask_  # the rows already modelled stay exactly as they were
    new_rows = np.flatnonzero(mask[n_old:]) + n_old
    first = np.full(len(new_rows), -1, dtype=np.int64)
    if method == "rule" and len(new_rows):
        first = assign(model, vectors[new_rows])
    coords = model.coordinates_
    if coords is not None:
        coords = np.vstack([coords, place_rows(coords, table, vectors, mask, np.arange(n_old, len(table)))])
    model.index, model.fitted_mask_, model.coordinates_ = index, mask, coords
    labels = np.concatenate([model.fit_labels_, first]).astype(np.int64)
    model.fit_labels_ = labels
    # the pool: modelled rows without a topic, added since the last fit or refit
    base = max((e["n_paragraphs"] for e in history if e["event"] != "update"), default=0)
    fitted_rows = np.flatnonzero(mask)
    pool_at = np.flatnonzero((fitted_rows >= base) & (labels < 0))  # positions in the fitted rows
    pool = fitted_rows[pool_at]
    groups = _cluster_pool(model, pool, vectors, table) if len(pool) else np.zeros(0, np.int64)
    joins = _group_topics(model, vectors[pool], groups) if method == "groups" else {}
    docs = table["doc_id"].astype(str).to_numpy()
    found = [g for g in np.unique(groups[groups >= 0])
             if g not in joins and len(set(docs[pool[groups == g]])) >= min_documents]
    found.sort(key=lambda g: (-int((groups == g).sum()), g))
    pool_labels = np.full(len(pool), -1, dtype=np.int64)
    for g, t in joins.items():
        pool_labels[groups == g] = t
    for i, g in enumerate(found):
        pool_labels[groups == g] = k_old + i
    labels[pool_at] = pool_labels
    model.fit_labels_, model.n_topics_ = labels, k_old + len(found)
    update_centres(model)
    left = pool_at[pool_labels < 0]
    if len(left) and model.n_topics_:  # paragraphs in no group: the model's own rule, new topics included
        labels = model.fit_labels_.copy()
        labels[left] = assign(model, vectors[fitted_rows[left]])
        model.fit_labels_ = labels
        update_centres(model)
    model.tokens_ = None
    compute_keywords(model, fixed_labels=frozen)  # old topics keep their labels; only new ones are labelled
    refresh_labels(model)
    final = model.fit_labels_[np.searchsorted(fitted_rows, new_rows)]
    counts = {
        "added": int(len(table) - n_old), "modelled": int(len(new_rows)),
        "joined": int(((final >= 0) & (final < k_old)).sum()), "new_topic_paragraphs": int((final >= k_old).sum()),
        "outliers": int((final < 0).sum()),
        "earlier_outliers_placed": int((model.fit_labels_[pool_at[pool < n_old]] >= 0).sum()),
    }
    ever = max(e["n_topics"] for e in history)
    notes = [f"retired id {t} reused by an update" for t in range(k_old, model.n_topics_) if t < ever]
    history.append(history_entry(model, "update", new_topics=list(range(k_old, model.n_topics_)), notes=notes, counts=counts))
    model.last_update_ = history[-1]
    logger.info("update: %d new paragraphs, %d joined existing topics, %d formed %d new topics, %d outliers",
                counts["modelled"], counts["joined"], counts["new_topic_paragraphs"], len(found), counts["outliers"])
    return model


# ---------------------------------------------------------------- refit matching
def _members(model: TopicModel) -> pd.Series:
    """Topic of each modelled paragraph with a topic, by paragraph id."""
    ids = model.index.paragraphs["id"].astype(str).to_numpy()[model.fitted_mask_]
    keep = model.fit_labels_ >= 0
    return pd.Series(model.fit_labels_[keep], index=ids[keep])


def match_to_previous(new: TopicModel, old: TopicModel, *, min_jaccard: float = MIN_JACCARD) -> dict[int, int]:
    """Old id of each topic of ``new`` that is the same topic as one of ``old``.

    Overlap counts over the paragraphs both models put in a topic, one-to-one
    by the Hungarian method (most shared paragraphs), a pair kept when its
    Jaccard overlap (shared / in either, among those paragraphs) reaches
    ``min_jaccard``. Returns ``{new id: old id}``.
    """
    from scipy.optimize import linear_sum_assignment

    a, b = _members(new), _members(old)
    common = a.index.intersection(b.index)
    if not len(common) or not new.n_topics_ or not old.n_topics_:
        return {}
    counts = np.zeros((new.n_topics_, old.n_topics_), dtype=np.int64)
    np.add.at(counts, (a.loc[common].to_numpy(), b.loc[common].to_numpy()), 1)
    size_new, size_old = counts.sum(axis=1), counts.sum(axis=0)
    rows, cols = linear_sum_assignment(-counts)
    out = {}
    for r, c in zip(rows, cols):
        union = size_new[r] + size_old[c] - counts[r, c]
        if counts[r, c] and counts[r, c] / union >= min_jaccard:
            out[int(r)] = int(c)
    return out


def relabel_topics(model: TopicModel, mapping: dict[int, int]) -> None:
    """Renumber topics of ``model`` by ``mapping`` (a permutation of 0..K-1)."""
    order = np.argsort([mapping[t] for t in range(model.n_topics_)])  # order[new id] = current id
    lookup = np.array([mapping[t] for t in range(model.n_topics_)] + [-1], dtype=np.int64)
    model.fit_labels_ = lookup[model.fit_labels_]  # -1 indexes the trailing -1
    model.centroids_, model.thresholds_ = model.centroids_[order], model.thresholds_[order]
    model.keywords_ = {mapping[t]: v for t, v in model.keywords_.items() if t >= 0}
    model.phrase_labels_ = {mapping[t]: v for t, v in model.phrase_labels_.items()}
    model.custom_labels_ = {mapping[t]: v for t, v in model.custom_labels_.items()}
    refresh_labels(model)


def match_refit(new: TopicModel, old: TopicModel, *, min_jaccard: float = MIN_JACCARD) -> TopicModel:
    """Give ``new`` (a fresh fit) the ids of ``old``'s topics it matches (see
    the module's rule), carry hand-set labels of matched topics and the history over,
    and add a "refit" entry naming vanished and new topics. Returns ``new``."""
    matched = match_to_previous(new, old, min_jaccard=min_jaccard)
    k = int(new.n_topics_)
    history = [dict(e) for e in ensure_history(old)]
    ever = max([e["n_topics"] for e in history] + [old.n_topics_])
    mapping = {t: o for t, o in matched.items() if o < k}
    taken = set(mapping.values())
    free = [i for i in range(k) if i not in taken]
    free.sort(key=lambda i: (i < ever, i))  # never-used ids first, then vanished topics' ids
    rest = [t for t in range(k) if t not in mapping]  # already largest first
    notes = []
    for t, i in zip(rest, free):
        mapping[t] = i
        if i < ever:
            notes.append(f"retired id {i} reused after refit")
    vanished = sorted(set(range(old.n_topics_)) - set(matched.values()))
    moved = sorted(o for o in matched.values() if o >= k)
    notes += [f"topic {o} vanished" for o in vanished]
    notes += [f"topic {o} matched but renumbered {mapping[t]} (ids stay below {k})" for t, o in matched.items() if o in moved]
    new.custom_labels_ = {**{t: old.custom_labels_[o] for t, o in matched.items() if o in old.custom_labels_},
                          **new.custom_labels_}
    relabel_topics(new, mapping)
    created = sorted(mapping[t] for t in rest)
    new.history_ = [*history, history_entry(new, "refit", new_topics=created, notes=notes,
                                            matched={str(mapping[t]): o for t, o in matched.items()})]
    for note in notes:
        logger.info("refit: %s", note)
    return new
