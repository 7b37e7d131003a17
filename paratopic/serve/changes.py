"""The explorer's "new since" view and the stories' small timelines.

"New since" has two modes:

- **the previous update** (no date): the topic model's history (:mod:`cluster.topics.history`) has one entry per
  fit, update and refit, each with the number of paragraphs the index held then. The index only grows by whole
  articles appended at its end, so the articles whose rows come after the previous entry's ``n_paragraphs`` are
  the ones that update took in. New and growing topics are :func:`cluster.report.changes.changes_since`'s.
- **a chosen date**: the articles dated on or after it; new and growing topics against the last history entry
  dated on or before it (when topics are saved).

Either way a story is *new* when every one of its articles is new, and *continued* when some are; new stories
told by one article are counted, not listed.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["new_since", "story_timeline", "date_span", "MAX_NEW_ARTICLES"]

#: The most new articles one answer lists (the count is always exact).
MAX_NEW_ARTICLES = 200


def story_timeline(articles: list[dict[str, Any]], start: str | None = None, end: str | None = None) -> list[dict[str, Any]]:
    """A story's articles by day, oldest first: ``date``, ``articles`` (count), ``sources``, ``titles``, ``new``
    (an article marked ``new`` that day) and ``x``, the day's place on the axis from ``start`` (0) to ``end`` (1),
    ISO days, by default the story's first and last day; for the pages' inline SVG (a page of stories puts them
    all on one axis)."""
    days: dict[str, dict[str, Any]] = {}
    for art in articles:
        if not art.get("date"):
            continue
        day = days.setdefault(art["date"], {"date": art["date"], "articles": 0, "sources": [], "titles": [],
                                            "new": False})
        day["articles"] += 1
        day["new"] = day["new"] or bool(art.get("new"))
        if art.get("source") and art["source"] not in day["sources"]:
            day["sources"].append(art["source"])
        day["titles"].append(art.get("title") or art.get("doc_id") or "")
    points = [days[d] for d in sorted(days)]
    if points:
        first, last = pd.Timestamp(start or points[0]["date"]), pd.Timestamp(end or points[-1]["date"])
        span = (last - first).days
        for p in points:
            x = (pd.Timestamp(p["date"]) - first).days / span if span else 0.5
            p["x"] = round(min(max(x, 0.0), 1.0), 4)
    return points


def date_span(rows: Any) -> tuple[str | None, str | None]:
    """The first and last day (ISO) over rows with ``first_date`` and ``last_date`` (ISO days or None)."""
    firsts = [r["first_date"] for r in rows if r.get("first_date")]
    lasts = [r["last_date"] for r in rows if r.get("last_date")]
    return (min(firsts) if firsts else None), (max(lasts) if lasts else None)


def _message(topics: Any) -> str:
    if topics is None:
        return ("this index has no saved topics, whose history records the updates; choose a date to see the "
                "articles and stories since then")
    return ("the topics were fitted once and not updated since (`paratopic index NEW --out DIR` then "
            "`paratopic topics DIR --update`); choose a date to see what is new since then")


def _doc_frame(explorer: Any) -> pd.DataFrame:
    """One row per article: doc_id, first_row (its first paragraph's row), n_paragraphs, date (its first dated)."""
    table = explorer.index.paragraphs
    frame = pd.DataFrame({"doc_id": table["doc_id"].astype(str).to_numpy(), "row": np.arange(len(table))})
    if explorer.dates is not None:
        frame["date"] = explorer.dates.to_numpy()
    else:
        frame["date"] = pd.NaT
    grouped = frame.groupby("doc_id", sort=False)
    return pd.DataFrame({"first_row": grouped["row"].min(), "n_paragraphs": grouped["row"].size(),
                         "date": grouped["date"].min()}).reset_index()


def _article(explorer: Any, doc: Any) -> dict[str, Any]:
    rec = explorer.record(int(doc.first_row))
    return {"doc_id": str(doc.doc_id), "title": rec["title"], "source": rec["source"], "date": rec["date"],
            "first_id": rec["id"], "n_paragraphs": int(doc.n_paragraphs), "topic": rec["topic"], "story": rec["story"]}


def _topic_changes(topics: Any, since: pd.Timestamp | None) -> dict[str, Any] | None:
    if topics is None:
        return None
    from cluster.report.changes import changes_since

    return changes_since(topics, since=since)


def new_since(explorer: Any, since: pd.Timestamp | None = None, min_articles: int = 2) -> dict[str, Any]:
    """What is new since the previous update (``since`` None) or since the day ``since``: the new articles, the
    new and continued stories, the new and growing topics. ``available`` is false (with a ``message``) when
    there is no previous update to compare with and no date was chosen.

    ``explorer`` is the app's :class:`paratopic.serve.views.Explorer` (its ``index``, ``topics``, ``stories``,
    ``dates``, ``record``, ``story_row`` and ``story_articles``)."""
    topics = explorer.topics
    history = list(getattr(topics, "history_", None) or []) if topics is not None else []
    docs = _doc_frame(explorer)
    if since is None:
        if len(history) < 2:
            return {"available": False, "mode": "update", "message": _message(topics), "since": None}
        base = history[-2]
        fresh = docs[docs["first_row"] >= int(base["n_paragraphs"])]
        mode, label = "update", base.get("date")
        baseline = {"event": base["event"], "at": base.get("at"), "date": base.get("date"),
                    "n_paragraphs": int(base["n_paragraphs"]), "entry": len(history) - 2}
    else:
        fresh = docs[docs["date"] >= since]
        mode, label, baseline = "date", since.strftime("%Y-%m-%d"), None
    changes = _topic_changes(topics, since) if topics is not None else None
    if mode == "date" and changes is not None and changes.get("baseline"):
        baseline = changes["baseline"]
    fresh = fresh.sort_values(["date", "first_row"], ascending=[False, True], na_position="last")
    new_docs = set(fresh["doc_id"])
    return {
        "available": True,
        "mode": mode,
        "since": label[:10] if isinstance(label, str) else label,
        "baseline": baseline,
        "n_articles": len(fresh),
        "n_paragraphs": int(fresh["n_paragraphs"].sum()),
        "articles": [_article(explorer, d) for d in fresh.head(MAX_NEW_ARTICLES).itertuples()],
        "articles_truncated": len(fresh) > MAX_NEW_ARTICLES,
        **_story_changes(explorer, new_docs, min_articles),
        "new_topics": changes["new_topics"] if changes else [],
        "growing_topics": changes["growing"] if changes else [],
    }


def _story_changes(explorer: Any, new_docs: set[str], min_articles: int) -> dict[str, Any]:
    """``new_stories`` (every article new, told by ``min_articles`` or more), ``continued_stories`` (older stories
    that gained articles), each newest first with its articles (``new`` marks the new ones) and timeline;
    ``n_new_single_article_stories``."""
    stories = explorer.stories
    if stories is None:
        return {"new_stories": None, "continued_stories": None, "n_new_single_article_stories": None}
    gained: dict[int, int] = {}
    for doc_id, story in stories.article_stories_.items():
        if doc_id in new_docs:
            gained[int(story)] = gained.get(int(story), 0) + 1
    info = stories.story_info(min_articles=1)
    info = info[info["story"].isin(list(gained))]
    info = info.sort_values(["last_date", "n_articles", "story"], ascending=[False, False, True], na_position="last")
    new, continued, single = [], [], 0
    for row in info.itertuples():
        story = int(row.story)
        brand_new = gained[story] == int(row.n_articles)
        if brand_new and int(row.n_articles) < min_articles:
            single += 1
            continue
        articles = [{**a, "new": a["doc_id"] in new_docs} for a in explorer.story_articles(story)]
        entry = {**explorer.story_row(row), "new_articles": gained[story], "articles": articles}
        (new if brand_new else continued).append(entry)
    start, end = date_span(new + continued)
    for entry in new + continued:
        entry["article_timeline"] = story_timeline(entry["articles"], start, end)
    return {"new_stories": new, "continued_stories": continued, "n_new_single_article_stories": single}
