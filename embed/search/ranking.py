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
from collections.abc import Callable
from typing import Any

import numpy as np

from embed.errors import InputError
from embed.search import grouping
from embed.search.results import SearchResults

__all__ = ["RowFilter", "row_filter", "ranked", "search_block", "numpy_top", "results_table", "search_params",
           "FAISS_BATCH_FROM", "FAISS_BATCH_MAX_VECTORS"]

#: Exact search of this many queries at once goes through FAISS flat, fewer
#: through numpy; above FAISS_BATCH_MAX_VECTORS numpy measured faster for batches too.
FAISS_BATCH_FROM = 16
FAISS_BATCH_MAX_VECTORS = 200_000
#: Values of one column at some rows: ``(column, rows) ->`` one value per row (story labels for the story column).
ValuesAt = Callable[[str, np.ndarray], np.ndarray]


class RowFilter:
    """The rows search may return by default (not boilerplate, not duplicates) and a FAISS selector over them
    (made when first asked for: exact search filters afterwards and needs none)."""

    def __init__(self, allowed: np.ndarray) -> None:
        self.allowed = allowed  #: bool per row
        #: the selector's bits; kept here because the selector does not own them
        self.bitmap = np.packbits(allowed, bitorder="little")
        self._selector: Any = None

    @property
    def selector(self) -> Any:
        """``faiss.IDSelectorBitmap`` over :attr:`allowed`."""
        if self._selector is None:
            import faiss

            self._selector = faiss.IDSelectorBitmap(len(self.allowed), faiss.swig_ptr(self.bitmap))
        return self._selector


def row_filter(boilerplate: np.ndarray, duplicate: np.ndarray) -> RowFilter:
    """The :class:`RowFilter` of a paragraph table's boilerplate and duplicate flags (bools per row)."""
    return RowFilter(~(np.asarray(boilerplate, dtype=bool) | np.asarray(duplicate, dtype=bool)))


def ranked(
    values_at: ValuesAt,
    columns: list[str],
    vectors: np.ndarray,
    index: Callable[[], Any],
    flags: RowFilter,
    queries: np.ndarray,
    *,
    exact: bool,
    k: int,
    include_flagged: bool,
    rule: grouping.GroupingRule,
    exclude: list[set[int]],
    other_doc: list[str | None],
) -> list[list[tuple[int, float, int]]]:
    """Per query, ``(row, score, leader position)`` of the hits to show (``embed.search.grouping.HitPicker``).

    ``values_at`` reads an index's paragraph table (whose columns are ``columns``), ``vectors`` are its rows'
    vectors, ``index()`` gives its FAISS index (only asked for when needed), ``exact`` says it is a flat one,
    ``flags`` is its :class:`RowFilter`; ``exclude`` holds per query rows never returned, ``other_doc`` a
    document id whose rows are skipped (or None).
    """
    if k < 1:
        raise InputError(f"k must be at least 1, got {k}")
    n = len(vectors)
    allowed = flags.allowed
    filtered = not include_flagged
    if include_flagged:
        allowed = np.ones(n, dtype=bool)
    # Exact search runs fastest as one BLAS product without a selector
    # (a selector made FAISS flat 5x slower): filter afterwards instead,
    # fetching enough rows for the share that survives the filter.
    # Graph and inverted-list indexes filter during the search.
    if exact:
        filtered = False
    n_allowed = int(allowed.sum())
    share = max(n_allowed / max(n, 1), 0.02)
    # Only the candidate rows' document ids and story labels are read from the table, once per block:
    # converting whole columns cost ~200 ms of a search at 1M rows.
    want_docs = any(d is not None for d in other_doc)
    out: list[list[tuple[int, float, int]]] = [[] for _ in range(len(queries))]
    pending = list(range(len(queries)))
    limit = n if not filtered else n_allowed
    fetch = min(limit, int(math.ceil((k * 3 + 10) / (share if not filtered else 1.0))))
    with_stories = rule.mode == "group" and grouping.STORY_COLUMN in columns
    while pending and fetch > 0:
        scores, rows = _top(index, exact, vectors, queries[pending], fetch, flags.selector if filtered else None)
        candidates = _sorted_unique(rows[rows >= 0])
        doc_ids = _spread(values_at("doc_id", candidates), candidates, n) if want_docs else None
        stories = _spread(values_at(grouping.STORY_COLUMN, candidates), candidates, n) if with_stories else None
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


