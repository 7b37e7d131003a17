"""Saved topic models and stories in an index folder, brought up to date (moved here from
``cluster.topics.tracking``, which keeps the model-level algorithms).

* :func:`load_for_update` opens a saved model against the first rows of an index that only grew since;
* :func:`update_saved` gives the paragraphs appended since a topic (:func:`cluster.topics.tracking.update_topics`)
  and saves the model;
* :func:`update_saved_stories` takes the new articles into the saved stories;

(:func:`cluster.topics.updates.match_refit`, which gives a refit the saved model's topic ids, is re-exported by
:mod:`cluster.workspace`.)
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cluster.topics.updates import update_topics

if TYPE_CHECKING:
    from cluster.stories.model import StoryModel
    from cluster.topics.model import TopicModel

__all__ = ["load_for_update", "update_saved", "update_saved_stories"]

logger = logging.getLogger(__name__)


def load_for_update(directory: str | Path, index: Any) -> TopicModel:
    """Open the model saved in ``directory`` against the first rows of ``index``
    (an index that only grew since); pass the result to :func:`cluster.topics.tracking.update_topics`."""
    from cluster.topics.model import TopicModel

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


def update_saved_stories(index_dir: str | Path, index: Any, topics: TopicModel | None = None) -> StoryModel | None:
    """Update the stories saved in ``index_dir/stories`` (:mod:`cluster.stories.model`) with ``index``
    (and the updated ``topics``) and save them; None when there are none."""
    from cluster.stories.model import StoryModel

    folder = Path(index_dir) / "stories"
    if not folder.exists():
        return None
    stories = StoryModel.load(folder, index)
    stories.update(index, topics)
    stories.save(folder, index_dir=index_dir)
    return stories
