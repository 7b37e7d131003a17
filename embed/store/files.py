"""Files written and read safely: atomic writes, regular-file reads, checksums, bounded JSON and ``.npy``.

The building blocks of every saved state (the index, topic models, stories, reports, the e5 engine):

- :func:`write_atomic` writes through a temporary file that it locks while it lives, fsyncs and renames into
  place; :func:`clean_temps` removes what killed writes left (a temporary file nobody holds a lock on).
- :func:`open_regular` / :func:`read_regular` open only regular files (never a symlink, FIFO, device or folder),
  :func:`plain_name` checks that a name read from a file is a plain name inside its folder.
- :func:`parse_json` and :func:`read_npy` bound what a file may make this process allocate or recurse into.
- :func:`save_failure` turns an OSError into a one-line :class:`~embed.errors.SaveError` naming the path.

It imports nothing of paratopic but its errors, so every layer may use it.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import logging
import os
import re
import stat
import uuid
from pathlib import Path
from typing import Any, BinaryIO

from embed.errors import IndexFormatError, SaveError

__all__ = [
    "write_atomic", "sha256_file", "sha256_handle", "plain_name", "create_exclusive", "clean_temps", "open_regular",
    "read_regular", "read_npy", "check_depth", "parse_json", "save_failure", "os_cause", "temp_pattern",
    "remove_unneeded", "create_temp", "LOCK_NAME", "MAX_DEPTH",
]

logger = logging.getLogger(__name__)

#: The writer lock file of a paratopic folder (``embed.store.locking``); a folder's own, never user data.
LOCK_NAME = ".paratopic.lock"
#: JSON read from saved state is nested at most this deep.
MAX_DEPTH = 32


def sha256_file(path: Path) -> str:
    with open(path, "rb") as handle:
        return sha256_handle(handle)


def sha256_handle(handle: BinaryIO) -> str:
    digest = hashlib.sha256()
    handle.seek(0)
    for block in iter(lambda: handle.read(1 << 20), b""):
        digest.update(block)
    handle.seek(0)
    return digest.hexdigest()



def os_cause(exc: OSError) -> str:
    code = errno.errorcode.get(exc.errno or -1)
    text = exc.strerror or str(exc) or type(exc).__name__
    return f"{text} ({code})" if code else text


def save_failure(where: Path | str, exc: OSError, what: str) -> SaveError:
    """The one-line :class:`SaveError` for an OSError raised while saving ``what`` into ``where``."""
    if isinstance(exc, SaveError):
        return exc
    path = exc.filename if isinstance(exc.filename, str) and exc.filename else str(where)
    error = SaveError(f"{path}: could not save {what}: {os_cause(exc)}; what was saved there before is unchanged")
    error.errno = exc.errno
    return error


def temp_pattern(name: str) -> re.Pattern[str]:
    """The names :func:`write_atomic` gives its temporary files for ``name``."""
    return re.compile(rf"^\.{re.escape(name)}\.[A-Za-z0-9_]+\.tmp$")


def clean_temps(directory: Path, name: str) -> int:
    """Delete the temporary files that dead writes of ``directory / name`` left; returns how many.

    A live :func:`write_atomic` holds an exclusive ``flock`` on its temporary
    file until it is renamed, so a temporary file that can be locked belongs
    to a write that was killed. Symlinks and other non-regular files are left.
    """
    pattern = temp_pattern(name)
    removed = 0
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return 0
    for entry in entries:
        if not pattern.match(entry.name) or not entry.is_file(follow_symlinks=False):
            continue
        try:
            fd = os.open(entry.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            if os.stat(entry.path, follow_symlinks=False).st_ino == os.fstat(fd).st_ino:
                os.unlink(entry.path)
                removed += 1
        except OSError:
            pass  # held by a live write, or gone already
        finally:
            os.close(fd)
    if removed:
        logger.info("%s: removed %d temporary file(s) of interrupted writes of %s", directory, removed, name)
    return removed


def create_temp(path: Path) -> tuple[int, str]:
    """A new, empty temporary file next to ``path`` (``.<name>.<32 hex>.tmp``): its descriptor, open for
    writing, and its path.

    Created with ``O_CREAT | O_EXCL`` and mode 0o666, so the kernel applies the process's umask and the saved
    file gets the permissions of any other new file. ``tempfile.mkstemp`` always creates 0o600, and restoring
    the usual mode afterwards means reading the umask, which Python can only do by changing it process-wide
    (``os.umask``), a race with every other thread creating files meanwhile.
    """
    while True:
        tmp = str(path.parent / f".{path.name}.{uuid.uuid4().hex}.tmp")
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o666), tmp
        except FileExistsError:
            continue


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and ``os.replace``.

    Temporary files that earlier, killed writes of ``path`` left are removed
    first (:func:`clean_temps`). An OSError (disk full, read-only folder, ...)
    is a one-line :class:`SaveError`; ``path`` is then unchanged.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        clean_temps(path.parent, path.name)
        while True:
            fd, tmp = create_temp(path)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)  # marks it live for clean_temps in other processes
            except OSError:  # a file system without flock: nothing is cleaned there either (clean_temps skips)
                break
            try:
                if os.stat(tmp, follow_symlinks=False).st_ino == os.fstat(fd).st_ino:
                    break
            except FileNotFoundError:
                pass
            os.close(fd)  # a cleaner took it between creation and lock: take another
        with os.fdopen(fd, "wb") as handle:
            try:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
                os.replace(tmp, path)  # still holding the lock: nobody cleans it before it is in place
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
    except OSError as exc:
        raise save_failure(path, exc, path.name) from exc


def plain_name(directory: Path, name: object, what: str, error: type[Exception] = IndexFormatError) -> Path:
    """``directory / name`` after checking that ``name`` is a plain file name
    inside the folder (no separators, ``..``, absolute paths or symlinks)."""
    if (
        not isinstance(name, str) or not name or name in {".", ".."} or "/" in name or "\\" in name
        or "\x00" in name or os.path.isabs(name) or len(name) > 255
    ):
        raise error(f"{directory}: {what} names {name!r:.300}; expected a plain file name inside the folder")
    path = directory / name
    if path.is_symlink():
        raise error(f"{path}: is a symbolic link; {what} files must be regular files inside {directory}")
    return path


def open_regular(path: Path, error: type[Exception], what: str) -> BinaryIO:
    """Open ``path`` for reading if it is a regular file itself (not a symlink, FIFO, device or folder);
    anything else is ``error`` naming it. A missing file raises FileNotFoundError."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise error(f"{path}: is a symbolic link; {what} must be a regular file inside {path.parent}") from None
        raise error(f"{path}: cannot be read ({os_cause(exc)})") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        kind = "a folder" if stat.S_ISDIR(mode) else "a FIFO" if stat.S_ISFIFO(mode) else "not a regular file"
        raise error(f"{path}: is {kind}; {what} must be a regular file")
    os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


