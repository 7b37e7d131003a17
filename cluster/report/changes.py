"""What changed since a date: the report's "New since DATE" section and story timeline.

A model's history (:mod:`cluster.topics.tracking`) has one entry per fit, update
and refit, each with the data's latest date and every topic's size. "New
since DATE" compares the model now with a *baseline* entry:

- by default the previous entry (DATE is its data's latest date; new
  stories are those whose first article is later than that);
- with ``since``, the last entry whose date is on or before ``since``
  (stories from ``since`` on count as new).

New topics are those created by the entries after the baseline; growing
topics are the others, by paragraphs gained (now minus then). Stories
(:mod:`cluster.stories.model`, when saved beside the index) add the new stories and
a timeline; without stories those parts are absent.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

import pandas as pd

from cluster.topics.state import FittedTopics as TopicModel
from embed.errors import InputError
from embed.read.dates import stored_dates

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = ["changes_since", "story_overview", "story_timeline_figure", "STORY_COLUMNS", "MIN_STORY_ARTICLES"]

#: Stories listed as new and drawn on the timeline have at least this many
#: articles (a story told by one article is counted, not listed).
MIN_STORY_ARTICLES = 2
STORY_COLUMNS = ["story", "headline", "n_articles", "n_paragraphs", "sources", "first_date", "last_date", "topic"]


def _timestamp(value: Any) -> pd.Timestamp | None:
    if value is None:
        return None
    stamp = pd.to_datetime(value, errors="coerce", utc=True)
    if pd.isna(stamp):
        raise InputError(f"since={value!r} is not a date; use YYYY-MM-DD")
    return stamp.tz_localize(None)


def _shown(stamp: pd.Timestamp | None) -> str | None:
    """A date as shown: YYYY-MM-DD, with the time only when it is not midnight."""
    if stamp is None:
        return None
    return stamp.strftime("%Y-%m-%d") if stamp == stamp.normalize() else stamp.strftime("%Y-%m-%d %H:%M")


def _story_rows(stories: Any) -> list[dict[str, Any]]:
    """``stories.story_info()`` as plain records with ISO dates (sources as a list)."""
    info = stories.story_info()
    missing = [c for c in STORY_COLUMNS if c not in info.columns]
    if missing:
        raise InputError(f"story_info() lacks columns {missing}; expected {STORY_COLUMNS}")
    rows = []
    for r in info.to_dict("records"):
        first, last = (pd.to_datetime(r[c], errors="coerce", utc=True) for c in ("first_date", "last_date"))
        sources = r["sources"]
        rows.append({
            "story": int(r["story"]), "headline": str(r["headline"] or ""), "n_articles": int(r["n_articles"]),
            "n_paragraphs": int(r["n_paragraphs"]),
            "sources": [str(s) for s in sources] if isinstance(sources, (list, tuple)) or hasattr(sources, "tolist")
            else [str(sources)] if sources else [],
            "first_date": None if pd.isna(first) else first.tz_localize(None).isoformat(),
            "last_date": None if pd.isna(last) else last.tz_localize(None).isoformat(),
            "topic": None if r["topic"] is None or pd.isna(r["topic"]) else int(r["topic"]),
            "dates": _article_dates(stories, int(r["story"])) if int(r["n_articles"]) >= MIN_STORY_ARTICLES else [],
        })
    return rows


def _article_dates(stories: Any, story: int) -> list[str]:
    """ISO dates of a story's dated articles (``story_articles``), oldest first."""
    if not hasattr(stories, "story_articles"):
        return []
    dates = stored_dates(stories.story_articles(story)["date"]).dropna()
    return [d.isoformat() for d in sorted(dates)]


def story_overview(stories: Any) -> dict[str, Any] | None:
    """The report's "Stories" section: every story told by at least
    :data:`MIN_STORY_ARTICLES` articles (most articles first) and how many
    articles stand alone; None without a story model."""
    if stories is None:
        return None
    rows = _story_rows(stories)
    listed = sorted((r for r in rows if r["n_articles"] >= MIN_STORY_ARTICLES),
                    key=lambda r: (-r["n_articles"], r["first_date"] or "", r["story"]))
    return {"n_stories": len(rows), "n_single": len(rows) - len(listed), "stories": listed}


