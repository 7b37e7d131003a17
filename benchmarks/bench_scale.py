"""Scale benchmark (issue 8): distributed build, the large-index kind, sampled topics.

    .venv/bin/python benchmarks/bench_scale.py [--only throughput ...] [--paragraphs 100000] [--builds single ray1 ray2]

Writes benchmarks/results/scale.md (and scale.json, from which a run that
updates some sections keeps the others). Sections:

1. Build throughput on the same input, VNTC articles cut into 2-sentence
   paragraphs (100k by default): single process (ParagraphIndex.build, 2
   threads) vs Ray with 1 and 2 embedding workers (1 thread each) on a
   local cluster; embedding cache off; one child process per build, so the
   driver's peak memory is its own; peak memory per worker.
2. Assembly: the driver collecting N vectors that come back in shuffled
   batches, as the previous code did (dict by hash, then np.stack) and as
   embed.store.spill.VectorSpill does now: time and peak memory. Table: the
   driver's peak memory while it gathers the paragraph table of 1M
   paragraphs (the 100k above, 10 times under new ids) on Ray.
3. FAISS: flat vs ivfsq (embed/store/ann.py) on real e5 vectors replicated with
   noise: build time, bytes per vector, recall@10 against exact search.
4. Topics: fit_sampled (cluster/topics/sampled.py) on replicated vectors: sample
   fit + Ray assignment, time and peak memory (a child process per size).
5. VNTC leads: a full fit vs a sample fit, ARI / NMI against the labels.
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
from evaldata import VNTC

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
OUT = REPO / "benchmarks" / "results" / "scale.md"
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")


def _paragraph_files(n: int, folder: Path) -> int:
    """VNTC articles cut into news-sized paragraphs (2 sentences, ~50 words), ``n`` of them, in 16 JSONL files."""
    rows = pd.read_json(VNTC, lines=True)
    docs, total = [], 0
    for i, text in enumerate(rows["text"]):
        sentences = re.split(r"(?<=[.!?])\s+", text)
        paras = [" ".join(sentences[j : j + 2]) for j in range(0, len(sentences), 2)]
        paras = paras[: max(1, n - total)]
        docs.append({"id": f"v{i:05d}", "text": "\n\n".join(paras)})
        total += len(paras)
        if total >= n:
            break
    if total < n:
        raise SystemExit(f"VNTC gives only {total} paragraphs of 2 sentences; asked for {n}")
    folder.mkdir(parents=True, exist_ok=True)
    for part in range(16):
        pd.DataFrame(docs[part::16]).to_json(folder / f"part{part:02d}.jsonl", orient="records", lines=True, force_ascii=False)
    return total


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


BUILDS = {"single": "single process (2 threads)", "ray1": "Ray, 1 worker (1 thread)", "ray2": "Ray, 2 workers (1 thread each)"}


def build_child(build: str, folder: Path) -> None:
    """Run in a child process: one cold build of ``folder``; prints one JSON line
    (the driver's peak memory is this process's own)."""
    from embed import ParagraphIndex, read_corpus
    from embed.distributed.build import build_distributed, ray_session

    start = time.perf_counter()
    if build == "single":
        index = ParagraphIndex.build(read_corpus(folder), cache=False)
        steps, workers = "", ""
    else:
        with ray_session("local", num_cpus=2):
            index = build_distributed(folder, cache=False, workers=int(build[-1]))
        report = index.distributed_report
        steps = json.dumps(report.seconds)
        workers = ", ".join(str(round(v)) for v in report.peak_rss_mb.values())
    seconds = time.perf_counter() - start
    print(json.dumps({"build": BUILDS[build], "paragraphs": len(index), "embedded": int(index.stats.embedded),
                      "seconds": round(seconds, 1), "paragraphs/s": round(len(index) / seconds, 1),
                      "driver peak MB": round(_peak_mb()), "peak MB per worker": workers, "steps (s)": steps}))


def throughput(n: int, builds: list[str], work: Path) -> list[dict]:
    """Cold builds (embedding cache off) of the same ``n`` paragraphs, one child process each."""
    folder = work / "paras"
    _paragraph_files(n, folder)
    rows = []
    for build in builds:
        proc = subprocess.run([sys.executable, __file__, "--build-child", build, str(folder)],
                              capture_output=True, text=True, timeout=6 * 3600)
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
        rows.append(json.loads(lines[-1]) if lines else {"build": BUILDS[build], "paragraphs": n, "error": proc.stderr[-500:]})
        print(rows[-1], flush=True)
    return rows


def assembly_child(n: int, how: str) -> None:
    """Run in a child process: the driver's assembly of ``n`` vectors coming back in
    batches of 64 in shuffled order, as the previous code did it (``dict``: a dict
    by text hash, then ``np.stack`` in input order) or as it does now (``spill``:
    embed.store.spill.VectorSpill). Prints one JSON line with time and peak memory."""
    from embed.store.spill import VectorSpill

    dim, batch = 384, 64
    order = np.random.default_rng(0).permutation(-(-n // batch))
    baseline = _peak_mb()
    start = time.perf_counter()
    store: dict[str, np.ndarray] = {}
    spill = VectorSpill(n, dim) if how == "spill" else None
    for b in order:
        rows = np.arange(b * batch, min(n, (b + 1) * batch))
        vectors = np.random.default_rng(int(b)).standard_normal((len(rows), dim), dtype=np.float32)
        if spill is not None:
            spill.write(rows, vectors)
        else:
            for row, vector in zip(rows, vectors):
                store[f"{row:064x}"] = np.asarray(vector, dtype=np.float32)
    result = spill.finish() if spill is not None else np.stack([store[f"{row:064x}"] for row in range(n)])
    seconds = time.perf_counter() - start
    print(json.dumps({"vectors": n, "assembly": {"dict": "dict by hash + np.stack (before)", "spill": "VectorSpill (now)"}[how],
                      "seconds": round(seconds, 1), "peak MB over start": round(_peak_mb() - baseline),
                      "vectors MB": round(result.nbytes / 2**20)}))


def assembly_rows(sizes: list[int]) -> list[dict]:
    rows = []
    for n in sizes:
        for how in ("dict", "spill"):
            proc = subprocess.run([sys.executable, __file__, "--assembly-child", str(n), how], capture_output=True, text=True, timeout=3600)
            lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
            rows.append(json.loads(lines[-1]) if lines else {"vectors": n, "assembly": how, "error": proc.stderr[-500:]})
            print(rows[-1], flush=True)
    return rows


def table_child(folder: str) -> None:
    """Run in a child process: read_distributed of ``folder`` on a local 2-CPU cluster; prints one JSON line
    with the driver's peak memory (the paragraph table is the one thing the driver gathers)."""
    from embed.distributed.build import read_distributed

    start = time.perf_counter()
    table = read_distributed(folder, address="local")
    print(json.dumps({"paragraphs": len(table), "seconds": round(time.perf_counter() - start, 1),
                      "table MB": round(table.memory_usage(deep=True).sum() / 2**20), "driver peak MB": round(_peak_mb())}))


