"""What tells two articles apart as events: the signals behind :mod:`cluster.stories.model`.

For a pair of articles A, B the story similarity is

    ``vector_weight * clip((align(A, B) - vector_floor) / (1 - vector_floor), -1, 1)``
    ``+ (1 - vector_weight - fact_weight) * rare-word cosine(A, B)``
    ``+ fact_weight * fact cosine(A, B)``
    ``+ short_allowance * max(shortness(A), shortness(B))``
    ``- time_penalty * clip((days apart - time_grace_days) / time_scale_days, 0, 1)`` when both are dated
    (``- undated_penalty``, 0 by default, otherwise)

- *align* aggregates the paragraph vectors: each paragraph of A is matched
  with its most similar paragraph of B, the cosines are averaged, and the two
  directions are averaged. Articles on one event share facts, quotes and
  wire copy paragraph for paragraph; articles on one subject share
  background. On the tuning half of ViMs its pair AUC (same event or not) is
  0.9993 against 0.9982 for the cosine of the articles' mean vectors, and it
  keeps the five seed articles (Russia and North Korea, 2017-2023) apart where
  the mean vectors (cosine 0.95-0.975, a typical same-event value) do not.
- *rare-word cosine* is the cosine of TF-IDF vectors of the words of the
  title and paragraphs (pyvi word segmentation for Vietnamese). The IDF is the
  word's IDF in the reference corpus (:mod:`cluster.words.reference`; names, places
  and rare words count, everyday news words do not) times its IDF in the
  collection (words every article of the collection shares, such as its
  common subject, say little about which event an article reports); other
  languages use the collection's IDF alone.
- *fact cosine* is the cosine of TF-IDF vectors (the collection's IDF) of
  the names and numbers an article states (:func:`fact_counts`: ``Jens
  Stoltenberg``, ``Hà Nội``, ``66``, ``2-1``; calendar numbers left out,
  since every event of a news day shares them). Two reports of one event
  name the same people and places and give the same figures and scores; two
  football matches of one evening do not.
- *shortness* is 1 for an article of :data:`SHORT_WORDS` distinct words or
  fewer (a title + lead), 0 from :data:`LONG_WORDS`: two leads of one event
  share fewer words and facts than two full reports, so their score gets a
  small allowance.
- *days apart*: one event is reported within days. Dates only ever lower a
  score: a pair within ``time_grace_days`` scores as an undated pair does
  (before, an undated pair paid 0.07 that a same-day pair did not, so adding
  dates merged same-day events), and pairs further apart pay a growing
  penalty. The threshold is therefore tuned on content alone (news-day draws
  with dates removed), and the dates add what they can on top.
- The merge threshold is ``min_similarity``, raised to the collection's
  background level where that is higher (:func:`background_threshold`: the
  median plus ``background_z`` MADs of its pairs' content similarity): in a
  small collection of one subject (the five seed articles, all on Russia
  and North Korea) every pair looks alike, and only a threshold above that
  background keeps the events apart.

Each pair's score depends only on the two articles and the collection's word
statistics, so the clustering can be split exactly: average-linkage clusters
at a threshold never cross the connected components of the graph of pairs at
or above it (:func:`components`), found block by block in bounded memory.

Tuned on the tuning half of ViMs (150 events; as ViMs dates them, and news-day draws of it, as paragraphs
and as title + lead, with and without dates): ``benchmarks/bench_stories.py``.
"""

from __future__ import annotations

import logging
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from embed.vectors import unit_rows

__all__ = [
    "Articles", "StorySignals", "article_table", "paragraph_runs", "word_matrix", "fact_counts", "fact_matrix",
    "background_threshold", "components", "average_linkage", "cluster_articles",
]

logger = logging.getLogger(__name__)

#: Similarity entries computed per block (rows x articles) when searching pairs.
BLOCK_ENTRIES = 4_000_000
#: Articles whose pairs measure a collection's background similarity (:func:`background_threshold`).
BACKGROUND_SAMPLE = 400
#: Distinct words from which an article counts as short (full allowance) and as long (none); in between the
#: allowance falls with the log of the word count. A ViMs lead (title + sapo) has 17-41 distinct words, a
#: ViMs article 74-297 (5th-95th percentiles).
SHORT_WORDS, LONG_WORDS = 30, 100


