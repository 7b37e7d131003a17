"""The judged sample of boilerplate flags and how to re-read it (``tests/data/flag_judgements.jsonl``).

Shared by ``tests/test_flag_judgements.py`` and ``benchmarks/bench_flags.py``
(which tells how the sample was drawn): the three readings of the
evaluation data the sample was drawn from, and :func:`rescore`, which says
what the current rules make of each judged paragraph, read in its whole
dataset. Every reader takes the evaluation data folder (``$PARATOPIC_EVAL_DIR``,
else ``<repo>/../shared/eval``) as its argument.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd

DATA = Path(__file__).resolve().parent / "data"
JUDGED = DATA / "flag_judgements.jsonl"
SEED_JUDGED = DATA / "seed_flag_judgements.jsonl"
#: The judged text is each paragraph's first MAX_CHARS characters.
MAX_CHARS = 400


def load_jsonl(path: Path) -> pd.DataFrame:
    return pd.DataFrame([json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()])


def vntc_articles(eval_dir: Path) -> pd.DataFrame:
    """VNTC as shipped: one row per article, id ``vntc#<row>``."""
    rows = [json.loads(x) for x in (eval_dir / "vntc" / "vntc_test_1000perclass.jsonl").read_text().splitlines()]
    return pd.DataFrame({"id": [f"vntc#{i}" for i in range(len(rows))], "title": [r["lead"] for r in rows],
                         "text": [r["text"] for r in rows]})


def _sentence_runs(text: str) -> Iterator[str]:
    current = ""
    for sentence in re.split(r"(?<=[.!?])\s+", text):
        current = f"{current} {sentence}".strip()
        if len(current) >= 240:
            yield current
            current = ""
    if current:
        yield current


def vntc_chunks(eval_dir: Path) -> pd.DataFrame:
    """VNTC articles as runs of whole sentences of >= 240 characters, blank-line separated."""
    articles = vntc_articles(eval_dir)
    return articles.assign(text=["\n\n".join(_sentence_runs(t)) for t in articles["text"]])


def vims_articles(eval_dir: Path) -> pd.DataFrame:
    """ViMs as shipped (paragraphs at blank lines)."""
    rows = [json.loads(x) for x in (eval_dir / "vims" / "vims_articles.jsonl").read_text().splitlines()]
    return pd.DataFrame({"id": [r["id"] for r in rows], "title": [r["title"] for r in rows],
                         "text": [r["text"] for r in rows]})


DATASETS: dict[str, Callable[[Path], pd.DataFrame]] = {
    "vntc": vntc_articles, "vntc-chunks": vntc_chunks, "vims": vims_articles,
}


def read_dataset(name: str, eval_dir: Path) -> pd.DataFrame:
    """The paragraph table of one dataset, flagged by the current rules."""
    from embed import read_corpus

    return read_corpus(DATASETS[name](eval_dir))


def rescore(judged: pd.DataFrame, eval_dir: Path) -> pd.DataFrame:
    """The judged sample with ``reason_now``: what the current rules say of
    each paragraph, read in its whole dataset (some rules need the other
    paragraphs of its document or of the corpus)."""
    out = []
    for name, rows in judged.groupby("dataset", sort=False):
        table = read_dataset(name, eval_dir).set_index(["doc_id", "position"])
        keys = list(zip(rows["doc_id"], rows["position"]))
        now = table.loc[keys]
        if [t[:MAX_CHARS] for t in now["text"]] != rows["text"].tolist():
            raise ValueError(f"{name}: the data in {eval_dir} no longer matches the judged sample")
        out.append(rows.assign(reason_now=now["boilerplate_reason"].tolist()))
    return pd.concat(out).loc[judged.index]
