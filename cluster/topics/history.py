"""A topic model's history: one entry per fit, update and refit (saved with the model).

Each entry says when, the data's latest date, and each topic's size and top
keywords; :func:`topic_history` returns them as a table. Updates and refits
(:mod:`cluster.topics.updates`) add entries.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import numpy as np

from cluster.topics.state import FittedTopics
from embed.errors import InputError

if TYPE_CHECKING:  # pandas (here and through embed.read.dates) only where used: loading stories needs neither
    import pandas as pd

__all__ = ["history_entry", "ensure_history", "topic_history", "HISTORY_EVENTS", "HISTORY_COLUMNS", "HISTORY_KEYWORDS"]

#: Keywords kept per topic in each history entry.
HISTORY_KEYWORDS = 5
HISTORY_EVENTS = ("fit", "update", "refit")
HISTORY_COLUMNS = ["update", "event", "at", "date", "topic", "size", "keywords"]


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _max_date(table: pd.DataFrame) -> str | None:
    """The latest ``date`` of the paragraphs (ISO text), None when none has one."""
    from embed.read.dates import stored_dates

    if "date" not in table.columns:
        return None
    dates = stored_dates(table["date"]).dropna()
    return dates.max().isoformat() if len(dates) else None


def history_entry(model: FittedTopics, event: str, *, at: str | None = "now", **extra: Any) -> dict[str, Any]:
    """One history entry for ``model`` as it is now (``event`` is fit, update or refit)."""
    if event not in HISTORY_EVENTS:
        raise InputError(f"history event {event!r}; expected one of {HISTORY_EVENTS}")
    labels = model.fit_labels_
    sizes = np.bincount(labels[labels >= 0], minlength=model.n_topics_)
    n_rows = len(model.fitted_mask_)  # the model's rows (its index object may have grown since)
    entry = {
        "event": event,
        "at": _now() if at == "now" else at,
        "date": _max_date(model.index.paragraphs.iloc[:n_rows]),
        "n_paragraphs": n_rows,
        "n_topics": int(model.n_topics_),
        "topics": {
            str(t): {"size": int(sizes[t]), "keywords": [w for w, _ in model.keywords_.get(t, [])][:HISTORY_KEYWORDS]}
            for t in range(model.n_topics_)
        },
        "new_topics": list(range(model.n_topics_)) if event == "fit" else [],
        "notes": [],
    }
    entry.update(extra)
    return entry


def ensure_history(model: FittedTopics) -> list[dict[str, Any]]:
    """The model's history; a model saved before there was one gets a "fit" entry (time unknown)."""
    if not getattr(model, "history_", None):
        model.history_ = [history_entry(model, "fit", at=None)]
    return model.history_


def topic_history(model: FittedTopics) -> pd.DataFrame:
    """Each topic's size and top keywords at every fit, update and refit:
    columns update (entry number), event, at, date, topic, size, keywords."""
    rows = [
        {"update": i, "event": e["event"], "at": e.get("at"), "date": e.get("date"), "topic": int(t),
         "size": int(v["size"]), "keywords": list(v["keywords"])}
        for i, e in enumerate(getattr(model, "history_", None) or []) for t, v in e["topics"].items()
    ]
    import pandas as pd

    return pd.DataFrame(rows, columns=HISTORY_COLUMNS)
