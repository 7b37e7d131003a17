"""Search results and how hits are grouped (duplicates, near-duplicates, stories) into one line each.

Public names are imported on first use (PEP 562), so importing the package costs nothing until one is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from embed.lazy import lazy_exports

_LAZY = {
    "SearchResults": "embed.search.results",
    "grouping_rule": "embed.search.grouping",
    "GroupingRule": "embed.search.grouping",
}

if TYPE_CHECKING:
    from embed.search.grouping import GroupingRule, grouping_rule
    from embed.search.results import SearchResults

__getattr__, __dir__ = lazy_exports("embed.search", _LAZY, globals())

__all__ = ["SearchResults", "grouping_rule", "GroupingRule"]
