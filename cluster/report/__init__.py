"""Topic reports: the one-file HTML (or Markdown, JSON) report, its plotly figures and the "new since" section.

Public names are imported on first use (PEP 562), so importing the package costs nothing until one is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from embed.lazy import lazy_exports

_LAZY = {
    "write_report": "cluster.report.writer",
    "report_data": "cluster.report.writer",
    "paragraph_map": "cluster.report.figures",
    "keyword_bars": "cluster.report.figures",
    "similarity_heatmap": "cluster.report.figures",
    "hierarchy_figure": "cluster.report.figures",
    "topics_over_time_figure": "cluster.report.figures",
    "changes_since": "cluster.report.changes",
    "story_overview": "cluster.report.changes",
}

if TYPE_CHECKING:
    from cluster.report.changes import changes_since, story_overview
    from cluster.report.figures import (
        hierarchy_figure,
        keyword_bars,
        paragraph_map,
        similarity_heatmap,
        topics_over_time_figure,
    )
    from cluster.report.writer import report_data, write_report

__getattr__, __dir__ = lazy_exports("cluster.report", _LAZY, globals())

__all__ = ["write_report", "report_data", "paragraph_map", "keyword_bars", "similarity_heatmap", "hierarchy_figure", "topics_over_time_figure", "changes_since", "story_overview"]
