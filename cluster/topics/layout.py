"""2-D map coordinates for every paragraph of a fitted topic model."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from cluster.topics.fitting import duplicate_sources, nearest_rows
from cluster.topics.params import MAP_NEIGHBORS
from cluster.topics.state import FittedTopics

__all__ = ["map_coordinates", "MAP_NEIGHBORS", "place_rows"]

logger = logging.getLogger(__name__)

#: From this many points the map's UMAP runs MAP_EPOCHS epochs, not UMAP's
#: default 500 (200 from 10k points): it is a picture, and at 10k paragraphs
#: this saved ~5 s of a 26 s fit. (Fewer epochs for the topic fit itself
#: cost ARI on VNTC: 0.48 -> 0.23 at 100 epochs, seed 0.)
MAP_FAST_FROM = 2_000
MAP_EPOCHS = 100


def _pca_2d(vectors: np.ndarray) -> np.ndarray:
    out = np.zeros((len(vectors), 2), dtype=np.float64)
    if len(vectors) < 2:
        return out
    centred = vectors - vectors.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    coords = centred @ vt[:2].T
    out[:, : coords.shape[1]] = coords
    return out


def map_coordinates(
    model: FittedTopics, *, random_state: int | None = None, knn: tuple[np.ndarray, np.ndarray] | None = None
) -> np.ndarray:
    """(n_rows, 2) coordinates: a 2-D UMAP of the fitted vectors (PCA on
    tiny inputs); each paragraph left out of the fit is placed at the point
    of the paragraph it duplicates, else at its nearest fitted neighbour.

    ``fit`` computes them once, from the neighbour graph it already has
    (``knn``), and they are saved with the model: a report never waits on
    them. With cached numba code this is a fraction of a second for
    hundreds of paragraphs.
    """
    table = model.index.paragraphs
    vectors = np.asarray(model.index.vectors, dtype=np.float32)
    mask = model.fitted_mask_
    fitted = vectors[mask]
    n = len(fitted)
    coords = np.zeros((len(table), 2), dtype=np.float64)
    if n == 0:
        return _pca_2d(vectors) if len(vectors) else coords
    if n < 10 or not model.n_topics_:
        xy = _pca_2d(fitted)
    else:
        from cluster.topics.reduction import fit_umap, knn_graph, make_umap

        neighbours = min(MAP_NEIGHBORS, n - 1)
        reducer = make_umap(
            n_neighbors=neighbours, n_components=2, min_dist=0.1, init=model.params_.get("init", "random"),
            random_state=random_state, knn=knn if knn is not None else knn_graph(fitted, neighbours),
            n_epochs=MAP_EPOCHS if n >= MAP_FAST_FROM else None,
        )
        logger.info("computing 2-D map coordinates for %d paragraphs", n)
        xy = fit_umap(reducer, fitted)
    coords[mask] = xy
    rest = np.flatnonzero(~mask)
    coords[rest] = place_rows(coords, table, vectors, mask, rest)
    return coords


def place_rows(coords: np.ndarray, table: pd.DataFrame, vectors: np.ndarray, mask: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Map coordinates for ``rows`` (not fitted): the point of the paragraph each duplicates when that one has
    a point (:func:`cluster.topics.fitting.duplicate_sources`, over the ``len(coords)`` rows placed so far),
    else the point of its nearest fitted neighbour (dot products in blocks, :func:`~cluster.topics.fitting.nearest_rows`)."""
    fitted = np.flatnonzero(mask[: len(coords)])
    out = np.zeros((len(rows), 2), dtype=np.float64)
    if not len(fitted) or not len(rows):
        return out
    out[:] = coords[fitted[nearest_rows(vectors[rows], vectors[fitted])]]
    placed = np.zeros(len(table), dtype=bool)
    placed[fitted] = True
    sources = duplicate_sources(table, placed, rows)
    found = sources >= 0
    out[found] = coords[sources[found]]
    return out
