"""Building (and embedding for) a paragraph index on a Ray cluster: the ``paratopic[ray]`` extra.

Public names are imported on first use (PEP 562), so importing the package costs nothing until one is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from embed.lazy import lazy_exports

_LAZY = {
    "build_distributed": "embed.distributed.build",
    "embed_distributed": "embed.distributed.build",
    "read_distributed": "embed.distributed.build",
    "ray_session": "embed.distributed.build",
    "DistributedReport": "embed.distributed.build",
}

if TYPE_CHECKING:
    from embed.distributed.build import (
        DistributedReport,
        build_distributed,
        embed_distributed,
        ray_session,
        read_distributed,
    )

__getattr__, __dir__ = lazy_exports("embed.distributed", _LAZY, globals())

__all__ = ["build_distributed", "embed_distributed", "read_distributed", "ray_session", "DistributedReport"]
