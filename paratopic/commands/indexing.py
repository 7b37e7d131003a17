"""``paratopic index`` (build or grow an index) and ``paratopic run`` (the whole job)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from embed.errors import ParatopicError
from embed.names import INDEX_KINDS
from paratopic.commands.common import (
    Embedder,
    MonthFirst,
    OldModel,
    Verbose,
    check_embedder,
    console,
    either,
    guarded,
    one_of,
    say,
    setup_logging,
    writing,
)

if TYPE_CHECKING:
    from cluster.workspace import Workspace

__all__ = ["index", "run", "index_and_show"]


@guarded
def index(
    inputs: Annotated[list[Path], typer.Argument(help="Folders or files of articles (.txt, .jsonl, .csv, .parquet).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Index directory to create or extend.")],
    embedder: Embedder = None,
    kind: Annotated[str, typer.Option(callback=one_of(INDEX_KINDS), help="FAISS index: auto, flat, hnsw, ivf or ivfsq (millions, bounded memory).")] = "auto",
    text_column: Annotated[str, typer.Option(help="Text column of tables.")] = "text",
    id_column: Annotated[str | None, typer.Option(help="Document id column of tables.")] = None,
    title_column: Annotated[str | None, typer.Option(help="Title column of tables.")] = None,
    rebuild: Annotated[bool, typer.Option(help="Replace an existing index instead of adding to it.")] = False,
    cache: Annotated[bool, typer.Option(help="Use the embedding cache ($PARATOPIC_CACHE_DIR).")] = True,
    ray: Annotated[str | None, typer.Option("--ray", help="Embed on a Ray cluster (a new index, or what is added to one): 'auto' (the running one, else a local one) or its ADDRESS. Needs paratopic[ray].")] = None,
    month_first: MonthFirst = False,
    model: OldModel = None,
    verbose: Verbose = False,
) -> None:
    """Read articles, embed their paragraphs and save a searchable index.

    If OUT already holds an index (built with the same model), the new
    articles are added to it and only paragraphs never seen are embedded.
    """
    setup_logging(verbose)
    index_and_show(inputs, out, embedder=either(embedder, model, "--embedder and --model"), kind=kind,
                   read={"text_column": text_column, "id_column": id_column, "title_column": title_column},
                   rebuild=rebuild, cache=cache, ray=ray, month_first=month_first)


def index_and_show(inputs: list[Path], out: Path, *, embedder: str | None, kind: str, read: dict[str, Any],
                   rebuild: bool, cache: bool, ray: str | None, month_first: bool) -> Workspace:
    """Build or extend the index in ``out`` and print what was done (``index``, and the first step of ``run``)."""
    if month_first:
        if ray is not None:
            raise ParatopicError("--month-first is not supported with --ray yet; convert the dates to ISO YYYY-MM-DD first")
        read = {**read, "month_first": True}
    check_embedder(embedder)
    from cluster.workspace import Workspace

    writing.append(out)
    workspace, done = Workspace.index_articles(out, inputs, notify=say, embedder=embedder, kind=kind, read=read,
                                               rebuild=rebuild, cache=cache, ray=ray, show_progress=True)
    idx, stats = done.index, done.stats
    table = Table(title=Text(f"{'extended' if done.extended else 'built'} index {out}", style="italic"), show_header=False)
    table.add_column("key", overflow="fold", max_width=28)
    table.add_column("value", overflow="fold")  # long values (the model id) wrap, never cut with an ellipsis
    for key, value in {
        "documents added": stats.documents,
        "documents skipped (already indexed)": _skipped(stats),
        "paragraphs added": stats.paragraphs,
        "flagged boilerplate": stats.boilerplate,
        "flagged duplicates": stats.duplicates,
        "embedded now": stats.embedded,
        "from the embedding cache": stats.from_cache,
        "reused (duplicates / already indexed)": stats.reused,
        "paragraphs in index": len(idx),
        "model": idx.model_id,
        "FAISS index": idx.kind,
    }.items():
        table.add_row(key, Text(str(value)))
    console.print(table)
    return workspace


def _skipped(stats: Any) -> str:
    """The documents skipped as already indexed: their number and (the first 10 of) their ids."""
    ids = list(getattr(stats, "skipped_ids", []) or [])
    if not ids:
        return str(stats.skipped_documents)
    shown = ", ".join(ids[:10]) + (f" and {len(ids) - 10} more" if len(ids) > 10 else "")
    return f"{stats.skipped_documents}: {shown}"


@guarded
def run(
    inputs: Annotated[list[Path], typer.Argument(help="Folders or files of articles.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder: index/ and report.html go here.")],
    embedder: Embedder = None,
    title: Annotated[str | None, typer.Option(help="Report title.")] = None,
    month_first: MonthFirst = False,
    model: OldModel = None,
    verbose: Verbose = False,
) -> None:
    """The whole job: index the articles, fit topics and stories, write OUT/report.html and OUT/report.md."""
    from cluster.workspace import Workspace
    from embed.store.outputs import check_index_folder, check_output_file, is_index_folder

    setup_logging(verbose)
    index_dir = out / "index"
    if is_index_folder(out):
        raise ParatopicError(f"{out}: is an index; `paratopic run` writes OUT/index and the reports beside it, so give "
                             f"run a new folder, or add articles to this index with `paratopic index NEW --out {out}`")
    check_index_folder(index_dir, hint="`paratopic run` writes OUT/index and the reports beside it; give run a folder "
                                       "outside every index")
    for name in ("report.html", "report.md"):
        check_output_file(out / name)
    index_and_show(inputs, index_dir, embedder=either(embedder, model, "--embedder and --model"), kind="auto",
                   read={"text_column": "text", "id_column": None, "title_column": None}, rebuild=False, cache=True,
                   ray=None, month_first=month_first)
    workspace = Workspace.load(index_dir, notify=say)  # as saved: what every later command opens
    writing.append(index_dir / "topics")
    console.print(workspace.fit_topics(refit=True))
    writing.append(index_dir / "stories")
    story_model = workspace.fit_stories(refit=True)
    several = int((story_model.story_sizes_ >= 2).sum())
    console.print(f"stories: {several} told by two or more articles, {story_model.n_stories_ - several} by one")
    heading = title or f"Topics in {', '.join(map(str, inputs))}"
    writing.append(out / "report.html")
    path = workspace.write_report(out / "report.html", title=heading)
    writing.append(out / "report.md")
    workspace.write_report(out / "report.md", title=heading)
    console.print(Text(f"report: {path} (open it in a browser; Markdown beside it)"))
