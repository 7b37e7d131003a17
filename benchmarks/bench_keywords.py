"""Keywords before and after reference-IDF weighting and compound joining, and phrase labels.

Run:  .venv/bin/python benchmarks/bench_keywords.py [--vntc-per-label 200] [--vims-events 300]

Writes benchmarks/results/keywords.md. The topics are fixed so that only the
keyword step differs:

- seeds: the topics of ``TopicModel(random_state=0)`` fitted on seeds/ (bundled model);
- ViMs (../shared/eval/vims): each event is a topic, its articles' body
  paragraphs the documents (2016 news, not in the reference corpus);
- VNTC (../shared/eval/vntc): each section is a topic, ``--vntc-per-label``
  articles each; note these articles ARE in the reference corpus (in-sample).

"before": pyvi words, curated stopwords + words in >30% of paragraphs,
c-TF-IDF + MMR (the pipeline up to this change). "after": learned compounds
joined, the same stopwords, c-TF-IDF x reference-IDF factor + MMR, and the
phrase labels of cluster/words/labels.py.
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import time
from collections import Counter
from pathlib import Path

import numpy as np
from evaldata import EVAL

from cluster.words.keywords import KeywordModel, short_label
from cluster.words.labels import describe_topics
from cluster.words.reference import reference_for
from cluster.words.stopwords import corpus_stopwords, stopwords_for
from cluster.words.tokens import Tokenizer, segment_many

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "keywords.md"
#: Words the issue saw reach top keywords on Vietnamese news (pronouns, fillers, generic nouns/verbs).
GENERIC = ["nó", "em", "cô", "ấy", "khiến", "thực hiện", "tăng", "số", "ảnh", "nước", "muốn", "nhà", "vụ", "gặp",
           "thông tin", "phải"]


def pipelines(texts: list[str], labels: np.ndarray, n_topics: int) -> dict[str, dict]:
    """Keywords (lower case) per topic before and after, phrase labels, and broken compound halves."""
    out = {}
    raw_by = {}
    segmented = segment_many(texts)  # pyvi once; the two pipelines differ after it
    for name, compounds in (("before", frozenset()), ("after", None)):
        tokenizer = Tokenizer("vi", compounds=compounds)
        raw = [tokenizer._words(s) for s in segmented]
        stop = stopwords_for("vi") | corpus_stopwords(raw)
        tokenizer.stopwords = stop
        tokens = [[w for w in doc if w not in stop] for doc in raw]
        raw_by[name] = raw
        if name == "before":
            model = KeywordModel(tokens, labels)
            keywords = {t: [w for w, _ in model.keywords(t, n=10)] for t in range(n_topics)}
            names = {t: short_label([tokenizer.display(w) for w in keywords[t]]) for t in range(n_topics)}
        else:
            pairs, names = describe_topics(tokens, raw, texts, labels, n_topics, tokenizer, n_keywords=10)
            keywords = {t: [w.lower() for w, _ in pairs[t]] for t in range(n_topics)}
        out[name] = {"keywords": keywords, "labels": names}
    # a "broken half": a word that occurs mostly inside a learned compound (joined after, split before)
    before = Counter(w for doc in raw_by["before"] for w in doc)
    after = Counter(w for doc in raw_by["after"] for w in doc)
    out["broken"] = {w for w, c in before.items() if " " not in w and after.get(w, 0) <= 0.5 * c}
    return out


def counts(result: dict, key: str) -> dict[str, int]:
    keywords = result[key]["keywords"]
    flat = [w for words in keywords.values() for w in words]
    return {
        "generic": sum(w in GENERIC for w in flat),
        "topics with a generic word": sum(any(w in GENERIC for w in words) for words in keywords.values()),
        "broken halves": sum(w in result["broken"] for w in flat),
    }


def seeds_data() -> tuple[list[str], np.ndarray, int]:
    from cluster import TopicModel
    from embed import ParagraphIndex

    index = ParagraphIndex.build(ROOT / "seeds", cache=False)
    model = TopicModel(random_state=0).fit(index)
    texts = index.paragraphs["text"].astype(str).to_numpy()[model.fitted_mask_].tolist()
    return texts, model.fit_labels_, model.n_topics_


def vims_data(n_events: int) -> tuple[list[str], np.ndarray, int, list[str]]:
    rows = [json.loads(line) for line in (EVAL / "vims" / "vims_articles.jsonl").open(encoding="utf-8")]
    events = sorted({r["event"] for r in rows})[:n_events]
    ids = {e: i for i, e in enumerate(events)}
    texts, labels = [], []
    for r in rows:
        if r["event"] in ids:
            for para in r["text"].split("\n\n"):
                if len(para.split()) >= 5:
                    texts.append(para.strip())
                    labels.append(ids[r["event"]])
    return texts, np.array(labels), len(events), events


def vntc_data(per_label: int) -> tuple[list[str], np.ndarray, int, list[str]]:
    rows = [json.loads(line) for line in (EVAL / "vntc" / "vntc_test_1000perclass.jsonl").open(encoding="utf-8")]
    names = sorted({r["label"] for r in rows})
    taken: Counter[str] = Counter()
    texts, labels = [], []
    for r in rows:
        if taken[r["label"]] < per_label:
            taken[r["label"]] += 1
            texts.append(r["text"])
            labels.append(names.index(r["label"]))
    return texts, np.array(labels), len(names), names


def table(result: dict, names: list[str], limit: int) -> list[str]:
    lines = ["| topic | before: top-10 keywords | after: top-10 keywords | after: label |", "|---|---|---|---|"]
    for t, name in enumerate(names[:limit]):
        before = ", ".join(result["before"]["keywords"][t])
        after = ", ".join(result["after"]["keywords"][t])
        lines.append(f"| {name} | {before} | {after} | **{result['after']['labels'][t]}** |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--vntc-per-label", type=int, default=200)
    parser.add_argument("--vims-events", type=int, default=300)
    parser.add_argument("--show", type=int, default=25, help="topics shown in each table")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    reference = reference_for("vi")
    assert reference is not None
    sets = {}
    texts, labels, n = seeds_data()
    sets["seeds (TopicModel topics)"] = (texts, labels, n, [str(t) for t in range(n)])
    if EVAL.is_dir():
        sets[f"ViMs ({args.vims_events} events as topics, body paragraphs)"] = vims_data(args.vims_events)
        sets[f"VNTC ({args.vntc_per_label} articles per section; in the reference corpus)"] = vntc_data(args.vntc_per_label)
    lines = [
        "# Keywords: before and after reference-IDF weighting and compound joining",
        "",
        f"`.venv/bin/python benchmarks/bench_keywords.py` on {platform.node() or 'this machine'}, "
        f"{time.strftime('%Y-%m-%d')}. Topics are fixed per data set, so only the keyword step differs.",
        "",
        "- **before**: pyvi words; curated stopwords + words in >30% of paragraphs; c-TF-IDF + MMR.",
        "- **after**: the same, plus the learned compounds joined (`cluster/words/data/compounds_vi.tsv`, "
        f"{len(reference.compounds)} pairs) and each c-TF-IDF weight multiplied by the word's reference-IDF factor "
        f"(`cluster/words/data/reference_vi.tsv`: df of {len(reference.df)} words over {reference.n_documents} VNTC articles); "
        "label = phrase label (cluster/words/labels.py).",
        f"- **generic**: top-10 keywords among {', '.join(GENERIC)} (the words the issue saw; not used by the code).",
        "- **broken halves**: top-10 keywords that occur mostly inside a learned compound (split by pyvi: xảy, gái).",
        "",
        "| data set | topics | paragraphs | generic before | generic after | topics with a generic word before | after "
        "| broken halves before | after | seconds |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    tables = []
    for name, (texts, labels, n, names) in sets.items():
        start = time.perf_counter()
        result = pipelines(texts, labels, n)
        seconds = time.perf_counter() - start
        b, a = counts(result, "before"), counts(result, "after")
        lines.append(
            f"| {name} | {n} | {len(texts)} | {b['generic']} | {a['generic']} | {b['topics with a generic word']} "
            f"| {a['topics with a generic word']} | {b['broken halves']} | {a['broken halves']} | {seconds:.0f} |"
        )
        generic_before = Counter(w for ws in result["before"]["keywords"].values() for w in ws if w in GENERIC)
        generic_after = Counter(w for ws in result["after"]["keywords"].values() for w in ws if w in GENERIC)
        tables += ["", f"## {name}", "",
                   f"Generic words in top-10 before: {dict(generic_before.most_common())}; "
                   f"after: {dict(generic_after.most_common())}.", "",
                   *table(result, names, args.show)]
        if n > args.show:
            tables.append(f"\n({n - args.show} more topics not shown.)")
    text = "\n".join(lines + tables) + "\n"
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
