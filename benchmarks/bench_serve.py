"""The explorer's benchmark (issue 20): a real `paratopic serve` process on 127.0.0.1, measured from outside.

    python benchmarks/bench_serve.py [--work DIR] [--sizes 10k 100k] [--requests 200] [--no-browser]
                                     [--baseline TREE] [--onnx-queries]

For each index built by ``benchmarks/serve_data.py`` (real ViMs and VNTC paragraphs; 10k embedded, the rest of the
100k with noisy copies of those vectors: see that module): start ``paratopic serve DIR --port P`` (a free port) and
time the start to the first 200 of ``/api/status``; warm up; then ``/api/search`` (k=10, ViMs titles as queries,
no two alike in a run) from 1, 8 and 32 client threads at once, each on its own keep-alive connection: latency
p50 / p95 / p99, throughput, errors (any answer but a 200, or a failed connection); the server's RSS (now and
peak, from /proc); ``/api/map.bin`` and ``/api/map`` sizes; time to first paint of ``/map`` in headless Chromium
(navigation start to the points and labels drawn, then one animation frame; median of 3 loads). The server is
stopped with SIGINT at the end. Writes benchmarks/results/serve.md.

``--baseline TREE``: also run the server of another checkout (e.g. ``git worktree add --detach /tmp/before main``)
before this one's, on the same indexes in the same run, as the "before" rows. ``--onnx-queries``: also this
checkout's server with ``--query-engine onnx`` (a third row per index).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

import numpy as np
import pandas as pd
from evaldata import VIMS
from serve_data import WORK, build

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
OUT = REPO / "benchmarks" / "results" / "serve.md"
SIDECAR = OUT.with_suffix(".json")  # every index's rows, so that a run of some sizes keeps the others
CLIENTS = (1, 8, 32)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rss_mb(pid: int) -> tuple[float, float]:
    """(RSS now, peak RSS) of process ``pid`` in MB."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


class Server:
    """`paratopic serve FOLDER` of checkout ``tree`` in a subprocess on a free port; ``start_s``: seconds to the
    first 200."""

    def __init__(self, folder: Path, tree: Path = REPO, options: tuple[str, ...] = ()) -> None:
        self.port = _free_port()
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tree), os.environ.get("PYTHONPATH", "")])}
        start = time.perf_counter()
        self.proc = subprocess.Popen([sys.executable, "-m", "paratopic.cli", "serve", str(folder), "--port",
                                      str(self.port), *options], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     env=env, cwd=tree)
        while True:
            try:
                status, _ = self.get("/api/status", timeout=5)
                if status == 200:
                    break
            except OSError:
                pass
            if self.proc.poll() is not None:
                raise SystemExit(f"the server stopped: {self.proc.stderr.read().decode()[-2000:]}")
            time.sleep(0.05)
        self.start_s = time.perf_counter() - start
        self.url = f"http://127.0.0.1:{self.port}/"

    def get(self, path: str, timeout: float = 60) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def queries(n: int) -> list[str]:
    titles = pd.read_json(VIMS, lines=True, dtype=False)["title"].astype(str).drop_duplicates().tolist()
    rng = np.random.default_rng(0)
    return [titles[i] for i in rng.permutation(len(titles))[:n]]


