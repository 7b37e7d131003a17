"""One writer at a time per index folder.

Every writer (``paratopic index`` from load to save, ``ParagraphIndex.save``,
a topic model's save) holds an OS-level lock on ``DIR/.paratopic.lock``
(``filelock``: ``fcntl.flock`` on POSIX, released by the OS when a process
dies). A second writer logs that it waits, and gives up after ``timeout``
seconds with :class:`IndexLockedError`. Readers never take the lock: a
save swaps the manifest in one atomic rename and keeps the generation it
replaced, so they always see a complete generation (:mod:`embed.store.storage`).

The lock file is opened without following symlinks: a ``.paratopic.lock``
that is a symlink (or a folder) is a one-line error, as is a folder where
it cannot be created (read-only, no permission: :class:`SaveError`).

The lock is re-entrant within a process (the CLI holds it around
``load`` / ``add`` / ``save``, and ``save`` takes it again): filelock's
singleton locks (``is_singleton=True``) give every ``writer_lock`` of one
folder the same lock object, which counts nested acquisitions.
"""

from __future__ import annotations

import errno
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from embed.errors import IndexFormatError, IndexLockedError
from embed.store.files import LOCK_NAME, save_failure

__all__ = ["writer_lock", "LOCK_NAME", "DEFAULT_TIMEOUT"]

logger = logging.getLogger(__name__)

#: Seconds a writer waits for another one (``$PARATOPIC_LOCK_TIMEOUT`` overrides).
DEFAULT_TIMEOUT = 600.0


def _timeout(timeout: float | None) -> float:
    if timeout is not None:
        return float(timeout)
    try:
        return float(os.environ.get("PARATOPIC_LOCK_TIMEOUT", DEFAULT_TIMEOUT))
    except ValueError:
        return DEFAULT_TIMEOUT


@contextmanager
def writer_lock(
    directory: str | Path, *, timeout: float | None = None, error: type[Exception] = IndexFormatError
) -> Iterator[None]:
    """Hold the writer lock of ``directory`` (created if missing) for the block.
    A lock file that is a symlink or not a regular file is ``error``; one that
    cannot be created is :class:`~embed.errors.SaveError`."""
    from filelock import FileLock, Timeout

    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise save_failure(directory, exc, "anything (the folder cannot be created)") from exc
    path = directory.resolve() / LOCK_NAME
    if path.is_symlink() or (path.exists() and not path.is_file()):
        raise error(f"{path}: is {'a symbolic link' if path.is_symlink() else 'not a regular file'}; the lock file "
                    "of a paratopic folder must be a regular file (remove it and try again)")
    lock = FileLock(str(path), thread_local=False, is_singleton=True)  # one per folder and process: re-entrant
    wait = _timeout(timeout)
    try:
        try:
            lock.acquire(timeout=0)
        except Timeout:
            logger.warning("%s: another process is writing this index; waiting up to %.0f s", directory, wait)
            try:
                lock.acquire(timeout=wait)
            except Timeout:
                raise IndexLockedError(
                    f"{directory}: another process is still writing this index after {wait:.0f} s (lock file {path}); "
                    "try again when it has finished, or raise PARATOPIC_LOCK_TIMEOUT"
                ) from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise error(f"{path}: is a symbolic link; the lock file of a paratopic folder must be a regular file "
                        "(remove it and try again)") from None
        raise save_failure(path, exc, "anything (the lock file cannot be opened)") from exc
    try:
        yield
    finally:
        lock.release()