def table_rows(copies: int, work: Path) -> list[dict]:
    """The 100k throughput paragraphs, ``copies`` times under new document ids, read on Ray."""
    source, folder = work / "paras", work / "copies"
    _paragraph_files(100_000, source)
    folder.mkdir()
    for path in sorted(source.glob("*.jsonl")):
        frame = pd.read_json(path, lines=True)
        pd.concat([frame.assign(id=f"c{c}-" + frame["id"].astype(str)) for c in range(copies)]).to_json(
            folder / path.name, orient="records", lines=True, force_ascii=False)
    proc = subprocess.run([sys.executable, __file__, "--table-child", str(folder)], capture_output=True, text=True, timeout=3600)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    row = json.loads(lines[-1]) if lines else {"paragraphs": copies * 100_000, "error": proc.stderr[-500:]}
    return [{"code": "now (bench_scale.py --only table)", **row}]


def _replicated(n: int, seed: int = 0) -> np.ndarray:
    """``n`` unit vectors: real e5 vectors of the user's embedding cache, each copy with N(0, 0.02) noise."""
    import sqlite3

    from embed.store.cache import default_cache_path

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

    from embed.store.ann import build_ivfsq

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

    from cluster.topics.sampled import fit_sampled
    from embed.distributed.build import ray_session

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
    from cluster.topics.sampled import fit_sampled
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


