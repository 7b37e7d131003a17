"""Saving and loading an index directory atomically.

Layout of a saved index::

    DIR/manifest.json                 # written last, with os.replace
    DIR/paragraphs-<generation>.parquet
    DIR/vectors-<generation>.npy
    DIR/index-<generation>.faiss

The manifest names the files of its generation and their SHA-256. A save
writes a new generation's files, then swaps the manifest in one atomic
rename. A crash at any point leaves a manifest that points at complete
files: the previous index stays intact.

**Readers never fail because of a writer.** A save keeps the generation it
replaced and deletes only the one before it (two generations on disk): a
reader that read the old manifest just before the swap still finds every
file it names. A reader that was slower than two whole saves finds the
manifest changed under it and starts again (:data:`READ_ATTEMPTS` times);
a file missing while the manifest did not change is an error at once. Each
file is opened once, checked against its checksum and read from that same
open file, so what was checked is what is loaded (a deleted file stays
readable through an open handle on POSIX). Readers take no lock: they work
on read-only media and never delay a writer.

The index owns only what it wrote: a save deletes its own dead temporary
files and generations it no longer needs (exactly
``paragraphs-<12 hex>.parquet``, ``vectors-<12 hex>.npy``,
``index-<12 hex>.faiss``, as regular files); nothing else. A folder without
a manifest that holds only such files (what an interrupted first save
leaves) is ours: the next save cleans it and proceeds. Names in a manifest
must be plain file names inside the folder (no separators, no ``..``, no
absolute paths, no symlinks); the manifest must be a regular file (not a
symlink, FIFO or device), at most :data:`MAX_MANIFEST_BYTES`, nested at
most :data:`MAX_DEPTH` deep, and every field is type-checked and bounded
before use. A write that fails (disk full, read-only folder, ...) raises
:class:`~embed.errors.SaveError` naming the path and the cause; the saved
index is unchanged.

The file-level pieces (atomic writes, regular-file reads, checksums, bounded
JSON and ``.npy``) are :mod:`embed.store.files`; the writer lock is
:mod:`embed.store.locking`; this module is the manifest and its generations.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

from embed.errors import IndexFormatError

# The file helpers below are defined in embed.store.files; they are imported here because this module calls them
# (and tests patch them here), and kept in __all__ for code written against this module before the split.
from embed.store.files import (
    MAX_DEPTH,
    check_depth,
    clean_temps,
    create_exclusive,
    open_regular,
    parse_json,
    plain_name,
    read_npy,
    read_regular,
    remove_unneeded,
    save_failure,
    sha256_file,
    sha256_handle,
    temp_pattern,
    write_atomic,
)
from embed.store.locking import LOCK_NAME, writer_lock

__all__ = [
    "new_generation", "commit_manifest", "read_manifest", "verify_file", "manifest_digest", "check_target",
    "save_index", "load_index", "read_columns", "data_digest", "INDEX_OWN", "MANIFEST", "FORMAT", "FORMAT_VERSION", "READ_ATTEMPTS",
    # defined in embed.store.files
    "write_atomic", "sha256_file", "plain_name", "create_exclusive", "clean_temps", "open_regular", "read_regular",
    "read_npy", "check_depth", "parse_json", "save_failure", "temp_pattern", "remove_unneeded", "MAX_DEPTH",
]

logger = logging.getLogger(__name__)

MANIFEST = "manifest.json"
#: Files a save may delete without a manifest naming them: generations it no longer needs, a crashed save's orphans.
_ORPHAN = re.compile(r"^(?:paragraphs-[0-9a-f]{12}\.parquet|vectors-[0-9a-f]{12}\.npy|index-[0-9a-f]{12}\.faiss)$")
#: Everything an interrupted save of an index can leave in a folder without a manifest.
INDEX_OWN = re.compile(rf"{_ORPHAN.pattern}|^\.manifest\.json\.[A-Za-z0-9_]+\.tmp$")
FORMAT = "paratopic-index"
#: Paragraph tables from this size on are read with Arrow's threads (:func:`_parquet`).
PARQUET_THREADS_FROM = 32 << 20
#: Vectors files from this size on are memory-mapped when an index is loaded.
MMAP_FROM_BYTES = 1 << 30
FORMAT_VERSION = 1
#: How often a reader starts again when the manifest changed while it read (each time a save completed).
READ_ATTEMPTS = 4
#: Bounds on saved state, checked before anything is allocated from it.
MAX_MANIFEST_BYTES = 64 << 20
MAX_DIM = 65_536
MAX_FILE_BYTES = 1 << 50
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_GENERATION = re.compile(r"^[0-9a-f]{12}$")



def new_generation() -> str:
    """A fresh, unique suffix for one save's files."""
    return uuid.uuid4().hex[:12]