def load(server: Server, texts: list[str], clients: int) -> dict:
    """Each of ``clients`` threads sends its share of ``texts`` as searches over one keep-alive connection."""
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    shares = [texts[i::clients] for i in range(clients)]
    barrier = threading.Barrier(clients + 1)

    def client(share: list[str]) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
        barrier.wait()
        for text in share:
            start = time.perf_counter()
            try:
                conn.request("GET", "/api/search?k=10&q=" + urllib.parse.quote(text))
                response = conn.getresponse()
                body = response.read()
                ok = response.status == 200 and body.startswith(b'{"query"')
            except (OSError, http.client.HTTPException) as exc:
                ok, body = False, repr(exc).encode()
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
            took = time.perf_counter() - start
            with lock:
                latencies.append(took)
                if not ok:
                    errors.append(body[:200].decode(errors="replace"))
        conn.close()

    threads = [threading.Thread(target=client, args=(share,)) for share in shares]
    for t in threads:
        t.start()
    barrier.wait()
    start = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    ms = np.array(latencies) * 1000
    return {"clients": clients, "requests": len(ms), "p50 ms": round(float(np.percentile(ms, 50)), 1),
            "p95 ms": round(float(np.percentile(ms, 95)), 1), "p99 ms": round(float(np.percentile(ms, 99)), 1),
            "requests/s": round(len(ms) / wall, 1), "errors": len(errors), "first error": errors[0] if errors else ""}


def first_paint(server: Server, repeats: int = 3) -> dict:
    """Median ms from navigation start to the map drawn (the page's own count and the wall time seen here)."""
    sys.path.insert(0, str(REPO / "tests"))
    from browser import CHROMIUM_ARGS, chromium_path
    from playwright.sync_api import sync_playwright

    if chromium_path() is None:
        return {"first paint": "no chromium"}
    walls, paints, errors = [], [], []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS)
        for _ in range(repeats):
            page = browser.new_page(viewport={"width": 1366, "height": 900})
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            start = time.perf_counter()
            page.goto(server.url + "map")
            page.wait_for_selector("#map[data-ready='1']", timeout=120_000)
            walls.append((time.perf_counter() - start) * 1000)
            paints.append(float(page.evaluate("() => Number(document.getElementById('map').dataset.paintMs)")))
            labels = page.evaluate("() => document.querySelectorAll('#map .annotation-text').length")
            sent = page.evaluate("() => Number(document.getElementById('map').dataset.sent)")
            page.close()
        browser.close()
    return {"first paint ms (page)": round(statistics.median(paints)), "first paint ms (wall)": round(statistics.median(walls)),
            "points drawn": sent, "labels drawn": labels, "page errors": len(errors)}


def bench(folder: Path, name: str, n_requests: int, browser: bool, columnar_json: bool = True,
          tree: Path = REPO, options: tuple[str, ...] = ()) -> tuple[dict, list[dict]]:
    server = Server(folder, tree, options)
    try:
        texts = queries(30 + n_requests * 4)
        warm = texts[:30]
        for text in warm:
            server.get("/api/search?k=10&q=" + urllib.parse.quote(text))
        rows, at = [], 30
        for clients, count in zip(CLIENTS, (n_requests, n_requests, n_requests * 2)):
            rows.append({"index": name, **load(server, texts[at : at + count], clients)})
            at += count
        rss, peak = _rss_mb(server.proc.pid)
        t = time.perf_counter()
        status, binary = server.get("/api/map.bin")
        bin_s = time.perf_counter() - t
        status_json, columnar, json_s = "not fetched (about 230 MB at 1M)", b"", 0.0
        if columnar_json:
            t = time.perf_counter()
            status_json, columnar = server.get("/api/map")
            json_s = time.perf_counter() - t
        facts = {"index": name, "start s (to first 200)": round(server.start_s, 2), "server RSS MB": round(rss),
                 "peak RSS MB": round(peak), "map.bin bytes": len(binary) if status == 200 else status,
                 "map.bin first s": round(bin_s, 2), "/api/map JSON bytes": len(columnar) if status_json == 200 else status_json,
                 "/api/map first s": round(json_s, 2)}
        if browser:
            facts.update(first_paint(server))
        rss, peak = _rss_mb(server.proc.pid)
        facts["peak RSS MB"] = round(peak)
        return facts, rows
    finally:
        server.stop()


def _table(rows: list[dict]) -> str:
    return pd.DataFrame(rows).astype(str).to_markdown(index=False)


