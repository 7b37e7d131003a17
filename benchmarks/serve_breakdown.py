"""Where the explorer's time goes: server start in phases, one search in parts (issue 20, point 7).

    python benchmarks/serve_breakdown.py DIR [DIR ...] [--queries 60] [--starts 3] [--tree CHECKOUT]

Start (each in a fresh interpreter, ``--starts`` times, medians): the command line's imports (``paratopic.cli``),
the web stack (``paratopic.serve``: FastAPI, uvicorn, Jinja), opening the index (``ParagraphIndex.load``, with the
modules it imports), the topics and the stories (``Workspace.load_topics`` / ``load_stories``), building the app
(``create_app``), then the first search (the query embedder loads). The phases run in the order ``paratopic
serve`` runs them, so a module two phases share is counted in the first.

Search (one process, warm, ``--queries`` ViMs titles, none repeated, k=10, medians and p95 in ms): embedding
the query (the index's own embedder, as ``ParagraphIndex.search`` does), the top-k (``embed.search.ranking.ranked``:
the FAISS or numpy search and the hit picking and grouping), building the result table (``results_table``), the
whole ``ParagraphIndex.search``, the whole ``Explorer.search`` (the explorer's records included), JSON (its body,
``json.dumps``), and ``/api/search`` through the ASGI app in process (Starlette's TestClient; another query).

``--tree``: the checkout whose code is measured (default: this one), e.g. a worktree of main for "before".
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if "--tree" in sys.argv:  # the code measured comes from that checkout (read before argparse: imports need it)
    REPO = Path(sys.argv[sys.argv.index("--tree") + 1]).resolve()
sys.path.insert(0, str(REPO))

START_SCRIPT = r"""
import json, sys, time
t = {}
t0 = time.perf_counter()
import paratopic.cli  # noqa: F401
t["cli imports"] = time.perf_counter() - t0
s = time.perf_counter()
import paratopic.serve  # noqa: F401
t["web stack imports"] = time.perf_counter() - s
s = time.perf_counter()
from cluster.workspace import Workspace
from embed.store.index import ParagraphIndex
t["index imports"] = time.perf_counter() - s
s = time.perf_counter()
from cluster.workspace.folder import index_folder
folder = index_folder(sys.argv[1])
ws = Workspace(directory=folder, index=ParagraphIndex.load(folder))
t["open index"] = time.perf_counter() - s
s = time.perf_counter()
ws.load_topics()
t["topics"] = time.perf_counter() - s
s = time.perf_counter()
ws.load_stories()
t["stories"] = time.perf_counter() - s
s = time.perf_counter()
from paratopic.serve.app import create_app
app = create_app(ws)
t["app"] = time.perf_counter() - s
t["total to app"] = time.perf_counter() - t0
s = time.perf_counter()
ws.index.search("tên lửa", k=10)
t["first search"] = time.perf_counter() - s
print(json.dumps(t))
"""

def _run(script: str, folder: Path) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}  # --tree's
    done = subprocess.run([sys.executable, "-c", script, str(folder)], capture_output=True, text=True, check=True,
                          cwd=REPO, env=env)
    return json.loads(done.stdout.strip().splitlines()[-1])


def start_phases(folder: Path, starts: int) -> dict[str, float]:
    """Median seconds of each start phase over ``starts`` fresh interpreters."""
    runs = [_run(START_SCRIPT, folder) for _ in range(starts)]
    return {name: round(statistics.median(r[name] for r in runs), 2) for name in runs[0]}


def search_parts(folder: Path, n_queries: int) -> dict[str, float]:
    """Median (and p95) ms of each part of one search over ``n_queries`` queries, after 10 warm-up ones."""
    from bench_serve import queries  # it puts this checkout first on sys.path: --tree's goes first again

    sys.path.insert(0, str(REPO))
    from starlette.testclient import TestClient

    from cluster.workspace import Workspace
    from embed.search import grouping
    from embed.search.ranking import ranked, results_table, row_filter
    from paratopic.serve.app import create_app
    from paratopic.serve.views import Explorer

    assert Path(Explorer.__module__ and sys.modules[Explorer.__module__].__file__).is_relative_to(REPO)

    ws = Workspace.open(folder)
    index = ws.index
    explorer = Explorer(ws)
    client = TestClient(create_app(ws))
    flags = row_filter(index.paragraphs)
    rule = grouping.grouping_rule("group", None, grouping.NEAR_DUPLICATE_THRESHOLD, grouping.STORY_THRESHOLD)
    texts = queries(10 + n_queries * 2)
    onnx = "engine" in inspect.signature(index.embedder.embed_queries).parameters  # --query-engine onnx exists
    for text in texts[:10]:
        client.get("/api/search", params={"q": text, "k": 10})
        if onnx:
            index.embedder.embed_queries([text], engine="onnx")  # its tokenizer and session load here
    parts: dict[str, list[float]] = {k: [] for k in ("embed", *(["embed, onnx engine"] if onnx else []),
                                                     "top-k + grouping", "result table",
                                                     "ParagraphIndex.search", "Explorer.search", "JSON",
                                                     "/api/search in process")}
    for text, other in zip(texts[10 : 10 + n_queries], texts[10 + n_queries :]):
        t = time.perf_counter()
        vector = index.embedder.embed_queries([text])
        parts["embed"].append(time.perf_counter() - t)
        if onnx:
            t = time.perf_counter()
            index.embedder.embed_queries([text], engine="onnx")
            parts["embed, onnx engine"].append(time.perf_counter() - t)
        t = time.perf_counter()
        rows = ranked(index.paragraphs, index.vectors, index.faiss_index, flags, vector, k=10, include_flagged=False,
                      rule=rule, exclude=[set()], other_doc=[None])
        parts["top-k + grouping"].append(time.perf_counter() - t)
        t = time.perf_counter()
        results_table(index.paragraphs, [text], rows)
        parts["result table"].append(time.perf_counter() - t)
        t = time.perf_counter()
        index.search(text, k=10)
        parts["ParagraphIndex.search"].append(time.perf_counter() - t)
        t = time.perf_counter()
        body = explorer.search(text, 10)
        parts["Explorer.search"].append(time.perf_counter() - t)
        t = time.perf_counter()
        json.dumps(body, ensure_ascii=False)
        parts["JSON"].append(time.perf_counter() - t)
        t = time.perf_counter()
        client.get("/api/search", params={"q": other, "k": 10})  # another query: no cache of this one helps
        parts["/api/search in process"].append(time.perf_counter() - t)
    out = {}
    for name, values in parts.items():
        ms = np.array(values) * 1000
        out[f"{name} p50"] = round(float(np.median(ms)), 1)
        out[f"{name} p95"] = round(float(np.percentile(ms, 95)), 1)
    out["index's embedder"] = index.embedder_description.get("backend")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("--queries", type=int, default=60)
    parser.add_argument("--starts", type=int, default=3)
    parser.add_argument("--no-start", action="store_true")
    parser.add_argument("--no-search", action="store_true")
    parser.add_argument("--tree", type=Path, default=REPO, help="the checkout to measure (default: this one)")
    args = parser.parse_args()
    import pandas as pd

    starts, searches = [], []
    for folder in args.folders:
        if not args.no_start:
            starts.append({"index": folder.name, **start_phases(folder, args.starts)})
        if not args.no_search:
            searches.append({"index": folder.name, **search_parts(folder, args.queries)})
    if starts:
        print("Start phases, seconds (median of", args.starts, "fresh interpreters)\n")
        print(pd.DataFrame(starts).to_markdown(index=False), "\n")
    if searches:
        print(f"Search parts, ms (k=10, {args.queries} queries)\n")
        print(pd.DataFrame(searches).set_index("index").T.to_markdown(), "\n")


if __name__ == "__main__":
    main()