def _describe(directory: Path, names: list[str]) -> str:
    return ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")


def check_target(
    directory: Path, error: type[Exception] = IndexFormatError, marker: str = MANIFEST,
    ours: re.Pattern[str] = INDEX_OWN,
) -> None:
    """Refuse to save into a folder that holds other things and is not ours.

    Ours: it has a ``marker`` file, or holds only what an interrupted save
    of ours leaves (regular files whose names match ``ours``, and the lock
    file); the next save cleans those up.
    """
    if directory.is_symlink():
        raise error(f"{directory}: is a symbolic link; save into a real folder")
    if directory.exists() and not directory.is_dir():
        raise error(f"{directory}: exists and is not a directory; choose another folder")
    if not directory.exists() or (directory / marker).exists():
        return
    others = []
    for entry in sorted(os.scandir(directory), key=lambda e: e.name):
        regular = entry.is_file(follow_symlinks=False)
        if regular and (entry.name == LOCK_NAME or ours.match(entry.name)):
            continue
        others.append(entry.name)
    if others:
        raise error(
            f"{directory}: is not empty ({_describe(directory, others)}) and holds no {marker}, so it is not ours to "
            "write into; save into a new or empty folder (for example a subfolder of it)"
        )


def commit_manifest(directory: Path, manifest: dict[str, Any], previous: dict[str, Any] | None) -> None:
    """Swap in ``manifest`` atomically, then remove generations older than
    ``previous`` (kept for readers that opened it) and orphans of crashed
    saves; call it holding the writer lock."""
    files = {entry["name"] for entry in manifest["files"].values()}
    for entry in manifest["files"].values():
        with open(directory / entry["name"], "rb") as handle:
            entry["sha256"] = sha256_handle(handle)
            entry["bytes"] = os.fstat(handle.fileno()).st_size
    write_atomic(directory / MANIFEST, json.dumps(manifest, indent=2, ensure_ascii=False).encode("utf-8"))
    old = {entry["name"] for entry in (previous or {}).get("files", {}).values()}
    remove_unneeded(directory, files | old, _ORPHAN)


def _is_int(value: object, low: int = 0, high: int = 1 << 62) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _check_types(path: Path, manifest: dict[str, Any]) -> None:
    files = manifest.get("files")
    if not isinstance(files, dict):
        raise IndexFormatError(f"{path}: 'files' is {type(files).__name__}, expected an object; rebuild the index")
    for key in ("paragraphs", "vectors", "faiss"):
        entry = files.get(key)
        if not isinstance(entry, dict):
            raise IndexFormatError(f"{path}: manifest lists no {key!r} file; rebuild the index")
        plain_name(path.parent, entry.get("name"), f"the manifest's {key!r} entry")
        if not _is_int(entry.get("bytes"), 0, MAX_FILE_BYTES) or not (
            isinstance(entry.get("sha256"), str) and _SHA256.match(entry["sha256"])
        ):
            raise IndexFormatError(
                f"{path}: the {key!r} entry needs 'bytes' (an integer 0..2**50) and 'sha256' (64 hex digits); "
                "rebuild the index"
            )
    embedder = manifest.get("embedder")
    if not isinstance(embedder, dict) or not isinstance(embedder.get("model_id"), str) or not _is_int(
        embedder.get("dim"), 1, MAX_DIM
    ):
        raise IndexFormatError(
            f"{path}: 'embedder' must be an object with 'model_id' (str) and 'dim' (an integer 1..{MAX_DIM})"
        )
    for key, kind in (("sources", list), ("counts", dict), ("requested_kind", str), ("generation", str)):
        if key in manifest and not isinstance(manifest[key], kind):
            raise IndexFormatError(f"{path}: {key!r} is {type(manifest[key]).__name__}, expected {kind.__name__}")
    if not all(isinstance(s, str) for s in manifest.get("sources", [])):
        raise IndexFormatError(f"{path}: 'sources' must be a list of text")
    if not all(_is_int(v) for v in manifest.get("counts", {}).values()):
        raise IndexFormatError(f"{path}: 'counts' must map names to non-negative integers")
    if "generation" in manifest and not _GENERATION.match(manifest["generation"]):
        raise IndexFormatError(f"{path}: 'generation' is {manifest['generation']!r:.80}, expected 12 hex digits")


