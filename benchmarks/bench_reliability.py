"""Reliability run: concurrent writers, kills during saves, hostile folders
and generated bad inputs, each outcome classified and counted.

Run:  python benchmarks/bench_reliability.py [--writers 50] [--kills 30] [--inputs 1000] [--loads 500] [--tampered 1000]

Saved-state rows (``--only-state`` runs just those): loads of the index, the topic model and stories while
another process re-saves them in a loop; saves of each killed (``os._exit``, nothing cleaned up) or hit by
a full disk at every write step of a first and of a later save, then saved again; tampered saved files.

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
        proc = subprocess.Popen([*CLI, "topics", str(target), "--refit", "--random-state", str(rng.randrange(1000))], cwd=ROOT,
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


def state_setup(root: Path) -> Path:
    """``root/state``: an index of all the seeds with its topic model and stories saved in it."""
    from cluster import StoryModel, TopicModel
    from embed import ParagraphIndex

    folder = root / "state"
    index = ParagraphIndex.build(ROOT / "seeds")
    index.save(folder)
    TopicModel(random_state=0).fit(index).save(folder / "topics", index_dir=folder)
    StoryModel().fit(index).save(folder / "stories", index_dir=folder)
    return folder


def reader_races(root: Path, state: Path, loads: int) -> list[dict]:
    from harness import KINDS, reader_race

    rows = []
    for kind in KINDS:
        folder = root / f"race-{kind}"
        shutil.copytree(state, folder)
        outcome = reader_race(kind, folder, loads, repo=ROOT)
        rows.append({"check": f"loads of the {kind} while another process re-saves it in a loop "
                              f"({outcome['saves']} saves meanwhile)",
                     "cases": loads, "passed": loads - outcome["failed"], "failed runs": outcome["failed"],
                     "broken indexes": 0, "data lost": "0", "unwritable folders": "",
                     "note": outcome["first_failure"][:120]})
        print(rows[-1], file=sys.stderr)
    return rows


def interrupted_saves(root: Path, state: Path, stride: int) -> list[dict]:
    """Each kind, first and later save, killed or out of space at every ``stride``-th write step; then
    the folder must load (a later save: the old state) and take an ordinary save."""
    from harness import KINDS, injected, interrupted_save, load_kind, save_kind

    from embed import ParatopicError, SaveError

    rows = []
    for kind in KINDS:
        source = load_kind(kind, state)
        counts: Counter[str] = Counter()
        for phase in ("first", "later"):
            for how in ("kill", "enospc"):
                point = 1
                while True:
                    target = root / f"cut-{kind}-{phase}-{how}-{point}"
                    shutil.copytree(state, target)
                    if phase == "first":
                        shutil.rmtree(target if kind == "index" else target / kind)
                    if how == "kill":
                        completed, said = interrupted_save(kind, state, target, point, how, repo=ROOT)
                    else:
                        try:
                            with injected(point, how):
                                save_kind(kind, source, target)
                            completed = True
                        except SaveError as exc:
                            completed = False
                            counts["one-line errors"] += "\n" not in str(exc)
                        except Exception:  # noqa: BLE001 - counted
                            completed = False
                            counts["tracebacks"] += 1
                    if completed:
                        shutil.rmtree(target)
                        break
                    counts["cases"] += 1
                    counts[how] += 1
                    if phase == "later":
                        try:
                            load_kind(kind, target)
                        except ParatopicError:
                            counts["broken"] += 1
                    try:
                        save_kind(kind, source, target)
                        load_kind(kind, target)
                    except Exception as exc:  # noqa: BLE001 - counted
                        counts["unwritable"] += 1
                        print(kind, phase, how, point, exc, file=sys.stderr)
                    shutil.rmtree(target)
                    point += stride
        rows.append({"check": f"{kind}: save killed / out of space at each write step of a first and a later save "
                              f"({counts['kill']} kills, {counts['enospc']} ENOSPC), then saved again",
                     "cases": counts["cases"], "passed": counts["cases"] - counts["unwritable"] - counts["broken"],
                     "failed runs": counts["tracebacks"], "broken indexes": counts["broken"], "data lost": "0",
                     "unwritable folders": counts["unwritable"],
                     "note": f"{counts['one-line errors']} of {counts['enospc']} ENOSPC errors one line"})
        print(rows[-1], file=sys.stderr)
    return rows


_HOSTILE: list = [None, True, -1, 0, 2**63, 10**30, 4_000_000_000, 1e308, float("nan"), float("inf"), "", "x" * 300,
                  "../../etc/passwd", "/etc/passwd", [], {}, "0", {"0": 5}, [[1]], [None], {"": {}}, "bogus"]


def _nested(depth: int) -> object:
    value: object = 0
    for _ in range(depth):
        value = [value]
    return value


def tampered_states(root: Path, state: Path, n: int) -> dict:
    """``n`` saved files (manifest, topic model, stories) with one random field replaced by a hostile value,
    deleted, or nested deeply; each loaded and used. Anything but a result or paratopic's error is a traceback."""
    import json
    import traceback

    from harness import load_kind

    from embed import ParagraphIndex, ParatopicError

    rng = random.Random(7)
    files = {"index": "manifest.json", "topics": "topics/topic_model.json", "stories": "stories/stories.json"}
    index = ParagraphIndex.load(state)
    outcomes: Counter[str] = Counter()
    target = root / "tampered"
    shutil.copytree(state, target)
    originals = {kind: (target / name).read_text() for kind, name in files.items()}
    for i in range(n):
        kind = ("index", "topics", "stories")[i % 3]
        for other, text in originals.items():  # every file as saved, then one tampered
            (target / files[other]).write_text(text)
        path = target / files[kind]
        document = json.loads(originals[kind])
        if i % 50 == 49:
            text = "[" * 100_000 + "]" * 100_000
        else:
            holders, stack = [], [document]
            while stack:
                item = stack.pop()
                keys = list(item) if isinstance(item, dict) else range(len(item)) if isinstance(item, list) else []
                for key in keys:
                    holders.append((item, key))
                    stack.append(item[key])
            holder, key = rng.choice(holders)
            roll = rng.random()
            if roll < 0.1 and isinstance(holder, dict):
                del holder[key]
            elif roll < 0.15:
                holder[key] = _nested(rng.choice([40, 500, 5000]))
            else:
                holder[key] = rng.choice(_HOSTILE)
            try:
                text = json.dumps(document)
            except (RecursionError, ValueError):
                outcomes["result"] += 1
                continue
        path.write_text(text)
        try:
            loaded = load_kind(kind, target, index if kind != "index" else None)
            if kind == "index":
                loaded.info()
                loaded.similar(str(loaded.paragraphs["id"].iloc[0]), k=3)
            elif kind == "topics":
                loaded.topic_info()
            else:
                loaded.story_info()
            outcomes["result"] += 1
        except ParatopicError as exc:
            outcomes["clear error" if "\n" not in str(exc) else "traceback"] += 1
        except Exception:  # noqa: BLE001 - what is counted
            outcomes["traceback"] += 1
            print(kind, traceback.format_exc(limit=4)[-800:], file=sys.stderr)
    return {"check": f"tampered saved files: manifest, topic model, stories ({outcomes['result']} results, "
                     f"{outcomes['clear error']} clear errors)",
            "cases": n, "passed": outcomes["result"] + outcomes["clear error"], "failed runs": outcomes["traceback"],
            "broken indexes": 0, "data lost": f"0 ({outcomes['traceback']} tracebacks)", "unwritable folders": "",
            "note": ""}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writers", type=int, default=50)
    parser.add_argument("--kills", type=int, default=30)
    parser.add_argument("--inputs", type=int, default=1000)
    parser.add_argument("--loads", type=int, default=500, help="loads of each kind during a writer loop")
    parser.add_argument("--tampered", type=int, default=1000, help="tampered saved files")
    parser.add_argument("--stride", type=int, default=1, help="interrupt every STRIDE-th write step")
    parser.add_argument("--only-state", action="store_true", help="only the saved-state rows")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="reliability-"))
    os.environ.setdefault("PARATOPIC_CACHE_DIR", str(root / "cache"))
    from harness import writer_setup

    started = time.perf_counter()
    state = state_setup(root)
    rows = [*reader_races(root, state, args.loads), *interrupted_saves(root, state, args.stride),
            tampered_states(root, state, args.tampered)]
    if not args.only_state:
        writer_setup(root, ROOT / "seeds")
        rows = [inputs(root, args.inputs), hostile(root), writers(root, args.writers), kills(root, args.kills),
                topic_kills(root, args.kills), *rows]
    text = "\n".join([
        "# Reliability", "",
        "Produced by `benchmarks/bench_reliability.py` (the same checks, fewer of each, are in `tests/reliability/`).",
        "Saved-state rows: `failed runs` = failed loads (reader rows) or raw tracebacks, `unwritable folders` = "
        "folders the next ordinary save could not write into after the interruption.",
        "", pd.DataFrame(rows).fillna("").to_markdown(index=False), "",
        f"Total time: {(time.perf_counter() - started) / 60:.1f} min"
        + (" (saved-state rows only; the other rows are from the previous full run)." if args.only_state else "."),
    ])
    if args.only_state and OUT.exists():  # keep the other rows of the last full run
        text = text + "\n\n## Previous full run\n\n" + OUT.read_text().split("## Previous full run")[0].split("\n", 1)[1]
    OUT.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
