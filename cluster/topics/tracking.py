"""Tracking saved topics: load a saved model against a grown index, update it, save it (and its stories).

The rules live in :mod:`cluster.topics.updates` (:func:`update_topics`,
:func:`match_refit`, ...) and :mod:`cluster.topics.history`; this module
works on saved folders and re-exports those names, so
``from cluster.topics.tracking import update_topics`` keeps working.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cluster.stories.model import StoryModel
from cluster.topics.history import HISTORY_COLUMNS, HISTORY_EVENTS, history_entry, topic_history
from cluster.topics.model import TopicModel
from cluster.topics.state import IndexRows
from cluster.topics.updates import MIN_JACCARD, match_refit, match_to_previous, update_topics

__all__ = [
    "IndexRows", "update_topics", "match_to_previous", "match_refit", "history_entry", "topic_history",
    "load_for_update", "update_saved", "update_saved_stories", "MIN_JACCARD", "HISTORY_EVENTS", "HISTORY_COLUMNS",
]


def load_for_update(directory: str | Path, index: Any) -> TopicModel:
    """Open the model saved in ``directory`` against the first rows of ``index``
    (an index that only grew since); pass the result to :func:`update_topics`."""
    return TopicModel.load(Path(directory), index, prefix=True)


def update_saved(directory: str | Path, index_dir: str | Path, *, min_documents: int = 1, method: str = "groups") -> TopicModel:
    """Load the index in ``index_dir`` and the model in ``directory``, update
    the model with the appended paragraphs and save it (unless nothing was
    added: ``last_update_`` is then None). Returns the model."""
    from embed.store.index import ParagraphIndex

    index = ParagraphIndex.load(index_dir)
    model = update_topics(load_for_update(directory, index), index, min_documents=min_documents, method=method)
    if model.last_update_ is not None:
        model.save(directory, index_dir=index_dir)
    return model


def update_saved_stories(index_dir: str | Path, index: Any, topics: TopicModel | None = None) -> Any:
    """Update the stories saved in ``index_dir/stories`` (:mod:`cluster.stories.model`) with ``index``
    (and the updated ``topics``) and save them; None when there are none."""
    folder = Path(index_dir) / "stories"
    if not folder.exists():
        return None
    stories = StoryModel.load(folder, index)
    stories.update(index, topics)
    stories.save(folder, index_dir=index_dir)
    return stories