@dataclass
class Articles:
    """Articles of an index, in the order they first appear.

    Attributes:
        frame: one row per article: ``doc_id``, ``title``, ``source``, ``date``
            (naive UTC ``Timestamp`` or NaT), ``n_paragraphs``, ``usable``
            (it has a non-boilerplate, non-empty paragraph).
        codes: article number of each index row.
        usable_rows: per index row, whether it enters its article's vector and words.
    """

    frame: pd.DataFrame
    codes: np.ndarray
    usable_rows: np.ndarray


def _dates(table: pd.DataFrame) -> pd.Series:
    """The ``date`` column as naive UTC timestamps (NaT where absent or unreadable)."""
    if "date" not in table.columns:
        return pd.Series(pd.NaT, index=table.index, dtype="datetime64[ns]")
    values = table["date"]
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return values.dt.tz_convert("UTC").dt.tz_localize(None)
    parsed = pd.to_datetime(values, errors="coerce", utc=True, format="mixed")
    return parsed.dt.tz_localize(None)


def article_table(table: pd.DataFrame) -> Articles:
    """Group an index's paragraph table by article (see :class:`Articles`)."""
    from cluster.topics.setaside import nonempty_mask

    codes, uniques = pd.factorize(table["doc_id"].astype(str))
    usable_rows = nonempty_mask(table) & ~table["boilerplate"].astype(bool).to_numpy()
    first = pd.DataFrame({"code": codes, "row": np.arange(len(table))}).groupby("code")["row"].min().to_numpy()

    def column(name: str) -> list[object]:
        if name not in table.columns:
            return [None] * len(uniques)
        values = table[name].to_numpy(dtype=object)[first]
        return [None if v is None or (isinstance(v, float) and math.isnan(v)) or str(v).strip() == "" else str(v)
                for v in values]

    dates = pd.DataFrame({"code": codes, "date": _dates(table).to_numpy()}).groupby("code")["date"].min()
    frame = pd.DataFrame({
        "doc_id": np.asarray(uniques, dtype=object),
        "title": pd.Series(column("title"), dtype=object),
        "source": pd.Series(column("source"), dtype=object),
        "date": dates.reindex(range(len(uniques))).to_numpy(),
        "n_paragraphs": np.bincount(codes, minlength=len(uniques)),
        "usable": np.bincount(codes, weights=usable_rows, minlength=len(uniques)) > 0,
    })
    return Articles(frame=frame, codes=codes, usable_rows=usable_rows)


def article_vectors(vectors: np.ndarray, articles: Articles) -> np.ndarray:
    """(n_articles, dim) unit mean of each article's usable paragraph vectors (zeros for an unusable article)."""
    mask = articles.usable_rows
    sums = np.zeros((len(articles.frame), vectors.shape[1]), dtype=np.float64)
    np.add.at(sums, articles.codes[mask], np.asarray(vectors, dtype=np.float64)[mask])
    return unit_rows(sums, dtype=None).astype(np.float32)  # normalised in float64, then stored as float32


def article_texts(table: pd.DataFrame, articles: Articles) -> list[list[str]]:
    """Per article: its title (if any) and its usable paragraphs' texts."""
    texts: list[list[str]] = [[] if t is None else [t] for t in articles.frame["title"]]
    for code, text in zip(articles.codes[articles.usable_rows], table["text"].to_numpy(dtype=object)[articles.usable_rows]):
        texts[code].append(str(text))
    return texts


def article_tokens(texts: Sequence[Sequence[str]], language: str) -> list[Counter[str]]:
    """Word counts of each article (pyvi words for Vietnamese), from its title and paragraphs."""
    from cluster.words.tokens import Tokenizer

    flat = [t for parts in texts for t in parts]
    owner = np.repeat(np.arange(len(texts)), [len(parts) for parts in texts])
    counts: list[Counter[str]] = [Counter() for _ in texts]
    for who, tokens in zip(owner, Tokenizer(language).raw_tokens_many(flat)):
        counts[who].update(tokens)
    return counts


