"""Ranking an index's rows for query vectors: FAISS or numpy top-k, the flagged-row filter, and the hits
picked and grouped by ``embed.search.grouping`` into :class:`~embed.search.results.SearchResults`.

Exact ("flat") search of a few queries runs as a numpy product over the
stored vectors, of a batch through ``IndexFlatIP`` (each measured faster
for its case); flagged rows are filtered after the search rather than with
a FAISS selector, which made flat search 5-10x slower. Graph and
inverted-list indexes filter during the search.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import faiss
import numpy as np
import pandas as pd

from embed.errors import InputError
from embed.search import grouping
from embed.search.results import RESULT_COLUMNS, SearchResults

__all__ = ["RowFilter", "row_filter", "ranked", "search_block", "numpy_top", "results_table", "search_params",
           "FAISS_BATCH_FROM", "FAISS_BATCH_MAX_VECTORS"]

#: Exact search of this many queries at once goes through FAISS flat, fewer
#: through numpy; above FAISS_BATCH_MAX_VECTORS numpy measured faster for batches too.
FAISS_BATCH_FROM = 16
FAISS_BATCH_MAX_VECTORS = 200_000


@dataclass(frozen=True)
class RowFilter:
    """The rows search may return by default (not boilerplate, not duplicates) and a FAISS selector over them."""

    allowed: np.ndarray  #: bool per row
    selector: Any  #: ``faiss.IDSelectorBitmap`` over ``allowed``
    bitmap: np.ndarray  #: the selector's bits; kept here because the selector does not own them


def row_filter(paragraphs: pd.DataFrame) -> RowFilter:
    """The :class:`RowFilter` of a paragraph table."""
    allowed = ~(paragraphs["boilerplate"].to_numpy(bool) | paragraphs["duplicate_of"].notna().to_numpy())
    bitmap = np.packbits(allowed, bitorder="little")
    return RowFilter(allowed, faiss.IDSelectorBitmap(len(allowed), faiss.swig_ptr(bitmap)), bitmap)


def ranked(
    paragraphs: pd.DataFrame,
    vectors: np.ndarray,
    index: faiss.Index,
    flags: RowFilter,
    queries: np.ndarray,
    *,
    k: int,
    include_flagged: bool,
    rule: grouping.GroupingRule,
    exclude: list[set[int]],
    other_doc: list[str | None],
) -> list[list[tuple[int, float, int]]]:
    """Per query, ``(row, score, leader position)`` of the hits to show (``embed.search.grouping.HitPicker``).

    ``paragraphs``, ``vectors`` and ``index`` are an index's rows, ``flags`` its :class:`RowFilter`;
    ``exclude`` holds per query rows never returned, ``other_doc`` a document id whose rows are skipped (or None).
    """
    if k < 1:
        raise InputError(f"k must be at least 1, got {k}")
    n = len(paragraphs)
    allowed, selector = flags.allowed, flags.selector
    if include_flagged:
        allowed, selector = np.ones(n, dtype=bool), None
    # Exact search runs fastest as one BLAS product without a selector
    # (a selector made FAISS flat 5x slower): filter afterwards instead,
    # fetching enough rows for the share that survives the filter.
    # Graph and inverted-list indexes filter during the search.
    if isinstance(index, faiss.IndexFlat):
        selector = None
    n_allowed = int(allowed.sum())
    share = max(n_allowed / max(n, 1), 0.02)
    # Only the candidate rows' document ids and story labels are taken from the (Arrow-backed) table, once per
    # block: converting whole columns cost ~200 ms of a search at 1M rows.
    doc_column = paragraphs["doc_id"] if any(d is not None for d in other_doc) else None
    out: list[list[tuple[int, float, int]]] = [[] for _ in range(len(queries))]
    pending = list(range(len(queries)))
    limit = n if selector is None else n_allowed
    fetch = min(limit, int(math.ceil((k * 3 + 10) / (share if selector is None else 1.0))))
    story_table = paragraphs[[grouping.STORY_COLUMN]] if rule.mode == "group" and (
        grouping.STORY_COLUMN in paragraphs.columns) else None
    while pending and fetch > 0:
        scores, rows = search_block(index, vectors, queries[pending], fetch, selector)
        candidates = np.unique(rows[rows >= 0])
        doc_ids = _at_rows(doc_column, candidates, n)
        stories = None if story_table is None else _at_rows(story_table, candidates, n)
        still = []
        for qi, row_scores, row_ids in zip(pending, scores, rows):
            pick = grouping.HitPicker(rule, k, vectors, asked=queries[qi] if exclude[qi] else None, stories=stories)
            for score, row in zip(row_scores, row_ids):
                if row < 0 or not allowed[row] or row in exclude[qi]:
                    continue
                if other_doc[qi] is not None and doc_ids[row] == other_doc[qi]:
                    continue
                if pick.offer(int(row), float(score)):
                    break
            out[qi] = pick.hits
            if not pick.done and fetch < limit:
                still.append(qi)
        pending = still
        fetch = min(limit, fetch * 4) if still else 0
    return out


def _at_rows(column: pd.Series | pd.DataFrame | None, rows: np.ndarray, n: int) -> np.ndarray | None:
    """An object array of ``n`` entries holding ``column``'s values at ``rows`` (None elsewhere); a one-column
    frame gives its story labels (``embed.search.grouping.story_labels``). None for no column."""
    if column is None:
        return None
    out = np.full(n, None, dtype=object)
    if isinstance(column, pd.DataFrame):
        labels = grouping.story_labels(column.iloc[rows])
        out[rows] = labels
    else:
        out[rows] = column.iloc[rows].to_numpy(dtype=object)
    return out


def search_params(index: faiss.Index, selector: Any, k: int) -> Any:
    """FAISS search parameters for ``index`` with an ID ``selector`` (or None): HNSW searches at least
    ``2k`` candidates, IVF probes the index's own ``nprobe`` lists."""
    if isinstance(index, faiss.IndexHNSW):
        return faiss.SearchParametersHNSW(sel=selector, efSearch=max(64, 2 * k))
    if isinstance(index, faiss.IndexIVF):
        return faiss.SearchParametersIVF(sel=selector, nprobe=index.nprobe)
    return faiss.SearchParameters(sel=selector) if selector is not None else None


