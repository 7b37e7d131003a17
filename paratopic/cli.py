"""The ``paratopic`` command line: the app, its ``--version``, and the commands (in :mod:`paratopic.commands`),
which parse options, call :class:`cluster.workspace.Workspace` and the public API of ``embed`` and ``cluster``,
and print. ``os_error_message`` is kept here for callers of the former single-module CLI."""

from __future__ import annotations

from typing import Annotated

import typer

from paratopic.commands import indexing, searching, serving, stories, topics
from paratopic.commands.common import console, os_error_message

__all__ = ["app", "main", "os_error_message"]

app = typer.Typer(
    help="Semantic similarity and topic discovery over news paragraphs.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _print_version(value: bool) -> None:
    if value:
        from paratopic import __version__

        console.print(f"paratopic {__version__}", highlight=False, markup=False)
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[bool, typer.Option("--version", callback=_print_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """Semantic similarity and topic discovery over news paragraphs."""


for command in (indexing.index, searching.search, searching.similar, searching.info, topics.topics, topics.report,
                stories.stories, indexing.run, serving.serve):
    app.command()(command)


if __name__ == "__main__":  # pragma: no cover
    app()
