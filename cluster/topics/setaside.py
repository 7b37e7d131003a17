"""Which paragraphs a topic model fits and which it sets aside.

One definition, used by :class:`~cluster.topics.model.TopicModel`, the report and
the command line, so their counts always agree:

- a paragraph is *flagged* when it is boilerplate or a duplicate (one
  paragraph can be both: it is still one flagged paragraph);
- the model fits the non-empty, unflagged paragraphs (all non-empty ones with
  ``include_flagged=True``); every other paragraph is *set aside*, with one
  reason: its boilerplate reason first, else "duplicate of <id>", else "empty".
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["flagged_mask", "nonempty_mask", "fit_mask", "set_aside_reason", "set_aside_counts"]


def flagged_mask(table: pd.DataFrame) -> np.ndarray:
    """Boolean per paragraph: boilerplate or a duplicate (or both)."""
    return table["boilerplate"].astype(bool).to_numpy() | table["duplicate_of"].notna().to_numpy()


def nonempty_mask(table: pd.DataFrame) -> np.ndarray:
    """Boolean per paragraph: text with something other than whitespace."""
    return table["text"].astype(str).str.strip().str.len().to_numpy() > 0


def fit_mask(table: pd.DataFrame, *, include_flagged: bool = False) -> np.ndarray:
    """Boolean per paragraph: the paragraphs a topic model fits.

    Args:
        table: an index's paragraph table (``text``, ``boilerplate``, ``duplicate_of``).
        include_flagged: also fit boilerplate and duplicate paragraphs.
    """
    nonempty = nonempty_mask(table)
    return (nonempty if include_flagged else nonempty & ~flagged_mask(table)).astype(bool)


def set_aside_reason(row: Any) -> str:
    """Why a paragraph (a table row, as a mapping or named tuple) is set aside."""
    get = row.get if hasattr(row, "get") else lambda key: getattr(row, key, None)
    if bool(get("boilerplate")):
        return str(get("boilerplate_reason") or "boilerplate")
    original = get("duplicate_of")
    if original is not None and not (isinstance(original, float) and np.isnan(original)):
        return f"duplicate of {original}"
    return "empty"


def set_aside_counts(table: pd.DataFrame, fitted: np.ndarray) -> dict[str, int]:
    """Counts of the paragraphs not in ``fitted``, each counted once:
    ``set_aside`` (all), ``boilerplate``, ``duplicates`` (duplicates that are
    not boilerplate) and ``empty``; the last three add up to ``set_aside``."""
    aside = ~np.asarray(fitted, dtype=bool)
    boilerplate = aside & table["boilerplate"].astype(bool).to_numpy()
    duplicates = aside & ~boilerplate & table["duplicate_of"].notna().to_numpy()
    return {
        "set_aside": int(aside.sum()),
        "boilerplate": int(boilerplate.sum()),
        "duplicates": int(duplicates.sum()),
        "empty": int((aside & ~boilerplate & ~duplicates).sum()),
    }
