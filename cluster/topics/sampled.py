"""Topics of collections too large for one UMAP: fit on a sample, assign the rest on a Ray cluster.

>>> from cluster.topics.sampled import fit_sampled
>>> result = fit_sampled(index, sample_size=50_000, random_state=0)   # doctest: +SKIP
>>> result.labels          # a topic (or -1) for every paragraph of the index

1. A random sample of the paragraphs a :class:`~cluster.topics.model.TopicModel`
   would fit (unflagged, non-empty) is fitted as usual (UMAP + HDBSCAN,
   outlier reassignment, keywords of the sample). :data:`DEFAULT_SAMPLE`
   comes from measured time and memory (``benchmarks/results/scale.md``).
2. Every other fitted paragraph gets its topic by the model's own
   ``predict`` rule (:class:`cluster.topics.fitting.AssignmentRule`: nearest
   topic centre above its threshold, else the nearest member paragraph above
   the auto threshold), in chunks run as Ray tasks; the rule travels as that
   small object (centres, thresholds and member vectors), so the code that
   decides is the very code ``predict`` runs.
3. Flagged paragraphs take the topic of the paragraph they duplicate, as in
   a full fit; boilerplate gets -1.
4. Keywords are counted over *all* paragraphs of each topic: each Ray task
   tokenises its chunk and returns per-topic word counts, the driver sums
   them and ranks words by class-based TF-IDF.

Ray is imported only inside :func:`fit_sampled` (``paratopic[ray]``); with
``address=None`` the chunks run in this process.
"""

from __future__ import annotations

import logging
import resource
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from cluster.errors import check_fitted
from cluster.topics.fitting import AssignmentRule, nearest_rows, refresh_labels, spread_labels, update_centres
from cluster.topics.fitting import assignment_rule as model_rule
from cluster.topics.persist import INIT_PARAMS
from cluster.topics.setaside import fit_mask
from cluster.words.ctfidf import keywords_from_counts
from cluster.words.reference import reference_for
from embed.errors import InputError

__all__ = ["fit_sampled", "SampledTopics", "assignment_rule", "DEFAULT_SAMPLE"]

logger = logging.getLogger(__name__)

#: Paragraphs fitted by default (see the module docstring and benchmarks/results/scale.md).
DEFAULT_SAMPLE = 20_000  # measured: fit 29-34 s and 6.8 GB driver peak on 2 cores (benchmarks/results/scale.md)
CHUNK = 50_000


