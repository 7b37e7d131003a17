"""The indexes the explorer's benchmark serves (``bench_serve.py``): real Vietnamese news paragraphs, cheap vectors.

    python benchmarks/serve_data.py [--work DIR (default $PARATOPIC_BENCH_DIR or /tmp/paratopic-bench-serve)] [--real 10000] [--paragraphs 100000]

Paragraphs: every ViMs article (title, source, date; split at its blank lines) then VNTC articles cut into
2-sentence paragraphs (source "VNTC", no date), read with :func:`embed.read_corpus` (flags computed over all of
them), the first ``--paragraphs``. Vectors: ``--real`` paragraphs drawn at random are embedded with the bundled
model (``ParagraphIndex.build``); every other paragraph gets the vector of a random embedded one plus N(0, 0.02)
noise, renormalised, and the index is made with the public constructor ``ParagraphIndex(table, vectors,
embedder=...)``. So the 10k index is all real vectors, and the 100k index has real texts with vectors that
cluster like real ones but do not belong to their text (search returns real text, not the right text).
Topics: ``paratopic topics`` (a full fit at 10k, ``--sample 20000`` at 100k). Each folder is built once and reused.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from evaldata import VIMS, VNTC, missing

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
#: Built indexes are kept here between runs (outside the repository: a test run checks that nothing writes there).
WORK = Path(os.environ.get("PARATOPIC_BENCH_DIR") or Path(tempfile.gettempdir()) / "paratopic-bench-serve")
logger = logging.getLogger("serve_data")


def articles(n: int) -> pd.DataFrame:
    """ViMs articles, then VNTC articles cut into 2-sentence paragraphs, enough for about ``n`` paragraphs."""
    for path in (VIMS, VNTC):
        if not path.is_file():
            raise SystemExit(missing(path))
    vims = pd.read_json(VIMS, lines=True, dtype=False)
    rows = [{"id": str(r.id).replace("/", "_"), "title": r.title, "text": r.text, "source": r.source,
             "date": str(r.date)[:10] if isinstance(r.date, str) else None} for r in vims.itertuples()]
    total = sum(len([p for p in r["text"].split("\n\n") if p.strip()]) for r in rows)
    for i, r in enumerate(pd.read_json(VNTC, lines=True).itertuples()):
        if total >= n * 1.02:
            break
        sentences = re.split(r"(?<=[.!?])\s+", str(r.text))
        paras = [" ".join(sentences[j : j + 2]) for j in range(0, len(sentences), 2)]
        rows.append({"id": f"vntc{i:05d}", "title": paras[0][:120], "text": "\n\n".join(paras), "source": "VNTC",
                     "date": None})
        total += len(paras)
    return pd.DataFrame(rows)


def replicated(real: np.ndarray, n: int, seed: int) -> np.ndarray:
    """``n`` unit vectors: random rows of ``real`` with N(0, 0.02) noise."""
    rng = np.random.default_rng(seed)
    out = real[rng.integers(0, len(real), n)] + rng.normal(0, 0.02, (n, real.shape[1])).astype(np.float32)
    return (out / np.linalg.norm(out, axis=1, keepdims=True)).astype(np.float32)


def _topics(folder: Path, sample: int | None) -> float:
    args = [sys.executable, "-c", "from paratopic.cli import app; app()", "topics", str(folder)]
    args += ["--sample", str(sample)] if sample else []
    start = time.perf_counter()
    subprocess.run(args, check=True, cwd=REPO, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def build(work: Path, real: int, paragraphs: int) -> dict[str, Path]:
    """The two index folders (``work/10k``-style names from the sizes), built when missing."""
    from embed import ParagraphIndex, read_corpus
    from embed.store.cache import EmbeddingCache

    small, large = work / f"{real // 1000}k", work / f"{paragraphs // 1000}k"
    done = work / "built.json"
    if done.is_file() and json.loads(done.read_text()) == {"real": real, "paragraphs": paragraphs}:
        return {"small": small, "large": large}
    work.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    table = read_corpus(articles(paragraphs)).iloc[:paragraphs].reset_index(drop=True)
    if len(table) < paragraphs:
        raise SystemExit(f"the evaluation data gives {len(table)} paragraphs; asked for {paragraphs}")
    rows = np.sort(np.random.default_rng(0).choice(len(table), size=real, replace=False))
    logger.info("read %d paragraphs in %.0f s; embedding %d of them", len(table), time.perf_counter() - start, real)
    start = time.perf_counter()
    index = ParagraphIndex.build(table.iloc[rows].reset_index(drop=True), cache=EmbeddingCache(work / "cache.sqlite"))
    logger.info("embedded in %.0f s", time.perf_counter() - start)
    index.save(small)
    vectors = replicated(index.vectors, len(table), seed=1)
    vectors[rows] = index.vectors
    ParagraphIndex(table, vectors, embedder=index.embedder).save(large)
    logger.info("topics of %s: %.0f s", small, _topics(small, None))
    logger.info("topics of %s: %.0f s", large, _topics(large, 20_000))
    done.write_text(json.dumps({"real": real, "paragraphs": paragraphs}))
    return {"small": small, "large": large}


def build_million(work: Path, small: Path, large: Path, copies: int = 10) -> Path:
    """``work/1m``: the 100k index ``copies`` times under new document ids (``<doc>~<copy>``), every vector a noisy
    copy of a real one (the 10k index's), FAISS kind ``ivfsq``; topics fitted on a sample of 20,000. Built once."""
    from embed import ParagraphIndex

    folder = work / f"{copies // 10}m" if copies % 10 == 0 else work / f"{copies}00k"
    if (folder / "topics" / "topic_model.json").is_file():
        return folder
    base = ParagraphIndex.load(large)
    tables = []
    for c in range(copies):
        t = base.paragraphs.copy()
        suffix = f"~{c}"
        t["doc_id"] = t["doc_id"].astype(str) + suffix
        t["id"] = t["doc_id"] + ":" + t["position"].astype(str)
        dup = t["duplicate_of"].notna()
        t.loc[dup, "duplicate_of"] = [f"{d.rsplit(':', 1)[0]}{suffix}:{d.rsplit(':', 1)[1]}" for d in t.loc[dup, "duplicate_of"]]
        tables.append(t)
    table = pd.concat(tables, ignore_index=True)
    real = ParagraphIndex.load(small).vectors
    vectors = replicated(real, len(table), seed=2)
    start = time.perf_counter()
    index = ParagraphIndex(table, vectors, embedder=base.embedder, kind="ivfsq")
    index.save(folder)
    logger.info("%s: %d paragraphs indexed and saved in %.0f s", folder, len(table), time.perf_counter() - start)
    del vectors, tables, base
    # Not `paratopic topics --sample`: it would also count keywords over all 1M paragraphs (word segmentation of
    # every one, far longer than this benchmark); the sample's keywords label the topics instead.
    from cluster.topics.sampled import fit_sampled

    start = time.perf_counter()
    model = fit_sampled(index, sample_size=20_000, address=None, keywords=False, random_state=0).as_topic_model(index)
    model.save(folder / "topics", index_dir=folder)
    logger.info("topics of %s (sample of 20000, no keyword count): %.0f s", folder, time.perf_counter() - start)
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, default=WORK)
    parser.add_argument("--real", type=int, default=10_000)
    parser.add_argument("--paragraphs", type=int, default=100_000)
    parser.add_argument("--million", action="store_true", help="also the 1M index (10 copies of the 100k one)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    folders = build(args.work, args.real, args.paragraphs)
    if args.million:
        folders["million"] = build_million(args.work, folders["small"], folders["large"])
    print(folders)


if __name__ == "__main__":
    main()
