"""Stories: the articles (and their paragraphs) that report the same event, across outlets; their signals and
persistence.

Public names are imported on first use (PEP 562), so importing the package costs nothing until one is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from embed.lazy import lazy_exports

_LAZY = {
    "StoryModel": "cluster.stories.model",
    "STORY_INFO_COLUMNS": "cluster.stories.model",
}

if TYPE_CHECKING:
    from cluster.stories.model import STORY_INFO_COLUMNS, StoryModel

__getattr__, __dir__ = lazy_exports("cluster.stories", _LAZY, globals())

__all__ = ["StoryModel", "STORY_INFO_COLUMNS"]
