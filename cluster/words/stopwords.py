"""Stopword lists for topic keywords.

- Vietnamese: a curated list of function words shipped as package data
  (``cluster/words/data/vietnamese_stopwords.txt``, written by hand for paratopic;
  see its header), plus corpus stopwords found at fit time.
- English: scikit-learn's ``ENGLISH_STOP_WORDS``.
- Any language: corpus stopwords, i.e. words that occur in more than
  ``max_df`` of the paragraphs (computed only on corpora large enough for a
  share to mean something, see :func:`corpus_stopwords`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from functools import lru_cache
from importlib import resources

__all__ = ["vietnamese_stopwords", "english_stopwords", "stopwords_for", "corpus_stopwords"]

#: Below this many paragraphs no corpus stopwords are derived.
MIN_PARAGRAPHS_FOR_CORPUS_STOPWORDS = 200


@lru_cache(maxsize=1)
def vietnamese_stopwords() -> frozenset[str]:
    """The curated Vietnamese list (lower case, multi-syllable words with spaces)."""
    text = resources.files("cluster.words").joinpath("data/vietnamese_stopwords.txt").read_text(encoding="utf-8")
    words = (line.strip().lower() for line in text.splitlines())
    return frozenset(w for w in words if w and not w.startswith("#"))


@lru_cache(maxsize=1)
def english_stopwords() -> frozenset[str]:
    """scikit-learn's English stopword list."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return frozenset(ENGLISH_STOP_WORDS)


def stopwords_for(language: str) -> frozenset[str]:
    """The built-in list for ``language`` (``"vi"``, ``"en"``; empty for others)."""
    if language == "vi":
        return vietnamese_stopwords()
    if language == "en":
        return english_stopwords()
    return frozenset()


def corpus_stopwords(docs: Sequence[Iterable[str]], *, max_df: float = 0.3) -> frozenset[str]:
    """Words (lower case) present in more than ``max_df`` of ``docs``.

    Returns nothing for corpora under :data:`MIN_PARAGRAPHS_FOR_CORPUS_STOPWORDS`
    paragraphs: in a handful of articles about one story the story's own
    words are in most paragraphs and are exactly the keywords wanted.
    """
    if not 0 < max_df <= 1:
        raise ValueError(f"max_df must be in (0, 1], got {max_df!r}")
    if len(docs) < MIN_PARAGRAPHS_FOR_CORPUS_STOPWORDS:
        return frozenset()
    df: Counter[str] = Counter()
    for doc in docs:
        df.update(set(doc))
    limit = max_df * len(docs)
    return frozenset(w for w, c in df.items() if c > limit)
