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
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import uuid
from pathlib import Path
from typing import Any

from embed.errors import IndexFormatError

__all__ = ["write_atomic", "new_generation", "commit_manifest", "read_manifest", "verify_file", "sha256_file"]

logger = logging.getLogger(__name__)

MANIFEST = "manifest.json"
FORMAT = "paratopic-index"
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


def commit_manifest(directory: Path, manifest: dict[str, Any]) -> None:
    """Swap in ``manifest`` atomically, then remove files no manifest names."""
    files = {entry["name"] for entry in manifest["files"].values()}
    for entry in manifest["files"].values():
        entry["sha256"] = sha256_file(directory / entry["name"])
        entry["bytes"] = (directory / entry["name"]).stat().st_size
    write_atomic(directory / MANIFEST, json.dumps(manifest, indent=2, ensure_ascii=False).encode("utf-8"))
    for stale in directory.iterdir():
        if stale.name != MANIFEST and stale.name not in files and stale.name.split("-")[0] in {
            "paragraphs", "vectors", "index", ".paragraphs", ".vectors", ".index",
        }:
            stale.unlink(missing_ok=True)


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
        raise IndexFormatError(f"{path}: not a paratopic index manifest (format {manifest.get('format')!r})")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise IndexFormatError(
            f"{path}: index format version {manifest.get('format_version')!r}; this paratopic reads version "
            f"{FORMAT_VERSION}. Rebuild the index with this version."
        )
    for key in ("paragraphs", "vectors", "faiss"):
        if key not in manifest.get("files", {}):
            raise IndexFormatError(f"{path}: manifest lists no {key!r} file; rebuild the index")
    return manifest


def verify_file(directory: Path, entry: dict[str, Any]) -> Path:
    """Return the path of a manifest file entry after checking size and checksum."""
    path = directory / entry["name"]
    if not path.exists():
        raise IndexFormatError(f"{path}: missing (the manifest names it); the index directory is incomplete")
    if path.stat().st_size != entry.get("bytes"):
        raise IndexFormatError(
            f"{path}: {path.stat().st_size} bytes, the manifest says {entry.get('bytes')}; the file is truncated or altered"
        )
    if sha256_file(path) != entry.get("sha256"):
        raise IndexFormatError(f"{path}: checksum does not match the manifest; the file is corrupted")
    return path
