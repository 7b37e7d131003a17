"""paratopic.cluster: topics and stories over a paragraph index, keywords and reports.

>>> from embed import ParagraphIndex
>>> from cluster import TopicModel, write_report
>>> tm = TopicModel(random_state=0).fit(ParagraphIndex.load("out/seeds/index"))
>>> tm.topic_info()
>>> write_report(tm, "out/seeds/report.html")
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cluster.errors import IndexMismatchError, ModelFormatError
from embed.lazy import lazy_exports

#: Public name -> its module, imported on first use (PEP 562): ``import cluster`` stays cheap.
_LAZY = {
    "NotFittedError": "cluster.errors",
    "TopicModel": "cluster.topics.model",
    "TOPIC_INFO_COLUMNS": "cluster.topics.model",
    "StoryModel": "cluster.stories.model",
    "write_report": "cluster.report.writer",
    "Workspace": "cluster.workspace.folder",
}

if TYPE_CHECKING:
    from cluster.report.writer import write_report
    from cluster.stories.model import StoryModel
    from cluster.topics.model import TOPIC_INFO_COLUMNS, TopicModel
    from cluster.workspace.folder import Workspace


__getattr__, __dir__ = lazy_exports("cluster", _LAZY, globals())

__all__ = ["TopicModel", "StoryModel", "TOPIC_INFO_COLUMNS", "write_report", "Workspace", "IndexMismatchError",
           "ModelFormatError", "NotFittedError"]
