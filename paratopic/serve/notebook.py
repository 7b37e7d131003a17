"""The explorer inside a Jupyter cell: ``paratopic.explore(index, topics, stories)``.

>>> import paratopic
>>> view = paratopic.explore("out/seeds/index")    # doctest: +SKIP
>>> view                                           # the cell shows the map, the search box and the results
>>> view.close()                                   # or leave it: it stops when the kernel exits

The view is the same FastAPI app ``paratopic serve`` runs, on uvicorn in a background thread bound to
127.0.0.1 on a free port, shown in an ``<iframe>`` of its ``/explore`` page. A server rather than a widget: the
search box needs the embedder, which lives in the kernel, and the app already answers every search, map, topic
and paragraph request (links in the cell open the same pages as the web app), so nothing is written twice and
no extension has to be installed in Jupyter. The iframe loads from 127.0.0.1: it shows where the browser runs on
the kernel's machine (a local Jupyter, VS Code); on a remote kernel, forward the port (``view.url`` says it).
"""

from __future__ import annotations

import atexit
import copy
import html
import logging
import threading
import time
import urllib.request
import weakref
from pathlib import Path
from typing import TYPE_CHECKING

from embed.errors import InputError

if TYPE_CHECKING:
    from cluster.stories.model import StoryModel
    from cluster.topics.model import TopicModel
    from cluster.workspace import Workspace
    from embed.store.index import ParagraphIndex

__all__ = ["explore", "ExplorerView"]

logger = logging.getLogger(__name__)
_OPEN: weakref.WeakSet[ExplorerView] = weakref.WeakSet()
#: Seconds to wait for the background server to listen.
START_TIMEOUT = 30.0


class ExplorerView:
    """A running explorer for a notebook: shows as an iframe of its ``/explore`` page.

    Attributes:
        url: the server's address, e.g. ``http://127.0.0.1:53117/``.
        workspace: what it serves.
        height: the iframe's height in pixels.
    """

    def __init__(self, workspace: Workspace, *, host: str = "127.0.0.1", port: int = 0, height: int = 720) -> None:
        import uvicorn

        from paratopic.serve.app import create_app
        from paratopic.serve.server import bind, server_class, url_of

        self.workspace = workspace
        self.height = height
        self._socket = bind(host, port)
        self.url = url_of(self._socket)
        config = uvicorn.Config(create_app(workspace), log_level="warning", h11_max_incomplete_event_size=16 * 1024,
                                timeout_graceful_shutdown=1, lifespan="off")
        self._server = server_class()(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._socket]},
                                        name=f"paratopic-explore-{self.port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.close()
                raise RuntimeError(f"the explorer's server on {self.url} did not start within {START_TIMEOUT:.0f} s")
            time.sleep(0.02)
        _OPEN.add(self)
        logger.info("paratopic explorer on %s", self.url)

    @property
    def port(self) -> int:
        return int(self._socket.getsockname()[1])

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def page(self, path: str = "explore") -> str:
        """The address of one of the explorer's pages (``"explore"``, ``"map"``, ``"topics"``, ``"?q=..."``)."""
        return self.url + path.lstrip("/")

    def get(self, path: str, timeout: float = 30.0) -> bytes:
        """The body the server answers for ``path`` (e.g. ``"api/status"``); raises on a non-2xx answer."""
        with urllib.request.urlopen(self.page(path), timeout=timeout) as response:  # noqa: S310 - our own server
            return response.read()

    def close(self) -> None:
        """Stop the server and free its port (also done when the interpreter exits)."""
        self._server.should_exit = True
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout=10)
        self._socket.close()
        _OPEN.discard(self)

    def __enter__(self) -> ExplorerView:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _repr_html_(self) -> str:
        src = html.escape(self.page("explore"), quote=True)
        if not self.running:
            return f"<p>The paratopic explorer that ran on {src} is closed.</p>"
        return (f'<iframe class="paratopic-explorer" src="{src}" width="100%" height="{int(self.height)}" '
                f'style="border: 1px solid #d9e2ec; border-radius: 4px" title="paratopic explorer"></iframe>'
                f'<div style="font-size: 0.85em; color: #627d98">paratopic explorer on '
                f'<a href="{src}" target="_blank" rel="noopener">{src}</a> · <code>.close()</code> stops it</div>')

    def __repr__(self) -> str:
        state = "running" if self.running else "closed"
        return f"ExplorerView({self.url!r}, {len(self.workspace.index)} paragraphs, {state})"


def workspace_of(source: str | Path | ParagraphIndex | Workspace, topics: TopicModel | None = None,
                 stories: StoryModel | None = None) -> Workspace:
    """A :class:`~cluster.workspace.Workspace` from an index folder, a Workspace or a ParagraphIndex in memory,
    with ``topics`` and ``stories`` (fitted on that index) taking the place of any saved ones."""
    from cluster.workspace import Workspace
    from embed.store.index import ParagraphIndex

    if isinstance(source, Workspace):
        workspace = copy.copy(source)
    elif isinstance(source, ParagraphIndex):
        where = source.directory if source.directory is not None else Path("(in memory)")
        workspace = Workspace(directory=Path(where), index=source)
    elif isinstance(source, (str, Path)):
        workspace = Workspace.open(source)
    else:
        raise InputError(f"explore() takes an index folder, a ParagraphIndex or a Workspace; got {type(source).__name__}")
    n = len(workspace.index)
    for name, model in (("topics", topics), ("stories", stories)):
        if model is not None and len(model.labels_) != n:
            raise InputError(f"the {name} were fitted on {len(model.labels_)} paragraphs but the index has {n}; "
                             f"fit them on this index")
    if topics is not None:
        workspace.topics = topics
    if stories is not None:
        workspace.stories = stories
        # Grouped search gathers a story's hits under its best one through the table's "story" column: give the
        # view its own shallow copy of the index with that column, leaving the caller's table as it was.
        index = copy.copy(workspace.index)
        index.paragraphs = index.paragraphs.assign(story=stories.labels_)
        workspace.index = index
    return workspace


def explore(source: str | Path | ParagraphIndex | Workspace, topics: TopicModel | None = None,
            stories: StoryModel | None = None, *, port: int = 0, height: int = 720) -> ExplorerView:
    """Show the explorer (map, search box, results) in a notebook cell, without a separate server command.

    Args:
        source: an index folder (as ``paratopic serve`` takes: its saved topics and stories are loaded), a
            :class:`embed.ParagraphIndex` in memory, or a :class:`cluster.workspace.Workspace`.
        topics: a :class:`cluster.TopicModel` fitted on that index (instead of the saved one); the map needs topics.
        stories: a :class:`cluster.StoryModel` fitted on it (search then groups hits by story).
        port: the local port (0: a free one).
        height: the cell's height in pixels.

    Returns:
        An :class:`ExplorerView`: the cell shows it; ``.url`` is its address, ``.close()`` stops it.
    """
    return ExplorerView(workspace_of(source, topics, stories), port=port, height=height)


@atexit.register
def _close_all() -> None:
    for view in list(_OPEN):
        view.close()
