"""Building (and embedding for) a paragraph index on a Ray cluster: the ``paratopic[ray]`` extra.

Public names are imported on first use (PEP 562), so importing the package costs nothing until one is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from embed.lazy import lazy_exports

_LAZY = {
    "build_distributed": "embed.distributed.build",
    "embed_distributed": "embed.distributed.build",
    "read_distributed": "embed.distributed.reading",
    "ray_session": "embed.distributed.session",
    "DistributedReport": "embed.distributed.session",
}

if TYPE_CHECKING:
    from embed.distributed.build import build_distributed, embed_distributed
    from embed.distributed.reading import read_distributed
    from embed.distributed.session import DistributedReport, ray_session

__getattr__, __dir__ = lazy_exports("embed.distributed", _LAZY, globals())

__all__ = ["build_distributed", "embed_distributed", "read_distributed", "ray_session", "DistributedReport"]
