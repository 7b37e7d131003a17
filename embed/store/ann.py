"""The FAISS structure for indexes of millions of paragraphs: ``kind="ivfsq"``.

An inverted file (IVF) of ``nlist`` k-means lists whose vectors are stored
as 8-bit scalar-quantised codes (``IndexIVFScalarQuantizer``, QT_8bit): one
byte per dimension, 384 bytes per e5-small vector instead of 1,536 for flat
(float32) and ~1,800 for HNSW with its graph. The lists and the quantiser
are trained on a sample (:func:`train_size`, at most
:data:`TRAIN_SAMPLE` vectors), so training does not grow with the
collection; vectors are added in chunks. 5M paragraphs take ~2 GB of FAISS
memory, 50M ~20 GB (measured bytes per vector in
``benchmarks/results/scale.md``, with recall@10 against exact search:
0.985 at nprobe 16 on 200k real e5 vectors with noise; IVF-PQ with 96-byte
codes reached only 0.82 on the same vectors, and ``IndexIVFPQR`` returns L2
distances where paratopic's scores are cosines, so neither was chosen).

It is an ``IndexIVF``: search stays one call, flagged rows are filtered by
the selector during the search, and ``nprobe`` comes from the index.
"""

from __future__ import annotations

import logging
import math

import faiss
import numpy as np

__all__ = ["build_ivfsq", "ivf_lists", "train_size", "TRAIN_SAMPLE", "NPROBE", "AUTO_COMPACT_FROM"]

logger = logging.getLogger(__name__)

#: At most this many vectors train the lists (FAISS wants >= 39 per list).
TRAIN_SAMPLE = 300_000
#: Lists probed per query.
NPROBE = 24
ADD_CHUNK = 100_000
#: ``kind="auto"`` chooses ivfsq from this many vectors on (``embed.store.index``).
AUTO_COMPACT_FROM = 2_000_000


def ivf_lists(n: int) -> int:
    """Inverted lists for ``n`` vectors: about 4*sqrt(n), at most 65,536 and at most n/39."""
    return int(max(1, min(65_536, int(4 * math.sqrt(max(n, 1))), max(n // 39, 1))))


def train_size(n: int, nlist: int) -> int:
    """Vectors sampled to train ``nlist`` lists over ``n`` vectors."""
    return min(n, max(39 * nlist, 20_000) if n > 20_000 else n, TRAIN_SAMPLE)


def build_ivfsq(vectors: np.ndarray, *, seed: int = 0) -> faiss.Index:
    """An IVF-SQ8 index (inner product) over ``vectors``, trained on a random
    sample of them, with every vector added."""
    n, dim = vectors.shape
    nlist = ivf_lists(n)
    index = faiss.IndexIVFScalarQuantizer(
        faiss.IndexFlatIP(dim), dim, nlist, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT
    )
    index.nprobe = min(NPROBE, nlist)
    if n:
        rows = np.sort(np.random.default_rng(seed).choice(n, size=train_size(n, nlist), replace=False))
        index.train(np.ascontiguousarray(vectors[rows], dtype=np.float32))
        for start in range(0, n, ADD_CHUNK):
            index.add(np.ascontiguousarray(vectors[start : start + ADD_CHUNK], dtype=np.float32))
    logger.info("ivfsq: %d vectors in %d lists (nprobe %d)", n, nlist, index.nprobe)
    return index
