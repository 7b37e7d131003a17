"""Text normalisation and paragraph splitting.

Everything that reads text goes through :func:`normalize_text` once, at
reading time, so that NFD and NFC input give the same paragraphs, ids and
vectors.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

__all__ = ["normalize_text", "split_paragraphs", "text_hash"]

# Zero-width and BOM characters that scraped text carries invisibly.
_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
# Any run of horizontal whitespace (incl. NBSP, thin spaces) becomes one space.
_SPACES = re.compile(r"[^\S\n]+")
_BLANK_LINES = re.compile(r"\n\s*\n")


def normalize_text(text: str) -> str:
    """Return ``text`` in Unicode NFC with invisible characters removed and
    whitespace collapsed (line breaks are kept; spaces around them are not)."""
    text = unicodedata.normalize("NFC", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _INVISIBLE.sub("", text)
    text = _SPACES.sub(" ", text)
    return "\n".join(line.strip() for line in text.split("\n")).strip()


_SENTENCE_END = (".", "!", "?", ":", ";", '"', "\u201d", ")", "\u2026")


def _is_hard_wrapped(lines: list[str]) -> bool:
    """True when the lines of a block look like one paragraph wrapped at a
    fixed width (every line but the last 40-100 characters long and not
    ending a sentence)."""
    return all(40 <= len(line) <= 100 and not line.endswith(_SENTENCE_END) for line in lines[:-1])


def split_paragraphs(text: str) -> list[str]:
    """Split ``text`` into paragraphs at blank lines.

    Inside a blank-line block, a hard-wrapped paragraph is joined into one
    line; otherwise each line is its own paragraph (scraped news puts a
    caption or a byline on the line right after a paragraph). Empty
    paragraphs are dropped; the text is normalised first.
    """
    paragraphs: list[str] = []
    for block in _BLANK_LINES.split(normalize_text(text)):
        lines = [line for line in block.split("\n") if line]
        if not lines:
            continue
        if _is_hard_wrapped(lines):
            paragraphs.append(" ".join(lines))
        else:
            paragraphs.extend(lines)
    return paragraphs


def text_hash(text: str) -> str:
    """Stable hex digest of already-normalised ``text`` (used for duplicate
    detection and as the embedding-cache key)."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()
