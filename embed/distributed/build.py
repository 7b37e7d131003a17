"""Building a paragraph index on a Ray cluster (the ``paratopic[ray]`` extra).

>>> from embed.distributed.build import build_distributed
>>> index = build_distributed("articles/*.jsonl", address="auto")   # doctest: +SKIP
>>> index.save("out/archive.idx")                                    # doctest: +SKIP

The result is an ordinary :class:`embed.ParagraphIndex`, equal to what
``ParagraphIndex.build`` makes of the same input (same ids, flags and
vectors); the CLI saves it as any other index (``paratopic index INPUT
--out DIR --ray auto``).

How the work is split (every step is a Ray Data dataset; files are the unit
of reading, so many files read in parallel, and JSON Lines and Parquet files
of 64 MB or more are cut into pieces that read in parallel, ``embed.read.pieces``):

1. *Map, hashes*: every input file (or piece) is read and split into paragraphs by the
   single-machine readers (``embed.read.articles``) and reduced to document ids,
   paragraph hashes and word counts.
2. *Reduce*: hash counts are summed over the cluster (a groupby); only
   hashes seen more than once can make a duplicate or a line "repeated
   across documents", so only their rows come back to the driver, which
   runs the very rules of ``embed.read.hygiene`` on them, in input order. The
   driver also checks that document ids are unique, as ``read_corpus`` does.
3. *Map, flags*: every file is read again (reading is ~1000x cheaper than
   embedding) and flagged by ``embed.read.hygiene.flag_paragraphs`` with the
   reduced facts given, so each document is flagged exactly as in the whole.
4. *Embedding*: the first paragraph of every distinct text goes to a pool of
   actors; each loads the embedder once, takes what the embedding cache
   already holds and writes what it embeds back to the cache batch by batch
   (a rerun embeds nothing; a killed actor is restarted by Ray and its batch
   retried).
5. *Assembly*: the driver writes each embedded batch straight to its rows
   of a disk-backed array (:class:`embed.store.spill.VectorSpill`), so it never
   holds the collection's vectors in RAM, gives duplicates their first
   copy's vector and builds the FAISS index from that array (``kind="auto"``
   is the compact ``ivfsq`` from 2M paragraphs on). The saved directory is the ordinary
   one (manifest, checksums); its vectors file is memory-mapped when large
   (``embed.store.storage``), so opening an index of millions needs little RAM.

A saved index grows on a cluster through :func:`embed_distributed`: the
cluster embeds what this machine's embedding cache lacks and the vectors
come back into that cache; ``ParagraphIndex.add`` then reads and flags the
new articles against the whole index, as always, and embeds nothing.

Ray is imported only inside these functions.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from embed.distributed.embedding import check_pool, embedded_batches
from embed.distributed.reading import (
    assemble,
    flagged_dataset,
    input_files,
    pieces_dataset,
    read_distributed,
    text_rows,
)
from embed.distributed.session import DistributedReport, quiet, ray_session
from embed.errors import InputError

__all__ = ["build_distributed", "embed_distributed", "read_distributed", "ray_session", "input_files", "DistributedReport"]

logger = logging.getLogger(__name__)


def embed_distributed(
    *sources: str | Path,
    address: str | None = "auto",
    embedder: Any = None,
    cache: Any = True,
    workers: int | None = None,
    threads_per_worker: int = 1,
    batch_size: int = 64,
    show_progress: bool = False,
    text_column: str = "text",
    id_column: str | None = None,
    title_column: str | None = None,
) -> DistributedReport:
    """Embed on a Ray cluster every distinct paragraph of ``sources`` that this
    machine's embedding cache lacks, and store the vectors in that cache.

    This is how an existing index grows on a cluster (``paratopic index INPUT
    --out DIR --ray auto`` over a saved index): the cluster does the
    embedding, then ``ParagraphIndex.add`` reads and flags the new articles
    against the whole index here, as always, and finds every vector in the
    cache. Arguments as for :func:`build_distributed`; ``cache`` must not be
    False. Returns what the cluster did (``embedded_by`` counts texts per worker).
    """
    from embed.engine.base import Embedder
    from embed.engine.registry import load_embedder
    from embed.store.building import open_cache

    check_pool(threads_per_worker, batch_size, workers)
    if cache is False:
        raise InputError("adding on a Ray cluster passes the vectors through the embedding cache; do not turn the cache off")
    model = embedder if isinstance(embedder, Embedder) else load_embedder(embedder)
    opened = open_cache(cache)
    read = {"text_column": text_column, "id_column": id_column, "title_column": title_column}
    report = DistributedReport()
    with ray_session(address) as ray:
        quiet(ray)
        texts = pieces_dataset(ray, sources, report).map_batches(text_rows, fn_kwargs={"read": read}, batch_format="pandas", batch_size=1)
        report.workers = workers or max(1, int(ray.cluster_resources().get("CPU", 1)) // threads_per_worker)
        start = time.perf_counter()
        table = pd.concat(list(texts.iter_batches(batch_format="pandas", batch_size=None)), ignore_index=True)
        table = table.drop_duplicates("text_hash", ignore_index=True) if len(table) else pd.DataFrame(columns=["text_hash", "text"])
        known: set[str] = set()
        for i in range(0, len(table), 50_000):
            known.update(opened.get_many(model.model_id, table["text_hash"].iloc[i : i + 50_000].tolist()))
        todo = table[~table["text_hash"].isin(known)].reset_index(drop=True)
        todo = todo.assign(_pos=np.arange(len(todo)))
        logger.info("%d distinct paragraphs, %d already in the embedding cache", len(table), len(known))
        hashes = todo["text_hash"].to_numpy()
        # actors use no cache of their own: on a cluster of several machines theirs would not be this one
        for batch in embedded_batches(ray, todo, model.describe(), None, report, threads_per_worker, batch_size, show_progress):
            opened.put_many(model.model_id, hashes[batch["_pos"]].tolist(), np.asarray(batch["vector"], dtype=np.float32))
        report.seconds["embed"] = round(time.perf_counter() - start, 2)
    return report


def build_distributed(
    *sources: str | Path,
    address: str | None = "auto",
    embedder: Any = None,
    kind: str = "auto",
    cache: Any = True,
    workers: int | None = None,
    threads_per_worker: int = 1,
    batch_size: int = 64,
    show_progress: bool = False,
    text_column: str = "text",
    id_column: str | None = None,
    title_column: str | None = None,
    spill_dir: str | Path | None = None,
) -> Any:
    """Build a :class:`embed.ParagraphIndex` of ``sources`` on a Ray cluster.

    Args:
        *sources: files (``.txt``, ``.jsonl``, ``.json``, ``.csv``,
            ``.parquet``), folders of them, or globs; each file is one read task.
        address: the cluster (see :func:`ray_session`; ``"auto"`` joins the
            running one or starts a local one).
        embedder: an :class:`embed.Embedder` or model name (as for
            ``ParagraphIndex.build``); each actor recreates it from its description.
        kind: the FAISS index kind (``auto``, ``flat``, ``hnsw``, ``ivf``, ``ivfpq``).
        cache: True for the default embedding cache, a path or an
            :class:`embed.EmbeddingCache` for another, False for none. Actors
            open the same file: on a cluster of several machines point
            ``$PARATOPIC_CACHE_DIR`` of each at its own disk (cache hits are then per machine).
        workers: embedding actors (default: the cluster's CPUs divided by ``threads_per_worker``).
        threads_per_worker: CPUs (and embedder threads) of each actor.
        batch_size: texts per actor call.
        show_progress: a progress bar over the texts to embed.
        text_column: text column of tables, as for :func:`embed.read_corpus`.
        id_column: document id column of tables (default ``id`` when present).
        title_column: title column of tables (default ``title`` when present).
        spill_dir: folder for the vectors while they come back from the
            workers (:class:`embed.store.spill.VectorSpill`: the driver never holds
            them in RAM); default the system's temporary folder. It needs
            paragraphs x 1,536 bytes (e5-small), e.g. 7.7 GB for 5M.

    Returns:
        The index, with ``stats`` (:class:`embed.store.building.BuildStats`) and
        ``distributed_report`` (:class:`DistributedReport`). Save it with ``.save(DIR)``.
    """
    from embed.engine.base import Embedder
    from embed.engine.registry import load_embedder
    from embed.store.ann import resolve_kind
    from embed.store.building import BuildStats, open_cache
    from embed.store.index import ParagraphIndex
    from embed.store.spill import VectorSpill

    resolve_kind(kind, 0)
    check_pool(threads_per_worker, batch_size, workers)
    model = embedder if isinstance(embedder, Embedder) else load_embedder(embedder)
    description = model.describe()
    opened = open_cache(cache)
    cache_path = str(opened.path) if opened is not None else None
    read = {"text_column": text_column, "id_column": id_column, "title_column": title_column}
    report = DistributedReport()
    with ray_session(address) as ray:
        quiet(ray)
        flagged = flagged_dataset(ray, sources, read, report)
        cpus = int(ray.cluster_resources().get("CPU", 1))
        report.workers = workers or max(1, cpus // threads_per_worker)
        start = time.perf_counter()
        table = assemble(flagged.iter_batches(batch_format="pandas", batch_size=None))
        if table.empty:
            raise InputError(f"no paragraphs found in {', '.join(map(str, sources))}")
        is_unique = table["duplicate_of"].isna().to_numpy()
        unique = table.loc[is_unique, ["text_hash", "text"]].assign(_pos=np.flatnonzero(is_unique))
        spill = VectorSpill(len(table), model.dim, spill_dir)
        n_embedded = 0
        for batch in embedded_batches(ray, unique, description, cache_path, report, threads_per_worker, batch_size, show_progress):
            spill.write(batch["_pos"], np.asarray(batch["vector"], dtype=np.float32))
            n_embedded += int(batch["embedded"].sum())
        report.seconds["embed"] = round(time.perf_counter() - start, 2)
    if not spill.written[is_unique].all():  # pragma: no cover - Ray retries failed work; this would be a lost batch
        raise RuntimeError(f"{int((~spill.written[is_unique]).sum())} texts came back without a vector; run the build again")
    start = time.perf_counter()
    first = pd.Series(unique["_pos"].to_numpy(), index=unique["text_hash"].to_numpy())
    first = first[~first.index.duplicated()]
    spill.copy_rows(np.flatnonzero(~is_unique), first.reindex(table["text_hash"].to_numpy()[~is_unique]).to_numpy())
    vectors = spill.finish()
    index = ParagraphIndex(table, vectors, embedder=model, kind=kind, sources=[str(s) for s in sources])
    report.seconds["faiss"] = round(time.perf_counter() - start, 2)
    n_unique = len(unique)
    index.stats = BuildStats(
        documents=int(table["doc_id"].nunique()), paragraphs=len(table), boilerplate=int(table["boilerplate"].sum()),
        duplicates=int(table["duplicate_of"].notna().sum()), embedded=n_embedded, from_cache=n_unique - n_embedded,
        reused=len(table) - n_unique,
    )
    index.distributed_report = report
    logger.info("distributed build: %d files, %d paragraphs, %d embedded by %d workers (%s)",
                report.files, len(table), n_embedded, report.workers, report.seconds)
    return index
