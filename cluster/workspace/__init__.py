"""An index folder with its topics and stories (:class:`Workspace`): open, build or grow the index, fit
or update topics and stories, write reports; and the saved models brought up to date
(:func:`load_for_update`, :func:`update_saved`, :func:`update_saved_stories`, :func:`match_refit`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from embed.lazy import lazy_exports

_LAZY = {
    "Workspace": "cluster.workspace.folder",
    "TOPICS_SUBDIR": "cluster.workspace.folder",
    "STORIES_SUBDIR": "cluster.workspace.folder",
    "index_folder": "cluster.workspace.folder",
    "find_index": "cluster.workspace.folder",
    "Indexed": "cluster.workspace.indexing",
    "index_articles": "cluster.workspace.indexing",
    "load_for_update": "cluster.workspace.saved",
    "update_saved": "cluster.workspace.saved",
    "update_saved_stories": "cluster.workspace.saved",
    "match_refit": "cluster.topics.updates",
}

if TYPE_CHECKING:
    from cluster.topics.updates import match_refit
    from cluster.workspace.folder import STORIES_SUBDIR, TOPICS_SUBDIR, Workspace, find_index, index_folder
    from cluster.workspace.indexing import Indexed, index_articles
    from cluster.workspace.saved import load_for_update, update_saved, update_saved_stories

__getattr__, __dir__ = lazy_exports("cluster.workspace", _LAZY, globals())

__all__ = ["Workspace", "TOPICS_SUBDIR", "STORIES_SUBDIR", "index_folder", "find_index", "Indexed", "index_articles",
           "load_for_update", "update_saved", "update_saved_stories", "match_refit"]
