"""2-D map coordinates for every paragraph of a fitted topic model."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from cluster.topics.model import TopicModel

__all__ = ["map_coordinates"]

logger = logging.getLogger(__name__)

#: Neighbours of each point in the 2-D map's UMAP.
MAP_NEIGHBORS = 15
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
    model: TopicModel, *, random_state: int | None = None, knn: tuple[np.ndarray, np.ndarray] | None = None
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
    rows = np.flatnonzero(mask)
    row_of = {pid: i for i, pid in enumerate(table["id"])}
    position = {int(r): i for i, r in enumerate(rows)}
    rest = np.flatnonzero(~mask)
    if len(rest):
        nearest = (vectors[rest] @ fitted.T).argmax(axis=1)
        for row, near in zip(rest, nearest):
            original = table["duplicate_of"].iat[row]
            source = row_of.get(original) if original is not None else None
            coords[row] = xy[position[source]] if source is not None and source in position else xy[near]
    return coords
