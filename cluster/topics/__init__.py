"""The topic model and its parts: parameters, the fitted state (``state``), the steps of a fit as functions
(``fitting``: reduce, cluster, centres, assignment, duplicates; ``describe``: keywords), reduction (UMAP, or
HDBSCAN directly on small collections), the map layout, representatives, similarity, hierarchy, levels above
the topics (``levels``: broad groups, the stories under each topic), timelines, history, tracking new articles
(``updates``; ``tracking`` for saved folders), sampled fitting and persistence.

Public names are imported on first use (PEP 562), so importing the package costs nothing until one is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from embed.lazy import lazy_exports

_LAZY = {
    "TopicModel": "cluster.topics.model",
    "TOPIC_INFO_COLUMNS": "cluster.topics.model",
    "fit_sampled": "cluster.topics.sampled",
    "SampledTopics": "cluster.topics.sampled",
    "topic_history": "cluster.topics.history",
    "update_topics": "cluster.topics.updates",
    "topic_levels": "cluster.topics.levels",
}

if TYPE_CHECKING:
    from cluster.topics.history import topic_history
    from cluster.topics.levels import topic_levels
    from cluster.topics.model import TOPIC_INFO_COLUMNS, TopicModel
    from cluster.topics.sampled import SampledTopics, fit_sampled
    from cluster.topics.updates import update_topics

__getattr__, __dir__ = lazy_exports("cluster.topics", _LAZY, globals())

__all__ = ["TopicModel", "TOPIC_INFO_COLUMNS", "fit_sampled", "SampledTopics", "topic_history", "update_topics",
           "topic_levels"]
