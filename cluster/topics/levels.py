"""Levels above the topics: broad groups of topics, and the stories under each topic.

Three levels a reader can follow, as map tools show them: a *broad* level (a cut of the topic hierarchy,
:func:`cluster.topics.hierarchy.cut_tree`, into a readable number of groups), the *topics* (themes at paragraph
level) and, when a :class:`cluster.stories.model.StoryModel` is given, the *stories* (article-level events) under
each topic. A broad group is labelled like a topic: c-TF-IDF keywords and a phrase over the union of its topics'
paragraphs (:func:`cluster.words.labels.describe_topics`, the same code the topics use).

How many broad groups: where the merge distances of the topic tree jump most (the largest gap between two
successive merges), among cuts into ``min_broad(k)`` .. ``max_broad(k)`` groups (``ceil(sqrt(k))`` ..
``round(2 sqrt(k))``, always fewer than ``k`` when ``k > 2``), so that the groups are separated, few enough to
read, and not so few that one outlying topic makes a group of its own against all the rest (on 20 Newsgroups,
``benchmarks/results/levels.md``, the unbounded largest gap cut 12 topics into 3 groups, ARI 0.21 against the
top-level names, where 4-7 groups score 0.34-0.36).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from cluster.errors import NotFittedError
from cluster.topics.describe import ensure_tokens, fitted_texts
from cluster.topics.hierarchy import cut_tree, topic_hierarchy

__all__ = ["topic_levels", "broad_count", "min_broad", "max_broad", "LEVEL_COLUMNS"]

#: The columns of :func:`topic_levels`'s table, one row per topic.
LEVEL_COLUMNS = ["topic", "label", "paragraphs", "broad", "broad_label", "broad_keywords", "stories", "n_stories"]


def min_broad(k: int) -> int:
    """The fewest broad groups :func:`broad_count` considers for ``k > 2`` topics: ``ceil(sqrt(k))``, at least 2."""
    return max(2, math.ceil(math.sqrt(k))) if k > 2 else k


def max_broad(k: int) -> int:
    """The most broad groups :func:`broad_count` considers for ``k`` topics: ``round(2 sqrt(k))``, below ``k``."""
    return max(1, min(k - 1, round(2 * math.sqrt(k)))) if k > 2 else k


def broad_count(distances: np.ndarray, k: int) -> int:
    """Number of broad groups for ``k`` topics whose tree merged at ``distances`` (ascending, ``k - 1`` of them).

    Cutting into ``n`` groups keeps the first ``k - n`` merges; the cut chosen is the one before the largest jump
    between successive merge distances, ``n`` in ``min_broad(k) .. max_broad(k)`` (ties: fewer groups)."""
    if k <= 2:
        return k
    distances = np.maximum.accumulate(np.asarray(distances, dtype=np.float64))
    if len(distances) != k - 1:
        raise ValueError(f"expected {k - 1} merge distances for {k} topics, got {len(distances)}")
    best, best_gap = min_broad(k), -1.0
    for n in range(min_broad(k), max_broad(k) + 1):
        # n groups: merges 0 .. k-n-1 done; the next one (index k-n) would join two groups.
        gap = distances[k - n] - (distances[k - n - 1] if k - n - 1 >= 0 else 0.0)
        if gap > best_gap + 1e-12:
            best, best_gap = n, gap
    return best


def _main_topic(topic_labels: np.ndarray, story_labels: np.ndarray) -> dict[int, int]:
    """``{story: topic}``: the topic holding most of each story's paragraphs (stories with none left out)."""
    out: dict[int, int] = {}
    both = (topic_labels >= 0) & (story_labels >= 0)
    for story in np.unique(story_labels[story_labels >= 0]):
        found = topic_labels[both & (story_labels == story)]
        if len(found):
            out[int(story)] = int(np.bincount(found).argmax())
    return out


