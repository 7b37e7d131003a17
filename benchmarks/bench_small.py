"""Small collections: topics of a handful of news events, against the events.

Run:  python benchmarks/bench_small.py [--draws 100] [--sizes 3 5 10 20]

Each draw takes K random events of ViMs (``../shared/eval/vims``: 300 events,
4-10 articles each from different outlets), reads their articles as paratopic
does (paragraphs, boilerplate and duplicates flagged *within the draw*) and
fits every method on the same vectors of the modelled paragraphs (the bundled
e5 engine's, embedded once for the whole of ViMs and cached). Scores are
against the event of each paragraph's article; outliers (-1) count as one
label, as in ``bench_topics.py``. "largest" is the share of the modelled
paragraphs in the largest topic (the events' own largest share is given for
comparison); "largest excess" is how far it goes beyond that share, and
"catch-all" the share of draws where that excess is over 5 points. Writes ``benchmarks/results/small.md``.
"""

from __future__ import annotations

import argparse
import logging
import math
import platform
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score
from vims import VIMS, prepare

from cluster import TopicModel
from cluster.topics.setaside import fit_mask
from embed import ParagraphIndex, read_corpus

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "small.md"
#: A draw's largest topic is a catch-all when it holds this much more of the
#: paragraphs than the largest event does (it swallowed part of another event).
CATCH_ALL = 0.05


def previous_default(index: ParagraphIndex) -> np.ndarray:
    """paratopic before this change: UMAP + HDBSCAN, each paragraph alone."""
    n = int(fit_mask(index.paragraphs).sum())
    model = TopicModel(random_state=0, article_context=0, n_neighbors=max(2, min(15, round(1.5 * math.sqrt(n)))))
    return model.fit(index).labels_[model.fitted_mask_]


def ours(index: ParagraphIndex, **options: object) -> np.ndarray:
    model = TopicModel(random_state=0, **options).fit(index)
    return model.labels_[model.fitted_mask_]


def plain(vectors: np.ndarray) -> np.ndarray:
    """umap-learn's and hdbscan's own defaults (cosine metric)."""
    import hdbscan

    from cluster.topics.reduction import import_umap

    reduced = import_umap().UMAP(metric="cosine", random_state=0).fit_transform(vectors)
    return np.asarray(hdbscan.HDBSCAN().fit(reduced).labels_)


def bertopic(vectors: np.ndarray, texts: list[str]) -> np.ndarray:
    """BERTopic's defaults on the same vectors (its UMAP seeded for repeatability)."""
    from bertopic import BERTopic
    from bertopic.backend import BaseEmbedder

    from cluster.topics.reduction import import_umap

    umap_model = import_umap().UMAP(n_neighbors=15, n_components=5, min_dist=0.0, metric="cosine", random_state=0)
    labels, _ = BERTopic(embedding_model=BaseEmbedder(), umap_model=umap_model).fit_transform(texts, embeddings=vectors)
    return np.asarray(labels)


