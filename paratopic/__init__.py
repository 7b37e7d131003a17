"""The ``paratopic`` command; the library lives in the ``embed`` and ``cluster`` packages."""

from __future__ import annotations

__version__ = "0.1.0"
