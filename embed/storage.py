"""Saving and loading an index directory atomically.

Layout of a saved index::

    DIR/manifest.json                 # written last, with os.replace
    DIR/paragraphs-<generation>.parquet
    DIR/vectors-<generation>.npy
    DIR/index-<generation>.faiss

The manifest names the files of its generation and their SHA-256. A save
writes a new generation's files, then swaps the manifest in one atomic
rename, then deletes the old generation. A crash at any point leaves a
manifest that points at complete files: the previous index stays intact.

The index owns only what it wrote: a save deletes the files the previous
manifest named, its own temporary files, and orphans of a crashed save
(exactly ``paragraphs-<12 hex>.parquet``, ``vectors-<12 hex>.npy``,
``index-<12 hex>.faiss``, as regular files); nothing else. Names in a
manifest must be plain file names inside the folder (no separators, no
``..``, no absolute paths, no symlinks), and every field is type-checked
before use.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import tempfile
import uuid
from pathlib import Path
from typing import Any

from embed.errors import IndexFormatError

__all__ = [
    "write_atomic", "new_generation", "commit_manifest", "read_manifest", "verify_file", "sha256_file",
    "check_target", "plain_name", "create_exclusive",
]

logger = logging.getLogger(__name__)

MANIFEST = "manifest.json"
#: Files a save may delete without a manifest naming them: a crashed save's orphans.
_ORPHAN = re.compile(r"^(?:paragraphs-[0-9a-f]{12}\.parquet|vectors-[0-9a-f]{12}\.npy|index-[0-9a-f]{12}\.faiss)$")
#: Temporary files of write_atomic (``.<name>.<random>.tmp``).
_TEMP = re.compile(r"^\.(?:manifest\.json|topic_model\.json)\.[A-Za-z0-9_]+\.tmp$")
FORMAT = "paratopic-index"
#: Vectors files from this size on are memory-mapped when an index is loaded.
MMAP_FROM_BYTES = 1 << 30
FORMAT_VERSION = 1


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def new_generation() -> str:
    """A fresh, unique suffix for one save's files."""
    return uuid.uuid4().hex[:12]


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and ``os.replace``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    umask = os.umask(0)
    os.umask(umask)
    try:
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; a saved file should look like any other
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def plain_name(directory: Path, name: object, what: str, error: type[Exception] = IndexFormatError) -> Path:
    """``directory / name`` after checking that ``name`` is a plain file name
    inside the folder (no separators, ``..``, absolute paths or symlinks)."""
    if (
        not isinstance(name, str) or not name or name in {".", ".."} or "/" in name or "\\" in name
        or "\x00" in name or os.path.isabs(name)
    ):
        raise error(f"{directory}: {what} names {name!r}; expected a plain file name inside the folder")
    path = directory / name
    if path.is_symlink():
        raise error(f"{path}: is a symbolic link; {what} files must be regular files inside {directory}")
    return path


def create_exclusive(path: Path) -> Any:
    """Open a new file for writing; fails if anything (a file, a symlink) is already there."""
    return open(path, "xb")


def check_target(directory: Path, error: type[Exception] = IndexFormatError, marker: str = MANIFEST) -> None:
    """Refuse to save into a folder that holds other things and is not ours (no ``marker`` file)."""
    if directory.is_symlink():
        raise error(f"{directory}: is a symbolic link; save into a real folder")
    if directory.exists() and not directory.is_dir():
        raise error(f"{directory}: exists and is not a directory; choose another folder")
    if not directory.exists() or (directory / marker).exists():
        return
    from embed.locking import LOCK_NAME

    others = sorted(p.name for p in directory.iterdir() if p.name != LOCK_NAME and not _TEMP.match(p.name))
    if others:
        shown = ", ".join(others[:5]) + (f" and {len(others) - 5} more" if len(others) > 5 else "")
        raise error(
            f"{directory}: is not empty ({shown}) and holds no {marker}, so it is not ours to write into; "
            "save into a new or empty folder (for example a subfolder of it)"
        )


def commit_manifest(directory: Path, manifest: dict[str, Any], previous: dict[str, Any] | None) -> None:
    """Swap in ``manifest`` atomically, then remove what ``previous`` named
    (and orphans of crashed saves); call it holding the writer lock."""
    files = {entry["name"] for entry in manifest["files"].values()}
    for entry in manifest["files"].values():
        entry["sha256"] = sha256_file(directory / entry["name"])
        entry["bytes"] = (directory / entry["name"]).stat().st_size
    write_atomic(directory / MANIFEST, json.dumps(manifest, indent=2, ensure_ascii=False).encode("utf-8"))
    old = {entry["name"] for entry in (previous or {}).get("files", {}).values()}
    for path in directory.iterdir():
        if path.name in files or path.name == MANIFEST or path.is_symlink() or not path.is_file():
            continue
        if path.name in old or _ORPHAN.match(path.name) or _TEMP.match(path.name):
            path.unlink(missing_ok=True)


