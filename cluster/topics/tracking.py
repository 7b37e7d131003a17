"""Topic tracking, by its old name: the rules live in :mod:`cluster.topics.updates` (:func:`update_topics`,
:func:`match_refit`, ...) and :mod:`cluster.topics.history`; saved folders are brought up to date by
:mod:`cluster.workspace.saved`. This module re-exports the rules, so
``from cluster.topics.tracking import update_topics`` keeps working.
"""

from __future__ import annotations

from cluster.topics.history import HISTORY_COLUMNS, HISTORY_EVENTS, history_entry, topic_history
from cluster.topics.state import IndexRows
from cluster.topics.updates import MIN_JACCARD, match_refit, match_to_previous, update_topics

__all__ = [
    "IndexRows", "update_topics", "match_to_previous", "match_refit", "history_entry", "topic_history",
    "MIN_JACCARD", "HISTORY_EVENTS", "HISTORY_COLUMNS",
]