def _read_manifest(directory: Path) -> tuple[dict[str, Any], str]:
    """The checked manifest and the SHA-256 of the bytes it was parsed from (read once)."""
    if not directory.exists():
        raise IndexFormatError(f"{directory}: no such index directory")
    if not directory.is_dir():
        raise IndexFormatError(f"{directory}: is a file, not an index directory")
    path = directory / MANIFEST
    try:
        data = read_regular(path, IndexFormatError, "an index manifest", MAX_MANIFEST_BYTES)
    except FileNotFoundError:
        raise IndexFormatError(
            f"{directory}: not a paratopic index (no {MANIFEST}); build one with `paratopic index INPUT --out {directory}`"
        ) from None
    manifest = parse_json(data, path, IndexFormatError, "the manifest")
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        found = manifest.get("format") if isinstance(manifest, dict) else type(manifest).__name__
        raise IndexFormatError(f"{path}: not a paratopic index manifest (format {found!r:.80})")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise IndexFormatError(
            f"{path}: index format version {manifest.get('format_version')!r:.40}; this paratopic reads version "
            f"{FORMAT_VERSION}. Rebuild the index with this version."
        )
    _check_types(path, manifest)
    return manifest, hashlib.sha256(data).hexdigest()


def read_manifest(directory: Path) -> dict[str, Any]:
    """Read and check ``DIR/manifest.json``; raises :class:`IndexFormatError`."""
    return _read_manifest(directory)[0]


def _open_verified(directory: Path, entry: dict[str, Any]) -> BinaryIO:
    """The open file a manifest entry names, after checking its size and checksum."""
    path = plain_name(directory, entry.get("name"), "the manifest")
    try:
        handle = open_regular(path, IndexFormatError, "an index file")
    except FileNotFoundError:
        raise IndexFormatError(f"{path}: missing (the manifest names it); the index directory is incomplete") from None
    try:
        size = os.fstat(handle.fileno()).st_size
        if size != entry.get("bytes"):
            raise IndexFormatError(
                f"{path}: {size} bytes, the manifest says {entry.get('bytes')}; the file is truncated or altered"
            )
        if sha256_handle(handle) != entry.get("sha256"):
            raise IndexFormatError(f"{path}: checksum does not match the manifest; the file is corrupted")
    except BaseException:
        handle.close()
        raise
    return handle


def verify_file(directory: Path, entry: dict[str, Any]) -> Path:
    """Return the path of a manifest file entry after checking size and checksum."""
    _open_verified(directory, entry).close()
    return directory / entry["name"]


def manifest_digest(directory: Path) -> str | None:
    """SHA-256 of ``DIR/manifest.json`` (which generation is on disk), or None."""
    try:
        return hashlib.sha256((directory / MANIFEST).read_bytes()).hexdigest()
    except OSError:
        return None


def save_index(directory: Path, manifest: dict[str, Any], origin: tuple[str, str | None] | None, *, paragraphs: Any,
               vectors: Any, faiss_index: Any) -> tuple[str, str | None]:
    """Write an index (its ``paragraphs`` table, ``vectors`` and ``faiss_index``) as a new generation in ``directory`` under its writer
    lock; returns the new origin (folder, manifest digest) for the next save.
    An OSError is a one-line :class:`SaveError`; the saved index is then unchanged."""
    check_target(directory)
    with writer_lock(directory):
        check_target(directory)
        created: list[Path] = []
        try:
            return _save_locked(directory, manifest, origin, created, (paragraphs, vectors, faiss_index))
        except BaseException as exc:
            if not (directory / MANIFEST).exists() or manifest.get("generation") != _on_disk_generation(directory):
                for path in created:  # the new generation did not make it: its files go now, not at the next save
                    path.unlink(missing_ok=True)
            if isinstance(exc, OSError):
                raise save_failure(directory, exc, "the index") from exc
            raise


def _on_disk_generation(directory: Path) -> str | None:
    try:
        return read_manifest(directory).get("generation")
    except IndexFormatError:
        return None


