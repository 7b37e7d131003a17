"""Which search hits a result list shows, and which it groups together.

Other outlets' reports of the same event are near-duplicates of each other,
so hiding near-duplicates (the old default) drops relevant articles. The
default is to group them instead: a hit whose cosine to a better hit's
group leader is at least ``story_threshold`` (or that shares the leader's
story label) rides along under it, and ``k`` counts groups. The modes:

- ``"group"`` (default): nothing is dropped; the ``k`` best groups, i.e. every
  hit ranked above the first hit of a ``k+1``-th group, so the hits are those
  of ``"show"`` with a larger ``k`` (``benchmarks/results/search_groups.md``).
  A hit joins the group whose leader it is most like.
- ``"hide"``: drop a hit whose cosine to a kept hit (or, for
  ``similar``, to the paragraph asked about) is at least the near-duplicate
  threshold; ``k`` counts hits.
- ``"show"``: every hit; ``k`` counts hits.

When the paragraph table has a :data:`STORY_COLUMN` column (e.g. written by a
story model), two hits that both carry a story label group by the label
(different labels group only as near-duplicates); an unlabelled hit (missing
or negative label) groups by cosine.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from embed.errors import InputError
from embed.names import DUPLICATE_MODES

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["DUPLICATE_MODES", "NEAR_DUPLICATE_THRESHOLD", "STORY_THRESHOLD", "STORY_COLUMN", "GroupingRule",
           "grouping_rule", "story_labels", "HitPicker"]

#: Cosine at or above which two paragraphs are near-duplicates ("hide" mode).
NEAR_DUPLICATE_THRESHOLD = 0.97
#: Cosine to a group leader at or above which a hit joins its group ("group"
#: mode): chosen on half of ViMs' events, checked on the other half
#: (benchmarks/results/search_groups.md).
STORY_THRESHOLD = 0.93
#: Paragraph-table column naming a paragraph's story, preferred over cosine.
STORY_COLUMN = "story"


@dataclass(frozen=True)
class GroupingRule:
    """How one search treats near-duplicates: a mode of :data:`DUPLICATE_MODES` and its thresholds."""

    mode: str = "group"
    near_duplicate_threshold: float = NEAR_DUPLICATE_THRESHOLD
    story_threshold: float = STORY_THRESHOLD


def grouping_rule(
    duplicates: str,
    hide_near_duplicates: bool | None = None,
    near_duplicate_threshold: float = NEAR_DUPLICATE_THRESHOLD,
    story_threshold: float = STORY_THRESHOLD,
) -> GroupingRule:
    """The checked rule for ``search``/``similar``'s options; ``hide_near_duplicates``
    is the deprecated spelling of ``duplicates="hide"`` (True) and ``"show"`` (False)."""
    if duplicates not in DUPLICATE_MODES:
        raise InputError(f"duplicates must be one of {', '.join(map(repr, DUPLICATE_MODES))}; got {duplicates!r}")
    for name, value in (("near_duplicate_threshold", near_duplicate_threshold), ("story_threshold", story_threshold)):
        if not -1.0 <= value <= 1.0:
            raise InputError(f"{name} is a cosine between -1 and 1; got {value!r}")
    if hide_near_duplicates is not None:
        old = "hide" if hide_near_duplicates else "show"
        warnings.warn(f"hide_near_duplicates= is deprecated; use duplicates={old!r}", DeprecationWarning, stacklevel=3)
        if duplicates not in ("group", old):
            raise InputError(f"hide_near_duplicates={hide_near_duplicates} contradicts duplicates={duplicates!r}")
        duplicates = old
    return GroupingRule(duplicates, near_duplicate_threshold, story_threshold)


def story_labels(paragraphs: pd.DataFrame) -> np.ndarray | None:
    """Each row's story label as an object array (None where unlabelled), or
    None when the table has no :data:`STORY_COLUMN`."""
    import pandas as pd

    if STORY_COLUMN not in paragraphs.columns:
        return None
    column = paragraphs[STORY_COLUMN]
    missing = column.isna().to_numpy()
    if pd.api.types.is_numeric_dtype(column):
        missing = missing | (column.fillna(0).to_numpy() < 0)  # -1: "no story", as for outlier topics
    labels = column.to_numpy(dtype=object).copy()
    labels[missing] = None
    return labels


class HitPicker:
    """Takes one query's candidates in score order and keeps the hits to show.

    ``hits`` holds ``(row, score, leader)`` triples in score order, where
    ``leader`` is the position in ``hits`` of the hit's group leader (its own
    position when it leads or in "hide"/"show" mode). ``done`` turns true
    when ``k`` hits (or, grouping, the candidate after the ``k``-th group)
    have been seen.
    """

    def __init__(
        self,
        rule: GroupingRule,
        k: int,
        vectors: np.ndarray,
        *,
        asked: np.ndarray | None = None,
        stories: np.ndarray | None = None,
    ) -> None:
        self.mode, self.k, self.vectors, self.asked, self.stories = rule.mode, k, vectors, asked, stories
        self.near, self.story = rule.near_duplicate_threshold, rule.story_threshold
        self.hits: list[tuple[int, float, int]] = []
        self._leaders: list[int] = []  # positions in hits
        self.done = False

    def offer(self, row: int, score: float) -> bool:
        """Consider the next candidate; returns :attr:`done`."""
        if self.mode == "group":
            return self._group(row, score)
        if self.mode == "hide":
            vec = self.vectors[row]
            if self.asked is not None and float(vec @ self.asked) >= self.near:
                return False  # a near-copy of the paragraph asked about
            if self.hits and float(np.max(self.vectors[[h for h, _, _ in self.hits]] @ vec)) >= self.near:
                return False
        self.hits.append((row, score, len(self.hits)))
        self.done = len(self.hits) >= self.k
        return self.done

    def _group(self, row: int, score: float) -> bool:
        leader = self._leader_for(row)
        if leader is None:
            if len(self._leaders) == self.k:
                self.done = True
                return True
            leader = len(self.hits)
            self._leaders.append(leader)
        self.hits.append((row, score, leader))
        return False

    def _leader_for(self, row: int) -> int | None:
        """Position of the group leader ``row`` joins, or None for a new group."""
        if not self._leaders:
            return None
        rows = [self.hits[p][0] for p in self._leaders]
        sims = self.vectors[rows] @ self.vectors[row]
        needed = np.full(len(rows), self.story, dtype=np.float32)
        if self.stories is not None and self.stories[row] is not None:
            theirs = self.stories[rows]
            labelled = np.array([s is not None for s in theirs])
            same = np.array([s == self.stories[row] for s in theirs])
            needed[labelled] = self.near
            needed[labelled & same] = -np.inf
        ok = sims >= needed
        if not ok.any():
            return None
        best = int(np.argmax(np.where(ok, np.where(np.isinf(needed), np.inf, sims), -np.inf)))
        return self._leaders[best]
