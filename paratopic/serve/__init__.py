"""``paratopic serve``: a local web explorer over a saved index (needs the ``serve`` extra: FastAPI, uvicorn).

>>> from cluster.workspace import Workspace
>>> from paratopic.serve import create_app
>>> app = create_app(Workspace.open("out/seeds/index"))   # an ASGI app; run it with uvicorn
"""

from __future__ import annotations

from paratopic.serve.app import create_app
from paratopic.serve.notebook import ExplorerView, explore
from paratopic.serve.server import serve

__all__ = ["create_app", "serve", "explore", "ExplorerView"]
