"""Stories: the articles (and their paragraphs) that report the same event, across outlets.

>>> from embed import ParagraphIndex
>>> from cluster.stories.model import StoryModel
>>> index = ParagraphIndex.load("out/seeds/index")
>>> stories = StoryModel().fit(index)
>>> stories.story_info()

A story is a group of articles; every paragraph belongs to its article's
story. The model fits the stored vectors (nothing is embedded): each article
gets the mean of its paragraph vectors, the words of its title and
paragraphs, and its date, and two articles' *story similarity* combines the
three (:mod:`cluster.stories.signals`). Articles are grouped by average
linkage: two groups merge while the average similarity between their
articles is at least ``min_similarity``. No number of stories is given.

An article that reports something no other article does is a story of its
own (``n_articles`` 1): every article with a usable paragraph has a story
id, so scores treat it as its own cluster and :meth:`StoryModel.update` can
later give it company without changing its id. ``story_info(min_articles=2)``
lists only stories told by several articles. Paragraphs of articles with no
usable paragraph (all boilerplate or empty) are labelled -1.

Defaults tuned on a fixed half of ViMs' events (``benchmarks/vims.py``), as
ViMs dates them and in news-day draws (same-day events, several per
section, with and without dates, as paragraphs and as title + lead), and
checked, untouched, on the other half; article-level ARI
(``benchmarks/results/stories.md``, means over 3 draws):

==============================================  ======  =====  =======  ========
collection                                      before  after  HDBSCAN  KMeans k
==============================================  ======  =====  =======  ========
ViMs, all 300 events, as dated                  0.961   0.962  0.904    0.906
held-out news day, paragraphs, no dates         0.985   0.988  0.965    0.979
held-out news day, one block, no dates          0.973   0.967  0.983    0.971
held-out news day, title + lead, no dates       0.903   0.955  0.940    0.913
==============================================  ======  =====  =======  ========
"""

from __future__ import annotations

import html
import logging
import warnings
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from cluster.errors import ModelFormatError, check_fitted
from cluster.estimator import Estimator
from cluster.stories import signals as signals_mod
from cluster.stories.persist import SavedStories, load_stories, save_stories
from cluster.stories.signals import Articles, StorySignals, article_table, background_threshold, cluster_articles
from embed.errors import InputError

__all__ = ["StoryModel", "STORY_INFO_COLUMNS", "STORIES_SUBDIR"]

logger = logging.getLogger(__name__)

STORY_INFO_COLUMNS = ["story", "headline", "n_articles", "n_paragraphs", "sources", "first_date", "last_date", "topic"]
#: Where :meth:`StoryModel.save` writes by default, inside the index directory.
STORIES_SUBDIR = "stories"


def _topics_argument(y: Any, topics: Any) -> Any:
    """``topics``, or a topic model passed positionally as ``y`` (the old ``fit(index, topics)``), with a warning."""
    if y is not None and topics is None and hasattr(y, "labels_"):
        warnings.warn("StoryModel.fit(index, topics) is deprecated; pass topics=... (the second argument is y)",
                      DeprecationWarning, stacklevel=3)
        return y
    return topics


