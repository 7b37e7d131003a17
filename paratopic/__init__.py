"""The ``paratopic`` command and the notebook explorer; the library lives in the ``embed`` and ``cluster`` packages.

>>> import paratopic
>>> view = paratopic.explore("out/seeds/index")   # doctest: +SKIP  (the explorer in a Jupyter cell)
"""

from __future__ import annotations

from embed.lazy import lazy_exports

__version__ = "0.1.0"

#: Imported on first use: ``import paratopic`` (and the command line) does not load the web stack.
_LAZY = {"explore": "paratopic.serve.notebook", "ExplorerView": "paratopic.serve.notebook"}

__getattr__, __dir__ = lazy_exports("paratopic", _LAZY, globals())

__all__ = ["__version__", "explore", "ExplorerView"]