def _check_types(path: Path, manifest: dict[str, Any]) -> None:
    files = manifest.get("files")
    if not isinstance(files, dict):
        raise IndexFormatError(f"{path}: 'files' is {type(files).__name__}, expected an object; rebuild the index")
    for key in ("paragraphs", "vectors", "faiss"):
        entry = files.get(key)
        if not isinstance(entry, dict):
            raise IndexFormatError(f"{path}: manifest lists no {key!r} file; rebuild the index")
        plain_name(path.parent, entry.get("name"), f"the manifest's {key!r} entry")
        if not isinstance(entry.get("bytes"), int) or not isinstance(entry.get("sha256"), str):
            raise IndexFormatError(f"{path}: the {key!r} entry needs 'bytes' (int) and 'sha256' (str); rebuild the index")
    embedder = manifest.get("embedder")
    if not isinstance(embedder, dict) or not isinstance(embedder.get("model_id"), str) or not isinstance(
        embedder.get("dim"), int
    ):
        raise IndexFormatError(f"{path}: 'embedder' must be an object with 'model_id' (str) and 'dim' (int)")
    for key, kind in (("sources", list), ("counts", dict), ("requested_kind", str), ("generation", str)):
        if key in manifest and not isinstance(manifest[key], kind):
            raise IndexFormatError(f"{path}: {key!r} is {type(manifest[key]).__name__}, expected {kind.__name__}")


def read_manifest(directory: Path) -> dict[str, Any]:
    """Read and check ``DIR/manifest.json``; raises :class:`IndexFormatError`."""
    if not directory.exists():
        raise IndexFormatError(f"{directory}: no such index directory")
    if not directory.is_dir():
        raise IndexFormatError(f"{directory}: is a file, not an index directory")
    path = directory / MANIFEST
    if not path.exists():
        raise IndexFormatError(
            f"{directory}: not a paratopic index (no {MANIFEST}); build one with `paratopic index INPUT --out {directory}`"
        )
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise IndexFormatError(f"{path}: manifest is corrupted ({exc}); rebuild the index") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        found = manifest.get("format") if isinstance(manifest, dict) else type(manifest).__name__
        raise IndexFormatError(f"{path}: not a paratopic index manifest (format {found!r})")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise IndexFormatError(
            f"{path}: index format version {manifest.get('format_version')!r}; this paratopic reads version "
            f"{FORMAT_VERSION}. Rebuild the index with this version."
        )
    _check_types(path, manifest)
    return manifest


def verify_file(directory: Path, entry: dict[str, Any]) -> Path:
    """Return the path of a manifest file entry after checking size and checksum."""
    path = plain_name(directory, entry.get("name"), "the manifest")
    if not path.exists():
        raise IndexFormatError(f"{path}: missing (the manifest names it); the index directory is incomplete")
    if path.stat().st_size != entry.get("bytes"):
        raise IndexFormatError(
            f"{path}: {path.stat().st_size} bytes, the manifest says {entry.get('bytes')}; the file is truncated or altered"
        )
    if sha256_file(path) != entry.get("sha256"):
        raise IndexFormatError(f"{path}: checksum does not match the manifest; the file is corrupted")
    return path


def manifest_digest(directory: Path) -> str | None:
    """SHA-256 of ``DIR/manifest.json`` (which generation is on disk), or None."""
    try:
        return hashlib.sha256((directory / MANIFEST).read_bytes()).hexdigest()
    except OSError:
        return None


def save_index(index: Any, directory: Path, manifest: dict[str, Any], origin: tuple[str, str | None] | None) -> tuple[str, str | None]:
    """Write ``index`` as a new generation in ``directory`` under its writer
    lock; returns the new origin (folder, manifest digest) for the next save."""
    import faiss
    import numpy as np

    from embed.errors import IndexChangedError
    from embed.locking import writer_lock

    check_target(directory)
    with writer_lock(directory):
        check_target(directory)
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
        with create_exclusive(directory / names["paragraphs"]) as handle:
            _write_parquet(index.paragraphs, handle)
        with create_exclusive(directory / names["vectors"]) as handle:
            np.save(handle, index.vectors, allow_pickle=False)
        with create_exclusive(directory / names["faiss"]) as handle:
            handle.write(faiss.serialize_index(index._faiss).tobytes())
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
    from embed.reading import PARAGRAPH_COLUMNS

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
    import json

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


def load_index(directory: Path, required: list[str]) -> tuple[dict[str, Any], Any, Any, Any, tuple[str, str | None]]:
    """Read and check a saved index: (manifest, paragraphs, vectors, FAISS index, origin)."""
    import faiss
    import numpy as np
    import pandas as pd

    digest = manifest_digest(directory)
    manifest = read_manifest(directory)
    files = manifest["files"]
    try:
        paragraphs = pd.read_parquet(verify_file(directory, files["paragraphs"]))
        path = verify_file(directory, files["vectors"])
        # a large vectors file is memory-mapped (read-only): opening an index of millions needs little RAM
        vectors = np.load(path, allow_pickle=False, mmap_mode="r" if path.stat().st_size >= MMAP_FROM_BYTES else None)
        index = faiss.read_index(str(verify_file(directory, files["faiss"])))
    except IndexFormatError:
        raise
    except Exception as exc:
        raise IndexFormatError(f"{directory}: could not read the index files ({exc}); rebuild the index") from exc
    missing = [c for c in required if c not in paragraphs.columns]
    if missing or vectors.ndim != 2 or len(vectors) != len(paragraphs) or index.ntotal != len(vectors):
        raise IndexFormatError(
            f"{directory}: files disagree ({len(paragraphs)} paragraphs, vectors {vectors.shape}, "
            f"{index.ntotal} in FAISS, missing columns {missing}); rebuild the index"
        )
    if vectors.shape[1] != manifest["embedder"]["dim"]:
        raise IndexFormatError(
            f"{directory}: vectors have {vectors.shape[1]} dimensions, the manifest says {manifest['embedder']['dim']}"
        )
    paragraphs = paragraphs.astype({"boilerplate_reason": object, "duplicate_of": object})
    paragraphs = paragraphs.where(paragraphs.notna(), None) if len(paragraphs) else paragraphs
    return manifest, paragraphs, vectors, index, (str(directory.resolve()), digest)
