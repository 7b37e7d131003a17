"""The Ray side of the distributed build: joining or starting a cluster for a ``with`` block, turning a
failed task back into paratopic's own error, quiet Ray Data, and what a distributed run did
(:class:`DistributedReport`). Ray is imported only inside these functions."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from embed.errors import InputError, MissingDependencyError

__all__ = ["ray_session", "quiet", "DistributedReport", "LOCAL_OBJECT_STORE"]

logger = logging.getLogger(__name__)

#: Object store of a local cluster started here (bytes): small, Ray spills to disk beyond it.
LOCAL_OBJECT_STORE = 500_000_000


@dataclass
class DistributedReport:
    """What a distributed build did, for logs and benchmarks."""

    files: int = 0
    pieces: int = 0  #: read tasks: files, large ones cut in pieces (embed.read.pieces)
    workers: int = 0
    seconds: dict[str, float] = field(default_factory=dict)
    peak_rss_mb: dict[int, float] = field(default_factory=dict)  #: per embedding worker (pid)
    embedded_by: dict[int, int] = field(default_factory=dict)  #: texts embedded per worker (pid)


def _ray() -> Any:
    try:
        import ray
    except ImportError as exc:
        raise MissingDependencyError(
            "the distributed build needs Ray: pip install 'paratopic[ray]' (or pip install 'ray[data]')"
        ) from exc
    return ray


@contextlib.contextmanager
def ray_session(
    address: str | None = "auto", *, num_cpus: int | None = None, object_store_memory: int = LOCAL_OBJECT_STORE
) -> Iterator[Any]:
    """Connect to a Ray cluster for the duration of a ``with`` block.

    Args:
        address: ``"auto"`` joins the cluster this machine belongs to (``ray
            start``, ``RAY_ADDRESS``) and starts a local one bound to
            127.0.0.1 when there is none; ``"local"`` always starts a local
            one; anything else is a cluster address (``HOST:PORT`` or
            ``ray://HOST:PORT``). Already connected: that connection is used.
        num_cpus: CPUs of a local cluster started here (default: this machine's).
        object_store_memory: object store of a local cluster started here.

    Yields the ``ray`` module. A cluster started here is shut down at the end;
    one joined is left running.
    """
    ray = _ray()
    connected = ray.is_initialized()
    if not connected:
        _connect(ray, address, num_cpus, object_store_memory)
    try:
        yield ray
    except Exception as exc:
        cause = _paratopic_cause(exc)
        if cause is None:
            raise
        # bad input in a task: the same clear error as on one machine, without Ray's wrapping and retry advice
        raise type(cause)(str(cause).split("\nFailed to apply UDF", 1)[0]) from None
    finally:
        if not connected:
            ray.shutdown()


def _connect(ray: Any, address: str | None, num_cpus: int | None, object_store_memory: int) -> None:
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    local = {"num_cpus": num_cpus, "include_dashboard": False, "_node_ip_address": "127.0.0.1",
             "object_store_memory": object_store_memory, "log_to_driver": False}
    if address in (None, "auto"):
        try:
            ray.init(address="auto", log_to_driver=False)
            logger.info("joined the Ray cluster at %s", ray.get_runtime_context().gcs_address)
        except ConnectionError:
            logger.info("no Ray cluster running; starting a local one on 127.0.0.1")
            ray.init(address="local", **local)
    elif address == "local":
        ray.init(address="local", **local)
    else:
        try:
            ray.init(address=address, log_to_driver=False)
        except (ConnectionError, ValueError) as exc:
            raise InputError(f"cannot reach a Ray cluster at {address!r} ({exc}); start one with `ray start --head`") from exc


def _paratopic_cause(exc: BaseException) -> Exception | None:
    """The paratopic error (a bad input file, a model that cannot load) a Ray task failed with, if any."""
    from embed.errors import ParatopicError

    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ParatopicError) and not type(current).__module__.startswith("ray."):
            return current
        current = getattr(current, "cause", None) or current.__cause__ or current.__context__
    return None


def quiet(ray: Any) -> None:
    """No Ray Data progress bars or per-operator logs on the user's terminal (paratopic shows its own)."""
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    context.print_on_execution_start = False
    context.raise_original_map_exception = True  # a bad input file fails with paratopic's own error (ray_session)
    logging.getLogger("ray.data").setLevel(logging.CRITICAL)  # a failure is raised to the caller, whole