def read_regular(path: Path, error: type[Exception], what: str, limit: int) -> bytes:
    """The bytes of a regular file (see :func:`open_regular`) of at most ``limit`` bytes."""
    with open_regular(path, error, what) as handle:
        size = os.fstat(handle.fileno()).st_size
        if size > limit:
            raise error(f"{path}: {size} bytes; {what} is never larger than {limit} bytes, so this one was altered")
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise error(f"{path}: over {limit} bytes; {what} is never that large, so this one was altered")
    return data


def check_depth(value: object, path: Path, error: type[Exception], limit: int = MAX_DEPTH) -> None:
    """Refuse JSON nested deeper than ``limit`` (checked without recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth > limit:
                raise error(f"{path}: nested more than {limit} levels deep; the file was altered")
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))


def parse_json(data: bytes, path: Path, error: type[Exception], what: str) -> object:
    """JSON from ``data`` with its nesting bounded; a broken file is ``error`` naming ``path``."""
    try:
        document = json.loads(data.decode("utf-8"))
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        reason = "nested too deeply" if isinstance(exc, RecursionError) else f"{type(exc).__name__}: {exc}"
        raise error(f"{path}: {what} is corrupted ({reason})") from None
    check_depth(document, path, error)
    return document


def read_npy(handle: BinaryIO, path: Path, error: type[Exception], *, mmap: bool = False) -> Any:
    """An array from an open ``.npy`` file after checking its header against the file's size
    (a header claiming more than the file holds is refused before anything is allocated);
    object arrays are refused. ``mmap`` maps it read-only instead of reading it."""
    import numpy as np

    fmt = np.lib.format
    try:
        handle.seek(0)
        version = fmt.read_magic(handle)
        if version == (1, 0):
            shape, fortran, dtype = fmt.read_array_header_1_0(handle)
        elif version in ((2, 0), (3, 0)):
            shape, fortran, dtype = fmt.read_array_header_2_0(handle)
        else:
            raise ValueError(f"unsupported .npy version {version}")
    except (ValueError, OSError, SyntaxError, TypeError) as exc:
        raise error(f"{path}: not a readable .npy file ({exc})") from None
    if dtype.hasobject or dtype.itemsize == 0:
        raise error(f"{path}: holds {dtype} values; expected numbers")
    offset = handle.tell()
    count = 1
    for n in shape:
        count *= int(n)
    have = os.fstat(handle.fileno()).st_size - offset
    if count * dtype.itemsize != have:
        raise error(f"{path}: its header says {shape} {dtype} ({count * dtype.itemsize} bytes) but it holds {have}")
    order = "F" if fortran else "C"
    if mmap and count:
        return np.memmap(handle, dtype=dtype, mode="r", offset=offset, shape=shape, order=order)
    array = np.empty(shape, dtype=dtype, order=order)
    if count and handle.readinto(array.reshape(-1, order="A").view(np.uint8)) != have:
        raise error(f"{path}: shorter than its header says")
    return array


def create_exclusive(path: Path) -> Any:
    """Open a new file for writing; fails if anything (a file, a symlink) is already there."""
    return open(path, "xb")



def remove_unneeded(directory: Path, keep: set[str], deletable: re.Pattern[str]) -> None:
    """Delete the regular files matching ``deletable`` that are not in ``keep`` (never symlinks or folders)."""
    for entry in os.scandir(directory):
        if entry.name in keep or not deletable.match(entry.name) or not entry.is_file(follow_symlinks=False):
            continue
        try:
            os.unlink(entry.path)
        except FileNotFoundError:
            pass
        except OSError as exc:  # the new generation is in place; an old file left behind is cleaned next time
            logger.warning("%s: could not remove %s (%s)", directory, entry.name, os_cause(exc))

