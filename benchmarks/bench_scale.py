"""Scale benchmark (issue 8): distributed build, the large-index kind, sampled topics.

    .venv/bin/python benchmarks/bench_scale.py [--paragraphs 1500] [--vectors 100000 1000000]

Writes benchmarks/results/scale.md. Sections:

1. Build throughput on the same input: single process (ParagraphIndex.build,
   2 threads) vs Ray with 1 and 2 embedding workers (1 thread each) on a
   local cluster; embedding cache off; peak memory per worker.
2. FAISS: flat vs ivfsq (embed/ann.py) on real e5 vectors replicated with
   noise: build time, bytes per vector, recall@10 against exact search.
3. Topics: fit_sampled (cluster/sampled.py) on replicated vectors: sample
   fit + Ray assignment, time and peak memory (a child process per size).
4. VNTC leads: a full fit vs a sample fit, ARI / NMI against the labels.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
VNTC = REPO.parent / "shared" / "eval" / "vntc" / "vntc_test_1000perclass.jsonl"
OUT = REPO / "benchmarks" / "results" / "scale.md"
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")


def _paragraph_files(n: int, folder: Path) -> int:
    """VNTC articles cut into news-sized paragraphs (3 sentences), ``n`` of them, in 8 JSONL files."""
    rows = pd.read_json(VNTC, lines=True)
    docs, total = [], 0
    for i, text in enumerate(rows["text"]):
        sentences = re.split(r"(?<=[.!?])\s+", text)
        paras = [" ".join(sentences[j : j + 3]) for j in range(0, len(sentences), 3)]
        paras = paras[: max(1, n - total)]
        docs.append({"id": f"v{i:05d}", "text": "\n\n".join(paras)})
        total += len(paras)
        if total >= n:
            break
    folder.mkdir(parents=True, exist_ok=True)
    for part in range(8):
        pd.DataFrame(docs[part::8]).to_json(folder / f"part{part}.jsonl", orient="records", lines=True, force_ascii=False)
    return total


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def throughput(n: int, work: Path) -> list[dict]:
    from embed import ParagraphIndex, read_corpus
    from embed.distributed import build_distributed, ray_session

    folder = work / "paras"
    _paragraph_files(n, folder)
    rows = []
    start = time.perf_counter()
    table = read_corpus(folder)
    index = ParagraphIndex.build(table, cache=False)
    seconds = time.perf_counter() - start
    unique = int(index.stats.embedded)
    rows.append({"build": "single process (2 threads)", "paragraphs": len(table), "embedded": unique,
                 "seconds": round(seconds, 1), "paragraphs/s": round(len(table) / seconds, 1),
                 "peak MB per worker": round(_peak_mb()), "steps (s)": ""})
    for workers in (1, 2):
        with ray_session("local", num_cpus=2):
            start = time.perf_counter()
            built = build_distributed(folder, cache=False, workers=workers)
            seconds = time.perf_counter() - start
        report = built.distributed_report
        rows.append({"build": f"Ray, {workers} worker{'s' * (workers > 1)} (1 thread each)", "paragraphs": len(built),
                     "embedded": built.stats.embedded, "seconds": round(seconds, 1),
                     "paragraphs/s": round(len(built) / seconds, 1),
                     "peak MB per worker": ", ".join(str(round(v)) for v in report.peak_rss_mb.values()),
                     "steps (s)": json.dumps(report.seconds)})
        assert (built.paragraphs["id"].to_numpy() == index.paragraphs["id"].to_numpy()).all()
    return rows


def _replicated(n: int, seed: int = 0) -> np.ndarray:
    """``n`` unit vectors: real e5 vectors of the user's embedding cache, each copy with N(0, 0.02) noise."""
    import sqlite3

    from embed.cache import default_cache_path

    db = sqlite3.connect(default_cache_path())
    base = np.stack([np.frombuffer(b, dtype=np.float32) for (b,) in db.execute(
        "SELECT vector FROM vectors WHERE dim = 384 LIMIT 20000")])
    rng = np.random.default_rng(seed)
    out = np.empty((n, base.shape[1]), dtype=np.float32)
    for start in range(0, n, 100_000):
        m = min(100_000, n - start)
        block = base[rng.integers(0, len(base), m)] + rng.normal(0, 0.02, (m, base.shape[1])).astype(np.float32)
        out[start : start + m] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def faiss_rows(n: int) -> list[dict]:
    import faiss

    from embed.ann import build_ivfsq

    vectors = _replicated(n)
    queries = _replicated(500, seed=1)
    exact = faiss.IndexFlatIP(vectors.shape[1])
    start = time.perf_counter()
    exact.add(vectors)
    flat_s = time.perf_counter() - start
    t = time.perf_counter()
    _, truth = exact.search(queries, 10)
    flat_q = (time.perf_counter() - t) / len(queries) * 1000
    start = time.perf_counter()
    ivf = build_ivfsq(vectors)
    ivf_s = time.perf_counter() - start
    t = time.perf_counter()
    _, found = ivf.search(queries, 10)
    ivf_q = (time.perf_counter() - t) / len(queries) * 1000
    recall = float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found, truth)]))
    return [
        {"vectors": n, "kind": "flat", "build s": round(flat_s, 1), "bytes/vector": round(faiss.serialize_index(exact).nbytes / n),
         "ms/query": round(flat_q, 2), "recall@10": 1.0},
        {"vectors": n, "kind": f"ivfsq (nlist {ivf.nlist}, nprobe {ivf.nprobe})", "build s": round(ivf_s, 1),
         "bytes/vector": round(faiss.serialize_index(ivf).nbytes / n), "ms/query": round(ivf_q, 2), "recall@10": round(recall, 3)},
    ]