def word_matrix(counts: Sequence[Counter[str]], language: str) -> sp.csr_matrix:
    """Unit rows of sublinear TF x IDF, where IDF is the collection's (``log((n + 1) / (df + 1)) + 1``),
    times the reference corpus's for Vietnamese. Articles without words get a zero row."""
    from cluster.words.reference import reference_for

    vocabulary: dict[str, int] = {}
    rows, cols, tf = [], [], []
    for r, words in enumerate(counts):
        for word, count in words.items():
            rows.append(r)
            cols.append(vocabulary.setdefault(word, len(vocabulary)))
            tf.append(1.0 + math.log(count))
    df = np.bincount(np.asarray(cols, dtype=np.int64), minlength=len(vocabulary))
    idf = np.log((len(counts) + 1) / (df + 1)) + 1.0
    reference = reference_for(language)
    if reference is not None:
        words_by_column = sorted(vocabulary, key=vocabulary.__getitem__)
        idf *= np.array([reference.idf(w) for w in words_by_column], dtype=np.float64)
    values = np.asarray(tf, dtype=np.float64) * (idf[np.asarray(cols, dtype=np.int64)] if cols else 0.0)
    matrix = sp.csr_matrix((values, (rows, cols)), shape=(len(counts), len(vocabulary)), dtype=np.float64)
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    return sp.csr_matrix(sp.diags(1.0 / np.where(norms == 0, 1.0, norms)) @ matrix, dtype=np.float32)


#: Numbers (``66``, ``3,5``, ``2-1``), words, and the marks that end a sentence or open a parenthesis.
_FACT_TOKENS = re.compile(r"\d+(?:[.,/]\d+)*(?:\s?[-–]\s?\d+)?|[^\W\d_][\w'’]*|[.!?:;\"“”…(]", re.UNICODE)
_CALENDAR = re.compile(r"^\d{1,2}[/.]\d{1,2}(?:[/.]\d{2,4})?$")  # 19/5, 19.5.2016: a date, not a fact
#: Words after which a number is a date or a time ("ngày 21-5", "tháng 6", "năm 2016", "lúc 9"), not a fact.
_CALENDAR_WORDS = frozenset({"ngày", "tháng", "năm", "lúc", "sáng", "trưa", "chiều", "tối", "đêm", "day", "on",
                             "in", "at", "since", "year", "month"})


def fact_counts(text: str) -> Counter[str]:
    """The checkable facts of a text: names and numbers, counted.

    Names are runs of capitalised words (``Jens Stoltenberg``, ``Hà Nội``,
    ``MS``): each adjacent pair of a run, and each word of it that does not
    open a sentence (a capital there says nothing). Numbers are figures,
    scores and counts (``66``, ``3.5``, ``2-1``); calendar numbers (``19/5``,
    a number after ``ngày``, ``tháng``, ``năm``, ...) are left out: in a news
    day every event shares them. Lower case; numbers are prefixed ``#``.
    """
    out: Counter[str] = Counter()
    run: list[tuple[str, bool]] = []
    previous, opening = "", True

    def flush() -> None:
        for word, first in run:
            if not first:
                out[word] += 1
        for (a, _), (b, _) in zip(run, run[1:]):
            out[f"{a} {b}"] += 1
        run.clear()

    for match in _FACT_TOKENS.finditer(text):
        token = match.group(0)
        if not token[0].isalnum():
            flush()
            opening, previous = True, token
            continue
        if token[0].isdigit():
            flush()
            if not _CALENDAR.match(token) and previous not in _CALENDAR_WORDS:
                out["#" + re.sub(r"\s", "", token).replace(",", ".").replace("–", "-")] += 1
        elif token[0].isupper():
            run.append((token.lower(), opening))
        else:
            flush()
        opening, previous = False, token.lower()
    flush()
    return out


def fact_matrix(counts: Sequence[Counter[str]]) -> sp.csr_matrix:
    """Unit rows of sublinear TF x the collection's IDF (``log((n + 1) / (df + 1))``: a fact every article
    states weighs nothing, one only a few share weighs most). Articles without facts get a zero row."""
    vocabulary: dict[str, int] = {}
    rows, cols, tf = [], [], []
    for r, facts in enumerate(counts):
        for fact, count in facts.items():
            rows.append(r)
            cols.append(vocabulary.setdefault(fact, len(vocabulary)))
            tf.append(1.0 + math.log(count))
    columns = np.asarray(cols, dtype=np.int64)
    idf = np.log((len(counts) + 1) / (np.bincount(columns, minlength=len(vocabulary)) + 1))
    values = np.asarray(tf, dtype=np.float64) * idf[columns] if cols else np.zeros(0)
    matrix = sp.csr_matrix((values, (rows, cols)), shape=(len(counts), len(vocabulary)), dtype=np.float64)
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    return sp.csr_matrix(sp.diags(1.0 / np.where(norms == 0, 1.0, norms)) @ matrix, dtype=np.float32)


