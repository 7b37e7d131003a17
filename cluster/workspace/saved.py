"""Saved topic models and stories in an index folder, brought up to date (moved here from
``cluster.topics.tracking``, which keeps the model-level algorithms).

* :func:`load_for_update` opens a saved model against the first rows of an index that only grew since;
* :func:`update_saved` gives the paragraphs appended since a topic (:func:`cluster.topics.tracking.update_topics`)
  and saves the model;
* :func:`update_saved_stories` takes the new articles into the saved stories;
* :func:`match_refit` gives a fresh fit the ids of the saved model's topics it matches (the rule is in
  :mod:`cluster.topics.tracking`: Hungarian assignment on paragraph overlap, a pair kept from
  :data:`~cluster.topics.tracking.MIN_JACCARD` Jaccard overlap), carrying hand-set labels and the history over.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cluster.topics.tracking import MIN_JACCARD, _relabel, history_entry, match_to_previous, update_topics

if TYPE_CHECKING:
    from cluster.stories.model import StoryModel
    from cluster.topics.model import TopicModel

__all__ = ["load_for_update", "update_saved", "update_saved_stories", "match_refit"]

logger = logging.getLogger(__name__)


def load_for_update(directory: str | Path, index: Any) -> TopicModel:
    """Open the model saved in ``directory`` against the first rows of ``index``
    (an index that only grew since); pass the result to :func:`cluster.topics.tracking.update_topics`."""
    from cluster.topics.model import TopicModel
    from cluster.topics.persist import load_model

    return load_model(TopicModel, Path(directory), index, prefix=True)


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


def match_refit(new: TopicModel, old: TopicModel, *, min_jaccard: float = MIN_JACCARD) -> TopicModel:
    """Give ``new`` (a fresh fit) the ids of ``old``'s topics it matches, carry hand-set labels of matched
    topics and the history over, and add a "refit" entry naming vanished and new topics. Returns ``new``.

    Rule for ids: a matched topic keeps its old id when that id is below the new number of topics; every
    other topic takes a free id, never-used ids first (from the previous highest id up), then ids of
    vanished topics, lowest first. Each reuse of a vanished topic's id is written in the history
    ("retired id 4 reused after refit")."""
    matched = match_to_previous(new, old, min_jaccard=min_jaccard)
    k = int(new.n_topics_)
    history = [dict(e) for e in (getattr(old, "history_", None) or [history_entry(old, "fit", at=None)])]
    ever = max([e["n_topics"] for e in history] + [old.n_topics_])
    mapping = {t: o for t, o in matched.items() if o < k}
    taken = set(mapping.values())
    free = [i for i in range(k) if i not in taken]
    free.sort(key=lambda i: (i < ever, i))  # never-used ids first, then vanished topics' ids
    rest = [t for t in range(k) if t not in mapping]  # already largest first
    notes = []
    for t, i in zip(rest, free):
        mapping[t] = i
        if i < ever:
            notes.append(f"retired id {i} reused after refit")
    vanished = sorted(set(range(old.n_topics_)) - set(matched.values()))
    moved = sorted(o for o in matched.values() if o >= k)
    notes += [f"topic {o} vanished" for o in vanished]
    notes += [f"topic {o} matched but renumbered {mapping[t]} (ids stay below {k})" for t, o in matched.items() if o in moved]
    # the hand-set labels are the model's private state until TopicModel exposes them
    new._custom_labels = {**{t: old._custom_labels[o] for t, o in matched.items() if o in old._custom_labels},
                          **new._custom_labels}
    _relabel(new, mapping)
    created = sorted(mapping[t] for t in rest)
    new.history_ = [*history, history_entry(new, "refit", new_topics=created, notes=notes,
                                            matched={str(mapping[t]): o for t, o in matched.items()})]
    for note in notes:
        logger.info("refit: %s", note)
    return new
