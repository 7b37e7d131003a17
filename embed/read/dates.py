"""Dates of articles, read without guessing.

News metadata carries dates in many forms; Vietnamese (and most non-US)
outlets write them day-first (``23/10/2013 11:09``), and a reader that
guesses reads ``03/12/2026`` as 12 March. The rule here, for the ``date``
column of every table read (:func:`embed.read_corpus`):

1. ISO 8601 (``2013-10-23``, ``2013-10-23T11:09:00+07:00``) first;
2. otherwise ``dd/mm/yyyy``, ``dd-mm-yyyy`` or ``dd.mm.yyyy``, optionally
   followed by ``HH:MM`` or ``HH:MM:SS``, read **day-first** (month-first
   with ``month_first=True``, ``--month-first`` on the command line);
3. anything else (two-digit years, words, numbers, a value that is valid
   only in the other order) is not guessed: it is left empty and reported,
   counted with examples (:class:`DateReport`).

Every pattern is parsed by pandas with an explicit format. A column whose
values are all ISO (or all timestamps) is kept exactly as given; a column
that needed another pattern is rewritten as ISO text in one form for the
whole column (``YYYY-MM-DD`` when no value has a time, else
``YYYY-MM-DDTHH:MM:SS``; values with a UTC offset converted to UTC), so that
later parsing of the column is never ambiguous either.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["DateReport", "normalize_dates", "parse_iso_date", "stored_dates", "is_missing", "DAY_FIRST_FORMATS"]

_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$")
_SEPARATORS = ("/", "-", ".")
_TIMES = ("", " %H:%M", " %H:%M:%S")


def _formats(month_first: bool) -> list[str]:
    first, second = ("%m", "%d") if month_first else ("%d", "%m")
    return [f"{first}{sep}{second}{sep}%Y{time}" for sep in _SEPARATORS for time in _TIMES]


#: The non-ISO formats read, in the order tried (day-first).
DAY_FIRST_FORMATS = tuple(_formats(False))
#: How many unread values a report keeps as examples.
EXAMPLES = 5


@dataclass
class DateReport:
    """Dates of one table that were not read: how many, and a few examples ``(row, value, why)``."""

    where: str
    total: int = 0
    unread: int = 0
    examples: list[tuple[int, str, str]] = field(default_factory=list)

    def message(self) -> str:
        """One line: the count and the examples."""
        shown = "; ".join(f"row {row} {value!r} ({why})" for row, value, why in sorted(self.examples))
        return (f"{self.where}: {self.unread} of {self.total} dates could not be read and were left empty "
                f"(ISO YYYY-MM-DD, or dd/mm/yyyy [HH:MM] day-first): {shown}")


def is_missing(value: Any) -> bool:
    """True for a missing value: None, NaN, NA, or empty / blank text."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def normalize_dates(values: list[Any], *, where: str, first_row: int = 0,
                    month_first: bool = False) -> tuple[list[Any], DateReport]:
    """The ``date`` values of one table read by the rule above, and what could not be read.

    Returns the values to store (unchanged when every value is ISO text or a
    timestamp; else ISO text in one form, None where unread) and a
    :class:`DateReport` (``first_row``: the number of the first value's row, for the examples).
    """
    report = DateReport(where)
    present = [i for i, v in enumerate(values) if not is_missing(v)]
    report.total = len(present)
    if all(isinstance(values[i], str) and _ISO.match(values[i].strip()) for i in present) or all(
        isinstance(values[i], (pd.Timestamp, _dt.datetime, np.datetime64)) for i in present
    ):
        return list(values), report
    parsed: list[pd.Timestamp | None] = [None] * len(values)
    strings: dict[int, str] = {}
    for i in present:
        value = values[i]
        if isinstance(value, (pd.Timestamp, _dt.datetime, np.datetime64, _dt.date)):
            parsed[i] = pd.Timestamp(value)
        elif isinstance(value, str):
            strings[i] = " ".join(value.split())
        else:
            _unread(report, first_row + i, value, f"{type(value).__name__} {value!r}, not a date text")
    iso = {i: s for i, s in strings.items() if _ISO.match(s)}
    if iso:
        stamps = pd.to_datetime(pd.Series(list(iso.values()), dtype=object), format="ISO8601", errors="coerce", utc=True)
        for i, stamp in zip(iso, stamps):
            parsed[i] = None if pd.isna(stamp) else stamp
    rest = {i: s for i, s in strings.items() if i not in iso}
    for fmt in _formats(month_first):
        if not rest:
            break
        stamps = pd.to_datetime(pd.Series(list(rest.values()), dtype=object), format=fmt, errors="coerce")
        for i, stamp in zip(list(rest), stamps):
            if not pd.isna(stamp):
                parsed[i] = stamp
                del rest[i]
    other = _formats(not month_first)
    for i, text in rest.items():
        _unread(report, first_row + i, text, _why(text, other, month_first))
    for i in iso:
        if parsed[i] is None:
            _unread(report, first_row + i, iso[i], "not a valid ISO date")
    return _as_iso(parsed), report


