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

A scikit-learn estimator (``fit(index, y=None)``, ``fit_predict``, ``predict``, ``get_params``,
``clone``; :class:`~cluster.errors.NotFittedError`; ``transform`` is the deprecated name of ``predict``).
The fitted state is public (:class:`cluster.topics.state.FittedTopics`); the steps of the fit are
functions over it in :mod:`cluster.topics.fitting` and :mod:`cluster.topics.describe`.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import cluster.topics.views as views
from cluster.errors import check_fitted
from cluster.estimator import Estimator
from cluster.topics.context import with_article_context
from cluster.topics.describe import compute_keywords
from cluster.topics.direct import DIRECT_MAX_OUTLIERS
from cluster.topics.fitting import (
    assign,
    assign_outliers,
    central_fit,
    cluster_reduced,
    fitted_vectors,
    input_vectors,
    reduce_vectors,
    refresh_labels,
    renumber,
    update_centres,
)
from cluster.topics.layout import map_coordinates
from cluster.topics.params import LAYOUTS, MAX_TOPIC_SHARE, MIN_PARAGRAPHS, validate_params
from cluster.topics.setaside import fit_mask, flagged_mask
from cluster.topics.views import TOPIC_INFO_COLUMNS
from cluster.words.keywords import short_label
from embed.errors import InputError

__all__ = ["TopicModel", "TOPIC_INFO_COLUMNS"]

logger = logging.getLogger(__name__)