def topic_levels(model: Any, stories: Any = None, *, n_broad: int | None = None) -> pd.DataFrame:
    """One row per topic: its broad group (id and label) and, with ``stories``, the stories under it.

    Args:
        model: a fitted :class:`cluster.topics.model.TopicModel`.
        stories: a :class:`cluster.stories.model.StoryModel` fitted on the same index (optional); a story sits
            under the topic that holds most of its paragraphs.
        n_broad: the number of broad groups; None chooses it (:func:`broad_count`).

    Returns:
        Columns :data:`LEVEL_COLUMNS`: topic, label, paragraphs (fitted paragraphs in the topic), broad (group id,
        ``0..``, numbered by the group's smallest topic), broad_label, broad_keywords (the group's top keywords),
        stories (story ids under the topic, most articles first; empty without ``stories``) and n_stories (of
        those, the stories told by two or more articles).

    Raises:
        NotFittedError: when ``model`` is not fitted.
        ValueError: when ``n_broad`` is below 1, or ``stories`` was fitted on an index of another size.
    """
    if getattr(model, "centroids_", None) is None:
        raise NotFittedError("topic_levels needs a fitted TopicModel: call fit(index) first")
    k = int(model.n_topics_)
    if k == 0:
        return pd.DataFrame(columns=LEVEL_COLUMNS)
    if n_broad is not None and int(n_broad) < 1:
        raise ValueError(f"n_broad must be at least 1, got {n_broad}")
    if n_broad is None:
        tree = topic_hierarchy(model.centroids_)
        n_broad = broad_count(tree["distance"].to_numpy(), k) if len(tree) else k
    groups = cut_tree(model.centroids_, int(n_broad)) if int(n_broad) > 1 else [list(range(k))]
    broad_of = np.empty(k, dtype=np.int64)
    for g, members in enumerate(groups):
        broad_of[members] = g
    keywords, names = _describe_groups(model, broad_of, len(groups))
    fit_labels = np.asarray(model.fit_labels_)
    sizes = np.bincount(fit_labels[fit_labels >= 0], minlength=k)
    under: dict[int, list[int]] = {t: [] for t in range(k)}
    multi: dict[int, int] = dict.fromkeys(range(k), 0)
    if stories is not None:
        story_labels = np.asarray(stories.labels_)
        topic_labels = np.asarray(model.labels_)
        if story_labels.shape != topic_labels.shape:
            raise ValueError(f"stories has {len(story_labels)} rows, the topic model {len(topic_labels)}: "
                             "fit both on the same index")
        n_articles = dict(zip(stories.story_info()["story"], stories.story_info()["n_articles"]))
        for story, topic in _main_topic(topic_labels, story_labels).items():
            under[topic].append(story)
        for topic, found in under.items():
            found.sort(key=lambda s: (-int(n_articles.get(s, 1)), s))
            multi[topic] = sum(int(n_articles.get(s, 1)) > 1 for s in found)
    rows = [{
        "topic": t, "label": model.topic_label(t), "paragraphs": int(sizes[t]), "broad": int(broad_of[t]),
        "broad_label": names[int(broad_of[t])], "broad_keywords": [w for w, _ in keywords[int(broad_of[t])]][:6],
        "stories": under[t], "n_stories": multi[t],
    } for t in range(k)]
    return pd.DataFrame(rows, columns=LEVEL_COLUMNS)


def _describe_groups(model: Any, broad_of: np.ndarray, n_groups: int) -> tuple[dict[int, list], dict[int, str]]:
    """Keywords and distinct labels of the broad groups, from the union of their topics' paragraphs."""
    from cluster.words.keywords import short_label
    from cluster.words.labels import describe_topics

    tokens = ensure_tokens(model)
    fit_labels = np.asarray(model.fit_labels_)
    labels = np.where(fit_labels >= 0, broad_of[np.clip(fit_labels, 0, None)], -1)
    keywords, names = describe_topics(tokens, model.raw_tokens_, fitted_texts(model), labels, n_groups,
                                      model.tokenizer_, n_keywords=int(model.n_keywords),
                                      diversity=float(model.diversity))
    taken: set[str] = set()
    for g in range(n_groups):
        name = names[g]
        if not name or name.casefold() in taken:
            words = [w for w, _ in keywords[g]]
            name = next((short_label(words[i:], n=2) for i in range(len(words))
                         if short_label(words[i:], n=2).casefold() not in taken), "") or f"group {g}"
        if name.casefold() in taken:
            name = f"{name} ({g})"
        names[g] = name
        taken.add(name.casefold())
    return keywords, names