def scores(events: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    topics = labels[labels >= 0]
    return {
        "ARI": adjusted_rand_score(events, labels), "NMI": normalized_mutual_info_score(events, labels),
        "largest": float(np.bincount(topics).max() / len(labels)) if len(topics) else 1.0,
        "outliers": float((labels < 0).mean()), "topics": len(np.unique(topics)),
    }


def run_draws(articles: pd.DataFrame, vector_of: dict[str, np.ndarray], description: dict, k: int, draws: int,
              with_bertopic: bool) -> list[dict]:
    events = sorted(articles["event"].unique())
    rows = []
    for draw in range(draws):
        chosen = np.random.default_rng(1000 * k + draw).choice(events, size=k, replace=False)
        table = read_corpus(articles[articles["event"].isin(chosen)])
        index = ParagraphIndex(table, np.stack([vector_of[h] for h in table["text_hash"]]), embedder_description=description)
        mask = fit_mask(table)
        vectors, truth = index.vectors[mask], table["event"].to_numpy()[mask]
        texts = table["text"].to_numpy()[mask].tolist()
        methods = {
            "paratopic (default)": lambda i, v, t: ours(i),
            "paratopic, no article context": lambda i, v, t: ours(i, article_context=0),
            "paratopic before (UMAP + HDBSCAN, paragraph alone)": lambda i, v, t: previous_default(i),
            "plain UMAP + HDBSCAN (library defaults)": lambda i, v, t: plain(v),
            "KMeans told the true k (oracle)": lambda i, v, t: KMeans(k, n_init=10, random_state=0).fit_predict(v),
        }
        if with_bertopic:
            methods["BERTopic 0.17 defaults"] = lambda i, v, t: bertopic(v, t)
        truth_largest = float(pd.Series(truth).value_counts().iloc[0] / len(truth))
        for name, method in methods.items():
            start = time.perf_counter()
            labels = np.asarray(method(index, vectors, texts))
            row = {"events": k, "draw": draw, "method": name, "paragraphs": len(truth),
                   "events' largest": truth_largest, **scores(truth, labels), "fit_s": time.perf_counter() - start}
            row["largest excess"] = max(0.0, row["largest"] - truth_largest)
            row["catch-all"] = float(row["largest excess"] > CATCH_ALL)
            rows.append(row)
        logging.info("k=%d draw %d/%d done", k, draw + 1, draws)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=100, help="draws of 5 events")
    parser.add_argument("--other-draws", type=int, default=20, help="draws for the other sizes")
    parser.add_argument("--sizes", type=int, nargs="+", default=[3, 5, 10, 20])
    args = parser.parse_args()
    prepare()
    try:
        import bertopic  # noqa: F401
        with_bertopic = True
    except ImportError:
        logging.warning("bertopic is not installed (pip install -e .[bench]); its rows are left out")
        with_bertopic = False

    articles = pd.read_json(VIMS, lines=True, dtype={"date": str})
    full = ParagraphIndex.build(articles, show_progress=True)
    vector_of = dict(zip(full.paragraphs["text_hash"], full.vectors))
    rows = []
    for k in args.sizes:
        rows += run_draws(articles, vector_of, full.embedder_description, k, args.draws if k == 5 else args.other_draws,
                          with_bertopic)
    frame = pd.DataFrame(rows)
    metrics = ["paragraphs", "events' largest", "ARI", "NMI", "largest", "largest excess", "catch-all", "outliers",
               "topics", "fit_s"]
    summary = frame.groupby(["events", "method"], sort=False)[metrics].mean().reset_index()
    summary.insert(2, "draws", frame.groupby(["events", "method"], sort=False).size().to_numpy())
    ari_sd = frame.groupby(["events", "method"], sort=False)["ARI"].std().to_numpy()
    summary.insert(summary.columns.get_loc("ARI") + 1, "ARI sd", ari_sd)
    five = frame[frame["events"] == 5].pivot(index="draw", columns="method", values="ARI")
    wins = {m: float((five["paratopic (default)"] > five[m]).mean()) for m in five.columns if m != "paratopic (default)"}
    lines = [
        "# Small collections: ViMs draws of K events", "",
        f"Machine: {platform.machine()}, 2 cores; vectors: {full.embedder_description.get('model_id')} "
        f"({full.embedder_description.get('backend')}, {full.embedder_description.get('precision')}), the same for "
        "every method. Produced by `benchmarks/bench_small.py`; means over draws.", "",
        summary.to_markdown(index=False, floatfmt=".3f"), "",
        "largest: share of the modelled paragraphs in the largest topic; events' largest: the same for the largest "
        f"event; catch-all: share of draws whose largest topic exceeds the largest event by over {CATCH_ALL:.0%}.", "",
        "Share of the 5-event draws where the default's ARI is strictly higher than: "
        + "; ".join(f"{m} {100 * w:.0f}%" for m, w in wins.items()) + ".", "",
    ]
    OUT.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))  # noqa: T201


if __name__ == "__main__":
    main()
