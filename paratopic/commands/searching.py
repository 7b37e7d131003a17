"""``paratopic search``, ``similar`` and ``info``: reading an index."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

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
    from cluster.workspace import Workspace

    setup_logging(verbose)
    workspace = Workspace.load(directory, notify=say)
    idx = workspace.index
    table = Table(title=Text(str(workspace.directory), style="italic"), show_header=False)
    table.add_column("key", overflow="fold", max_width=28)
    table.add_column("value", overflow="fold")  # long values (the model id) wrap, never cut with an ellipsis
    for key, value in idx.info().items():
        table.add_row(key, Text(str(value)))
    reasons = idx.paragraphs["boilerplate_reason"].dropna().value_counts()
    for reason, count in reasons.items():
        table.add_row(Text(f"  boilerplate: {reason}"), str(count))
    for key, value in _date_counts(idx.paragraphs).items():
        table.add_row(key, Text(value))
    console.print(table)


def _date_counts(paragraphs: Any) -> dict[str, str]:
    """Rows for ``info``: how many documents carry a date, and how many dates could not be read (examples)."""
    from embed.read.articles import DATE_COLUMN, UNREAD_DATE_COLUMN

    if DATE_COLUMN not in paragraphs.columns:
        return {}
    docs = paragraphs.drop_duplicates("doc_id")
    rows = {"documents with a date": f"{int(docs[DATE_COLUMN].notna().sum())} of {len(docs)}"}
    if UNREAD_DATE_COLUMN in docs.columns and docs[UNREAD_DATE_COLUMN].notna().any():
        unread = docs[docs[UNREAD_DATE_COLUMN].notna()]
        examples = ", ".join(repr(str(v)) for v in unread[UNREAD_DATE_COLUMN].head(3))
        rows["dates not read (left empty)"] = f"{len(unread)}, e.g. {examples}"
    return rows