def _why(text: str, other: list[str], month_first: bool) -> str:
    """Why ``text`` was not read: valid only in the other order, a two-digit year, or no known form."""
    for fmt in other:
        if not pd.isna(pd.to_datetime(pd.Series([text], dtype=object), format=fmt, errors="coerce")[0]):
            flag = "without --month-first (month_first=False)" if month_first else "with --month-first (month_first=True)"
            return f"valid only {'day' if month_first else 'month'}-first: read it {flag} if the file is written that way"
    if re.fullmatch(r"\d{1,2}[/.-]\d{1,2}[/.-]\d{2}(?: .*)?", text):
        return "a two-digit year is ambiguous"
    return "not a known date form"


def _unread(report: DateReport, row: int, value: Any, why: str) -> None:
    report.unread += 1
    if len(report.examples) < EXAMPLES:
        report.examples.append((row, str(value)[:60], why))


def _as_iso(parsed: list[pd.Timestamp | None]) -> list[str | None]:
    """ISO text in one form for the whole column (UTC offsets converted to UTC)."""
    naive = [None if p is None else (p.tz_convert("UTC").tz_localize(None) if p.tzinfo is not None else p) for p in parsed]
    timed = any(p is not None and (p != p.normalize()) for p in naive)
    form = "%Y-%m-%dT%H:%M:%S" if timed else "%Y-%m-%d"
    return [None if p is None else p.strftime(form) for p in naive]


def parse_iso_date(value: str, what: str = "date") -> pd.Timestamp:
    """An ISO date (``YYYY-MM-DD``, optionally with a time) from the command line; anything else raises
    ValueError saying how to write it (and how a day-first reading of it would be written)."""
    text = str(value).strip()
    if _ISO.match(text):
        stamp = pd.to_datetime(text, format="ISO8601", errors="coerce", utc=True)
        if not pd.isna(stamp):
            return stamp.tz_localize(None)
    hint = ""
    values, report = normalize_dates([text], where=what)
    if not report.unread and values[0]:
        hint = f" (read day-first, {text!r} would be {values[0][:10]})"
    raise ValueError(f"{what} {text!r} is not an ISO date; write it as YYYY-MM-DD{hint}")


def stored_dates(values: Any) -> pd.Series:
    """The dates of a paragraph table's ``date`` column (ISO text, as :func:`normalize_dates` stores it) as
    timezone-naive UTC timestamps, NaT where empty or unreadable.

    Every ISO 8601 form is read, mixed in one column: pandas' default infers one format from the first value and
    turns every value of another form into NaT without a word (an index of plain dates extended with dated-and-timed
    articles lost the new ones' dates in timelines and tracking)."""
    series = values if isinstance(values, pd.Series) else pd.Series(values, dtype=object)
    return pd.to_datetime(series, errors="coerce", utc=True, format="ISO8601").dt.tz_localize(None)
