"""Exceptions raised by paratopic. Every message names the file, row or
value at fault and what was expected."""

from __future__ import annotations

__all__ = [
    "ParatopicError",
    "InputError",
    "IndexFormatError",
    "EmbedderMismatchError",
    "ModelLoadError",
    "MissingDependencyError",
    "IndexLockedError",
    "IndexChangedError",
    "SaveError",
]


class ParatopicError(Exception):
    """Base class of all errors paratopic raises on purpose."""


class InputError(ParatopicError, ValueError):
    """Articles could not be read: a missing, empty or undecodable file, a
    missing column, or a value of the wrong type."""


class IndexFormatError(ParatopicError):
    """A saved index directory is missing, incomplete or corrupted."""


class EmbedderMismatchError(ParatopicError):
    """An index is used with an embedder other than the one it was built with."""


class ModelLoadError(ParatopicError):
    """An embedding model could not be loaded."""


class MissingDependencyError(ParatopicError, ImportError):
    """An optional dependency is not installed; the message names the extra."""


class IndexLockedError(ParatopicError):
    """Another process holds an index folder's writer lock for longer than the timeout."""


class IndexChangedError(ParatopicError):
    """An index was saved by another writer after this one was loaded; saving would lose that writer's work."""


class SaveError(ParatopicError, OSError):
    """A save could not write its files (disk full, read-only folder, no permission, ...). The message names
    the path and the cause in one line; what was saved there before is intact."""