RESULTS = OUT.with_suffix(".json")


def _merge(section: str, old: list[dict], new: list[dict]) -> list[dict]:
    """Rows of a section after a run: new rows replace old rows with the same key (throughput: build and size)."""
    if section not in ("throughput", "table"):
        return new
    key = lambda row: (row.get("build", row.get("code")), row.get("paragraphs"))  # noqa: E731
    fresh = {key(row) for row in new}
    return sorted([row for row in old if key(row) not in fresh] + new, key=lambda r: (r["paragraphs"], str(key(r)[0])))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--paragraphs", type=int, default=100_000)
    parser.add_argument("--builds", nargs="*", default=list(BUILDS), choices=list(BUILDS))
    parser.add_argument("--vectors", type=int, nargs="*", default=[100_000, 1_000_000])
    parser.add_argument("--sample", type=int, default=20_000)
    parser.add_argument("--vntc-per-label", type=int, default=300)
    parser.add_argument("--only", nargs="*", default=["throughput", "assembly", "table", "faiss", "topics", "vntc"],
                        choices=["throughput", "assembly", "table", "faiss", "topics", "vntc"])
    parser.add_argument("--topics-child", nargs=3, type=int)
    parser.add_argument("--build-child", nargs=2)
    parser.add_argument("--assembly-child", nargs=2)
    parser.add_argument("--table-child")
    parser.add_argument("--table-copies", type=int, default=10)
    args = parser.parse_args()
    if args.topics_child:
        topics_child(args.topics_child[0], args.topics_child[1], bool(args.topics_child[2]))
        return
    if args.assembly_child:
        assembly_child(int(args.assembly_child[0]), args.assembly_child[1])
        return
    if args.table_child:
        table_child(args.table_child)
        return
    if args.build_child:
        build_child(args.build_child[0], Path(args.build_child[1]))
        return
    import tempfile

    sections = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    new: dict[str, list[dict]] = {}
    if "throughput" in args.only:
        with tempfile.TemporaryDirectory() as work:
            new["throughput"] = throughput(args.paragraphs, args.builds, Path(work))
    if "assembly" in args.only:
        new["assembly"] = assembly_rows(args.vectors)
    if "table" in args.only:
        with tempfile.TemporaryDirectory() as work:
            new["table"] = table_rows(args.table_copies, Path(work))
    if "faiss" in args.only:
        new["faiss"] = [row for n in args.vectors for row in faiss_rows(n)]
    if "topics" in args.only:
        new["topics"] = topic_rows(args.vectors, args.sample)
    if "vntc" in args.only:
        new["vntc"] = vntc_rows(args.vntc_per_label, min(args.sample, args.vntc_per_label * 10 // 3))
    for name, rows in new.items():
        sections[name] = _merge(name, sections.get(name, []), rows)
    RESULTS.write_text(json.dumps(sections, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    cpu = os.cpu_count()
    text = [f"# Scale benchmark (issue 8)\n\n`benchmarks/bench_scale.py` on a shared {cpu}-core machine; "
            f"sections last updated {time.strftime('%Y-%m-%d')}. Raw numbers; reading is in the README's scale section. "
            "Throughput rows are cold builds (embedding cache off) of VNTC articles cut into 2-sentence paragraphs, "
            "one child process per build.\n"]
    for name in ("throughput", "assembly", "table", "faiss", "topics", "vntc"):
        if sections.get(name):
            text.append(f"\n## {name}\n\n" + pd.DataFrame(sections[name]).to_markdown(index=False, disable_numparse=True) + "\n")
    OUT.write_text("".join(text), encoding="utf-8")
    print("".join(text))


if __name__ == "__main__":
    main()
