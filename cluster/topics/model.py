"""The topic model: UMAP (cosine) then HDBSCAN over a paragraph index's vectors.

>>> from embed import ParagraphIndex
>>> from cluster import TopicModel
>>> index = ParagraphIndex.load("out/seeds.idx")
>>> tm = TopicModel(random_state=0).fit(index)
>>> tm.topic_info()

The model fits the stored vectors (nothing is re-embedded). Boilerplate and
duplicate paragraphs stay out of the fit and then take the topic of the
paragraph they duplicate (or -1). HDBSCAN's outliers (-1) can be given to
their nearest topic when they are as close to its centre as its own members
are (``outlier_threshold="auto"``), above a cosine of your choice, or not at
all (``None``); :attr:`TopicModel.outlier_share_` always says how many remain.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cluster.topics.context import with_article_context
from cluster.topics.direct import DIRECT_MAX_OUTLIERS, fit_direct
from cluster.topics.layout import MAP_NEIGHBORS, map_coordinates
from cluster.topics.params import MAX_TOPIC_SHARE, MIN_PARAGRAPHS, adaptive_params, validate_params
from cluster.topics.reduction import fit_umap, knn_graph, make_umap
from cluster.topics.setaside import fit_mask, flagged_mask
from cluster.words.keywords import short_label
from cluster.words.stopwords import corpus_stopwords, stopwords_for
from cluster.words.tokens import Tokenizer, detect_language
from embed.errors import InputError

__all__ = ["TopicModel", "TOPIC_INFO_COLUMNS"]

logger = logging.getLogger(__name__)

TOPIC_INFO_COLUMNS = ["topic", "label", "size", "share", "keywords", "n_documents", "documents"]
#: ``outlier_threshold="auto"``: an outlier joins its nearest topic when its
#: cosine to the topic centre is at least this quantile of the members' own.
AUTO_THRESHOLD_QUANTILE = 0.05


def _unit(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=-1, keepdims=True)
    return matrix / np.where(norms == 0, 1.0, norms)


class TopicModel:
    """Topics of a :class:`embed.ParagraphIndex`, in the scikit-learn style.

    Every parameter left at ``None`` adapts to the number of paragraphs
    fitted (see :func:`cluster.topics.params.adaptive_params`); the values used are
    in :attr:`params_` after fitting.

    Args:
        umap_model: any object with ``fit_transform(X)`` replacing the default
            ``umap.UMAP`` reduction (``n_neighbors`` etc. are then ignored).
        hdbscan_model: any object with ``fit(X)`` setting ``labels_`` (-1 =
            outlier) replacing the default ``hdbscan.HDBSCAN``.
        n_neighbors: UMAP neighbours (default 15, at most n-1).
        n_components: UMAP dimensions (default 5, at most n-2).
        min_cluster_size: smallest topic (default about sqrt(n)).
        min_samples: HDBSCAN density smoothing (default 7 on the UMAP path).
        max_topic_share: on the UMAP path (1,000 paragraphs and up) no topic
            HDBSCAN selects may hold more than this share of the fitted
            paragraphs (its sub-clusters are selected instead); None = no bound.
            Default 0.15 (:data:`cluster.topics.params.MAX_TOPIC_SHARE`).
        cluster_selection_method: ``"eom"``, ``"leaf"`` or ``"auto"`` (eom,
            falling back to leaf when eom puts most paragraphs into one topic).
        include_flagged: also fit boilerplate and duplicate paragraphs.
        outlier_threshold: ``"auto"``, a cosine in [-1, 1], or None (keep
            HDBSCAN's outliers). Also used by :meth:`transform`.
        n_topics: reduce to at most this many topics after fitting.
        language: ``"auto"``, ``"vi"``, ``"en"`` or ``"other"`` for keywords.
        stopwords: extra words never used as keywords.
        n_keywords: keywords kept per topic.
        diversity: MMR trade-off in [0, 1] among the top keywords (0 = by weight only).
        random_state: seed; a fixed value gives identical topics run after run.
        article_context: weight of a paragraph's article in the vectors clustered
            (:mod:`cluster.topics.context`; 0 = each paragraph alone).
    """

    def __init__(
        self,
        *,
        umap_model: Any = None,
        hdbscan_model: Any = None,
        n_neighbors: int | None = None,
        n_components: int | None = None,
        min_cluster_size: int | None = None,
        min_samples: int | None = None,
        cluster_selection_method: str = "auto",
        include_flagged: bool = False,
        outlier_threshold: float | str | None = "auto",
        n_topics: int | None = None,
        language: str = "auto",
        stopwords: Iterable[str] | None = None,
        n_keywords: int = 10,
        diversity: float = 0.3,
        random_state: int | None = None,
        article_context: float = 1.0,
        max_topic_share: float | None = MAX_TOPIC_SHARE,
    ) -> None:
        self.umap_model = umap_model
        self.hdbscan_model = hdbscan_model
        self.n_neighbors = n_neighbors
        self.n_components = n_components
        self.min_cluster_size = min_cluster_size
        self.min_samples = min_samples
        self.cluster_selection_method = cluster_selection_method
        self.include_flagged = include_flagged
        self.outlier_threshold = outlier_threshold
        self.n_topics = n_topics
        self.language = language
        self.stopwords = stopwords
        self.n_keywords = n_keywords
        self.diversity = diversity
        self.random_state, self.article_context = random_state, article_context
        self.max_topic_share = max_topic_share

    # ------------------------------------------------------------------ checks
    def _check_fitted(self) -> None:
        if not hasattr(self, "labels_"):
            raise RuntimeError("this TopicModel is not fitted yet; call fit(index) first")

    def _check_topic(self, topic: int) -> int:
        self._check_fitted()
        if isinstance(topic, bool) or not isinstance(topic, (int, np.integer)) or not 0 <= int(topic) < self.n_topics_:
            valid = f"0..{self.n_topics_ - 1}" if self.n_topics_ else "none (the model found no topics)"
            raise InputError(f"no topic {topic!r}; topic ids are {valid}")
        return int(topic)

    # --------------------------------------------------------------------- fit
    def fit(self, index: Any, y: Any = None) -> TopicModel:
        """Fit topics to the vectors of ``index`` (a :class:`embed.ParagraphIndex`).

        Returns self. With too few paragraphs to form topics every label is
        -1, ``n_topics_`` is 0 and :attr:`message_` says why (no exception).
        """
        validate_params(self)
        if not hasattr(index, "paragraphs") or not hasattr(index, "vectors"):
            raise TypeError(f"fit expects a ParagraphIndex (with .paragraphs and .vectors), got {type(index).__name__}")
        self.index = index
        self.index_dir_: Path | None = None
        table = index.paragraphs
        flagged = flagged_mask(table)
        self.fitted_mask_ = fit_mask(table, include_flagged=self.include_flagged)
        self.message_ = ""
        self._embedding_2d: np.ndarray | None = None
        self._custom_labels: dict[int, str] = {}
        self.history_: list[dict[str, Any]] = []  # fit/update/refit entries (cluster.topics.tracking); a save records the fit
        self._tokens: list[list[str]] | None = None
        self._tokenizer: Tokenizer | None = None
        vectors = np.asarray(index.vectors, dtype=np.float32)[self.fitted_mask_]
        n = len(vectors)
        n_distinct = len(np.unique(np.round(vectors, 5), axis=0)) if n else 0
        self.params_ = {
            "n_paragraphs": len(table), "n_fitted": n, "n_distinct_vectors": n_distinct,
            "include_flagged": bool(self.include_flagged), "random_state": self.random_state,
            "outlier_threshold": self.outlier_threshold, "n_keywords": int(self.n_keywords),
            "diversity": float(self.diversity),
        }
        if n_distinct < MIN_PARAGRAPHS:
            return self._too_few(n, n_distinct, int(flagged.sum()))
        start = time.perf_counter()
        doc_ids = table["doc_id"].to_numpy()[self.fitted_mask_]
        context = with_article_context(vectors, doc_ids, self.article_context)
        labels = self._cluster(self._reduce(context))
        if self.params_["reduction"] == "none" and (labels < 0).mean() > DIRECT_MAX_OUTLIERS:
            self.params_["direct_outliers"] = round(float((labels < 0).mean()), 3)  # no dense groups: UMAP instead
            labels = self._cluster(self._reduce(context, allow_direct=False))
        clustered = time.perf_counter()
        self.raw_outlier_share_ = float((labels < 0).mean())
        if labels.max(initial=-1) < 0:
            self._fit_labels = labels
            return self._finish_empty(
                f"no topics found: HDBSCAN put all {n} paragraphs in noise "
                f"(min_cluster_size={self.params_.get('min_cluster_size')}); try a smaller min_cluster_size"
            )
        self._fit_labels = self._renumbered(labels)
        self._update_centroids()
        self.reassign_outliers(self.outlier_threshold, _refresh=False)
        self._fit_labels = self._renumbered(self._fit_labels)
        self._update_centroids()
        if self.n_topics is not None and self.n_topics_ > int(self.n_topics):
            self._reduce_to(int(self.n_topics))
        refreshed = time.perf_counter()
        self._refresh()
        mapped = time.perf_counter()
        self._embedding_2d, self._knn = map_coordinates(self, random_state=self.random_state, knn=self._knn), None
        self.params_["seconds"] = {"neighbours+umap+hdbscan": round(clustered - start, 2),
                                   "keywords": round(mapped - refreshed, 2), "2-D map": round(time.perf_counter() - mapped, 2)}
        logger.info(
            "fitted %d topics on %d paragraphs (%.1f%% outliers)", self.n_topics_, n, 100 * self.outlier_share_
        )
        return self

    def _too_few(self, n: int, n_distinct: int, n_flagged: int) -> TopicModel:
        why = f"{n} paragraph{'s' if n != 1 else ''}"
        if n_distinct != n:
            why += f" ({n_distinct} distinct)"
        extra = f"; {n_flagged} boilerplate/duplicate paragraphs were left out" if n_flagged and not self.include_flagged else ""
        self.raw_outlier_share_ = 1.0 if n else 0.0
        self._fit_labels = np.full(n, -1, dtype=np.int64)
        return self._finish_empty(
            f"too few paragraphs to form topics: {why} to fit, at least {MIN_PARAGRAPHS} distinct needed{extra}"
        )

    def _finish_empty(self, message: str) -> TopicModel:
        self.message_ = message
        logger.warning("%s", message)
        self.n_topics_ = 0
        self.centroids_ = np.zeros((0, np.asarray(self.index.vectors).shape[1]), dtype=np.float32)
        self.thresholds_ = np.zeros(0, dtype=np.float32)
        self._keywords: dict[int, list[tuple[str, float]]] = {}
        self._spread_labels()
        return self

    def _reduce(self, vectors: np.ndarray, allow_direct: bool = True) -> np.ndarray:
        n = len(vectors)
        effective = adaptive_params(
            n, n_neighbors=self.n_neighbors, n_components=self.n_components,
            min_cluster_size=self.min_cluster_size, min_samples=self.min_samples, allow_direct=allow_direct and self.umap_model is None,
            max_topic_share=self.max_topic_share,
        )
        self.params_.update(effective)
        self._knn = knn_graph(vectors, max(effective["n_neighbors"], MAP_NEIGHBORS))
        if effective["reduction"] == "none":
            self.reducer_ = None
            return vectors
        if self.umap_model is not None:
            self.params_["umap_model"] = repr(self.umap_model)
            self.reducer_ = self.umap_model
        else:
            self.reducer_ = make_umap(
                n_neighbors=effective["n_neighbors"], n_components=effective["n_components"],
                min_dist=effective["min_dist"], init=effective["init"], random_state=self.random_state, knn=self._knn,
            )
        logger.info("reducing %d vectors with %s", n, type(self.reducer_).__name__)
        return fit_umap(self.reducer_, vectors)

    def _cluster(self, reduced: np.ndarray) -> np.ndarray:
        if self.hdbscan_model is not None:
            self.params_["hdbscan_model"] = repr(self.hdbscan_model)
            self.clusterer_ = self.hdbscan_model
            self.clusterer_.fit(reduced)
            return np.asarray(self.clusterer_.labels_, dtype=np.int64)
        import hdbscan

        method = self.cluster_selection_method
        first = "eom" if method == "auto" else method

        def run(selection: str) -> tuple[Any, np.ndarray]:
            if self.params_["reduction"] == "none":
                return fit_direct(reduced, min_cluster_size=self.params_["min_cluster_size"],
                                  min_samples=self.params_["min_samples"], selection=selection)
            model = hdbscan.HDBSCAN(
                min_cluster_size=self.params_["min_cluster_size"], min_samples=self.params_["min_samples"],
                cluster_selection_method=selection, metric="euclidean",
                max_cluster_size=self.params_["max_cluster_size"] if selection == "eom" else 0,
            )
            model.fit(reduced)
            return model, np.asarray(model.labels_, dtype=np.int64)

        self.clusterer_, labels = run(first)
        if method == "auto":
            sizes = np.bincount(labels[labels >= 0]) if (labels >= 0).any() else np.zeros(0, dtype=int)
            if len(sizes) <= 2 and (not len(sizes) or sizes.max() > 0.5 * len(labels)):
                leaf_model, leaf_labels = run("leaf")
                if leaf_labels.max(initial=-1) + 1 > len(sizes):
                    logger.info("eom gave %d topic(s) holding most paragraphs; using leaf selection", len(sizes))
                    self.clusterer_, labels, first = leaf_model, leaf_labels, "leaf"
        self.params_["cluster_selection_method"] = first
        return labels

    # ------------------------------------------------------- label bookkeeping
    def _renumbered(self, labels: np.ndarray) -> np.ndarray:
        """Topic ids 0..K-1 by decreasing size (ties by old id); custom labels follow."""
        old = [t for t in np.unique(labels) if t >= 0]
        sizes = {t: int((labels == t).sum()) for t in old}
        order = sorted(old, key=lambda t: (-sizes[t], t))
        mapping = {int(t): i for i, t in enumerate(order)}
        out = np.full_like(labels, -1)
        for t, new in mapping.items():
            out[labels == t] = new
        self._custom_labels = {mapping[t]: v for t, v in getattr(self, "_custom_labels", {}).items() if t in mapping}
        self.n_topics_ = len(order)
        return out

    def _update_centroids(self) -> None:
        vectors = np.asarray(self.index.vectors, dtype=np.float32)[self.fitted_mask_]
        labels = self._fit_labels
        dim = vectors.shape[1]
        self.params_.pop("auto_nn_threshold", None)
        centroids = np.zeros((self.n_topics_, dim), dtype=np.float32)
        thresholds = np.zeros(self.n_topics_, dtype=np.float32)
        for t in range(self.n_topics_):
            members = vectors[labels == t]
            centroids[t] = _unit(members.mean(axis=0))
            thresholds[t] = np.quantile(members @ centroids[t], AUTO_THRESHOLD_QUANTILE)
        self.centroids_ = centroids
        self.thresholds_ = thresholds

    def _spread_labels(self) -> None:
        """Labels for every index row: fitted rows keep theirs; a duplicate
        takes its original's topic; boilerplate without an original gets -1."""
        table = self.index.paragraphs
        labels = np.full(len(table), -1, dtype=np.int64)
        labels[self.fitted_mask_] = self._fit_labels
        row_of = {pid: i for i, pid in enumerate(table["id"])}
        for row in np.flatnonzero(~self.fitted_mask_):
            original = table["duplicate_of"].iat[row]
            if original is not None and original in row_of and self.fitted_mask_[row_of[original]]:
                labels[row] = labels[row_of[original]]
        self.labels_ = labels
        n_fit = int(self.fitted_mask_.sum())
        self.outlier_share_ = float((self._fit_labels < 0).sum() / n_fit) if n_fit else 0.0
        self._embedding_2d = None if getattr(self, "_embedding_2d", None) is None or len(
            self._embedding_2d) != len(labels) else self._embedding_2d

    def _member_rows(self) -> np.ndarray:
        return np.flatnonzero(self.fitted_mask_)[self._fit_labels >= 0]

    def _nearest_member(self, vectors: np.ndarray, *, exclude_self: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Topic and cosine of each vector's nearest topic member (in chunks)."""
        rows = self._member_rows()
        members = np.asarray(self.index.vectors, dtype=np.float32)[rows]
        member_topics = self._fit_labels[self._fit_labels >= 0]
        topics = np.empty(len(vectors), dtype=np.int64)
        scores = np.empty(len(vectors), dtype=np.float32)
        for start in range(0, len(vectors), 1024):
            sims = vectors[start : start + 1024] @ members.T
            if exclude_self:
                np.fill_diagonal(sims[:, start : start + 1024], -2.0)
            best = sims.argmax(axis=1)
            topics[start : start + 1024] = member_topics[best]
            scores[start : start + 1024] = sims[np.arange(len(best)), best]
        return topics, scores

    def _auto_nn_threshold(self) -> float:
        """The 5th percentile of members' cosine to their nearest other member of the same topic."""
        rows = self._member_rows()
        if len(rows) < 2:
            return 1.0
        members = np.asarray(self.index.vectors, dtype=np.float32)[rows]
        topics = self._fit_labels[self._fit_labels >= 0]
        rng = np.random.default_rng(0)
        sample = rng.choice(len(rows), size=min(len(rows), 5000), replace=False)
        best = np.full(len(sample), -1.0, dtype=np.float32)
        for start in range(0, len(sample), 1024):
            idx = sample[start : start + 1024]
            sims = members[idx] @ members.T
            sims[np.arange(len(idx)), idx] = -2.0
            sims[topics[idx][:, None] != topics[None, :]] = -2.0
            best[start : start + 1024] = sims.max(axis=1)
        best = best[best > -1.5]
        return float(np.quantile(best, AUTO_THRESHOLD_QUANTILE)) if len(best) else 1.0

    def _assign(self, vectors: np.ndarray, threshold: float | str | None) -> np.ndarray:
        """Topic for each vector, or -1. A number: nearest topic centre when
        the cosine reaches it. ``"auto"`` (and None): nearest topic centre
        when as close as the topic's own members (5th percentile), or the
        topic of the nearest member paragraph when as close as members are to
        their nearest same-topic neighbour (5th percentile)."""
        if not self.n_topics_:
            return np.full(len(vectors), -1, dtype=np.int64)
        vectors = _unit(np.asarray(vectors, dtype=np.float32))
        sims = vectors @ self.centroids_.T
        best = sims.argmax(axis=1)
        score = sims[np.arange(len(best)), best]
        if threshold is not None and threshold != "auto":
            return np.where(score >= float(threshold), best, -1).astype(np.int64)
        out = np.where(score >= self.thresholds_[best], best, -1).astype(np.int64)
        todo = np.flatnonzero(out < 0)
        if len(todo):
            nn_threshold = self.params_.get("auto_nn_threshold")
            if nn_threshold is None:
                nn_threshold = self.params_["auto_nn_threshold"] = self._auto_nn_threshold()
            topics, scores = self._nearest_member(vectors[todo])
            out[todo] = np.where(scores >= nn_threshold, topics, -1)
        return out

    def _refresh(self) -> None:
        self._spread_labels()
        self._compute_keywords()

    # -------------------------------------------------------------- outliers
    def reassign_outliers(self, threshold: float | str | None = "auto", *, _refresh: bool = True) -> TopicModel:
        """Give each outlier the nearest topic (cosine to its centre) when the
        cosine reaches ``threshold``: a number, or ``"auto"`` (the 5th
        percentile of that topic's members' own cosines). ``None`` does
        nothing. Topics already assigned never change. Returns self."""
        self._check_fitted() if _refresh else None
        if threshold is None or not self.n_topics_:
            return self
        if threshold != "auto" and not (isinstance(threshold, (int, float)) and -1 <= threshold <= 1):
            raise ValueError(f"threshold must be 'auto', None or a cosine in [-1, 1], got {threshold!r}")
        outliers = np.flatnonzero(self._fit_labels < 0)
        if len(outliers):
            vectors = np.asarray(self.index.vectors, dtype=np.float32)[self.fitted_mask_][outliers]
            self._fit_labels = self._fit_labels.copy()
            self._fit_labels[outliers] = self._assign(vectors, threshold)
            logger.info("reassigned %d of %d outliers", int((self._fit_labels[outliers] >= 0).sum()), len(outliers))
        if _refresh:
            self._update_centroids()
            self._refresh()
        return self

    # -------------------------------------------------------------- keywords
    def _ensure_tokens(self) -> list[list[str]]:
        if self._tokens is None:
            texts = self.index.paragraphs["text"].astype(str).to_numpy()[self.fitted_mask_].tolist()
            language = detect_language(texts) if self.language == "auto" else self.language
            tokenizer = Tokenizer(language)
            raw = tokenizer.raw_tokens_many(texts)
            builtin = stopwords_for(language)
            extra = frozenset(w.lower().replace("_", " ") for w in (self.stopwords or ()))
            from_corpus = corpus_stopwords(raw) - extra
            stop = builtin | extra | from_corpus
            tokenizer.stopwords = stop
            self._tokens, self._raw_tokens = [[w for w in doc if w not in stop] for doc in raw], raw
            self._tokenizer = tokenizer
            self.stopwords_info_ = {
                "language": language,
                "builtin": {"vi": "cluster/words/data/vietnamese_stopwords.txt (curated, paratopic)",
                            "en": "sklearn ENGLISH_STOP_WORDS"}.get(language, "none"),
                "n_builtin": len(builtin),
                "n_extra": len(extra),
                "corpus": sorted(from_corpus),
            }
            self.params_["language"] = language
        return self._tokens

    def _compute_keywords(self, fixed_labels: dict[int, str] | None = None) -> None:
        from cluster.words.labels import describe_topics  # keywords (c-TF-IDF x reference IDF) and phrase labels

        self._keywords, self._phrase_labels = describe_topics(
            self._ensure_tokens(), self._raw_tokens, self.index.paragraphs["text"].astype(str).to_numpy()[self.fitted_mask_],
            self._fit_labels, self.n_topics_, self._tokenizer, n_keywords=int(self.n_keywords), diversity=float(self.diversity),
            fixed_labels=fixed_labels,
        ) if self.n_topics_ else ({}, {})

    # ------------------------------------------------------------ public views
    def get_topic(self, topic: int) -> list[tuple[str, float]]:
        """Keywords of ``topic`` with their c-TF-IDF weights, best first."""
        return list(self._keywords[self._check_topic(topic)])

    def topic(self, topic: int, n: int = 3) -> Any:
        """One topic as a view that renders in Jupyter (keyword bars and
        representative paragraphs) and in the terminal."""
        from cluster.topics.views import TopicView

        return TopicView(self, self._check_topic(topic), n_paragraphs=n)

    def topic_details(self, topic: int, n: int = 3) -> str:
        """Keywords with weights and the ``n`` most representative paragraphs, as text."""
        from cluster.topics.views import topic_details_text

        return topic_details_text(self, self._check_topic(topic), n_paragraphs=n)

    def topic_label(self, topic: int) -> str:
        """The hand-set label of ``topic``, else its phrase label (:mod:`cluster.words.labels`) or best keywords; "outlier" for -1."""
        if topic == -1:
            return "outlier"
        topic = self._check_topic(topic)
        return (self._custom_labels.get(topic) or getattr(self, "_phrase_labels", {}).get(topic)
                or short_label([w for w, _ in self._keywords.get(topic, [])]))

    def topic_info(self) -> pd.DataFrame:
        """One row per topic, largest first: topic, label, size, share,
        keywords, n_documents, documents (no row for outliers)."""
        self._check_fitted()
        n_fit = max(int(self.fitted_mask_.sum()), 1)
        doc_ids = self.index.paragraphs["doc_id"].astype(str).to_numpy()
        rows = []
        for t in range(self.n_topics_):
            size = int((self._fit_labels == t).sum())
            docs = sorted(set(doc_ids[self.labels_ == t].tolist()))
            rows.append({
                "topic": t, "label": self.topic_label(t), "size": size, "share": size / n_fit,
                "keywords": [w for w, _ in self._keywords.get(t, [])], "n_documents": len(docs), "documents": docs,
            })
        frame = pd.DataFrame(rows, columns=TOPIC_INFO_COLUMNS)
        if len(frame):
            frame = frame.sort_values(["size", "topic"], ascending=[False, True], kind="stable").reset_index(drop=True)
        return frame

    def representative_paragraphs(self, topic: int, n: int = 3) -> pd.DataFrame:
        """The ``n`` fitted paragraphs of ``topic`` closest to its centre, no two near-duplicates
        (:mod:`cluster.topics.representatives`): id, doc_id, title, text, score (cosine to the centre)."""
        from cluster.topics.representatives import representative_rows
        topic = self._check_topic(topic)
        if n < 1:
            raise InputError(f"n must be at least 1, got {n}")
        rows, scores = representative_rows(self, topic, n)
        out = self.index.paragraphs.iloc[rows][["id", "doc_id", "title", "text"]].copy()
        out["score"] = scores.astype(float)
        return out.reset_index(drop=True)

    def topic_similarity(self) -> pd.DataFrame:
        """Cosine between topic centres minus the modelled paragraphs' mean (:mod:`cluster.topics.similarity`), topic x topic."""
        from cluster.topics.similarity import topic_similarity_matrix
        self._check_fitted()
        ids = list(range(self.n_topics_))
        return pd.DataFrame(topic_similarity_matrix(self).astype(float), index=pd.Index(ids, name="topic"), columns=ids)

    def nearest_topics(self, topic: int, n: int = 3) -> list[tuple[int, float]]:
        """The ``n`` topics most similar to ``topic``, with their :meth:`topic_similarity`."""
        topic = self._check_topic(topic)
        sims = self.topic_similarity().to_numpy()[topic]
        order = [int(t) for t in np.argsort(-sims, kind="stable") if t != topic][:n]
        return [(t, float(sims[t])) for t in order]

    def hierarchy(self) -> pd.DataFrame:
        """Agglomerative merge tree of topic centres (average linkage, cosine).

        Columns: parent (new node id, from ``n_topics_`` up), left, right
        (topic ids or earlier parents), distance (cosine distance), topics
        (the topic ids under the parent)."""
        from cluster.topics.hierarchy import topic_hierarchy

        self._check_fitted()
        return topic_hierarchy(self.centroids_)

    def topics_over_time(self, freq: str = "D") -> pd.DataFrame:
        """Paragraph counts per topic and period (``freq`` is a pandas period
        alias: "D", "W", "M", "Y"...). Empty when paragraphs carry no ``date``."""
        from cluster.topics.timeline import topics_over_time

        self._check_fitted()
        return topics_over_time(self.index.paragraphs, self.labels_, freq)

    @property
    def embedding_2d_(self) -> np.ndarray:
        """(n_rows, 2) map coordinates for every index row (computed on first use)."""
        self._check_fitted()
        if self._embedding_2d is None:
            self._embedding_2d = map_coordinates(self, random_state=self.random_state)
        return self._embedding_2d

    def paragraph_table(self) -> pd.DataFrame:
        """The index's paragraphs with topic, topic_label, x and y."""
        self._check_fitted()
        out = self.index.paragraphs.copy()
        out["topic"] = self.labels_
        labels = {t: self.topic_label(t) for t in range(self.n_topics_)}
        out["topic_label"] = [labels.get(int(t), "outlier") for t in self.labels_]
        out["x"], out["y"] = self.embedding_2d_[:, 0], self.embedding_2d_[:, 1]
        return out

    # ----------------------------------------------------------- operations
    def transform(self, data: str | Sequence[str] | np.ndarray) -> np.ndarray:
        """Topics of new paragraphs: texts (embedded as passages with the
        index's embedder) or vectors. Nearest topic centre, -1 when below the
        model's outlier threshold."""
        self._check_fitted()
        if isinstance(data, str):
            data = [data]
        if isinstance(data, np.ndarray):
            vectors = data[None, :] if data.ndim == 1 else data
            if vectors.ndim != 2 or vectors.shape[1] != self.centroids_.shape[1]:
                raise InputError(f"vectors have shape {data.shape}; expected (n, {self.centroids_.shape[1]})")
        else:
            texts = list(data)
            if not texts:
                return np.zeros(0, dtype=np.int64)
            for i, text in enumerate(texts):
                if not isinstance(text, str):
                    raise InputError(f"item {i} is {type(text).__name__} {text!r}; expected text or a vector array")
            vectors = self.index.embedder.embed_passages(texts)
        return self._assign(vectors, self.outlier_threshold)

    def update(self, index: Any, *, min_documents: int = 1) -> TopicModel:
        """Topics for the paragraphs appended to ``index`` since the fit, no refit: old ids and labels
        stay, new groups become new topics (:func:`cluster.topics.tracking.update_topics`). Returns self."""
        from cluster.topics.tracking import update_topics
        return update_topics(self, index, min_documents=min_documents)

    def topic_history(self) -> pd.DataFrame:
        """Size and top keywords of each topic at every fit, update and refit (:mod:`cluster.topics.tracking`)."""
        from cluster.topics.tracking import topic_history
        return topic_history(self)

    def find_topics(self, query: str, n: int = 5) -> list[tuple[int, float]]:
        """Topics most similar to a free-text query (:func:`cluster.topics.similarity.query_similarity`)."""
        from cluster.topics.similarity import query_similarity
        self._check_fitted()
        if not isinstance(query, str) or not query.strip():
            raise InputError(f"query is {query!r}; expected non-empty text")
        if not self.n_topics_:
            return []
        sims = query_similarity(self, self.index.embedder.embed_queries([query])[0])
        order = np.argsort(-sims, kind="stable")[:n]
        return [(int(t), float(sims[t])) for t in order]

    def merge_topics(self, topics: Sequence[int]) -> TopicModel:
        """Merge ``topics`` into one. Topics are then renumbered by size; a
        hand-set label of the first listed topic is kept. Returns self."""
        ids = [self._check_topic(t) for t in topics]
        if len(set(ids)) < 2:
            raise InputError(f"merge_topics needs at least two different topics, got {list(topics)!r}")
        self._merge_groups([ids])
        self._refresh()
        return self

    def _merge_groups(self, groups: Sequence[Sequence[int]]) -> None:
        labels = self._fit_labels.copy()
        custom = dict(self._custom_labels)
        for group in groups:
            target = group[0]
            for t in group[1:]:
                labels[self._fit_labels == t] = target
                custom.pop(t, None)
        self._custom_labels = custom
        self._fit_labels = self._renumbered(labels)
        self._update_centroids()

    def reduce_topics(self, n: int) -> TopicModel:
        """Merge the closest topics (average linkage on centres) until at most
        ``n`` remain. Returns self."""
        self._check_fitted()
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise InputError(f"n must be a positive integer, got {n!r}")
        if n >= self.n_topics_:
            logger.info("reduce_topics(%d): the model has only %d topics; nothing to do", n, self.n_topics_)
            return self
        self._reduce_to(int(n))
        self._refresh()
        return self

    def _reduce_to(self, n: int) -> None:
        from cluster.topics.hierarchy import cut_tree

        groups = cut_tree(self.centroids_, n)
        self._merge_groups([g for g in groups if len(g) > 1])

    def set_labels(self, labels: Mapping[int, str]) -> TopicModel:
        """Set hand-made labels, ``{topic: "label"}``; an empty string restores
        the keyword label. Returns self."""
        for topic, label in labels.items():
            topic = self._check_topic(topic)
            if not isinstance(label, str):
                raise InputError(f"label for topic {topic} is {type(label).__name__} {label!r}; expected str")
            if label.strip():
                self._custom_labels[topic] = label.strip()
            else:
                self._custom_labels.pop(topic, None)
        return self

    # ------------------------------------------------------------- save/load
    def save(self, directory: str | Path, *, index_dir: str | Path | None = None) -> Path:
        """Save to ``directory`` as JSON + .npy (no pickle). ``index_dir``
        records where the index is saved so :meth:`load` can open it."""
        from cluster.topics.persist import save_model

        self._check_fitted()
        return save_model(self, Path(directory), index_dir=index_dir)

    @classmethod
    def load(cls, directory: str | Path, index: Any = None) -> TopicModel:
        """Open a saved model with its index: ``index`` (a ParagraphIndex or
        the directory of one) or, if None, the index directory recorded at
        save time. A different index is refused (``IndexMismatchError``)."""
        from cluster.topics.persist import load_model

        return load_model(cls, Path(directory), index)

    # --------------------------------------------------------------- display
    def __repr__(self) -> str:
        if not hasattr(self, "labels_"):
            return "TopicModel(unfitted)"
        if not self.n_topics_:
            return f"TopicModel(0 topics: {self.message_})"
        return (
            f"TopicModel({self.n_topics_} topics over {int(self.fitted_mask_.sum())} paragraphs, "
            f"{100 * self.outlier_share_:.1f}% outliers)"
        )

    def _repr_html_(self) -> str:
        from cluster.topics.views import topic_table_html

        return topic_table_html(self)

    def __rich__(self) -> Any:
        from cluster.topics.views import topic_table_rich

        return topic_table_rich(self)
