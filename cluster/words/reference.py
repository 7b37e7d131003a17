"""Word statistics from a reference news corpus, shipped as package data.

``cluster/words/data/reference_vi.tsv`` holds, for every word (pyvi segmentation,
learned compounds joined) in at least ``min_df`` of the articles of a public
Vietnamese news corpus, its document frequency; ``compounds_vi.tsv`` holds
the adjacent syllable pairs that pyvi leaves split although they form one
word (``xảy ra``, ``bé gái``). Both are written by
``scripts/build_reference_vocab.py``, which records the corpus, its commit,
the unit and the tokenizer in each file's ``# key: value`` header.

They serve two purposes:

- :class:`cluster.words.tokens.Tokenizer` joins the learned pairs back into one token;
- keyword and label weights are multiplied by :meth:`ReferenceVocab.factor`,
  the word's inverse document frequency in the reference corpus scaled to
  (0, 1]: words common to news of every kind (pronouns, "khiến", "thực
  hiện", "thông tin") are demoted by evidence rather than by a hand list,
  and words the reference corpus never or rarely saw keep their weight.

Only Vietnamese has reference data; other languages get ``None`` and keep
the collection-only weighting.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

import numpy as np

__all__ = ["ReferenceVocab", "reference_for", "read_header", "DF_FILE", "COMPOUNDS_FILE"]

logger = logging.getLogger(__name__)

DF_FILE = "data/reference_{language}.tsv"
COMPOUNDS_FILE = "data/compounds_{language}.tsv"


@dataclass(frozen=True)
class ReferenceVocab:
    """Document frequencies (lower-case words) and compounds of a reference corpus.

    Args:
        n_documents: documents in the reference corpus.
        min_df: words in fewer documents are not listed (their df counts as 0).
        df: document frequency of each listed word.
        compounds: adjacent token pairs to join into one token.
        provenance: the data files' headers (source, commit, unit, ...).
    """

    n_documents: int
    min_df: int
    df: dict[str, int]
    compounds: frozenset[tuple[str, str]] = frozenset()
    provenance: dict[str, str] = field(default_factory=dict)

    def idf(self, word: str) -> float:
        """``log((N + 1) / (df + 1))``; an unlisted word counts as df 0."""
        return math.log((self.n_documents + 1) / (self.df.get(word, 0) + 1))

    def factor(self, words: Iterable[str]) -> np.ndarray:
        """Reference IDF of each word divided by the largest possible one:
        close to 1 for rare or unseen words, close to 0 for words in nearly
        every reference document."""
        top = math.log(self.n_documents + 1)
        return np.array([self.idf(str(w)) / top for w in words], dtype=np.float64)


def read_header(lines: Iterable[str]) -> dict[str, str]:
    """The ``# key: value`` lines at the top of a data file."""
    header = {}
    for line in lines:
        if not line.startswith("#"):
            break
        key, sep, value = line[1:].partition(":")
        if sep:
            header[key.strip()] = value.strip()
    return header


def _rows(text: str) -> tuple[dict[str, str], list[list[str]]]:
    lines = text.splitlines()
    header = read_header(lines)
    body = [line.split("\t") for line in lines if line and not line.startswith("#")]
    return header, body[1:]  # the first body line names the columns


@lru_cache(maxsize=4)
def reference_for(language: str) -> ReferenceVocab | None:
    """The shipped reference statistics for ``language`` (``None`` when there are none)."""
    if language != "vi":
        return None
    package = resources.files("cluster.words")
    df_path = package.joinpath(DF_FILE.format(language=language))
    pairs_path = package.joinpath(COMPOUNDS_FILE.format(language=language))
    if not df_path.is_file():
        logger.warning("no reference word statistics at %s; keywords use the collection alone", df_path)
        return None
    header, rows = _rows(df_path.read_text(encoding="utf-8"))
    df = {word: int(count) for word, count in rows}
    compounds: frozenset[tuple[str, str]] = frozenset()
    if pairs_path.is_file():
        pair_header, pair_rows = _rows(pairs_path.read_text(encoding="utf-8"))
        compounds = frozenset((row[0], row[1]) for row in pair_rows)
        header = {**header, **{f"compounds {k}": v for k, v in pair_header.items()}}
    return ReferenceVocab(
        n_documents=int(header["n_documents"]), min_df=int(header["min_df"]), df=df,
        compounds=compounds, provenance=header,
    )