@dataclass
class StorySignals:
    """Paragraph vectors by article, word vectors and dates, and the rule that turns a pair into one similarity.

    Attributes:
        paragraphs: unit vectors of the usable paragraphs, article by article.
        starts: index into ``paragraphs`` of each article's first paragraph (``counts`` of them).
    """

    paragraphs: np.ndarray
    starts: np.ndarray
    counts: np.ndarray
    words: sp.csr_matrix
    facts: sp.csr_matrix
    days: np.ndarray  # days since the epoch, NaN when unknown
    vector_weight: float
    fact_weight: float
    short_allowance: float
    vector_floor: float
    time_penalty: float
    time_grace_days: float
    time_scale_days: float
    undated_penalty: float

    @property
    def word_weight(self) -> float:
        """Share of the rare-word cosine: what the alignment and the facts leave."""
        return max(0.0, 1.0 - self.vector_weight - self.fact_weight)

    def _rows_of(self, articles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Paragraph rows of ``articles`` (in order) and where each article's run starts."""
        counts = self.counts[articles]
        offsets = np.r_[0, np.cumsum(counts)[:-1]].astype(np.int64)
        rows = np.repeat(self.starts[articles] - offsets, counts) + np.arange(int(counts.sum()))
        return rows, offsets

    def align(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """(len(rows), len(cols)): each paragraph's best cosine in the other article, averaged, both ways."""
        row_par, row_off = self._rows_of(rows)
        col_par, col_off = self._rows_of(cols)
        cosine = self.paragraphs[row_par] @ self.paragraphs[col_par].T
        forward = np.add.reduceat(np.maximum.reduceat(cosine, col_off, axis=1), row_off, axis=0)
        backward = np.add.reduceat(np.maximum.reduceat(cosine, row_off, axis=0), col_off, axis=1)
        forward /= self.counts[rows][:, None]
        backward /= self.counts[cols][None, :]
        return (forward + backward) / 2.0

    def block_rows(self, n_cols: int) -> int:
        """Articles per block so that a block's paragraph cosines stay near :data:`BLOCK_ENTRIES`."""
        per_article = max(1.0, float(self.counts.mean())) if len(self.counts) else 1.0
        return max(1, int(BLOCK_ENTRIES // (per_article * per_article * max(1, n_cols))))

    def similarity(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """(len(rows), len(cols)) story similarity between articles ``rows`` and ``cols``."""
        out = self.content_similarity(rows, cols)
        if self.time_penalty or self.undated_penalty:
            apart = np.abs(self.days[rows][:, None] - self.days[cols][None, :])
            late = np.clip((apart - self.time_grace_days) / self.time_scale_days, 0.0, 1.0)
            out -= np.where(np.isnan(apart), self.undated_penalty, self.time_penalty * late)
        return out

    def content_similarity(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """The story similarity without the dates: alignment, rare words and facts."""
        stretched = (self.align(rows, cols) - self.vector_floor) / (1.0 - self.vector_floor)
        out = self.vector_weight * np.clip(stretched, -1.0, 1.0).astype(np.float64)
        if self.word_weight > 0.0:
            out += self.word_weight * (self.words[rows] @ self.words[cols].T).toarray()
        if self.fact_weight > 0.0:
            out += self.fact_weight * (self.facts[rows] @ self.facts[cols].T).toarray()
        if self.short_allowance > 0.0:
            short = self.shortness()
            out += self.short_allowance * np.maximum(short[rows][:, None], short[cols][None, :])
        return out

    def shortness(self) -> np.ndarray:
        """Per article, 1 for :data:`SHORT_WORDS` distinct words or fewer, 0 from :data:`LONG_WORDS`, log-linear
        in between: two short texts of one event share fewer words and facts than two long ones."""
        if not hasattr(self, "_shortness"):
            n = np.maximum(self.words.getnnz(axis=1), 1).astype(np.float64)
            self._shortness = np.clip(np.log(LONG_WORDS / n) / np.log(LONG_WORDS / SHORT_WORDS), 0.0, 1.0)
            if self.words.shape[1] == 0:  # no words were counted (word weight 0): no allowance
                self._shortness = np.zeros(self.words.shape[0])
        return self._shortness


def paragraph_runs(vectors: np.ndarray, articles: Articles) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Usable paragraph vectors grouped by article: (vectors, start of each article, count per article)."""
    mask = articles.usable_rows
    codes = articles.codes[mask]
    order = np.argsort(codes, kind="stable")
    counts = np.bincount(codes, minlength=len(articles.frame)).astype(np.int64)
    starts = np.r_[0, np.cumsum(counts)[:-1]].astype(np.int64)
    return np.ascontiguousarray(np.asarray(vectors, dtype=np.float32)[mask][order]), starts, counts


def days_since_epoch(dates: pd.Series | np.ndarray) -> np.ndarray:
    """Float days since 1970-01-01 (NaN for NaT)."""
    values = pd.to_datetime(pd.Series(dates)).to_numpy(dtype="datetime64[s]")
    out = values.astype(np.int64).astype(np.float64) / 86_400.0
    out[np.isnat(values)] = np.nan
    return out


def background_threshold(signals: StorySignals, members: np.ndarray, min_similarity: float, z: float | None,
                         sample: int = BACKGROUND_SAMPLE, seed: int = 0) -> float:
    """The merge threshold for ``members``: ``min_similarity``, raised to the collection's background level
    ``median + z * MAD`` (MAD scaled to a standard deviation) of the content similarity of its pairs, when that
    is higher; None = ``min_similarity`` as is. Nearly every pair of a collection reports two different
    events, so the median and MAD describe unrelated articles, whatever the form of the articles (a lead, a
    block, paragraphs) and however close their subjects (one section, one day); up to ``sample`` articles
    (drawn with ``seed``) are used."""
    if z is None or len(members) < 3:
        return float(min_similarity)
    chosen = members if len(members) <= sample else np.sort(np.random.default_rng(seed).choice(members, sample, replace=False))
    step = signals.block_rows(len(chosen))
    scores = np.concatenate([
        signals.content_similarity(chosen[start:start + step], chosen)[
            np.triu_indices(min(step, len(chosen) - start), 1 + start, len(chosen))]
        for start in range(0, len(chosen), step)
    ])
    median = float(np.median(scores))
    mad = 1.4826 * float(np.median(np.abs(scores - median)))
    return max(float(min_similarity), median + z * mad)


def components(signals: StorySignals, members: np.ndarray, min_similarity: float) -> list[np.ndarray]:
    """Connected components (arrays of article numbers from ``members``) of the graph whose edges are the
    pairs with similarity at least ``min_similarity``; computed in blocks of bounded memory."""
    from scipy.sparse.csgraph import connected_components

    n = len(members)
    if n == 0:
        return []
    step = signals.block_rows(n)
    edges_i, edges_j = [], []
    for start in range(0, n, step):
        block = np.arange(start, min(n, start + step))
        scores = signals.similarity(members[block], members)
        i, j = np.nonzero(scores >= min_similarity)
        keep = block[i] < j
        edges_i.append(block[i][keep])
        edges_j.append(j[keep])
    ii, jj = np.concatenate(edges_i), np.concatenate(edges_j)
    graph = sp.coo_matrix((np.ones(len(ii), dtype=np.int8), (ii, jj)), shape=(n, n))
    count, labels = connected_components(graph, directed=False)
    order = np.argsort(labels, kind="stable")
    return [members[part] for part in np.split(order, np.flatnonzero(np.diff(labels[order])) + 1)] if count else []


def average_linkage(similarity: np.ndarray, min_similarity: float) -> np.ndarray:
    """Flat clusters (0..k-1) of average-linkage agglomeration that merges while the average similarity
    between two groups is at least ``min_similarity``."""
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import squareform

    n = len(similarity)
    if n < 2:
        return np.zeros(n, dtype=np.int64)
    distance = 1.0 - (similarity + similarity.T) / 2.0
    np.fill_diagonal(distance, 0.0)
    tree = linkage(squareform(np.clip(distance, 0.0, None), checks=False), method="average")
    return fcluster(tree, t=1.0 - min_similarity, criterion="distance").astype(np.int64) - 1


def cluster_articles(signals: StorySignals, members: np.ndarray, min_similarity: float) -> list[np.ndarray]:
    """Groups of article numbers (each a story, singletons included) from ``members``, exact average linkage."""
    groups = []
    for part in components(signals, members, min_similarity):
        if len(part) == 1:
            groups.append(part)
            continue
        labels = average_linkage(signals.similarity(part, part), min_similarity)
        groups.extend(part[labels == k] for k in range(labels.max() + 1))
    logger.info("clustered %d articles into %d groups", len(members), len(groups))
    return groups
