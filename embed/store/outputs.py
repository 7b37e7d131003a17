"""Where outputs may go: never onto what an index owns.

An index folder (``manifest.json`` of a paratopic index) owns its manifest,
its generation files (``paragraphs-<12 hex>.parquet``, ...), its lock and
hidden temporary files, and every sub-folder (``topics/``, the topic model;
``stories/``). A report written onto one of those replaced it
(``--out DIR/manifest.json`` left the index unloadable). So every ``--out``
is checked here before any work:

- :func:`check_output_file` (reports): not a file the index owns, nothing in
  a sub-folder of an index (or in a topic-model or stories folder), not a
  directory, its parent not a file (a new file beside the index's own, such
  as ``DIR/report.html``, is allowed);
- :func:`check_index_folder` (``index --out``, ``run --out``): not inside
  another index's folder, and not a folder that holds an index below it.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from embed.errors import InputError

__all__ = ["index_folder_above", "index_below", "check_output_file", "check_index_folder", "is_index_folder"]

#: Files that mark a folder as a paratopic index, or as a part of one.
_OWNED_MARKERS = ("topic_model.json", "stories.json")
_MANIFEST = "manifest.json"
#: Files in an index folder's top level that the index owns (besides the names its manifest lists).
_OWNED_FILE = re.compile(r"^(?:manifest\.json|\..*|(?:paragraphs|vectors|index)-[0-9a-f]{12}\.(?:parquet|npy|faiss))$")
_FORMAT = "paratopic-index"
#: How deep below a folder :func:`index_below` looks, and how many folders it visits at most.
_BELOW_DEPTH = 4
_BELOW_FOLDERS = 2000


def is_index_folder(folder: Path) -> bool:
    """True when ``folder`` holds a paratopic index manifest, or is a topic-model or stories folder."""
    manifest = folder / _MANIFEST
    if any((folder / name).is_file() for name in _OWNED_MARKERS):
        return True
    try:
        if not manifest.is_file() or manifest.stat().st_size > (1 << 20):
            return False
        with manifest.open("rb") as handle:
            data = json.loads(handle.read(1 << 20))
    except (OSError, ValueError, RecursionError):
        return False
    return isinstance(data, dict) and data.get("format") == _FORMAT


def index_folder_above(path: Path) -> Path | None:
    """The nearest folder that ``path`` lies inside (``path`` itself excluded) that is an index folder, or None."""
    path = Path(os.path.abspath(path))
    for folder in path.parents:
        if is_index_folder(folder):
            return _outermost(folder)
    return None


def _outermost(folder: Path) -> Path:
    """The index folder itself when ``folder`` is one of its parts (``topics/``, ``stories/``)."""
    parent = folder.parent
    return parent if parent != folder and (parent / _MANIFEST).is_file() and is_index_folder(parent) else folder


def index_below(folder: Path) -> Path | None:
    """An index folder strictly below ``folder`` (a few levels deep), or None."""
    if not folder.is_dir():
        return None
    visited = 0
    frontier = [(folder, 0)]
    while frontier:
        current, depth = frontier.pop(0)
        try:
            children = sorted(p for p in current.iterdir() if p.is_dir() and not p.is_symlink())
        except OSError:
            continue
        for child in children:
            visited += 1
            if visited > _BELOW_FOLDERS:
                return None
            if is_index_folder(child):
                return child
            if depth + 1 < _BELOW_DEPTH:
                frontier.append((child, depth + 1))
    return None


def _owned_by(owner: Path, path: Path) -> bool:
    """True when ``path`` (inside the index folder ``owner``) is, or may become, one of the index's own files."""
    path = Path(os.path.abspath(path))
    if path.parent != owner or not (owner / _MANIFEST).is_file():
        return True  # in a sub-folder (topics/, stories/), or in a topic-model or stories folder
    if _OWNED_FILE.match(path.name):
        return True
    try:
        with (owner / _MANIFEST).open("rb") as handle:
            named = json.loads(handle.read(1 << 20)).get("files", {})
    except (OSError, ValueError, RecursionError, AttributeError):
        return False
    entries = named.values() if isinstance(named, dict) else named if isinstance(named, list) else []
    names = {e.get("name") if isinstance(e, dict) else e for e in entries}
    return path.name in names


def check_output_file(path: Path, what: str = "report") -> None:
    """Refuse an output file that an index owns (:func:`_owned_by`), that is a directory, or whose parent is a file."""
    path = Path(path)
    owner = index_folder_above(path)
    if owner is not None and _owned_by(owner, path):
        raise InputError(
            f"{path}: belongs to the index in {owner} (its manifest, data files, lock, temporary files and "
            f"sub-folders are its own); write the {what} beside them (for example {owner / Path(path).name}) "
            f"or outside the index"
        )
    if path.is_dir():
        raise InputError(f"{path}: is a directory; give a file name for the {what} (for example {path / 'report.html'})")
    for parent in Path(os.path.abspath(path)).parents:
        if parent.exists():
            if not parent.is_dir():
                raise InputError(f"{path}: {parent} is a file, not a folder; choose another place for the {what}")
            break


def check_index_folder(folder: Path, *, hint: str = "") -> None:
    """Refuse to put an index in ``folder`` when it lies inside another index's folder or holds one below it
    (``folder`` being an index itself is fine: it is extended)."""
    owner = index_folder_above(folder)
    if owner is not None:
        raise InputError(
            f"{folder}: is inside the index folder {owner}; an index there would be written into that index's own "
            f"folder. {hint or f'To add articles to it: paratopic index NEW --out {owner}'}"
        )
    below = None if is_index_folder(folder) else index_below(folder)
    if below is not None:
        raise InputError(
            f"{folder}: holds the index {below} below it; give that index (paratopic index NEW --out {below}) "
            "or a new folder"
        )