class StoryModel(Estimator):
    """Stories of a :class:`embed.ParagraphIndex`, in the scikit-learn style.

    Args:
        min_similarity: two groups of articles merge while their average story
            similarity is at least this (in [-1, 1]; higher = tighter stories).
        vector_weight: share of the paragraph alignment (each paragraph's best
            cosine in the other article, averaged) in the similarity.
        fact_weight: share of the fact cosine (names and numbers both state);
            the rest (``1 - vector_weight - fact_weight``) is the rare-word cosine.
        short_allowance: added to the similarity of a pair with a short article
            (a title + lead), fading out with length
            (:data:`cluster.stories.signals.SHORT_WORDS` to ``LONG_WORDS`` distinct words).
        vector_floor: alignment mapped to 0 (e5 puts different news events near 0.82).
        time_penalty: taken off the similarity of two dated articles published
            ``time_grace_days + time_scale_days`` or more apart (0 = dates ignored).
        time_grace_days: days apart that cost nothing (one event is reported over a day or two).
        time_scale_days: days over which the penalty then grows linearly to ``time_penalty``.
        undated_penalty: taken off the similarity of a pair where a date is
            unknown (0: dates never make a pair more alike than no dates do).
        background_z: the merge threshold is raised to the collection's
            background, the median + ``background_z`` MADs of its pairs' content
            similarity, where that exceeds ``min_similarity`` (None = never).
        language: ``"auto"``, ``"vi"``, ``"en"`` or ``"other"`` for the words.

    Attributes (after :meth:`fit`):
        labels_: story id of each index row (-1: its article has no usable paragraph).
        article_stories_: ``{doc_id: story id}`` of every clustered article.
        n_stories_: number of stories (single-article stories included).
        threshold_: the merge threshold used (``min_similarity`` or the collection's background).
        language_: the language used for the words.
    """

    def __init__(
        self,
        *,
        min_similarity: float = 0.29,
        vector_weight: float = 0.4,
        fact_weight: float = 0.2,
        short_allowance: float = 0.06,
        vector_floor: float = 0.8,
        time_penalty: float = 0.4,
        time_grace_days: float = 1.0,
        time_scale_days: float = 5.0,
        undated_penalty: float = 0.0,
        background_z: float | None = 3.0,
        language: str = "auto",
    ) -> None:
        self.min_similarity = min_similarity
        self.vector_weight = vector_weight
        self.fact_weight = fact_weight
        self.short_allowance = short_allowance
        self.vector_floor = vector_floor
        self.time_penalty = time_penalty
        self.time_grace_days = time_grace_days
        self.time_scale_days = time_scale_days
        self.undated_penalty = undated_penalty
        self.background_z = background_z
        self.language = language

    # ------------------------------------------------------------------ checks
    def _check_params(self) -> None:
        checks = {
            "min_similarity": -1.0 <= self.min_similarity <= 1.0,
            "vector_weight": 0.0 <= self.vector_weight <= 1.0,
            "fact_weight": 0.0 <= self.fact_weight <= 1.0 - self.vector_weight,
            "vector_floor": -1.0 <= self.vector_floor < 1.0,
            "short_allowance": 0.0 <= self.short_allowance <= 1.0,
            "time_penalty": self.time_penalty >= 0.0,
            "time_grace_days": self.time_grace_days >= 0.0,
            "time_scale_days": self.time_scale_days > 0.0,
            "undated_penalty": self.undated_penalty >= 0.0,
        }
        for name, ok in checks.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value) or not ok:
                raise InputError(f"{name}={value!r} is out of range; see StoryModel's docstring")
        z = self.background_z
        if z is not None and (isinstance(z, bool) or not isinstance(z, (int, float)) or not np.isfinite(z) or z < 0):
            raise InputError(f"background_z={z!r} is out of range; expected None or a number >= 0")
        if self.language not in ("auto", "vi", "en", "other"):
            raise InputError(f"language={self.language!r}; expected 'auto', 'vi', 'en' or 'other'")

    def _check_fitted(self) -> None:
        check_fitted(self)

    def _check_story(self, story: int) -> int:
        self._check_fitted()
        if isinstance(story, bool) or not isinstance(story, (int, np.integer)) or int(story) not in self._members:
            raise InputError(f"no story {story!r}; story ids are {self._id_range()}")
        return int(story)

    def _id_range(self) -> str:
        ids = sorted(self._members)
        if not ids:
            return "none (no stories)"
        return f"{ids[0]}..{ids[-1]}" if len(ids) == ids[-1] - ids[0] + 1 else f"{len(ids)} ids from {ids[0]} to {ids[-1]}"

    # ----------------------------------------------------------------- signals
    def _signals(self, index: Any, articles: Articles) -> StorySignals:
        from cluster.words.tokens import detect_language

        table = index.paragraphs
        texts = signals_mod.article_texts(table, articles)
        if self.language != "auto":
            self.language_ = self.language
        elif not hasattr(self, "language_"):  # update() keeps the language the stories were fitted with
            self.language_ = detect_language(table["text"].astype(str).tolist()[:500])
        empty = sp.csr_matrix((len(texts), 0), dtype=np.float32)
        words = (
            signals_mod.word_matrix(signals_mod.article_tokens(texts, self.language_), self.language_)
            if self.vector_weight + self.fact_weight < 1.0 else empty
        )
        facts = (signals_mod.fact_matrix([sum(map(signals_mod.fact_counts, parts), Counter()) for parts in texts])
                 if self.fact_weight > 0.0 else empty)
        paragraphs, starts, counts = signals_mod.paragraph_runs(index.vectors, articles)
        return StorySignals(
            paragraphs=paragraphs, starts=starts, counts=counts, words=words, facts=facts,
            days=signals_mod.days_since_epoch(articles.frame["date"]), vector_weight=float(self.vector_weight),
            fact_weight=float(self.fact_weight), short_allowance=float(self.short_allowance), vector_floor=float(self.vector_floor),
            time_penalty=float(self.time_penalty), time_grace_days=float(self.time_grace_days),
            time_scale_days=float(self.time_scale_days), undated_penalty=float(self.undated_penalty),
        )

    # --------------------------------------------------------------------- fit
    def fit(self, index: Any, y: Any = None, *, topics: Any = None) -> StoryModel:
        """Group the articles of ``index`` (a :class:`embed.ParagraphIndex`) into stories.

        Args:
            index: the index; its stored vectors are used, nothing is embedded.
            y: ignored (scikit-learn's signature). A fitted topic model passed here, as
                ``fit(index, topics)`` did before, is taken as ``topics`` with a DeprecationWarning.
            topics: a :class:`cluster.TopicModel` fitted on the same index, for
                the ``topic`` column of :meth:`story_info` (majority topic of
                the story's paragraphs).

        Returns self. Story ids run 0..n_stories_-1, largest stories first.
        """
        topics = _topics_argument(y, topics)
        self._check_params()
        self._check_topics(index, topics)
        self.__dict__.pop("language_", None)
        articles = article_table(index.paragraphs)
        signals = self._signals(index, articles)
        usable = np.flatnonzero(articles.frame["usable"].to_numpy())
        self.threshold_ = background_threshold(signals, usable, float(self.min_similarity), self.background_z)
        groups = cluster_articles(signals, usable, self.threshold_)
        dates = articles.frame["date"]
        groups.sort(key=lambda g: (-len(g), dates.iloc[g].min() if dates.iloc[g].notna().any() else pd.Timestamp.max, g.min()))
        doc_ids = articles.frame["doc_id"].to_numpy()
        self.article_stories_ = {str(doc_ids[a]): story for story, group in enumerate(groups) for a in group}
        self.next_story_id_ = len(groups)
        self.story_topics_: dict[int, int | None] = {}
        self._attach(index, articles, signals, topics)
        logger.info("%d stories over %d articles (%d told by several articles)", self.n_stories_, len(usable),
                    int((self.story_sizes_ > 1).sum()) if len(self.story_sizes_) else 0)
        return self

    def fit_predict(self, index: Any, y: Any = None, *, topics: Any = None) -> np.ndarray:
        """:meth:`fit`, then :attr:`labels_` (the story of every index row)."""
        return self.fit(index, y, topics=topics).labels_

    @staticmethod
    def _check_topics(index: Any, topics: Any) -> None:
        if topics is None:
            return
        labels = getattr(topics, "labels_", None)
        if labels is None:
            raise InputError("topics must be a fitted TopicModel (it has no labels_)")
        if len(labels) != len(index.paragraphs):
            raise InputError(
                f"the topic model labels {len(labels)} paragraphs but the index has {len(index.paragraphs)}; "
                "fit (or update) the topics on this index first"
            )

    def _attach(self, index: Any, articles: Articles, signals: StorySignals | None, topics: Any,
                central: Mapping[int, str] | None = None) -> None:
        """Derive everything per row and per story from :attr:`article_stories_`; the central article of
        each story from ``signals``, or (a loaded model) from ``central`` (story -> doc_id)."""
        self.index = index
        self._articles = articles
        doc_ids = articles.frame["doc_id"].astype(str).to_numpy()
        story_of_article = np.array([self.article_stories_.get(d, -1) for d in doc_ids], dtype=np.int64)
        self.labels_ = story_of_article[articles.codes]
        assigned = np.flatnonzero(story_of_article >= 0)
        order = assigned[np.argsort(story_of_article[assigned], kind="stable")]
        stories, starts = np.unique(story_of_article[order], return_index=True)
        self._members = {int(s): m for s, m in zip(stories, np.split(order, starts[1:]))} if len(order) else {}
        self.n_stories_ = len(self._members)
        self.story_sizes_ = np.array([len(m) for m in self._members.values()], dtype=np.int64)
        if signals is not None:
            self._central = {s: self._central_article(signals, m) for s, m in self._members.items()}
        else:
            position = {d: i for i, d in enumerate(doc_ids)}
            self._central = {s: position.get((central or {}).get(s, ""), int(m[0])) for s, m in self._members.items()}
        if topics is not None:
            topic_labels = np.asarray(topics.labels_)
            for story in self._members:
                found = topic_labels[(self.labels_ == story) & (topic_labels >= 0)]
                self.story_topics_[story] = int(np.bincount(found).argmax()) if len(found) else None
        self.story_topics_ = {s: self.story_topics_.get(s) for s in self._members}

    @staticmethod
    def _central_article(signals: StorySignals, members: np.ndarray) -> int:
        """The member with the highest average story similarity to the others."""
        if len(members) < 3:
            return int(members[0]) if len(members) == 1 else int(members[np.argmin(members)])
        scores = signals.similarity(members, members).sum(axis=1)
        return int(members[int(np.argmax(scores))])

    # ------------------------------------------------------------------ update
    def update(self, index: Any, topics: Any = None) -> StoryModel:
        """Take in the articles of ``index`` not seen before; every known article keeps its story id.

        ``index`` must hold every article the model has seen (an index that
        grew with :meth:`embed.ParagraphIndex.add`). The new articles are
        grouped among themselves by the rule of :meth:`fit`; each group then
        joins the existing story whose articles it is closest to on average
        when that average is at least ``min_similarity``, and otherwise
        becomes a new story with a new id (ids are never reused). Returns self.
        """
        self._check_fitted()
        self._check_params()
        self._check_topics(index, topics)
        articles = article_table(index.paragraphs)
        doc_ids = articles.frame["doc_id"].astype(str).to_numpy()
        missing = sorted(set(self.article_stories_) - set(doc_ids))
        if missing:
            raise InputError(
                f"the index lacks {len(missing)} article(s) the stories hold (e.g. {missing[:3]}); "
                "update with the index the stories were fitted on, extended"
            )
        signals = self._signals(index, articles)
        known = np.array([d in self.article_stories_ for d in doc_ids], dtype=bool)
        fresh = np.flatnonzero(~known & articles.frame["usable"].to_numpy())
        old = np.flatnonzero(known)
        old_story = np.array([self.article_stories_[d] for d in doc_ids[old]], dtype=np.int64)
        stories = np.unique(old_story)
        joined = created = 0
        everything = np.flatnonzero(articles.frame["usable"].to_numpy())
        self.threshold_ = background_threshold(signals, everything, float(self.min_similarity), self.background_z)
        for group in cluster_articles(signals, fresh, self.threshold_):
            target = None
            if len(old):
                mean = signals.similarity(group, old).mean(axis=0)
                per_story = np.bincount(np.searchsorted(stories, old_story), weights=mean) / np.bincount(
                    np.searchsorted(stories, old_story))
                best = int(np.argmax(per_story))
                if per_story[best] >= self.threshold_:
                    target = int(stories[best])
            if target is None:
                target = self.next_story_id_
                self.next_story_id_ += 1
                created += 1
            else:
                joined += 1
            for article in group:
                self.article_stories_[str(doc_ids[article])] = target
        self._attach(index, articles, signals, topics)
        logger.info("update: %d new articles; %d groups joined existing stories, %d new stories",
                    len(fresh), joined, created)
        return self

    # ----------------------------------------------------------------- results
    def story_info(self, min_articles: int = 1) -> pd.DataFrame:
        """One row per story with at least ``min_articles`` articles, largest first.

        Columns: ``story``, ``headline`` (title of the story's most central
        article), ``n_articles``, ``n_paragraphs``, ``sources`` (sorted list),
        ``first_date``, ``last_date`` (NaT when no article is dated),
        ``topic`` (majority topic of its paragraphs when topics were given, else None).
        """
        self._check_fitted()
        frame = self._articles.frame
        rows = []
        counts = np.bincount(self.labels_[self.labels_ >= 0], minlength=self.next_story_id_)
        for story, members in self._members.items():
            if len(members) < min_articles:
                continue
            dates = frame["date"].iloc[members]
            sources = sorted({s for s in frame["source"].iloc[members] if s is not None})
            rows.append({
                "story": story, "headline": self._headline(story), "n_articles": len(members),
                "n_paragraphs": int(counts[story]), "sources": sources,
                "first_date": dates.min(), "last_date": dates.max(), "topic": self.story_topics_.get(story),
            })
        info = pd.DataFrame(rows, columns=STORY_INFO_COLUMNS)
        info["first_date"] = pd.to_datetime(info["first_date"])
        info["last_date"] = pd.to_datetime(info["last_date"])
        info["topic"] = info["topic"].astype(object)
        return info.sort_values(["n_articles", "first_date", "story"], ascending=[False, True, True],
                                na_position="last").reset_index(drop=True)

    def to_json(self, info: pd.DataFrame | None = None, indent: int | None = None) -> str:
        """The stories of ``info`` (default: :meth:`story_info`), in its order, as a JSON list: each row's
        columns (dates ISO) and ``articles``, its member articles oldest first (``doc_id``, ``title``,
        ``source``, ``date``)."""
        import json

        info = self.story_info() if info is None else info
        records = json.loads(info.to_json(orient="records", force_ascii=False, date_format="iso"))
        for record in records:
            members = self.story_articles(int(record["story"]))[["doc_id", "title", "source", "date"]]
            record["articles"] = json.loads(members.to_json(orient="records", force_ascii=False, date_format="iso"))
        return json.dumps(records, ensure_ascii=False, indent=indent)

    def _headline(self, story: int) -> str:
        central = self._central[story]
        title = self._articles.frame["title"].iloc[central]
        if title:
            return str(title)
        rows = np.flatnonzero((self._articles.codes == central) & self._articles.usable_rows)
        text = str(self.index.paragraphs["text"].iloc[rows[0]]) if len(rows) else str(self._articles.frame["doc_id"].iloc[central])
        return text if len(text) <= 100 else text[:99].rstrip() + "…"

    def story_articles(self, story: int) -> pd.DataFrame:
        """The articles of ``story``: ``doc_id``, ``title``, ``source``, ``date``, ``n_paragraphs``, oldest first."""
        members = self._members[self._check_story(story)]
        frame = self._articles.frame.iloc[members][["doc_id", "title", "source", "date", "n_paragraphs"]]
        return frame.sort_values(["date", "doc_id"], na_position="last").reset_index(drop=True)

    def story_paragraphs(self, story: int, *, include_flagged: bool = False) -> pd.DataFrame:
        """The paragraphs of ``story`` (rows of the index's paragraph table), article by article;
        boilerplate and duplicates only with ``include_flagged``."""
        from cluster.topics.setaside import fit_mask

        story = self._check_story(story)
        mask = (self.labels_ == story) & fit_mask(self.index.paragraphs, include_flagged=include_flagged)
        return self.index.paragraphs[mask].reset_index(drop=True)

    def unseen_articles(self, index: Any = None) -> list[str]:
        """Articles of ``index`` (default: the model's) with a usable paragraph that no story holds yet:
        what :meth:`update` would take in."""
        self._check_fitted()
        frame = article_table((index if index is not None else self.index).paragraphs).frame
        return [d for d, ok in zip(frame["doc_id"].astype(str), frame["usable"]) if ok and d not in self.article_stories_]

    def story_of(self, doc_id: str) -> int:
        """Story id of an article (-1 when it has no usable paragraph)."""
        self._check_fitted()
        if str(doc_id) not in set(self._articles.frame["doc_id"].astype(str)):
            raise InputError(f"no article {doc_id!r} in the index")
        return int(self.article_stories_.get(str(doc_id), -1))

    # ------------------------------------------------------------ persistence
    def save(self, directory: str | Path | None = None, *, index_dir: str | Path | None = None) -> Path:
        """Save atomically (one JSON file) to ``directory``; by default ``<index dir>/stories``,
        where the index directory is ``index_dir`` or the one the index was loaded from."""
        self._check_fitted()
        where = Path(index_dir) if index_dir is not None else self.index_dir_
        if directory is None:
            if where is None:
                raise InputError("the index was not loaded from a directory; pass save(directory) or index_dir=")
            directory = where / STORIES_SUBDIR
        return save_stories(self, Path(directory), index_dir=where)

    @property
    def index_dir_(self) -> Path | None:
        """The directory the index was loaded from or saved to, when known."""
        origin = getattr(getattr(self, "index", None), "_origin", None)
        return Path(origin[0]) if origin else getattr(self, "_index_dir", None)

    @classmethod
    def load(cls, directory: str | Path, index: Any = None) -> StoryModel:
        """Open saved stories with an index that holds every article they hold (the same index, or the
        same one extended: :meth:`update` then takes in the new articles). ``index`` is a
        ParagraphIndex or its directory; None = the directory recorded at save time."""
        saved = load_stories(Path(directory), index)
        try:
            model = cls(**saved.params)
        except TypeError as exc:
            raise ModelFormatError(f"{saved.path}: bad parameters ({exc})") from exc
        return cls._restore(model, saved)

    def _restore(self, saved: SavedStories) -> StoryModel:
        """Rebuild a loaded model on the saved index (:mod:`cluster.stories.persist`); nothing is tokenized."""
        try:
            self._check_params()
        except ValueError as exc:
            raise ModelFormatError(f"{saved.path}: bad parameters ({exc})") from exc
        self._index_dir = saved.index_dir
        self.article_stories_ = dict(saved.articles)
        self.next_story_id_ = int(saved.next_story_id)
        self.story_topics_ = dict(saved.story_topics)
        self.language_ = saved.language
        self._attach(saved.index, article_table(saved.index.paragraphs), None, None, saved.central)
        return self

    def central_articles(self) -> dict[int, str]:
        """``{story: doc_id}`` of each story's most central article (its headline's)."""
        self._check_fitted()
        doc_ids = self._articles.frame["doc_id"].astype(str).to_numpy()
        return {s: str(doc_ids[a]) for s, a in self._central.items()}

    # ------------------------------------------------------------------ display
    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, str]:
        """Jupyter shows the summary line (not scikit-learn's estimator diagram)."""
        return {"text/plain": repr(self), "text/html": f"<pre>{html.escape(repr(self))}</pre>"}

    def __repr__(self, N_CHAR_MAX: int = 700) -> str:  # noqa: N803 (scikit-learn's BaseEstimator's signature)
        if not hasattr(self, "labels_"):
            return "StoryModel(unfitted)"
        several = int((self.story_sizes_ > 1).sum())
        return (f"StoryModel({self.n_stories_} stories over {len(self.article_stories_)} articles, "
                f"{several} told by several articles)")
