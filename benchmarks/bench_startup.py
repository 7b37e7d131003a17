"""How fast the command line answers, this tree against an earlier revision, side by side in one run.

Run:  python benchmarks/bench_startup.py [--before REV] [--repeat 5]

Each command runs in a new process, as a user runs it, for this tree and for ``--before`` (default: the main
before the start-up work), each tree with its own fresh caches (PARATOPIC_CACHE_DIR, NUMBA_CACHE_DIR). Both trees
first build an index of the seeds (``run seeds``: cold, then warm). Then ``--help``, ``search --help``, ``info``,
``search`` and ``similar`` (warm: the index, the engine and the caches are there) are run ``--repeat`` times,
alternating the trees, and the median is reported: wall seconds and CPU seconds (user + system of the child). CPU seconds hold still when other work shares the machine; wall seconds
do not, so compare wall times only within one run.

Writes benchmarks/results/startup.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from evaldata import EVAL

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "startup.md"
BEFORE = "65be117"  # main before issue 18 point 2's import work (search without pandas, FAISS, ONNX Runtime)
VNTC = EVAL / "vntc" / "vntc_test_1000perclass.jsonl"
LOAD_ROWS = 100_000

#: Written to a file and run by each tree in a new process: makes the LOAD_ROWS index if it is not there (10k real
#: VNTC paragraphs repeated with new ids, random unit vectors, a story column), then times loading and using it.
LOAD_SCRIPT = r"""
import json, sys, time
from pathlib import Path
import numpy as np
folder, seeds_index, vntc, rows = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]), int(sys.argv[4])
from embed import ParagraphIndex, read_corpus
if not (folder / "manifest.json").exists():
    import pandas as pd
    table = read_corpus(vntc).head(10_000)
    parts = []
    for i in range(-(-rows // len(table))):
        part = table.copy()
        for column in ("id", "doc_id", "text_hash"):
            part[column] = part[column].astype(str) + f"~{i}"
        part["duplicate_of"] = part["duplicate_of"].map(lambda v: None if v is None or v != v else f"{v}~{i}")
        parts.append(part)
    table = pd.concat(parts, ignore_index=True).head(rows)
    table["story"] = np.arange(len(table)) // 7
    vectors = np.random.default_rng(0).standard_normal((len(table), 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    description = json.loads((seeds_index / "manifest.json").read_text())["embedder"]
    ParagraphIndex(table, vectors, embedder_description=description).save(folder)
out = {}
start = time.perf_counter(); index = ParagraphIndex.load(folder); out["load"] = time.perf_counter() - start
pid = index.column("id")[5] if hasattr(index, "column") else index.paragraphs["id"].iat[5]  # not building the frame
start = time.perf_counter(); index.similar(pid, k=5)
out["first similar (id lookup)"] = time.perf_counter() - start
import cluster.topics.persist as persist
start = time.perf_counter(); fingerprint = persist.index_fingerprint(index); out["fingerprint (hash)"] = time.perf_counter() - start
if hasattr(persist, "_fingerprint_of"):
    recorded = {"fingerprint": fingerprint, "data_digest": index.stored_digest()}
    start = time.perf_counter(); persist._fingerprint_of(index, recorded)
    out["fingerprint (topics load)"] = time.perf_counter() - start
else:
    out["fingerprint (topics load)"] = out["fingerprint (hash)"]
queries = index.vectors[:1] + 0.0
index.embedder.embed_queries(["warm up"])
vectors = index.embedder.embed_queries(["Triều Tiên phóng tên lửa"])
times = []
for _ in range(10):
    start = time.perf_counter(); index.search("Triều Tiên phóng tên lửa", k=5); times.append(time.perf_counter() - start)
start = time.perf_counter(); [index.embedder.embed_queries(["Triều Tiên phóng tên lửa"]) for _ in range(10)]
embed = (time.perf_counter() - start) / 10
out["search (grouped by story)"] = float(np.median(times))
out["of which embedding the query"] = embed
print(json.dumps(out))
"""
QUERY = "Triều Tiên phóng tên lửa đạn đạo liên lục địa"
PARAGRAPH = "000_bafd0c5b1fa3f0f2:7"  # a paragraph of seeds/ (ids are derived from the text)


def _tree(rev: str, work: Path) -> Path:
    tree = work / "before"
    tree.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    return tree


def _timed(tree: Path, env: dict[str, str], *args: str) -> tuple[float, float]:
    """(wall, cpu) seconds of ``paratopic ARGS`` from ``tree`` in a new process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "from paratopic.cli import app; app()", *args], cwd=tree, env=env,
                   check=True, capture_output=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _cpu_name() -> str:
    text = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    name = next((line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("model name")),
                platform.processor() or "unknown CPU")
    sets = [s for s in ("avx2", "avx512f", "avx512_vnni", "amx_tile") if f" {s}" in text]
    return f"{name} ({', '.join(sets) or 'no AVX2'})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default=BEFORE, help="git revision to compare against")
    parser.add_argument("--repeat", type=int, default=5, help="runs of each quick command (median reported)")
    parser.add_argument("--load-rows", type=int, default=LOAD_ROWS, help="paragraphs of the index loaded in-process")
    args = parser.parse_args()
    load_at_start = os.getloadavg()[0]
    work = Path(tempfile.mkdtemp(prefix="bench-startup-"))
    trees = {"after (this tree)": ROOT, f"before ({args.before})": _tree(args.before, work)}
    envs, outs = {}, {}
    for label, tree in trees.items():
        cache = work / f"cache-{len(envs)}"
        envs[label] = {**os.environ, "PYTHONPATH": str(tree), "PARATOPIC_CACHE_DIR": str(cache),
                       "NUMBA_CACHE_DIR": str(cache / "numba")}
        outs[label] = work / f"out-{len(outs)}"
    rows: dict[str, dict[str, str]] = {label: {"tree": label} for label in trees}
    for label, tree in trees.items():
        for when in ("cold", "warm"):
            print(f"{label}: run seeds ({when})...", flush=True)
            wall, cpu = _timed(tree, envs[label], "run", str(ROOT / "seeds"), "--out", str(outs[label]))
            rows[label][f"run seeds, {when}"] = f"{wall:.1f} / {cpu:.1f}"
    commands = {
        "--help": ["--help"],
        "search --help": ["search", "--help"],
        "info": ["info", "{index}"],
        "search": ["search", "{index}", QUERY, "-k", "3"],
        "similar": ["similar", "{index}", PARAGRAPH, "-k", "3"],
    }
    for name, template in commands.items():
        print(f"{name}...", flush=True)
        samples: dict[str, list[tuple[float, float]]] = {label: [] for label in trees}
        for _ in range(args.repeat):
            for label, tree in trees.items():  # alternate, so that both trees meet the same load
                argv = [a.format(index=outs[label] / "index") for a in template]
                samples[label].append(_timed(tree, envs[label], *argv))
        for label in trees:
            wall = statistics.median(s[0] for s in samples[label])
            cpu = statistics.median(s[1] for s in samples[label])
            rows[label][name] = f"{wall:.2f} / {cpu:.2f}"
    load_rows = _load_table(trees, envs, work, outs, args)
    columns = list(next(iter(rows.values())))
    lines = [
        "# Command-line start-up", "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, {_cpu_name()}; Python {platform.python_version()}. "
        f"Load average (1 min) at the start: {load_at_start:.1f}, at the end: {os.getloadavg()[0]:.1f}. Produced by `benchmarks/bench_startup.py`; every number "
        "below comes from the same run.", "",
        f"Each cell: wall seconds / CPU seconds (user + system), median of {args.repeat} new processes for the quick "
        "commands, one run each for `run seeds` (cold: fresh embedding cache and numba cache, so the engine is built "
        "and numba compiles; warm: the same command again).", "",
        "| " + " | ".join(columns) + " |", "|" + "---|" * len(columns),
        *("| " + " | ".join(row[c] for c in columns) + " |" for row in rows.values()), "",
        f"In one process, an index of {args.load_rows:,} paragraphs (10k VNTC paragraphs repeated with new ids, random "
        "unit vectors, a `story` column; each tree opens the same folder): wall seconds, median of "
        f"{args.repeat} processes (search: median of 10 in each). `fingerprint (topics load)` is what loading a topic "
        "model spends checking it fits the index: before, hashing ids, text hashes and vectors; after, comparing "
        "the checksums of the index files the model recorded (a model saved before this records none and is "
        "hashed as in `fingerprint (hash)`).", "",
        *load_rows, "",
    ]
    OUT.write_text("\n".join(lines))
    print("\n".join(lines))


def _load_table(trees: dict[str, Path], envs: dict[str, dict[str, str]], work: Path, outs: dict[str, Path],
                args: argparse.Namespace) -> list[str]:
    """The in-process table: :data:`LOAD_SCRIPT` run ``--repeat`` times by each tree, alternating."""
    import json

    script = work / "load.py"
    script.write_text(LOAD_SCRIPT)
    folder = work / f"index-{args.load_rows}"
    samples: dict[str, list[dict[str, float]]] = {label: [] for label in trees}
    print(f"index of {args.load_rows} paragraphs...", flush=True)
    for _ in range(args.repeat):
        for label, tree in trees.items():
            seeds = outs[label] / "index"
            done = subprocess.run([sys.executable, str(script), str(folder), str(seeds), str(VNTC), str(args.load_rows)],
                                  cwd=tree, env=envs[label], check=True, capture_output=True, text=True)
            samples[label].append(json.loads(done.stdout.strip().splitlines()[-1]))
    names = list(next(iter(samples.values()))[0])
    lines = ["| tree | " + " | ".join(names) + " |", "|" + "---|" * (len(names) + 1)]
    for label, runs in samples.items():
        lines.append(f"| {label} | " + " | ".join(f"{statistics.median(r[n] for r in runs):.3f}" for n in names) + " |")
    return lines


if __name__ == "__main__":
    main()
