"""Build or extend the index in a folder: the one writer at a time (the folder's writer lock, held from load
to save), the folder checked before any embedding, and a failed first build leaving no empty folder behind."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from embed.store.index import BuildStats, ParagraphIndex

__all__ = ["Indexed", "index_articles", "sum_stats"]


@dataclass
class Indexed:
    """What :func:`index_articles` did: the saved index, whether it extended one, and the counts."""

    index: ParagraphIndex
    extended: bool
    stats: BuildStats


def index_articles(
    out: str | Path,
    inputs: Sequence[str | Path],
    *,
    embedder: str | None = None,
    kind: str = "auto",
    read: Mapping[str, Any] | None = None,
    rebuild: bool = False,
    cache: bool = True,
    ray: str | None = None,
    show_progress: bool = False,
) -> Indexed:
    """Read the articles in ``inputs``, embed their paragraphs and save the index in ``out``.

    When ``out`` holds an index (and not ``rebuild``) the articles are added to it and only paragraphs
    never seen are embedded. ``read`` holds the reading options (``text_column``, ``id_column``,
    ``title_column``, ``month_first``); with ``ray`` (``"auto"`` or an address) the embedding runs on a Ray
    cluster. ``out`` may not lie in another index nor hold one below it, and a folder that is not an index
    is refused before any embedding (:func:`embed.store.storage.check_target`)."""
    from embed.store.locking import writer_lock
    from embed.store.outputs import check_index_folder
    from embed.store.storage import check_target

    out = Path(out)
    check_index_folder(out)
    check_target(out)
    created = created_folders(out)
    try:
        with writer_lock(out):  # one writer at a time, load to save: concurrent runs add in turn, none is lost
            return _index_into(out, list(inputs), embedder, kind, dict(read or {}), rebuild, cache, ray, show_progress)
    except BaseException:
        remove_if_only_lock(created)  # a failed first run leaves no folder holding only the lock file
        raise


def _index_into(out: Path, inputs: list[str | Path], embedder: str | None, kind: str, read: dict[str, Any],
                rebuild: bool, cache: bool, ray: str | None, show_progress: bool) -> Indexed:
    """Build or extend the index in ``out`` (the caller holds its writer lock)."""
    from embed.store.index import ParagraphIndex

    existing = (out / "manifest.json").exists() and not rebuild
    if ray is not None and not existing:
        from embed.distributed.build import build_distributed

        idx = build_distributed(*map(str, inputs), address=ray, embedder=embedder, kind=kind, cache=cache,
                                show_progress=show_progress, spill_dir=out.resolve().parent, **read)
        stats = idx.stats  # vectors waited on the disk the index goes to
    elif existing:
        idx = ParagraphIndex.load(out, embedder=embedder)
        if ray is not None:  # the cluster embeds into this machine's cache; the add below reads, flags and finds them there
            from embed.distributed.build import embed_distributed

            embed_distributed(*map(str, inputs), address=ray, embedder=idx.embedder, cache=cache,
                              show_progress=show_progress, **read)
        stats = None
        for source in inputs:
            part = idx.add(source, cache=cache, show_progress=show_progress, **read)
            stats = part if stats is None else sum_stats(stats, part)
    else:
        from embed.read.articles import read_corpus

        sources = [str(p) for p in inputs]
        table = read_corpus(*sources, **read)
        idx = ParagraphIndex.build(table, embedder=embedder, kind=kind, cache=cache, show_progress=show_progress)
        idx.sources = sources
        stats = idx.stats
    idx.save(out)
    return Indexed(index=idx, extended=existing, stats=stats)


def sum_stats(a: BuildStats, b: BuildStats) -> BuildStats:
    """Two builds' or adds' counts added up, field by field (the skipped ids joined)."""
    return type(a)(**{f.name: getattr(a, f.name) + getattr(b, f.name) for f in fields(a)})


def created_folders(folder: Path) -> list[Path]:
    """The folders a writer lock on ``folder`` would create (``folder`` and missing parents), deepest first."""
    missing = []
    current = Path(os.path.abspath(folder))
    while not current.exists() and current != current.parent:
        missing.append(current)
        current = current.parent
    return missing


def remove_if_only_lock(created: list[Path]) -> None:
    """After a failed first write: remove the folders it created when they hold nothing but the lock file."""
    from embed.store.locking import LOCK_NAME

    for folder in created:
        try:
            if not folder.is_dir() or any(p.name != LOCK_NAME for p in folder.iterdir()):
                return
            (folder / LOCK_NAME).unlink(missing_ok=True)
            folder.rmdir()
        except OSError:
            return
