"""paratopic.cluster: topics and stories over a paragraph index, keywords and reports.

>>> from embed import ParagraphIndex
>>> from cluster import TopicModel, write_report
>>> tm = TopicModel(random_state=0).fit(ParagraphIndex.load("out/seeds/index"))
>>> tm.topic_info()
>>> write_report(tm, "out/seeds/report.html")
"""

from __future__ import annotations

from cluster.errors import IndexMismatchError, ModelFormatError
from cluster.report import write_report
from cluster.stories import StoryModel
from cluster.topics import TOPIC_INFO_COLUMNS, TopicModel

__all__ = ["TopicModel", "StoryModel", "TOPIC_INFO_COLUMNS", "write_report", "IndexMismatchError", "ModelFormatError"]
