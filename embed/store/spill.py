"""Vectors assembled on disk instead of in memory: the driver side of a large build.

A distributed build gets its vectors back batch by batch, in any order.
:class:`VectorSpill` writes each batch straight to its rows of a
disk-backed array (``numpy.memmap`` over a file in ``spill_dir``), copies
the vectors of duplicate paragraphs from their first copy, and hands the
array to :class:`embed.ParagraphIndex` as its ``vectors``. The driver
therefore never holds the collection's vectors in RAM: written pages are
flushed and released from the process as it goes, and the operating system
keeps what it has room for in its page cache. Saving the index copies the
file into the index directory (sequential I/O); a saved index of that size
is memory-mapped again on load (``embed.store.storage.MMAP_FROM_BYTES``).

The file is unlinked as soon as it is mapped (POSIX), so it is freed
whatever happens to the process; where that is not possible it is removed
when the array is garbage-collected.

>>> spill = VectorSpill(3, 2)
>>> spill.write(np.array([2, 0]), np.array([[0, 1], [1, 0]], dtype=np.float32))
>>> spill.copy_rows(np.array([1]), np.array([0]))
>>> spill.finish().tolist()
[[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]]
"""

from __future__ import annotations

import contextlib
import logging
import mmap
import os
import tempfile
import weakref
from pathlib import Path

import numpy as np

__all__ = ["VectorSpill"]

logger = logging.getLogger(__name__)

#: Bytes written between flushes that release the written pages from the process.
RELEASE_EVERY_BYTES = 256 << 20
#: Rows copied at a time when filling duplicates.
COPY_CHUNK = 65_536


class VectorSpill:
    """A ``(rows, dim)`` float32 array on disk, filled by row positions.

    Args:
        rows: number of rows (paragraphs).
        dim: vector dimension.
        spill_dir: folder for the backing file (default: the system's
            temporary folder; pass a folder on the disk the index will be
            saved to when the collection is large: it needs ``rows * dim * 4`` bytes).
    """

    def __init__(self, rows: int, dim: int, spill_dir: str | Path | None = None) -> None:
        folder = Path(spill_dir) if spill_dir is not None else Path(tempfile.gettempdir())
        folder.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(prefix="paratopic-vectors-", suffix=".npy", dir=folder)
        os.close(handle)
        self.array = np.lib.format.open_memmap(name, mode="w+", dtype=np.float32, shape=(rows, dim))
        try:
            os.unlink(name)  # the mapping keeps the data; the disk space is freed when it is closed
        except OSError:  # pragma: no cover - platforms that cannot unlink an open file
            weakref.finalize(self.array, _remove, name)
        self.written = np.zeros(rows, dtype=bool)
        self._since_release = 0
        logger.debug("spilling %d x %d vectors to %s", rows, dim, folder)

    def write(self, rows: np.ndarray, vectors: np.ndarray) -> None:
        """Store ``vectors`` at row positions ``rows``."""
        rows = np.asarray(rows, dtype=np.int64)
        self.array[rows] = vectors
        self.written[rows] = True
        self._since_release += vectors.nbytes
        if self._since_release >= RELEASE_EVERY_BYTES:
            self.release()

    def copy_rows(self, rows: np.ndarray, sources: np.ndarray) -> None:
        """Give rows ``rows`` the vectors of rows ``sources`` (duplicates share their first copy's vector)."""
        rows = np.asarray(rows, dtype=np.int64)
        sources = np.asarray(sources, dtype=np.int64)
        for start in range(0, len(rows), COPY_CHUNK):
            part = slice(start, start + COPY_CHUNK)
            self.write(rows[part], self.array[sources[part]])

    def missing(self) -> np.ndarray:
        """Row positions no vector was written to."""
        return np.flatnonzero(~self.written)

    def release(self) -> None:
        """Write dirty pages to the file and drop them from this process's memory."""
        self.array.flush()
        self._since_release = 0
        mapping = self.array.base  # a numpy.memmap's buffer: the mmap.mmap over the whole file
        with contextlib.suppress(AttributeError, OSError, ValueError):  # madvise: Linux and macOS only
            if isinstance(mapping, mmap.mmap):
                mapping.madvise(mmap.MADV_DONTNEED)

    def finish(self) -> np.ndarray:
        """The filled array (a ``numpy.memmap``), flushed."""
        self.release()
        return self.array


def _remove(name: str) -> None:  # pragma: no cover - see VectorSpill.__init__
    with contextlib.suppress(OSError):
        os.unlink(name)
