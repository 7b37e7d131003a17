"""Which topics are near which: an agglomerative tree over topic centres."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["topic_hierarchy", "cut_tree", "HIERARCHY_COLUMNS"]

HIERARCHY_COLUMNS = ["parent", "left", "right", "distance", "topics"]


def _linkage(centroids: np.ndarray) -> np.ndarray:
    from scipy.cluster.hierarchy import linkage
    from scipy.spatial.distance import pdist

    distances = np.clip(pdist(centroids.astype(np.float64), metric="cosine"), 0.0, None)
    return linkage(distances, method="average")


def topic_hierarchy(centroids: np.ndarray) -> pd.DataFrame:
    """Merge tree of topics (average linkage on cosine distance between
    centres). Leaves are topic ids ``0..k-1``; merge ``i`` creates node
    ``k + i``. Columns: parent, left, right, distance, topics."""
    k = len(centroids)
    if k < 2:
        return pd.DataFrame(columns=HIERARCHY_COLUMNS)
    tree = _linkage(centroids)
    members: dict[int, list[int]] = {t: [t] for t in range(k)}
    rows = []
    for i, (left, right, distance, _) in enumerate(tree):
        left, right = int(left), int(right)
        parent = k + i
        members[parent] = sorted(members[left] + members[right])
        rows.append({"parent": parent, "left": left, "right": right, "distance": float(distance),
                     "topics": members[parent]})
    return pd.DataFrame(rows, columns=HIERARCHY_COLUMNS)


def cut_tree(centroids: np.ndarray, n: int) -> list[list[int]]:
    """Groups of topic ids when the tree is cut into at most ``n`` groups;
    each group is listed largest-id-last, the smallest id first."""
    k = len(centroids)
    if n >= k or k < 2:
        return [[t] for t in range(k)]
    from scipy.cluster.hierarchy import fcluster

    assignment = fcluster(_linkage(centroids), t=n, criterion="maxclust")
    groups: dict[int, list[int]] = {}
    for topic, group in enumerate(assignment):
        groups.setdefault(int(group), []).append(topic)
    return sorted(groups.values(), key=lambda g: g[0])