NAMES = {"10k": "10k (all real vectors)", "100k": "100k (10k real + noisy copies)",
         "1m": "1M (100k x 10, noisy copies, ivfsq)"}


def _cpu_name() -> str:
    for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
        if line.startswith("Model name:"):
            return line.split(":", 1)[1].strip()
    return "unknown CPU"


def _versions(args: argparse.Namespace) -> list[tuple[str, Path, tuple[str, ...]]]:
    """(label, checkout, serve options) of each server to run, in order: the baseline first."""
    out = []
    if args.baseline is not None:
        commit = subprocess.run(["git", "-C", str(args.baseline), "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True).stdout.strip()
        out.append((f"before ({commit})", args.baseline.resolve(), ()))
    commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    out.append((f"after ({commit})" if args.baseline is not None else f"this ({commit})", REPO, ()))
    if args.onnx_queries:
        out.append((out[-1][0] + ", --query-engine onnx", REPO, ("--query-engine", "onnx")))
    return out


def _breakdowns(folders: dict[str, Path], versions: list[tuple[str, Path, tuple[str, ...]]]) -> str:
    """benchmarks/serve_breakdown.py's tables for each checkout (not per serve option), as markdown."""
    parts = []
    for label, tree, options in versions:
        if options:
            continue
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tree), os.environ.get("PYTHONPATH", "")])}
        load = os.getloadavg()[0]
        done = subprocess.run([sys.executable, str(Path(__file__).with_name("serve_breakdown.py")), *map(str, folders.values()),
                               "--tree", str(tree), "--queries", "60", "--starts", "3"], capture_output=True, text=True,
                              env=env, check=True)
        parts.append(f"### {label} (load average {load:.1f}, {os.getloadavg()[0]:.1f})\n\n{done.stdout.strip()}\n")
        print(parts[-1], flush=True)
    return "\n".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, default=WORK)
    parser.add_argument("--sizes", nargs="+", choices=list(NAMES), default=["10k", "100k"])
    parser.add_argument("--requests", type=int, default=200, help="searches per load level (32 clients: twice)")
    parser.add_argument("--no-browser", action="store_true")
    parser.add_argument("--baseline", type=Path, help="another checkout to run first, as 'before' (e.g. main)")
    parser.add_argument("--onnx-queries", action="store_true", help="also serve with --query-engine onnx")
    parser.add_argument("--breakdown", action="store_true", help="also run serve_breakdown.py on each checkout")
    parser.add_argument("--report-only", action="store_true", help="rewrite serve.md from serve.json, run nothing")
    args = parser.parse_args()
    if args.report_only:
        args.sizes = []
    folders = build(args.work, 10_000, 100_000) if args.sizes else {}
    folders = {"10k": folders["small"], "100k": folders["large"]} if folders else {}
    if "1m" in args.sizes:
        from serve_data import build_million

        folders["1m"] = build_million(args.work, folders["10k"], folders["100k"])
    saved = json.loads(SIDECAR.read_text()) if SIDECAR.is_file() else {}
    if saved.get("format") != 2:  # rows of the one-version format before --baseline: not comparable, dropped
        saved = {"format": 2, "facts": [], "loads": [], "runs": {}, "breakdown": "", "cpu": ""}
    versions = _versions(args) if args.sizes else []
    if versions:  # a new comparison replaces the old rows (their versions differ)
        saved.update(facts=[], loads=[], runs={}, cpu=f"{_cpu_name()}, {os.cpu_count()} cores")
    for size in args.sizes:
        name = NAMES[size]
        requests = args.requests if size != "1m" else max(20, args.requests // 2)  # the 1M run is the longest
        for label, tree, options in versions:
            load_before = os.getloadavg()[0]
            f, rows = bench(folders[size], name, requests, not args.no_browser, columnar_json=size != "1m",
                            tree=tree, options=options)
            f = {"version": label, **f, "load avg (before, after)": f"{load_before:.1f}, {os.getloadavg()[0]:.1f}"}
            rows = [{"version": label, **r} for r in rows]
            saved["facts"].append(f)
            saved["loads"].extend(rows)
            print(_table([f]), "\n", _table(rows), flush=True)
        saved["runs"][name] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    if args.breakdown and versions:
        saved["breakdown"] = _breakdowns({k: v for k, v in folders.items() if k != "1m"}, versions)
    order = list(NAMES.values())
    labels = [v["version"] for v in saved["facts"]]
    saved["facts"].sort(key=lambda r: (order.index(r["index"]), labels.index(r["version"])))
    saved["loads"].sort(key=lambda r: (order.index(r["index"]), r["clients"], labels.index(r["version"])))
    SIDECAR.write_text(json.dumps(saved, ensure_ascii=False, indent=1), encoding="utf-8")
    OUT.write_text(report(saved), encoding="utf-8")
    print(f"wrote {OUT}")


def report(saved: dict) -> str:
    """serve.md from the sidecar's rows."""
    facts, loads = saved["facts"], saved["loads"]
    runs = "; ".join(f"{k}: {v}" for k, v in saved["runs"].items())
    cpu = os.cpu_count()
    return f"""# Explorer benchmark (issue 20)

`benchmarks/bench_serve.py` against a real `paratopic serve` process on 127.0.0.1 (uvicorn), on {saved["cpu"]}
(`lscpu`), shared with other work: the load average before and after each server's run is in the second table
(above {cpu}, other processes were waiting for the cores too, so latencies are noisy). With `--baseline`, each
index is served by the baseline checkout ("before", main at the branch point) and then this one ("after") in the
same run, one after the other. Runs: {runs}.

Indexes (`benchmarks/serve_data.py`): real paragraphs, every ViMs article (title, source, date) then VNTC articles
cut into 2-sentence paragraphs, read by `read_corpus`; 10,000 of them drawn at random embedded with the bundled
model (`ParagraphIndex.build`): the **10k** index. The **100k** index: those 10,000 vectors in place and every
other paragraph the vector of a random embedded one plus N(0, 0.02) noise, through the public constructor
`ParagraphIndex(table, vectors, embedder=...)` (FAISS kind `auto`: flat). Topics: `paratopic topics DIR` (a full fit
at 10k, `--sample 20000` at 100k; at 1M `fit_sampled` on 20,000 without the keyword count over all
paragraphs); no stories (search groups by near-duplicates only). The **1M** index
(`--sizes 1m`, when it fits in time and memory): the 100k paragraphs ten times under new document ids, every
vector a noisy copy of a real one, FAISS kind `ivfsq` (half as many searches per load level).

Searches: `/api/search?k=10` with ViMs titles as queries (none repeated within a run), after 30 warm-up
searches; each client thread on its own keep-alive connection; the explorer embeds one query at a time (one
shared embedder), so more clients queue. Errors: any answer but a 200 with a result body, or a failed connection.

## Search under load

{_table(loads)}

## Start, memory and map

{_table(facts)}

Start: `paratopic serve` launched to the first 200 of `/api/status` (Python start, imports, loading the index,
topics, and building the explorer's lookups). First paint: headless Chromium (`tests/browser.py`'s flags:
software WebGL, no GPU) opening `/map`, from navigation start to the scattergl points and the labels drawn plus
one animation frame, median of 3 loads; the map sends `/api/map.bin` (14 bytes a point, a seeded sample over
{100_000:,} points: at 100k every point is drawn). `/api/map` is the older columnar JSON with hover text, kept for
API users.

Targets: warm search p95 <= 100 ms at 100k with one client; 0 errors at 32 clients; first paint <= 3 s at 100k;
start <= 3 s on the saved 100k index.

## Where the time goes (`benchmarks/serve_breakdown.py`, `--breakdown`)

{saved.get("breakdown") or "(not run: --breakdown)"}
"""


if __name__ == "__main__":
    main()