def _save_locked(directory: Path, manifest: dict[str, Any], origin: tuple[str, str | None] | None,
                 created: list[Path], parts: tuple[Any, Any, Any]) -> tuple[str, str | None]:
    import faiss
    import numpy as np

    from embed.errors import IndexChangedError

    paragraphs, vectors, faiss_index = parts
    where = str(directory.resolve())
    on_disk = manifest_digest(directory)
    if origin is not None and origin[0] == where and on_disk != origin[1]:
        raise IndexChangedError(
            f"{directory}: another writer saved this index after it was loaded here; saving now would drop "
            "their paragraphs. Load it again and repeat the change (the CLI does this by itself)."
        )
    try:
        previous = read_manifest(directory) if on_disk else None
    except IndexFormatError:
        previous = None  # a broken manifest names nothing we can trust; orphans are still cleaned
    gen = new_generation()
    names = {"paragraphs": f"paragraphs-{gen}.parquet", "vectors": f"vectors-{gen}.npy", "faiss": f"index-{gen}.faiss"}
    writers: dict[str, Callable[[Any], None]] = {
        "paragraphs": lambda handle: _write_parquet(paragraphs, handle),
        "vectors": lambda handle: np.save(handle, vectors, allow_pickle=False),
        "faiss": lambda handle: handle.write(faiss.serialize_index(faiss_index).tobytes()),
    }
    for key, name in names.items():
        with create_exclusive(directory / name) as handle:
            created.append(directory / name)
            writers[key](handle)
            handle.flush()
            os.fsync(handle.fileno())
    manifest["generation"] = gen
    manifest["files"] = {key: {"name": name} for key, name in names.items()}
    commit_manifest(directory, manifest, previous)
    return where, manifest_digest(directory)


def _write_parquet(table: Any, handle: Any) -> None:
    """Write the paragraph table; metadata Parquet cannot hold is kept as text (see :func:`_storable`)."""
    table = _storable(table)
    try:
        table.to_parquet(handle, index=False)
        return
    except (ValueError, TypeError, OverflowError, ArithmeticError) as exc:  # pyarrow's ArrowInvalid is a ValueError
        reason = f"{type(exc).__name__}: {exc}"
    from embed.read.articles import PARAGRAPH_COLUMNS

    metadata = [c for c in table.columns if c not in PARAGRAPH_COLUMNS and table[c].dtype == object]
    logger.warning("metadata columns %s could not be stored as they are (%s); they are saved as text", metadata, reason)
    table = table.copy()
    for column in metadata:
        table[column] = [None if v is None else str(v) for v in table[column]]
    handle.seek(0)
    handle.truncate()
    table.to_parquet(handle, index=False)


def _storable(table: Any) -> Any:
    """The paragraph table with metadata columns Parquet cannot hold as they are
    (values of several types, nested lists and objects) turned into text,
    each change logged as a warning."""
    import pandas as pd

    out = table
    for column in table.columns:
        if table[column].dtype != object:
            continue
        kinds = {type(v) for v in table[column] if v is not None and not (isinstance(v, float) and v != v)}
        nested = kinds & {dict, list, tuple, set}
        huge = int in kinds and any(isinstance(v, int) and not -(2**63) <= v < 2**63 for v in table[column])
        if nested or huge or (len(kinds) > 1 and not kinds <= {int, float}):
            if out is table:
                out = table.copy()
            logger.warning(
                "column %r holds %s; it is saved as text",
                column, "nested values" if nested else "integers beyond 64 bits" if huge else f"values of several types ({', '.join(sorted(k.__name__ for k in kinds))})",
            )

            def text(value: Any) -> str | None:
                if value is None or (isinstance(value, float) and value != value):
                    return None
                if isinstance(value, (dict, list, tuple, set)):
                    return json.dumps(value if not isinstance(value, set) else sorted(value, key=str), ensure_ascii=False, default=str)
                return str(value)

            out[column] = pd.Series([text(v) for v in table[column]], dtype=object, index=table.index)
    return out


def data_digest(manifest: dict[str, Any]) -> str | None:
    """A digest of the checksums a manifest records for the paragraph table and the vectors (None when it has
    none): equal digests mean the same saved rows and vectors, read without hashing the data again."""
    files = manifest.get("files") or {}
    sums = [(files.get(key) or {}).get("sha256") for key in ("paragraphs", "vectors")]
    if not all(isinstance(s, str) for s in sums):
        return None
    return hashlib.sha256("\n".join(["paragraphs+vectors", *sums]).encode("ascii")).hexdigest()


def load_index(directory: Path, required: list[str]) -> tuple[dict[str, Any], Any, Any, Any, tuple[str, str | None]]:
    """Read and check a saved index: (manifest, paragraphs, vectors, FAISS index, origin).

    When a file the manifest names is missing or unreadable and the manifest
    changed meanwhile (a writer saved twice while this reader read), it starts
    again with the new manifest, up to :data:`READ_ATTEMPTS` times.
    """
    for attempt in range(1, READ_ATTEMPTS + 1):
        manifest, digest = _read_manifest(directory)
        try:
            paragraphs, vectors, index = _read_files(directory, manifest, required)
        except IndexFormatError:
            if attempt < READ_ATTEMPTS and manifest_digest(directory) not in (digest, None):
                logger.info("%s: a writer saved a new generation while it was read; reading that one", directory)
                continue
            raise
        return manifest, paragraphs, vectors, index, (str(directory.resolve()), digest)
    raise AssertionError("unreachable")  # pragma: no cover


