"""Old name of :mod:`cluster.report.figures` (the README of release 1258a3b imported the figures from here).

Deprecated: import them from :mod:`cluster.report`; this module goes in the next release.
"""

from __future__ import annotations

import warnings

from cluster.report.figures import (
    hierarchy_figure,
    keyword_bars,
    paragraph_map,
    similarity_heatmap,
    topics_over_time_figure,
)

__all__ = ["paragraph_map", "keyword_bars", "similarity_heatmap", "hierarchy_figure", "topics_over_time_figure"]

warnings.warn("cluster.figures is deprecated; import the figures from cluster.report", DeprecationWarning, stacklevel=2)
