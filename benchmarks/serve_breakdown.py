"""Where the explorer's time goes: server start in phases, one search in parts (issue 20, point 7).

    python benchmarks/serve_breakdown.py DIR [DIR ...] [--queries 60] [--starts 3]

Start (each in a fresh interpreter, ``--starts`` times, medians): the command line's imports (``paratopic.cli``),
the web stack (``paratopic.serve``: FastAPI, uvicorn, Jinja), opening the index (``ParagraphIndex.load``, with the
modules it imports), the topics and the stories (``Workspace.load_topics`` / ``load_stories``), building the app
(``create_app``), then the first search (the query embedder loads). The phases run in the order ``paratopic
serve`` runs them one after the other, so a module two phases share is counted in the first; ``paratopic serve``
itself may overlap some of them (``paratopic.serve.server.open_and_import``), which the last column shows.

Search (one process, warm, ``--queries`` ViMs titles, none repeated, k=10, medians and p95 in ms): embedding
the query (the index's own embedder), the top-k (``embed.search.ranking.ranked``: the FAISS or numpy search and
the hit picking and grouping), building the result table (``results_table``), the explorer's records
(``Explorer.search`` less ``ParagraphIndex.search``), JSON (the response body as the app sends it), and the whole
``/api/search`` through the ASGI app in process (Starlette's TestClient), for the total.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
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

OVERLAP_SCRIPT = r"""
import json, sys, time
t0 = time.perf_counter()
import paratopic.cli  # noqa: F401
from paratopic.serve.server import open_and_import
ws, create_app = open_and_import(sys.argv[1])
app = create_app(ws)
print(json.dumps({"paratopic serve's own order": time.perf_counter() - t0}))
"""


def _run(script: str, folder: Path) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", script, str(folder)], capture_output=True, text=True, check=True,
                          cwd=REPO, env=env)
    return json.loads(done.stdout.strip().splitlines()[-1])


def start_phases(folder: Path, starts: int) -> dict[str, float]:
    """Median seconds of each start phase over ``starts`` fresh interpreters."""
    runs = [_run(START_SCRIPT, folder) for _ in range(starts)]
    out = {name: round(statistics.median(r[name] for r in runs), 2) for name in runs[0]}
    try:
        import paratopic.serve.server as server

        if hasattr(server, "open_and_import"):
            overlap = [_run(OVERLAP_SCRIPT, folder) for _ in range(starts)]
            name = next(iter(overlap[0]))
            out[name] = round(statistics.median(r[name] for r in overlap), 2)
    except ImportError:
        pass
    return out


def search_parts(folder: Path, n_queries: int) -> dict[str, float]:
    """Median (and p95) ms of each part of one search over ``n_queries`` queries, after 10 warm-up ones."""
    from bench_serve import queries
    from starlette.testclient import TestClient

    from cluster.workspace import Workspace
    from embed.search import grouping
    from embed.search.ranking import ranked, results_table, row_filter
    from paratopic.serve.app import create_app
    from paratopic.serve.views import Explorer

    ws = Workspace.open(folder)
    index = ws.index
    explorer = Explorer(ws)
    client = TestClient(create_app(ws))
    flags = row_filter(index.paragraphs)
    rule = grouping.grouping_rule("group", None, grouping.NEAR_DUPLICATE_THRESHOLD, grouping.STORY_THRESHOLD)
    texts = queries(10 + n_queries * 2)
    for text in texts[:10]:
        client.get("/api/search", params={"q": text, "k": 10})
    parts: dict[str, list[float]] = {k: [] for k in ("embed", "top-k + grouping", "result table", "explorer records",
                                                     "JSON", "ParagraphIndex.search", "/api/search in process")}
    for text, other in zip(texts[10 : 10 + n_queries], texts[10 + n_queries :]):
        t = time.perf_counter()
        vector = index.embedder.embed_queries([text])
        parts["embed"].append(time.perf_counter() - t)
        t = time.perf_counter()
        rows = ranked(index.paragraphs, index.vectors, index.faiss_index, flags, vector, k=10, include_flagged=False,
                      rule=rule, exclude=[set()], other_doc=[None])
        parts["top-k + grouping"].append(time.perf_counter() - t)
        t = time.perf_counter()
        results_table(index.paragraphs, [text], rows)
        parts["result table"].append(time.perf_counter() - t)
        t = time.perf_counter()
        index.search(text, k=10)
        whole = time.perf_counter() - t
        parts["ParagraphIndex.search"].append(whole)
        t = time.perf_counter()
        body = explorer.search(text, 10)
        parts["explorer records"].append(max(0.0, time.perf_counter() - t - whole))
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
    out["embedder"] = index.embedder_description.get("backend")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("--queries", type=int, default=60)
    parser.add_argument("--starts", type=int, default=3)
    parser.add_argument("--no-start", action="store_true")
    parser.add_argument("--no-search", action="store_true")
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