def _sorted_unique(rows: np.ndarray) -> np.ndarray:
    """``np.unique(rows)``, without the ``numpy.ma`` import ``np.unique`` costs a new process."""
    rows = np.sort(rows.ravel())
    return rows[np.concatenate(([True], rows[1:] != rows[:-1]))] if len(rows) else rows


def _spread(values: np.ndarray, rows: np.ndarray, n: int) -> np.ndarray:
    """An object array of ``n`` entries holding ``values`` at ``rows`` (None elsewhere)."""
    out = np.full(n, None, dtype=object)
    out[rows] = values
    return out


def _top(index: Callable[[], Any], exact: bool, vectors: np.ndarray, queries: np.ndarray, fetch: int, selector: Any
         ) -> tuple[np.ndarray, np.ndarray]:
    """:func:`search_block`, without asking for a flat index's FAISS structure where numpy answers."""
    if exact and not (len(queries) >= FAISS_BATCH_FROM and len(vectors) <= FAISS_BATCH_MAX_VECTORS):
        return _numpy_blocks(vectors, np.ascontiguousarray(queries, dtype=np.float32), fetch)
    return search_block(index(), vectors, queries, fetch, selector)


def search_params(index: Any, selector: Any, k: int) -> Any:
    """FAISS search parameters for ``index`` with an ID ``selector`` (or None): HNSW searches at least
    ``2k`` candidates, IVF probes the index's own ``nprobe`` lists."""
    import faiss

    if isinstance(index, faiss.IndexHNSW):
        return faiss.SearchParametersHNSW(sel=selector, efSearch=max(64, 2 * k))
    if isinstance(index, faiss.IndexIVF):
        return faiss.SearchParametersIVF(sel=selector, nprobe=index.nprobe)
    return faiss.SearchParameters(sel=selector) if selector is not None else None


def search_block(index: Any, vectors: np.ndarray, queries: np.ndarray, fetch: int, selector: Any
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
    import faiss

    queries = np.ascontiguousarray(queries, dtype=np.float32)
    if not isinstance(index, faiss.IndexFlat):
        return index.search(queries, fetch, params=search_params(index, selector, fetch))
    if len(queries) >= FAISS_BATCH_FROM and len(vectors) <= FAISS_BATCH_MAX_VECTORS:
        return index.search(queries, fetch)
    return _numpy_blocks(vectors, queries, fetch)


def _numpy_blocks(vectors: np.ndarray, queries: np.ndarray, fetch: int) -> tuple[np.ndarray, np.ndarray]:
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


def results_table(rows_at: Callable[[list[int]], dict[str, Any]], queries: list[str],
                  rows: list[list[tuple[int, float, int]]]) -> SearchResults:
    """The :class:`SearchResults` of :func:`ranked`'s hits (``queries``: what each was asked with);
    ``rows_at(rows)`` gives the columns ``id``, ``doc_id``, ``title``, ``text``, ``boilerplate`` (bools) and
    ``duplicate_of`` of those rows of the paragraph table, as arrays."""
    flat = [(query, rank, row, score, leader + 1) for query, hits in zip(queries, rows)
            for rank, (row, score, leader) in enumerate(hits, start=1)]
    take = rows_at([f[2] for f in flat])
    return SearchResults.from_columns({
        "query": [f[0] for f in flat], "rank": [f[1] for f in flat], "score": [f[3] for f in flat],
        "group": [f[4] for f in flat], "is_group_leader": [f[1] == f[4] for f in flat],
        **{c: take[c] for c in ("id", "doc_id", "title", "text", "boilerplate", "duplicate_of")},
    })