def search_block(index: faiss.Index, vectors: np.ndarray, queries: np.ndarray, fetch: int, selector: Any
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Top ``fetch`` (scores, rows) per query.

    Exact search takes the faster of two measured paths
    (benchmarks/results/lookup.md, 2 cores): for a few queries a numpy
    matrix-vector product (FAISS flat was 2-3x slower one query at a
    time), for a batch over up to 200k vectors FAISS ``IndexFlatIP``
    without a selector (3x faster than numpy there; at 1M numpy was 3x
    faster again). HNSW and IVF always go through FAISS,
    filtering with ``selector`` during the search.
    """
    queries = np.ascontiguousarray(queries, dtype=np.float32)
    if not isinstance(index, faiss.IndexFlat):
        return index.search(queries, fetch, params=search_params(index, selector, fetch))
    if len(queries) >= FAISS_BATCH_FROM and len(vectors) <= FAISS_BATCH_MAX_VECTORS:
        return index.search(queries, fetch)
    blocks = [numpy_top(vectors, queries[start : start + 64], fetch) for start in range(0, len(queries), 64)]
    return np.vstack([b[0] for b in blocks]), np.vstack([b[1] for b in blocks])


def numpy_top(vectors: np.ndarray, queries: np.ndarray, fetch: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact top ``fetch`` (scores, rows) of ``queries`` over ``vectors`` as one numpy product, best first."""
    sims = queries @ vectors.T
    if fetch < sims.shape[1]:
        top = np.argpartition(-sims, fetch - 1, axis=1)[:, :fetch]
    else:
        top = np.tile(np.arange(sims.shape[1]), (len(sims), 1))
    top_scores = np.take_along_axis(sims, top, axis=1)
    order = np.argsort(-top_scores, axis=1, kind="stable")
    return np.take_along_axis(top_scores, order, axis=1), np.take_along_axis(top, order, axis=1)


def results_table(paragraphs: pd.DataFrame, queries: list[str], rows: list[list[tuple[int, float, int]]]
                  ) -> SearchResults:
    """The :class:`SearchResults` of :func:`ranked`'s hits (``queries``: what each was asked with)."""
    flat = [(query, rank, row, score, leader + 1) for query, hits in zip(queries, rows)
            for rank, (row, score, leader) in enumerate(hits, start=1)]
    take = paragraphs.iloc[[f[2] for f in flat]] if flat else paragraphs.iloc[[]]
    frame = pd.DataFrame({
        "query": [f[0] for f in flat], "rank": [f[1] for f in flat], "score": [f[3] for f in flat],
        "group": [f[4] for f in flat], "is_group_leader": [f[1] == f[4] for f in flat],
        "id": take["id"].to_numpy(), "doc_id": take["doc_id"].to_numpy(), "title": take["title"].to_numpy(),
        "text": take["text"].to_numpy(), "boilerplate": take["boilerplate"].to_numpy(bool),
        "duplicate_of": take["duplicate_of"].to_numpy(),
    })
    return SearchResults(frame[RESULT_COLUMNS])