def topics_child(n: int, sample: int, keywords: bool) -> None:
    """Run in a child process: fit_sampled on ``n`` replicated vectors; prints one JSON line."""
    from types import SimpleNamespace

    from cluster.sampled import fit_sampled
    from embed.distributed import ray_session

    vectors = _replicated(n)
    texts = pd.read_json(VNTC, lines=True)["lead"].astype(str).tolist()
    table = pd.DataFrame({"id": [f"p{i}" for i in range(n)], "doc_id": [f"d{i}" for i in range(n)],
                          "text": [texts[i % len(texts)] for i in range(n)], "boilerplate": False, "duplicate_of": None})
    index = SimpleNamespace(paragraphs=table, vectors=vectors, embedder=None)
    start = time.perf_counter()
    with ray_session("local", num_cpus=2):
        result = fit_sampled(index, sample_size=sample, address="auto", keywords=keywords, random_state=0)
    print(json.dumps({"vectors": n, "sample": sample, "topics": result.model.n_topics_,
                      "assigned share": round(float((result.labels >= 0).mean()), 3),
                      "seconds": round(time.perf_counter() - start, 1), "steps (s)": result.seconds,
                      "driver peak MB": round(_peak_mb())}))


def topic_rows(sizes: list[int], sample: int) -> list[dict]:
    rows = []
    for n in sizes:
        proc = subprocess.run([sys.executable, __file__, "--topics-child", str(n), str(sample), str(int(n <= 100_000))],
                              capture_output=True, text=True, timeout=1800)
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
        rows.append(json.loads(lines[-1]) if lines else {"vectors": n, "error": proc.stderr[-500:]})
    return rows


def vntc_rows(per_label: int, sample: int) -> list[dict]:
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    from cluster import TopicModel
    from cluster.sampled import fit_sampled
    from embed import ParagraphIndex

    vntc = pd.read_json(VNTC, lines=True)
    picked = vntc.groupby("label", group_keys=False).sample(n=per_label, random_state=0)
    frame = pd.DataFrame({"id": [f"v{i}" for i in range(len(picked))], "text": picked["lead"].to_numpy(),
                          "label": picked["label"].to_numpy()})
    index = ParagraphIndex.build(frame)
    truth = index.paragraphs["label"].to_numpy()
    rows = []
    start = time.perf_counter()
    full = TopicModel(random_state=0).fit(index)
    rows.append({"fit": f"full ({len(index)} leads)", "seconds": round(time.perf_counter() - start, 1),
                 "topics": full.n_topics_, "ARI": adjusted_rand_score(truth, full.labels_),
                 "NMI": normalized_mutual_info_score(truth, full.labels_), "ARI to full": 1.0})
    start = time.perf_counter()
    part = fit_sampled(index, sample_size=sample, address=None, random_state=0)
    rows.append({"fit": f"sample of {sample} + assignment", "seconds": round(time.perf_counter() - start, 1),
                 "topics": part.model.n_topics_, "ARI": adjusted_rand_score(truth, part.labels),
                 "NMI": normalized_mutual_info_score(truth, part.labels),
                 "ARI to full": adjusted_rand_score(full.labels_, part.labels)})
    for row in rows:
        for key in ("ARI", "NMI", "ARI to full"):
            row[key] = round(float(row[key]), 3)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--paragraphs", type=int, default=1500)
    parser.add_argument("--vectors", type=int, nargs="*", default=[100_000, 1_000_000])
    parser.add_argument("--sample", type=int, default=20_000)
    parser.add_argument("--vntc-per-label", type=int, default=300)
    parser.add_argument("--skip", nargs="*", default=[], choices=["throughput", "faiss", "topics", "vntc"])
    parser.add_argument("--topics-child", nargs=3, type=int)
    args = parser.parse_args()
    if args.topics_child:
        topics_child(args.topics_child[0], args.topics_child[1], bool(args.topics_child[2]))
        return
    import tempfile

    sections = {}
    with tempfile.TemporaryDirectory() as work:
        os.environ["PARATOPIC_CACHE_DIR_BENCH"] = work
        if "throughput" not in args.skip:
            sections["throughput"] = throughput(args.paragraphs, Path(work))
    if "faiss" not in args.skip:
        sections["faiss"] = [row for n in args.vectors for row in faiss_rows(n)]
    if "topics" not in args.skip:
        sections["topics"] = topic_rows(args.vectors, args.sample)
    if "vntc" not in args.skip:
        sections["vntc"] = vntc_rows(args.vntc_per_label, min(args.sample, args.vntc_per_label * 10 // 3))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    cpu = os.cpu_count()
    text = [f"# Scale benchmark (issue 8)\n\n`benchmarks/bench_scale.py` on a shared {cpu}-core machine, "
            f"{time.strftime('%Y-%m-%d')}. Raw numbers; reading is in the README's scale section.\n"]
    for name, rows in sections.items():
        text.append(f"\n## {name}\n\n" + pd.DataFrame(rows).to_markdown(index=False) + "\n")
    OUT.write_text("".join(text), encoding="utf-8")
    print("".join(text))


if __name__ == "__main__":
    main()