class TopicModel(Estimator):
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
        n_layouts: UMAP layouts compared up to 5,000 paragraphs, keeping the central
            topics (:func:`cluster.topics.fitting.central_fit`); 1 = one layout.
        cluster_selection_method: ``"eom"``, ``"leaf"`` or ``"auto"`` (eom,
            falling back to leaf when eom puts most paragraphs into one topic).
        include_flagged: also fit boilerplate and duplicate paragraphs.
        outlier_threshold: ``"auto"``, a cosine in [-1, 1], or None (keep
            HDBSCAN's outliers). Also used by :meth:`predict`.
        n_topics: reduce to at most this many topics after fitting.
        language: ``"auto"``, ``"vi"``, ``"en"`` or ``"other"`` for keywords.
        stopwords: extra words never used as keywords.
        n_keywords: keywords kept per topic.
        diversity: MMR trade-off in [0, 1] among the top keywords (0 = by weight only).
        random_state: seed; a fixed value gives identical topics run after run.
        article_context: weight of a paragraph's article in the vectors clustered
            (:mod:`cluster.topics.context`; 0 = each paragraph alone).

    Fitted attributes: see :class:`cluster.topics.state.FittedTopics` (``labels_``, ``fit_labels_``, ...).
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
        n_layouts: int = LAYOUTS,
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
        self.random_state = random_state
        self.article_context = article_context
        self.max_topic_share = max_topic_share
        self.n_layouts = n_layouts

    # ------------------------------------------------------------------ checks
    def _check_topic(self, topic: int) -> int:
        check_fitted(self)
        if isinstance(topic, bool) or not isinstance(topic, (int, np.integer)) or not 0 <= int(topic) < self.n_topics_:
            valid = f"0..{self.n_topics_ - 1}" if self.n_topics_ else "none (the model found no topics)"
            raise InputError(f"no topic {topic!r}; topic ids are {valid}")
        return int(topic)

    # --------------------------------------------------------------------- fit
    def fit(self, index: Any, y: Any = None) -> TopicModel:
        """Fit topics to the vectors of ``index`` (a :class:`embed.ParagraphIndex`); ``y`` is ignored.

        Returns self. With too few paragraphs to form topics every label is
        -1, ``n_topics_`` is 0 and :attr:`message_` says why (no exception).
        """
        validate_params(self)
        if not hasattr(index, "paragraphs") or not hasattr(index, "vectors"):
            raise InputError(f"fit expects a ParagraphIndex (with .paragraphs and .vectors), got {type(index).__name__}")
        self.index = index
        self.index_dir_: Path | None = None
        table = index.paragraphs
        flagged = flagged_mask(table)
        self.fitted_mask_ = fit_mask(table, include_flagged=self.include_flagged)
        self.message_ = ""
        self.coordinates_: np.ndarray | None = None
        self.custom_labels_: dict[int, str] = {}
        self.phrase_labels_: dict[int, str] = {}
        self.keywords_: dict[int, list[tuple[str, float]]] = {}
        self.history_: list[dict[str, Any]] = []  # fit/update/refit entries (cluster.topics.history); a save records the fit
        self.tokens_: list[list[str]] | None = None
        self.tokenizer_: Any = None
        vectors = fitted_vectors(self)
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
        labels = self._cluster(context)
        if self.params_["reduction"] == "none" and (labels < 0).mean() > DIRECT_MAX_OUTLIERS:
            self.params_["direct_outliers"] = round(float((labels < 0).mean()), 3)  # no dense groups: UMAP instead
            labels = self._cluster(context, allow_direct=False)
        clustered = time.perf_counter()
        self.raw_outlier_share_ = float((labels < 0).mean())
        if labels.max(initial=-1) < 0:
            self.fit_labels_ = labels
            return self._finish_empty(
                f"no topics found: HDBSCAN put all {n} paragraphs in noise "
                f"(min_cluster_size={self.params_.get('min_cluster_size')}); try a smaller min_cluster_size"
            )
        self._set_fit_labels(labels)
        self.reassign_outliers(self.outlier_threshold, _refresh=False)
        self._set_fit_labels(self.fit_labels_)
        if self.n_topics is not None and self.n_topics_ > int(self.n_topics):
            self._reduce_to(int(self.n_topics))
        refreshed = time.perf_counter()
        self._refresh()
        mapped = time.perf_counter()
        self.coordinates_, self._knn = map_coordinates(self, random_state=self.random_state, knn=self._knn), None
        self.params_["seconds"] = {"neighbours+umap+hdbscan": round(clustered - start, 2),
                                   "keywords": round(mapped - refreshed, 2), "2-D map": round(time.perf_counter() - mapped, 2)}
        logger.info(
            "fitted %d topics on %d paragraphs (%.1f%% outliers)", self.n_topics_, n, 100 * self.outlier_share_
        )
        return self

    def fit_predict(self, index: Any, y: Any = None) -> np.ndarray:
        """:meth:`fit`, then :attr:`labels_` (a topic or -1 for every index row)."""
        return self.fit(index, y).labels_

    def _too_few(self, n: int, n_distinct: int, n_flagged: int) -> TopicModel:
        why = f"{n} paragraph{'s' if n != 1 else ''}"
        if n_distinct != n:
            why += f" ({n_distinct} distinct)"
        extra = f"; {n_flagged} boilerplate/duplicate paragraphs were left out" if n_flagged and not self.include_flagged else ""
        self.raw_outlier_share_ = 1.0 if n else 0.0
        self.fit_labels_ = np.full(n, -1, dtype=np.int64)
        return self._finish_empty(
            f"too few paragraphs to form topics: {why} to fit, at least {MIN_PARAGRAPHS} distinct needed{extra}"
        )

    def _finish_empty(self, message: str) -> TopicModel:
        self.message_ = message
        logger.warning("%s", message)
        self.n_topics_ = 0
        self.centroids_ = np.zeros((0, np.asarray(self.index.vectors).shape[1]), dtype=np.float32)
        self.thresholds_ = np.zeros(0, dtype=np.float32)
        self.keywords_ = {}
        refresh_labels(self)
        return self

    def _cluster(self, vectors: np.ndarray, allow_direct: bool = True) -> np.ndarray:
        """Reduce and cluster ``vectors`` (:mod:`cluster.topics.fitting`), recording what was used."""
        settings = dict(n_neighbors=self.n_neighbors, n_components=self.n_components, min_samples=self.min_samples,
                        min_cluster_size=self.min_cluster_size, max_topic_share=self.max_topic_share,
                        umap_model=self.umap_model, allow_direct=allow_direct, random_state=self.random_state)
        if self.hdbscan_model is not None:
            reduction = reduce_vectors(vectors, **settings)
            self.clusterer_, labels, used = cluster_reduced(reduction, hdbscan_model=self.hdbscan_model)
        else:
            reduction, self.clusterer_, labels, used = central_fit(
                vectors, method=self.cluster_selection_method, layouts=self.n_layouts, **settings)
        self.reducer_, self._knn = reduction.reducer, reduction.knn
        self.params_.update(used)
        return labels

    # ------------------------------------------------------- label bookkeeping
    def _set_fit_labels(self, labels: np.ndarray) -> None:
        """Topic ids 0..K-1 by decreasing size (hand-set labels follow), then the centres."""
        self.fit_labels_, self.custom_labels_, self.n_topics_ = renumber(labels, self.custom_labels_)
        update_centres(self)

    def _refresh(self) -> None:
        refresh_labels(self)
        compute_keywords(self)

    # -------------------------------------------------------------- outliers
    def reassign_outliers(self, threshold: float | str | None = "auto", *, _refresh: bool = True) -> TopicModel:
        """Give each outlier the nearest topic (cosine to its centre) when the
        cosine reaches ``threshold``: a number, or ``"auto"`` (the 5th
        percentile of that topic's members' own cosines). ``None`` does
        nothing. Topics already assigned never change. Returns self."""
        check_fitted(self) if _refresh else None
        if threshold is None or not self.n_topics_:
            return self
        if threshold != "auto" and not (isinstance(threshold, (int, float)) and -1 <= threshold <= 1):
            raise InputError(f"threshold must be 'auto', None or a cosine in [-1, 1], got {threshold!r}")
        assign_outliers(self, threshold)
        if _refresh:
            update_centres(self)
            self._refresh()
        return self

    # ------------------------------------------------------------ public views
    def get_topic(self, topic: int) -> list[tuple[str, float]]:
        """Keywords of ``topic`` with their c-TF-IDF weights, best first."""
        topic = self._check_topic(topic)
        return list(self.keywords_[topic])

    def topic(self, topic: int, n: int = 3) -> Any:
        """One topic as a view that renders in Jupyter (keyword bars and
        representative paragraphs) and in the terminal."""
        return views.TopicView(self, self._check_topic(topic), n_paragraphs=n)

    def topic_details(self, topic: int, n: int = 3) -> str:
        """Keywords with weights and the ``n`` most representative paragraphs, as text."""
        return views.topic_details_text(self, self._check_topic(topic), n_paragraphs=n)

    def topic_label(self, topic: int) -> str:
        """The hand-set label of ``topic``, else its phrase label (:mod:`cluster.words.labels`) or best keywords; "outlier" for -1."""
        if topic == -1:
            return "outlier"
        topic = self._check_topic(topic)
        return (self.custom_labels_.get(topic) or self.phrase_labels_.get(topic)
                or short_label([w for w, _ in self.keywords_.get(topic, [])]))

    def topic_info(self) -> pd.DataFrame:
        """One row per topic, largest first: topic, label, size, share,
        keywords, n_documents, documents (no row for outliers)."""
        check_fitted(self)
        return views.topic_info_table(self)

    def representative_paragraphs(self, topic: int, n: int = 3) -> pd.DataFrame:
        """The ``n`` fitted paragraphs of ``topic`` closest to its centre, no two near-duplicates
        (:mod:`cluster.topics.representatives`): id, doc_id, title, text, score (cosine to the centre)."""
        from cluster.topics.representatives import representative_table
        topic = self._check_topic(topic)
        if n < 1:
            raise InputError(f"n must be at least 1, got {n}")
        return representative_table(self, topic, n)

    def topic_similarity(self) -> pd.DataFrame:
        """Cosine between topic centres minus the modelled paragraphs' mean (:mod:`cluster.topics.similarity`), topic x topic."""
        from cluster.topics.similarity import topic_similarity_matrix
        check_fitted(self)
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

        check_fitted(self)
        return topic_hierarchy(self.centroids_)

    def topics_over_time(self, freq: str = "D") -> pd.DataFrame:
        """Paragraph counts per topic and period (``freq`` is a pandas period
        alias: "D", "W", "M", "Y"...). Empty when paragraphs carry no ``date``."""
        from cluster.topics.timeline import topics_over_time

        check_fitted(self)
        return topics_over_time(self.index.paragraphs, self.labels_, freq)

    @property
    def embedding_2d_(self) -> np.ndarray:
        """(n_rows, 2) map coordinates for every index row (computed on first use)."""
        check_fitted(self)
        if self.coordinates_ is None:
            self.coordinates_ = map_coordinates(self, random_state=self.random_state)
        return self.coordinates_

    def paragraph_table(self) -> pd.DataFrame:
        """The index's paragraphs with topic, topic_label, x and y."""
        check_fitted(self)
        return views.paragraph_table(self)

    # ----------------------------------------------------------- operations
    def predict(self, data: str | Sequence[str] | np.ndarray) -> np.ndarray:
        """Topics of new paragraphs: texts (embedded as passages with the
        index's embedder) or vectors. Nearest topic centre, -1 when below the
        model's outlier threshold (:class:`cluster.topics.fitting.AssignmentRule`)."""
        check_fitted(self)
        vectors = input_vectors(data, self.index.embedder, self.centroids_.shape[1])
        return assign(self, vectors)

    def transform(self, data: str | Sequence[str] | np.ndarray) -> np.ndarray:
        """Deprecated name of :meth:`predict` (it returns labels, which scikit-learn's ``transform`` does not);
        kept for one release."""
        warnings.warn("TopicModel.transform is deprecated and will be removed; use predict (same labels)",
                      DeprecationWarning, stacklevel=2)
        return self.predict(data)

    def update(self, index: Any, *, min_documents: int = 1) -> TopicModel:
        """Topics for the paragraphs appended to ``index`` since the fit, no refit: old ids and labels
        stay, new groups become new topics (:func:`cluster.topics.updates.update_topics`). Returns self."""
        from cluster.topics.updates import update_topics
        return update_topics(self, index, min_documents=min_documents)

    def topic_history(self) -> pd.DataFrame:
        """Size and top keywords of each topic at every fit, update and refit (:mod:`cluster.topics.history`)."""
        from cluster.topics.history import topic_history
        return topic_history(self)

    def find_topics(self, query: str, n: int = 5) -> list[tuple[int, float]]:
        """Topics most similar to a free-text query (:func:`cluster.topics.similarity.query_similarity`)."""
        from cluster.topics.similarity import find_topics
        check_fitted(self)
        if not isinstance(query, str) or not query.strip():
            raise InputError(f"query is {query!r}; expected non-empty text")
        return find_topics(self, query, n)

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
        labels = self.fit_labels_.copy()
        custom = dict(self.custom_labels_)
        for group in groups:
            target = group[0]
            for t in group[1:]:
                labels[self.fit_labels_ == t] = target
                custom.pop(t, None)
        self.custom_labels_ = custom
        self._set_fit_labels(labels)

    def reduce_topics(self, n: int) -> TopicModel:
        """Merge the closest topics (average linkage on centres) until at most
        ``n`` remain. Returns self."""
        check_fitted(self)
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
                self.custom_labels_[topic] = label.strip()
            else:
                self.custom_labels_.pop(topic, None)
        return self

    # ------------------------------------------------------------- save/load
    def save(self, directory: str | Path, *, index_dir: str | Path | None = None) -> Path:
        """Save to ``directory`` as JSON + .npy (no pickle). ``index_dir``
        records where the index is saved so :meth:`load` can open it."""
        from cluster.topics.persist import save_model

        check_fitted(self)
        return save_model(self, Path(directory), index_dir=index_dir)

    @classmethod
    def load(cls, directory: str | Path, index: Any = None, *, prefix: bool = False) -> TopicModel:
        """Open a saved model with its index: ``index`` (a ParagraphIndex or
        the directory of one) or, if None, the index directory recorded at
        save time. A different index is refused (``IndexMismatchError``);
        with ``prefix`` an index that only grew since is accepted and the model
        covers its first rows (:func:`cluster.topics.tracking.load_for_update`)."""
        from cluster.topics.persist import load_model

        saved = load_model(Path(directory), index, prefix=prefix)
        model = cls(**saved.init_params)
        for name, value in saved.state.items():
            setattr(model, name, value)
        model.tokens_, model.tokenizer_ = None, None
        refresh_labels(model)
        return model

    # --------------------------------------------------------------- display
    def __repr__(self, N_CHAR_MAX: int = 700) -> str:  # noqa: N803 (scikit-learn's BaseEstimator's signature)
        if not hasattr(self, "labels_"):
            return "TopicModel(unfitted)"
        if not self.n_topics_:
            return f"TopicModel(0 topics: {self.message_})"
        return (
            f"TopicModel({self.n_topics_} topics over {int(self.fitted_mask_.sum())} paragraphs, "
            f"{100 * self.outlier_share_:.1f}% outliers)"
        )

    def _repr_html_(self) -> str:
        return views.topic_table_html(self)

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, str]:
        """Jupyter shows the topic table (not scikit-learn's estimator diagram)."""
        return {"text/plain": repr(self), "text/html": self._repr_html_()}

    def __rich__(self) -> Any:
        return views.topic_table_rich(self)