def read_columns(directory: Path, columns: list[str]) -> tuple[dict[str, Any], Any]:
    """The checked manifest and the paragraph table's ``columns`` (those it has) as a pyarrow Table, after checking
    every file the manifest names against its checksum as :func:`load_index` does, without pandas or FAISS (for
    ``paratopic info``). Retries as :func:`load_index` does when a writer saves meanwhile."""
    import pyarrow.parquet as pq

    for attempt in range(1, READ_ATTEMPTS + 1):
        manifest, digest = _read_manifest(directory)
        try:
            for key in ("vectors", "faiss"):
                verify_file(directory, manifest["files"][key])
            with _open_verified(directory, manifest["files"]["paragraphs"]) as handle:
                try:
                    source, threaded = _parquet(handle)
                    parquet = pq.ParquetFile(source)
                    present = [c for c in columns if c in parquet.schema_arrow.names]
                    table = parquet.read(columns=present, use_threads=threaded)
                except Exception as exc:
                    reason = " ".join(str(exc).split())[:300]
                    raise IndexFormatError(f"{directory}: could not read the index files ({reason}); rebuild the index") from exc
        except IndexFormatError:
            if attempt < READ_ATTEMPTS and manifest_digest(directory) not in (digest, None):
                continue
            raise
        return manifest, table
    raise AssertionError("unreachable")  # pragma: no cover


def _parquet(handle: BinaryIO) -> tuple[Any, bool]:
    """(what to open a checked Parquet file from, whether to use Arrow's threads): a small file is read from
    memory on this thread, as fast, since a command that reads it and exits at once could end while Arrow's
    threads were starting, which aborts the process ("terminate called without an active exception",
    apache/arrow#34314; measured: 1 in 40 runs of ``paratopic info`` on a busy machine); a large one as before."""
    import pyarrow as pa

    if os.fstat(handle.fileno()).st_size >= PARQUET_THREADS_FROM:
        return handle, True
    handle.seek(0)
    return pa.BufferReader(handle.read()), False


def _read_files(directory: Path, manifest: dict[str, Any], required: list[str]) -> tuple[Any, Any, Any]:
    """(paragraphs as a pyarrow Table, vectors, FAISS index) of a checked manifest; the FAISS file of a ``flat``
    index is checked but not read (None: exact search needs only the vectors, and the index is rebuilt from them
    when asked for), so that opening an index imports neither pandas nor FAISS."""
    import pyarrow.parquet as pq

    files = manifest["files"]
    dim = manifest["embedder"]["dim"]
    index = None
    try:
        with _open_verified(directory, files["vectors"]) as handle:
            size = os.fstat(handle.fileno()).st_size
            vectors = read_npy(handle, directory / files["vectors"]["name"], IndexFormatError,
                               mmap=size >= MMAP_FROM_BYTES)  # a large file is memory-mapped (read-only)
        if vectors.ndim != 2 or vectors.shape[1] != dim:
            raise IndexFormatError(f"{directory}: vectors have shape {vectors.shape}, the manifest says {dim} dimensions")
        with _open_verified(directory, files["paragraphs"]) as handle:
            source, threaded = _parquet(handle)
            parquet = pq.ParquetFile(source)
            rows = parquet.metadata.num_rows
            if rows != len(vectors):
                raise IndexFormatError(f"{directory}: {rows} paragraphs but {len(vectors)} vectors; rebuild the index")
            paragraphs = parquet.read(use_pandas_metadata=True, use_threads=threaded)
        with _open_verified(directory, files["faiss"]) as handle:
            if manifest.get("index_kind") != "flat":
                import faiss

                index = faiss.read_index(faiss.PyCallbackIOReader(handle.read))
    except IndexFormatError:
        raise
    except Exception as exc:
        reason = " ".join(str(exc).split())[:300]
        raise IndexFormatError(f"{directory}: could not read the index files ({reason}); rebuild the index") from exc
    missing = [c for c in required if c not in paragraphs.column_names]
    if missing or len(vectors) != paragraphs.num_rows or (index is not None and (index.ntotal != len(vectors)
                                                                                 or index.d != dim)):
        raise IndexFormatError(
            f"{directory}: files disagree ({paragraphs.num_rows} paragraphs, vectors {vectors.shape}, "
            f"{'-' if index is None else index.ntotal} in FAISS of dimension {dim if index is None else index.d}, "
            f"missing columns {missing}); rebuild the index"
        )
    return paragraphs, vectors, index
