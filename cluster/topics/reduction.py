"""UMAP without the waits: numba code cached on disk, neighbours from FAISS.

Two costs used to come with every ``topics`` / ``report`` / ``run`` in a new
process (measured on 2 cores):

- umap-learn compiles its numba functions on first use and caches almost
  none of them (1 of its ~100 ``njit`` functions has ``cache=True``):
  ~9 s for a 300-point fit, every process. :func:`import_umap` imports it
  with ``cache=True`` made the default for the functions it defines, into
  ``<paratopic cache>/numba`` (unless ``NUMBA_CACHE_DIR`` is set): the
  second process fits the same 300 points in 0.3 s.
- pynndescent, which UMAP uses for nearest neighbours from 4,096 points (or
  with ``force_approximation_algorithm``), builds its search functions as
  closures at run time, which numba cannot cache: ~23 s of compiling in
  every process. :func:`knn_graph` computes the neighbours with FAISS
  instead and hands them to UMAP (``precomputed_knn``): no compiling, and
  exact up to :data:`EXACT_KNN_UP_TO` vectors.
"""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

__all__ = ["import_umap", "knn_graph", "make_umap", "fit_umap", "numba_cache_dir", "EXACT_KNN_UP_TO"]

logger = logging.getLogger(__name__)

#: Up to this many vectors the neighbour graph is exact (FAISS flat); above,
#: an IVF index (recall@15 ~0.97 at 100k, measured in benchmarks/bench_pipeline.py).
EXACT_KNN_UP_TO = 20_000

_umap: ModuleType | None = None


def numba_cache_dir() -> Path:
    """Where compiled numba code is kept: ``$NUMBA_CACHE_DIR``, else ``<paratopic cache>/numba``."""
    if os.environ.get("NUMBA_CACHE_DIR"):
        return Path(os.environ["NUMBA_CACHE_DIR"])
    from embed.store.cache import cache_root

    return cache_root() / "numba"


def import_umap() -> ModuleType:
    """``import umap``, with the numba functions it defines cached on disk.

    While umap (and pynndescent) are imported, ``numba.njit`` / ``numba.jit``
    default to ``cache=True``; they are restored right after. If umap was
    already imported elsewhere in the process, it is returned as it is.

    Why the patch and not a setting: numba has no option that makes ``cache=True`` the default
    (``NUMBA_CACHE_DIR`` only says where cached code goes), and umap-learn 0.5 asks for it on 1 of its
    123 numba functions (pynndescent 0.5-0.7 already on 176 of 339). Measured (2 busy cores, 300-point fit,
    a fresh ``NUMBA_CACHE_DIR`` each, seconds import + fit): with the patch cold 56.2 + 16.8, warm 5.6 + 0.9;
    plain ``import umap`` with only ``NUMBA_CACHE_DIR`` cold 46.6 + 16.3, warm 5.7 + 14.3 (the fit
    recompiles umap's functions in every process). Same embedding either way.
    """
    global _umap
    if _umap is not None:
        return _umap
    import sys

    if "umap" in sys.modules:
        _umap = sys.modules["umap"]
        return _umap
    import numba
    from numba.core import config

    if not os.environ.get("NUMBA_CACHE_DIR"):
        config.CACHE_DIR = str(numba_cache_dir())
    original = numba.njit, numba.jit

    def cached(decorator: Any) -> Any:
        def decorate(*args: Any, **kwargs: Any) -> Any:
            kwargs.setdefault("cache", True)
            return decorator(*args, **kwargs)

        return decorate

    cache = Path(config.CACHE_DIR) if not os.environ.get("NUMBA_CACHE_DIR") else numba_cache_dir()
    if not any(cache.glob("pynndescent_*/rp_trees.*.nbi")):
        # measured on 2 cores: 17.7 s the first time (pynndescent's rp_trees alone 12.8 s), 2.5 s once cached
        logger.warning("compiling UMAP's numba code, once for this machine (about 20 s; cached in %s)", cache)
    numba.njit, numba.jit = cached(original[0]), cached(original[1])
    try:
        import umap
    finally:
        numba.njit, numba.jit = original
    _umap = umap
    return umap


def knn_graph(vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Each unit vector's ``k`` nearest neighbours (itself first) and cosine distances.

    Exact (FAISS inner product) up to :data:`EXACT_KNN_UP_TO` vectors, IVF
    above. Returns ``(indices int64 (n, k), distances float32 (n, k))`` in
    the form UMAP's ``precomputed_knn`` expects.
    """
    import faiss

    x = np.ascontiguousarray(vectors, dtype=np.float32)
    n, dim = x.shape
    k = max(1, min(k, n))
    if n <= EXACT_KNN_UP_TO:
        index = faiss.IndexFlatIP(dim)
        index.add(x)
    else:
        from embed.store.ann import build_ivf

        index = build_ivf(x, nprobe=16)
    sims, idx = index.search(x, k)
    # the point itself first (identical vectors may come back in either order)
    own = np.arange(n)
    not_first = idx[:, 0] != own
    if not_first.any():
        rows = np.flatnonzero(not_first)
        for r in rows:
            others = [(j, s) for j, s in zip(idx[r], sims[r]) if j != r][: k - 1]
            idx[r] = [r, *(j for j, _ in others)]
            sims[r] = [1.0, *(s for _, s in others)]
    missing = idx < 0  # IVF found fewer than k: repeat the point itself at distance 0
    idx[missing] = np.broadcast_to(own[:, None], idx.shape)[missing]
    sims[missing] = 1.0
    dist = np.clip(1.0 - sims, 0.0, 2.0).astype(np.float32)
    dist[:, 0] = 0.0
    return idx.astype(np.int64), dist


def make_umap(
    *, n_neighbors: int, n_components: int, min_dist: float, init: str, random_state: int | None,
    knn: tuple[np.ndarray, np.ndarray], n_epochs: int | None = None,
) -> Any:
    """A cosine UMAP that uses the neighbour graph ``knn`` instead of searching."""
    umap = import_umap()
    idx, dist = knn
    return umap.UMAP(
        n_neighbors=n_neighbors, n_components=n_components, min_dist=min_dist, metric="cosine", init=init,
        random_state=random_state, n_jobs=1 if random_state is not None else -1, low_memory=True,
        force_approximation_algorithm=True, precomputed_knn=(idx[:, :n_neighbors].copy(), dist[:, :n_neighbors].copy(), None),
        n_epochs=n_epochs,
    )


def fit_umap(reducer: Any, vectors: np.ndarray) -> np.ndarray:
    """``reducer.fit_transform(vectors)`` as float64, without UMAP's note that a
    precomputed neighbour graph rules out ``transform`` (topics never use it)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="precomputed_knn", category=UserWarning)
        return np.asarray(reducer.fit_transform(vectors), dtype=np.float64)
