"""``paratopic search``, ``similar`` and ``info``: reading an index."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table
from rich.text import Text

from paratopic.commands.common import (
    Duplicates,
    IncludeFlagged,
    IndexDir,
    JsonOutput,
    Verbose,
    console,
    guarded,
    say,
    setup_logging,
)

if TYPE_CHECKING:
    from embed import ParagraphIndex, SearchResults

__all__ = ["search", "similar", "info"]


def _with_saved_stories(directory: Path) -> ParagraphIndex:
    """The index in DIRECTORY; when DIR/stories holds its stories, with a ``story`` column, so that grouped
    results gather each story's hits under its best one (on ViMs: nDCG@10 0.95 vs 0.90 by cosine alone,
    benchmarks/results/search_groups.md). Stories that cannot be used are skipped with a note."""
    from cluster.workspace import Workspace

    return Workspace.load(directory, stories=True, notify=say).index


def _print_hits(hits: SearchResults, as_json: bool) -> None:
    if as_json:
        console.print_json(hits.to_json())  # one object per group, its other hits under "members"
    elif len(hits) == 0:
        say("no hits")
    else:
        console.print(hits)


@guarded
def search(
    directory: IndexDir,
    query: Annotated[list[str], typer.Argument(help="One or more query texts.")],
    k: Annotated[int, typer.Option("-k", help="Groups (with --duplicates hide/show: hits) per query.")] = 5,
    include_flagged: IncludeFlagged = False,
    duplicates: Duplicates = "group",
    json_output: JsonOutput = False,
    verbose: Verbose = False,
) -> None:
    """Find the paragraphs most similar to a query text."""
    setup_logging(verbose)
    hits = _with_saved_stories(directory).search(query, k=k, include_flagged=include_flagged, duplicates=duplicates)
    _print_hits(hits, json_output)


@guarded
def similar(
    directory: IndexDir,
    paragraph_id: Annotated[list[str], typer.Argument(help="Paragraph id(s), e.g. 000_bafd0c5b1fa3f0f2:7.")],
    k: Annotated[int, typer.Option("-k", help="Groups (with --duplicates hide/show: hits) per paragraph.")] = 5,
    other_documents: Annotated[bool, typer.Option(help="Only hits from other documents.")] = False,
    include_flagged: IncludeFlagged = False,
    duplicates: Duplicates = "group",
    json_output: JsonOutput = False,
    verbose: Verbose = False,
) -> None:
    """Find the paragraphs most like a stored paragraph ("more like this")."""
    setup_logging(verbose)
    hits = _with_saved_stories(directory).similar(
        paragraph_id, k=k, other_documents=other_documents, include_flagged=include_flagged, duplicates=duplicates,
    )
    _print_hits(hits, json_output)


@guarded
def info(
    directory: IndexDir,
    verbose: Verbose = False,
) -> None:
    """Show what an index holds: counts, model, index kind, sources."""
    from embed.store.summary import index_summary

    setup_logging(verbose)
    folder = directory  # as cluster.workspace.folder.find_index, without importing cluster (and scikit-learn)
    if not (directory / "manifest.json").exists() and (directory / "index" / "manifest.json").is_file():
        say(f"using the index in {directory / 'index'}")
        folder = directory / "index"
    table = Table(title=Text(str(folder), style="italic"), show_header=False)
    table.add_column("key", overflow="fold", max_width=28)
    table.add_column("value", overflow="fold")  # long values (the model id) wrap, never cut with an ellipsis
    for key, value in index_summary(folder).items():  # the manifest and a few columns: no pandas, no FAISS
        table.add_row(Text(key), Text(value))
    console.print(table)