@dataclass
class SampledTopics:
    """The result of :func:`fit_sampled`.

    Attributes:
        model: the :class:`~cluster.topics.model.TopicModel` fitted on the sample
            (its ``index`` is the sample; ``transform`` works as usual).
        labels: topic per paragraph of the whole index (-1 = none).
        sample_rows: the index rows fitted.
        keywords: per topic, ``(word, weight)`` from the counts over all its paragraphs.
        seconds: time of each step; peak_rss_mb: the driver's peak memory.
    """

    model: Any
    labels: np.ndarray
    sample_rows: np.ndarray
    keywords: dict[int, list[tuple[str, float]]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    peak_rss_mb: float = 0.0

    def as_topic_model(self, index: Any) -> Any:
        """A :class:`~cluster.topics.model.TopicModel` over the whole ``index``, saved and opened like any other:
        the sample's topics, labels and parameters, every paragraph's assigned topic, centres from all
        members, keywords from the counts over all paragraphs, and map coordinates (the sample's own;
        every other paragraph at its nearest sampled neighbour)."""
        from cluster.topics.model import TopicModel

        sample = self.model
        model = TopicModel(**{name: getattr(sample, name) for name in INIT_PARAMS}, stopwords=sample.stopwords)
        table = index.paragraphs
        if len(self.labels) != len(table):
            raise InputError(f"these topics label {len(self.labels)} paragraphs; the index has {len(table)}")
        model.index, model.index_dir_ = index, None
        model.fitted_mask_ = fit_mask(table, include_flagged=bool(sample.include_flagged))
        model.fit_labels_ = np.asarray(self.labels, dtype=np.int64)[model.fitted_mask_]
        model.n_topics_, model.message_, model.history_ = sample.n_topics_, sample.message_, []
        model.custom_labels_ = dict(sample.custom_labels_)
        model.phrase_labels_ = dict(sample.phrase_labels_)
        model.params_ = {**sample.params_, "n_paragraphs": len(table), "n_fitted": int(model.fitted_mask_.sum()),
                         "sample_size": len(self.sample_rows)}
        model.raw_outlier_share_ = getattr(sample, "raw_outlier_share_", None)
        model.stopwords_info_ = getattr(sample, "stopwords_info_", None)
        model.tokens_, model.tokenizer_, model.coordinates_ = None, None, None
        display = sample.tokenizer_.display if getattr(sample, "tokenizer_", None) is not None else str
        model.keywords_ = ({t: [(display(w), s) for w, s in pairs] for t, pairs in self.keywords.items()}
                           if self.keywords else dict(sample.keywords_))
        update_centres(model)
        refresh_labels(model)
        model.coordinates_ = self._coordinates(index, sample)
        return model

    def _coordinates(self, index: Any, sample: Any) -> np.ndarray:
        """Map coordinates for every row: the sample's, and the nearest sampled paragraph's for the rest."""
        sampled = np.asarray(sample.embedding_2d_, dtype=np.float64)
        coords = np.zeros((len(index.paragraphs), 2), dtype=np.float64)
        coords[self.sample_rows] = sampled
        rest = np.setdiff1d(np.arange(len(coords)), self.sample_rows, assume_unique=True)
        sample_vectors = np.asarray(index.vectors, dtype=np.float32)[self.sample_rows]
        for start in range(0, len(rest), CHUNK):  # rows read from the index a chunk at a time
            rows = rest[start:start + CHUNK]
            coords[rows] = sampled[nearest_rows(np.asarray(index.vectors[rows], dtype=np.float32), sample_vectors)]
        return coords

    def topic_info(self) -> pd.DataFrame:
        """Topic, size over the whole index, and top keywords."""
        sizes = Counter(int(t) for t in self.labels if t >= 0)
        return pd.DataFrame([
            {"topic": t, "size": sizes.get(t, 0), "keywords": ", ".join(w for w, _ in self.keywords.get(t, [])[:8])}
            for t in range(self.model.n_topics_)
        ], columns=["topic", "size", "keywords"])


class _Sample:
    """The sampled rows of an index, shaped like one (what ``TopicModel.fit`` reads)."""

    def __init__(self, index: Any, rows: np.ndarray) -> None:
        self._index = index
        self.paragraphs = index.paragraphs.iloc[rows].reset_index(drop=True)
        self.vectors = np.ascontiguousarray(np.asarray(index.vectors)[rows], dtype=np.float32)

    @property
    def embedder(self) -> Any:
        return self._index.embedder


def assignment_rule(model: Any) -> AssignmentRule:
    """The model's :class:`~cluster.topics.fitting.AssignmentRule` (centres, thresholds, member vectors and
    topics, the member-distance threshold computed once here): small to ship to workers, and deciding with
    the same code as ``model.predict``."""
    check_fitted(model)
    rule = model_rule(model)
    if rule.n_topics:
        rule.member_threshold()
    return rule


def _assign_chunk(rule: AssignmentRule, vectors: np.ndarray) -> np.ndarray:
    return rule.assign(np.asarray(vectors, dtype=np.float32))


def _count_chunk(language: str, texts: list[str], labels: np.ndarray, stop: frozenset[str]) -> dict[int, Counter]:
    """Per-topic word counts of one chunk (the map side of the keyword counts)."""
    from cluster.words.tokens import Tokenizer

    tokens = Tokenizer(language).raw_tokens_many(texts)
    out: dict[int, Counter] = {}
    for words, topic in zip(tokens, labels):
        if topic >= 0:
            out.setdefault(int(topic), Counter()).update(w for w in words if w not in stop)
    return out


def sample_min_cluster_size(n_total: int, n_sample: int) -> int:
    """The smallest topic in a sample: the full fit's own (:func:`cluster.topics.params.adaptive_params` for
    ``n_total`` paragraphs) times the sample's share, so a topic holds the same share of the collection
    either way. Left to adapt to the sample's own size, 1,000 of 3,000 VNTC leads gave 3 topics (ARI 0.065
    against the sections) where the full fit gives 13 (0.296); scaled, 13 topics (0.322)."""
    from cluster.topics.params import adaptive_params

    full = adaptive_params(n_total, allow_direct=False)["min_cluster_size"]
    return max(2, round(full * n_sample / n_total))


def fit_sampled(
    index: Any,
    *,
    sample_size: int = DEFAULT_SAMPLE,
    address: str | None = "auto",
    random_state: int = 0,
    chunk: int = CHUNK,
    keywords: bool = True,
    **params: Any,
) -> SampledTopics:
    """Fit topics on a sample of ``index``, then give every paragraph a topic.

    Args:
        index: a :class:`embed.ParagraphIndex` (or anything with ``paragraphs`` and ``vectors``).
        sample_size: paragraphs fitted; the whole fit set when it is smaller.
        address: Ray cluster for the assignment and keyword counts (see
            ``embed.distributed.build.ray_session``); None runs them in this process.
        random_state: seed of the sample and of the fit.
        chunk: paragraphs per Ray task.
        keywords: count keywords over all paragraphs (needs ``text``).
        **params: :class:`~cluster.topics.model.TopicModel` parameters; ``min_cluster_size`` defaults to
            :func:`sample_min_cluster_size`.
    """
    from cluster.topics.model import TopicModel

    if sample_size < 2 or chunk < 1:
        raise InputError(f"sample_size must be at least 2 and chunk at least 1, got {sample_size} and {chunk}")
    seconds: dict[str, float] = {}
    table = index.paragraphs
    eligible = np.flatnonzero(fit_mask(table, include_flagged=bool(params.get("include_flagged", False))))
    rng = np.random.default_rng(random_state)
    rows = np.sort(rng.choice(eligible, size=min(sample_size, len(eligible)), replace=False))
    if params.get("min_cluster_size") is None and len(rows) < len(eligible):
        params["min_cluster_size"] = sample_min_cluster_size(len(eligible), len(rows))
    start = time.perf_counter()
    model = TopicModel(random_state=random_state, **params).fit(_Sample(index, rows))
    seconds["fit sample"] = round(time.perf_counter() - start, 2)
    rule = assignment_rule(model)
    labels = np.full(len(table), -1, dtype=np.int64)
    labels[rows] = model.labels_
    rest = np.setdiff1d(eligible, rows, assume_unique=True)
    chunks = [rest[i : i + chunk] for i in range(0, len(rest), chunk)]
    vectors = index.vectors
    language = model.params_.get("language", "vi")
    stop = frozenset(model.stopwords_info_["corpus"]) if hasattr(model, "stopwords_info_") else frozenset()
    from cluster.words.stopwords import stopwords_for

    stop = stop | stopwords_for(language)
    start = time.perf_counter()
    if address is None:
        parts = [_assign_chunk(rule, vectors[c]) for c in chunks]
    else:
        from embed.distributed.build import ray_session

        with ray_session(address) as ray:
            assign = ray.remote(_assign_chunk)
            rule_ref = ray.put(rule)
            parts = ray.get([assign.remote(rule_ref, np.asarray(vectors[c])) for c in chunks])
    for c, part in zip(chunks, parts):
        labels[c] = part
    seconds["assign"] = round(time.perf_counter() - start, 2)
    labels = _spread(table, labels, eligible)
    counts: dict[int, Counter] = {}
    if keywords and model.n_topics_:
        start = time.perf_counter()
        texts = table["text"].astype(str).to_numpy()
        word_chunks = [eligible[i : i + chunk] for i in range(0, len(eligible), chunk)]
        if address is None:
            found = [_count_chunk(language, texts[c].tolist(), labels[c], stop) for c in word_chunks]
        else:
            from embed.distributed.build import ray_session

            with ray_session(address) as ray:
                count = ray.remote(_count_chunk)
                stop_ref = ray.put(stop)
                found = ray.get([count.remote(language, texts[c].tolist(), labels[c], stop_ref) for c in word_chunks])
        for part in found:
            for topic, words in part.items():
                counts.setdefault(topic, Counter()).update(words)
        seconds["keywords"] = round(time.perf_counter() - start, 2)
    result = SampledTopics(
        model=model, labels=labels, sample_rows=rows,
        keywords=keywords_from_counts(counts, model.n_topics_, int(model.n_keywords), reference=reference_for(language))
        if counts else {},
        seconds=seconds, peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    )
    logger.info("sampled topics: %d topics from %d of %d paragraphs (%s)", model.n_topics_, len(rows), len(table), seconds)
    return result


def _spread(table: pd.DataFrame, labels: np.ndarray, eligible: np.ndarray) -> np.ndarray:
    """A duplicate takes its original's topic (when the original was fitted), as ``TopicModel`` does
    (:func:`cluster.topics.fitting.spread_labels`)."""
    fitted = np.zeros(len(table), dtype=bool)
    fitted[eligible] = True
    return spread_labels(table, fitted, labels[fitted])
