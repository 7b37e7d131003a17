"""Reliability run: concurrent writers, kills during saves, hostile folders
and generated bad inputs, each outcome classified and counted.

Run:  python benchmarks/bench_reliability.py [--writers 50] [--kills 30] [--inputs 1000]

Writes benchmarks/results/reliability.md (cases, passed, failed, data lost).
The same checks, fewer of each, run in the test suite (tests/reliability/).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "reliability"))
OUT = ROOT / "benchmarks" / "results" / "reliability.md"
CLI = [sys.executable, "-c", "from paratopic.cli import app; app()"]
SEED_FILES = sorted((ROOT / "seeds").glob("*.txt"))


def writers(root: Path, trials: int) -> dict:
    from embed import IndexFormatError, ParagraphIndex

    lost = broken = failed = 0
    for trial in range(trials):
        target = root / f"w{trial}"
        shutil.copytree(root / "index", target)
        procs = [subprocess.Popen([*CLI, "index", str(root / part), "--out", str(target)], cwd=ROOT,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for part in ("a", "b")]
        failed += sum(p.wait(timeout=600) != 0 for p in procs)
        try:
            docs = set(ParagraphIndex.load(target).paragraphs["doc_id"])
            lost += len({f.stem for f in SEED_FILES} - docs)
        except IndexFormatError:
            broken += 1
        shutil.rmtree(target)
    return {"check": "two `paratopic index` writers at once", "cases": trials,
            "passed": trials - broken - (1 if lost or failed else 0), "failed runs": failed,
            "broken indexes": broken, "data lost": f"{lost} documents"}


def kills(root: Path, trials: int) -> dict:
    """SIGKILL a `paratopic index` run at a random moment; the index must load with the old or the new documents."""
    from embed import IndexFormatError, ParagraphIndex

    rng = random.Random(0)
    broken = partial = 0
    outcomes: Counter[str] = Counter()
    before = {f.stem for f in SEED_FILES[:2]}
    after = before | {f.stem for f in SEED_FILES[2:4]}
    for trial in range(trials):
        target = root / f"k{trial}"
        shutil.copytree(root / "index", target)
        proc = subprocess.Popen([*CLI, "index", str(root / "a"), "--out", str(target), "--no-cache"], cwd=ROOT,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.3, 2.5))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        try:
            docs = set(ParagraphIndex.load(target).paragraphs["doc_id"])
            outcomes["old" if docs == before else "new" if docs == after else "other"] += 1
            partial += docs not in (before, after)
        except IndexFormatError:
            broken += 1
        shutil.rmtree(target)
    return {"check": "SIGKILL during `paratopic index` (0.3-2.5 s in)", "cases": trials,
            "passed": trials - broken - partial, "failed runs": 0, "broken indexes": broken,
            "data lost": f"0 (old generation {outcomes['old']}, new {outcomes['new']}, mixed {outcomes['other']})"}


def topic_kills(root: Path, trials: int) -> dict:
    """SIGKILL `paratopic topics --refit` at a random moment; the saved model must load whole (old or new)."""
    from cluster import ModelFormatError, TopicModel

    rng = random.Random(1)
    target = root / "topic-kills"
    shutil.copytree(root / "index", target)
    subprocess.run([*CLI, "topics", str(target)], cwd=ROOT, check=True, capture_output=True)
    broken = 0
    for _ in range(trials):
        proc = subprocess.Popen([*CLI, "topics", str(target), "--refit", "--seed", str(rng.randrange(1000))], cwd=ROOT,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.3, 3.0))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        try:
            TopicModel.load(target / "topics", index=target).topic_info()
        except ModelFormatError:
            broken += 1
    return {"check": "SIGKILL during `paratopic topics --refit` (0.3-3 s in)", "cases": trials,
            "passed": trials - broken, "failed runs": 0, "broken indexes": broken, "data lost": "0"}


def hostile(root: Path) -> dict:
    """Tampered manifests (types, traversal, symlinks); the CLI must print one clear error."""
    import json

    tampers = {
        "traversal": lambda m: m["files"]["paragraphs"].update(name="../outside.parquet"),
        "absolute": lambda m: m["files"]["vectors"].update(name="/etc/passwd"),
        "files-number": lambda m: m.update(files=5),
        "no-embedder": lambda m: m.pop("embedder"),
        "dim-string": lambda m: m["embedder"].update(dim="384"),
        "entry-list": lambda m: m["files"].update(faiss=[]),
        "list": None,
    }
    passed = 0
    for name, tamper in tampers.items():
        target = root / f"h-{name}"
        shutil.copytree(root / "index", target)
        manifest = json.loads((target / "manifest.json").read_text())
        if tamper is None:
            manifest = []
        else:
            tamper(manifest)
        (target / "manifest.json").write_text(json.dumps(manifest))
        for command in (["info", str(target)], ["search", str(target), "tên lửa"], ["topics", str(target)]):
            result = subprocess.run([*CLI, *command], cwd=ROOT, capture_output=True, text=True)
            passed += result.returncode == 1 and "Traceback" not in result.stderr and str(target) in result.stderr
    cases = len(tampers) * 3
    return {"check": "tampered manifests x (info, search, topics)", "cases": cases, "passed": passed,
            "failed runs": cases - passed, "broken indexes": 0, "data lost": "0"}


def inputs(root: Path, n: int) -> dict:
    from harness import input_files, run_case, tally, write_case
    from hypothesis import HealthCheck, given, settings

    from embed import load_embedder

    embedder = load_embedder()
    cases: list[tuple[str, str]] = []

    @settings(max_examples=n, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(case=input_files())
    def run(case: tuple[str, bytes]) -> None:
        i = len(cases)
        path = write_case(root / "inputs" / f"c{i}", *case)
        cases.append(run_case(path, embedder, root / "inputs" / f"i{i}"))

    run()
    counts = tally(cases)
    for outcome, detail in cases:
        if outcome in ("traceback", "hang"):
            print(outcome, detail[-600:], file=sys.stderr)
    return {"check": f"generated input files (hypothesis; {counts['result']} results, {counts['clear error']} clear errors)",
            "cases": len(cases), "passed": counts["result"] + counts["clear error"],
            "failed runs": counts["traceback"] + counts["hang"], "broken indexes": 0,
            "data lost": f"0 ({counts['traceback']} tracebacks, {counts['hang']} hangs)"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writers", type=int, default=50)
    parser.add_argument("--kills", type=int, default=30)
    parser.add_argument("--inputs", type=int, default=1000)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="reliability-"))
    os.environ.setdefault("PARATOPIC_CACHE_DIR", str(root / "cache"))
    from harness import writer_setup

    writer_setup(root, ROOT / "seeds")
    started = time.perf_counter()
    rows = [inputs(root, args.inputs), hostile(root), writers(root, args.writers), kills(root, args.kills),
            topic_kills(root, args.kills)]
    text = "\n".join([
        "# Reliability", "",
        "Produced by `benchmarks/bench_reliability.py` (the same checks, fewer of each, are in `tests/reliability/`).",
        "", pd.DataFrame(rows).to_markdown(index=False), "",
        f"Total time: {(time.perf_counter() - started) / 60:.1f} min.",
    ])
    OUT.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
