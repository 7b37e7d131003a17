"""How fast the command line answers, this tree against an earlier revision, side by side in one run.

Run:  python benchmarks/bench_startup.py [--before REV] [--repeat 5]

Each command runs in a new process, as a user runs it, for this tree and for ``--before`` (default: the main
before the start-up work), each tree with its own fresh caches (PARATOPIC_CACHE_DIR, NUMBA_CACHE_DIR). Both trees
first build an index of the seeds (``run seeds``: cold, then warm). Then ``--help``, ``search --help``, ``info``
and ``search`` are run ``--repeat`` times, alternating the trees, and the median is reported: wall seconds and
CPU seconds (user + system of the child). CPU seconds hold still when other work shares the machine; wall seconds
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

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "startup.md"
BEFORE = "ec8d20a"  # main before issue 18's start-up work
QUERY = "Triều Tiên phóng tên lửa đạn đạo liên lục địa"


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
    args = parser.parse_args()
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
    columns = list(next(iter(rows.values())))
    lines = [
        "# Command-line start-up", "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, {_cpu_name()}; Python {platform.python_version()}. "
        f"Load average at the end: {os.getloadavg()[0]:.1f}. Produced by `benchmarks/bench_startup.py`; every number "
        "below comes from the same run.", "",
        f"Each cell: wall seconds / CPU seconds (user + system), median of {args.repeat} new processes for the quick "
        "commands, one run each for `run seeds` (cold: fresh embedding cache and numba cache, so the engine is built "
        "and numba compiles; warm: the same command again).", "",
        "| " + " | ".join(columns) + " |", "|" + "---|" * len(columns),
        *("| " + " | ".join(row[c] for c in columns) + " |" for row in rows.values()), "",
    ]
    OUT.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
