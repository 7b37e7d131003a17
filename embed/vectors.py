"""Row normalisation, the one implementation in paratopic: every vector an index stores, every centroid and
every mean of vectors is scaled to unit L2 length here, so that an inner product is a cosine.

It imports only numpy, so every layer (engine, store, search, cluster) may use it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["unit_rows"]


def unit_rows(vectors: Any, *, dtype: Any = np.float32) -> np.ndarray:
    """``vectors`` with each row (the last axis) scaled to unit L2 length; an all-zero row stays zero.

    Args:
        vectors: an array-like of any shape; a 1-D vector is one row and comes back 1-D.
        dtype: of the result (and of the arithmetic); None keeps the input's floating type (float64 stays
            float64, integers become float64).

    >>> unit_rows([[3.0, 4.0], [0.0, 0.0]]).tolist()
    [[0.6000000238418579, 0.800000011920929], [0.0, 0.0]]
    """
    array = np.asarray(vectors)
    if dtype is None:
        dtype = array.dtype if np.issubdtype(array.dtype, np.floating) else np.float64
    array = np.asarray(array, dtype=dtype)
    norms = np.linalg.norm(array, axis=-1, keepdims=True)
    return array / np.where(norms == 0, 1, norms).astype(dtype, copy=False)
