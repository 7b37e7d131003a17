"""Reading articles: files and tables in, a table of normalised, flagged paragraphs out (text, dates, hygiene,
and the pieces a distributed read splits large files into).

Public names are imported on first use (PEP 562), so importing the package costs nothing until one is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from embed.lazy import lazy_exports

_LAZY = {
    "read_corpus": "embed.read.articles",
    "PARAGRAPH_COLUMNS": "embed.read.articles",
    "normalize_text": "embed.read.text",
    "split_paragraphs": "embed.read.text",
    "text_hash": "embed.read.text",
    "normalize_dates": "embed.read.dates",
    "parse_iso_date": "embed.read.dates",
    "stored_dates": "embed.read.dates",
    "DateReport": "embed.read.dates",
    "flag_paragraphs": "embed.read.hygiene",
    "BOILERPLATE_REASONS": "embed.read.hygiene",
}

if TYPE_CHECKING:
    from embed.read.articles import PARAGRAPH_COLUMNS, read_corpus
    from embed.read.dates import DateReport, normalize_dates, parse_iso_date, stored_dates
    from embed.read.hygiene import BOILERPLATE_REASONS, flag_paragraphs
    from embed.read.text import normalize_text, split_paragraphs, text_hash

__getattr__, __dir__ = lazy_exports("embed.read", _LAZY, globals())

__all__ = ["read_corpus", "PARAGRAPH_COLUMNS", "normalize_text", "split_paragraphs", "text_hash", "normalize_dates", "parse_iso_date", "stored_dates", "DateReport", "flag_paragraphs", "BOILERPLATE_REASONS"]
