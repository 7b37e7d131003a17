"""The FAISS structures of an index, one builder per kind, and the one IVF construction in paratopic.

Kinds (``embed.store.index``): ``flat`` (exact, ``IndexFlatIP``), ``hnsw``
(``IndexHNSWFlat``, M=32), ``ivf`` (``IndexIVFFlat``) and ``ivfsq``;
:func:`resolve_kind` picks one for ``"auto"``. :func:`build_ivf` is the only
place that sizes, trains and fills inverted lists (the index kinds ``ivf`` and
``ivfsq``, and the topics' neighbour search over large collections).

``ivfsq``, for indexes of millions of paragraphs:

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
from typing import TYPE_CHECKING

import numpy as np

from embed.names import INDEX_KINDS

if TYPE_CHECKING:
    import faiss

__all__ = ["build_faiss", "build_ivf", "build_ivfsq", "resolve_kind", "ivf_lists", "train_size",
           "TRAIN_SAMPLE", "NPROBE", "AUTO_EXACT_LIMIT", "AUTO_COMPACT_FROM"]

logger = logging.getLogger(__name__)

#: At most this many vectors train the lists (FAISS wants >= 39 per list).
TRAIN_SAMPLE = 300_000
#: Lists probed per query.
NPROBE = 24
ADD_CHUNK = 100_000
#: Up to this many vectors, ``kind="auto"`` searches exactly.
AUTO_EXACT_LIMIT = 100_000
#: ``kind="auto"`` chooses ivfsq from this many vectors on (``embed.store.index``).
AUTO_COMPACT_FROM = 2_000_000
#: HNSW graph: links per node and the candidate list while building.
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80


def resolve_kind(kind: str, n: int) -> str:
    """The FAISS kind for ``n`` vectors: ``kind`` itself, or for ``"auto"`` flat up to
    :data:`AUTO_EXACT_LIMIT`, HNSW below :data:`AUTO_COMPACT_FROM`, ivfsq from there; an unknown kind is a
    ValueError naming the known ones."""
    if kind not in INDEX_KINDS:
        raise ValueError(f"index kind {kind!r} is not one of {INDEX_KINDS}")
    if kind == "auto":
        return "flat" if n <= AUTO_EXACT_LIMIT else "hnsw" if n < AUTO_COMPACT_FROM else "ivfsq"
    return kind


def ivf_lists(n: int) -> int:
    """Inverted lists for ``n`` vectors: about 4*sqrt(n), at most 65,536 and at most n/39."""
    return int(max(1, min(65_536, int(4 * math.sqrt(max(n, 1))), max(n // 39, 1))))


def train_size(n: int, nlist: int) -> int:
    """Vectors sampled to train ``nlist`` lists over ``n`` vectors."""
    return min(n, max(39 * nlist, 20_000) if n > 20_000 else n, TRAIN_SAMPLE)


def build_ivf(vectors: np.ndarray, *, quantized: bool = False, nprobe: int | None = None, seed: int = 0) -> faiss.IndexIVF:
    """An inverted-file index (inner product) over ``vectors``: :func:`ivf_lists` lists trained on a random
    sample of :func:`train_size` vectors, every vector added in chunks.

    Args:
        vectors: ``(n, dim)`` unit vectors.
        quantized: 8-bit scalar-quantised codes (``IndexIVFScalarQuantizer``) instead of float32 vectors
            (``IndexIVFFlat``).
        nprobe: lists probed per query (at most the number of lists); default :data:`NPROBE`.
        seed: of the training sample.
    """
    import faiss

    n, dim = vectors.shape
    nlist = ivf_lists(n)
    quantizer = faiss.IndexFlatIP(dim)
    if quantized:
        index = faiss.IndexIVFScalarQuantizer(quantizer, dim, nlist, faiss.ScalarQuantizer.QT_8bit,
                                              faiss.METRIC_INNER_PRODUCT)
    else:
        index = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
    index.nprobe = max(1, min(NPROBE if nprobe is None else int(nprobe), nlist))
    if n:
        rows = np.sort(np.random.default_rng(seed).choice(n, size=train_size(n, nlist), replace=False))
        index.train(np.ascontiguousarray(vectors[rows], dtype=np.float32))
        for start in range(0, n, ADD_CHUNK):
            index.add(np.ascontiguousarray(vectors[start : start + ADD_CHUNK], dtype=np.float32))
    logger.info("%s: %d vectors in %d lists (nprobe %d)", "ivfsq" if quantized else "ivf", n, nlist, index.nprobe)
    return index


def build_ivfsq(vectors: np.ndarray, *, seed: int = 0) -> faiss.Index:
    """An IVF-SQ8 index (inner product) over ``vectors`` (:func:`build_ivf` with 8-bit codes)."""
    return build_ivf(vectors, quantized=True, seed=seed)


def build_faiss(kind: str, vectors: np.ndarray) -> faiss.Index:
    """The FAISS index of a resolved ``kind`` (see :func:`resolve_kind`) holding every row of ``vectors``."""
    import faiss

    n, dim = vectors.shape
    if kind == "flat":
        index = faiss.IndexFlatIP(dim)
    elif kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
    elif kind == "ivf":  # float32 lists probed more widely than ivfsq's (measured in benchmarks/results/lookup.md)
        return build_ivf(vectors, nprobe=max(8, ivf_lists(n) // 16))
    elif kind == "ivfsq":
        return build_ivfsq(vectors)
    else:
        raise ValueError(f"index kind {kind!r} is not one of flat, hnsw, ivf, ivfsq (resolve 'auto' first)")
    if n:
        index.add(vectors)
    return index

