"""Old name of :mod:`cluster.topics.sampled` (the README of release 1258a3b called ``cluster.sampled.fit_sampled``).

Deprecated: use :func:`cluster.topics.fit_sampled`; this module goes in the next release.
"""

from __future__ import annotations

import warnings

from cluster.topics.sampled import SampledTopics, fit_sampled

__all__ = ["fit_sampled", "SampledTopics"]

warnings.warn("cluster.sampled is deprecated; use cluster.topics.fit_sampled", DeprecationWarning, stacklevel=2)
