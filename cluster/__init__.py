"""paratopic.cluster: topics and stories over a paragraph index, keywords and reports.

>>> from embed import ParagraphIndex
>>> from cluster import TopicModel, write_report
>>> tm = TopicModel(random_state=0).fit(ParagraphIndex.load("out/seeds/index"))
>>> tm.topic_info()
>>> write_report(tm, "out/seeds/report.html")
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from cluster.errors import IndexMismatchError, ModelFormatError

#: Public name -> its module, imported on first use (PEP 562): ``import cluster`` stays cheap.
_LAZY = {
    "TopicModel": "cluster.topics",
    "TOPIC_INFO_COLUMNS": "cluster.topics",
    "StoryModel": "cluster.stories",
    "write_report": "cluster.report",
    "Workspace": "cluster.workspace",
}

if TYPE_CHECKING:
    from cluster.report import write_report
    from cluster.stories import StoryModel
    from cluster.topics import TOPIC_INFO_COLUMNS, TopicModel
    from cluster.workspace import Workspace


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'cluster' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = ["TopicModel", "StoryModel", "TOPIC_INFO_COLUMNS", "write_report", "Workspace", "IndexMismatchError",
           "ModelFormatError"]