def changes_since(model: TopicModel, *, since: Any = None, stories: Any = None) -> dict[str, Any] | None:
    """The "New since DATE" facts, or None when there is nothing to compare
    (a model with one history entry and no ``since``).

    Args:
        model: a fitted topic model (its ``history_``).
        since: a date (text or datetime) to compare with, instead of the previous entry.
        stories: a story model with ``story_info()`` (:mod:`cluster.stories.model`), or None.
    """
    history = list(getattr(model, "history_", None) or [])
    limit = _timestamp(since)
    if limit is None:
        if len(history) < 2:
            return None
        at = len(history) - 2
        base = history[at]
        cutoff, inclusive = _timestamp(base.get("date")), False
        label = _shown(cutoff)
    else:
        dated = [i for i, e in enumerate(history) if e.get("date") and _timestamp(e["date"]) <= limit]
        at = dated[-1] if dated else None
        base = history[at] if at is not None else None
        label, cutoff, inclusive = _shown(limit), limit, True
    later = history[(at + 1 if at is not None else 0):]
    created = sorted({t for e in later for t in e.get("new_topics", []) if t < model.n_topics_})
    sizes = model.topic_info().set_index("topic")["size"].to_dict() if model.n_topics_ else {}
    new_topics = [{"topic": t, "label": model.topic_label(t), "size": int(sizes.get(t, 0)),
                   "keywords": [w for w, _ in model.get_topic(t)][:6]} for t in created]
    growing = []
    if base is not None:
        for key, then in base["topics"].items():
            t = int(key)
            if t < model.n_topics_ and t not in created and sizes.get(t, 0) > then["size"]:
                growing.append({"topic": t, "label": model.topic_label(t), "before": int(then["size"]),
                                "now": int(sizes[t]), "growth": int(sizes[t] - then["size"])})
    growing.sort(key=lambda g: (-g["growth"], g["topic"]))
    story_rows = _story_rows(stories) if stories is not None else None
    new_stories, single = None, 0
    if story_rows is not None and cutoff is not None:
        def is_new(row: dict[str, Any]) -> bool:
            first = _timestamp(row["first_date"]) if row["first_date"] else None
            return first is not None and (first >= cutoff if inclusive else first > cutoff)

        fresh = [r for r in story_rows if is_new(r)]
        new_stories = sorted((r for r in fresh if r["n_articles"] >= MIN_STORY_ARTICLES), key=lambda r: (r["first_date"], r["story"]))
        single = len(fresh) - len(new_stories)
    return {
        "since": label,
        "baseline": None if base is None else {"entry": at, "event": base["event"], "at": base.get("at"), "date": base.get("date")},
        "new_topics": new_topics,
        "growing": growing,
        "new_stories": new_stories,
        "new_single_article_stories": single if new_stories is not None else None,
        "stories": [r for r in story_rows if r["first_date"] and r["n_articles"] >= MIN_STORY_ARTICLES]
        if story_rows is not None else None,
    }


def story_timeline_figure(stories: list[dict[str, Any]], *, since: str | None = None, limit: int = 40) -> go.Figure:
    """Stories on the y axis, each a line from its first to its last article's
    date with a point per dated article; the ``limit`` most recently active stories."""
    import plotly.graph_objects as go

    from cluster.report.figures import topic_color

    rows = sorted((r for r in stories if r["first_date"]), key=lambda r: (r["last_date"] or r["first_date"], r["story"]))[-limit:]
    fig = go.Figure()
    for r in rows:
        name = html.escape(f"{r['story']}: {r['headline']}"[:60], quote=False)
        colour = topic_color(r["topic"] if r["topic"] is not None else -1)
        xs = r.get("dates") or [r["first_date"], r["last_date"] or r["first_date"]]
        fig.add_trace(go.Scatter(
            x=xs, y=[name] * len(xs), mode="lines+markers",
            line={"color": colour, "width": 3}, marker={"size": 9, "color": colour},
            hovertext=html.escape(f"{r['headline']} · {r['n_articles']} articles · {', '.join(r['sources'])}", quote=False),
            hoverinfo="text+x", showlegend=False,
        ))
    if since:
        fig.add_vline(x=since, line={"dash": "dot", "color": "#888"})
    fig.update_layout(template="plotly_white", height=120 + 22 * max(len(rows), 1), title={"text": "Story timeline", "x": 0.01},
                      margin={"l": 10, "r": 10, "t": 40, "b": 30}, yaxis={"automargin": True})
    return fig
