"""Topic levels (issue 19 point 4) measured where two levels of truth exist -> benchmarks/results/levels.md.

- 20 Newsgroups: ``--ng-per-label`` documents of each of the 20 groups (first 1,000 characters, one paragraph
  each); the topics against the 20 groups, the broad level (:func:`cluster.topics.levels.topic_levels`) against
  the top-level hierarchy (the group name's first part: alt, comp, misc, rec, sci, soc, talk).
- ViMs: ``--vims-per-section`` events of each section (as ViMs gives the articles, in paragraphs); for each event
  the share of its articles whose main topic (most of the article's paragraphs) is the event's main topic, how
  many topics hold several events, the topics against the events and the broad level against the sections.
- The seeds: how many broad groups the five articles form.

One UMAP seed (``random_state=0``), small sizes, so that it runs in a few minutes on a shared 2-core machine.
Run: ``python benchmarks/bench_levels.py``.
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from evaldata import EVAL, VIMS
from sklearn.metrics import adjusted_rand_score

from cluster import StoryModel, TopicModel
from cluster.topics.levels import topic_levels
from embed import ParagraphIndex

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "levels.md"


def broad_labels(model: TopicModel, levels: pd.DataFrame) -> np.ndarray:
    """Each index row's broad group (-1 for outliers and set-aside rows)."""
    topics = np.asarray(model.labels_)
    broad = levels["broad"].to_numpy()
    return np.where(topics >= 0, broad[np.clip(topics, 0, None)], -1)


def newsgroups(per_label: int) -> list[dict]:
    """ARI of the topics vs the 20 groups and of the broad level vs the top-level names."""
    ng = pd.DataFrame([json.loads(line) for line in (EVAL / "20newsgroups" / "20ng_bydate_all_clean.jsonl").open()])
    ng["text"] = ng["text"].str.split().str.join(" ").str.slice(0, 1000)
    ng = ng[ng["text"].str.len() >= 50].groupby("label", group_keys=False).sample(n=per_label, random_state=0)
    frame = pd.DataFrame({"id": ng["id"].astype(str).values, "text": ng["text"].values, "label": ng["label"].values})
    index = ParagraphIndex.build(frame, show_progress=False)
    t0 = time.perf_counter()
    model = TopicModel(random_state=0).fit(index)
    fit_s = time.perf_counter() - t0
    table = index.paragraphs
    keep = ~(table["boilerplate"].astype(bool) | table["duplicate_of"].notna()).to_numpy()
    group = table["label"].astype(str).to_numpy()
    top = np.array([g.split(".")[0] for g in group])
    rows = []
    for how, n_broad in (("chosen (largest gap)", None), ("told 7", 7), ("3 (gap without the lower bound)", 3)):
        levels = topic_levels(model, n_broad=n_broad)
        broad = broad_labels(model, levels)
        rows.append({
            "data": f"20NG ({len(frame):,} docs)", "broad level": how, "topics": model.n_topics_,
            "broad groups": int(levels["broad"].nunique()),
            "ARI topics vs 20 groups": adjusted_rand_score(group[keep], model.labels_[keep]),
            "ARI topics vs top level": adjusted_rand_score(top[keep], model.labels_[keep]),
            "ARI broad vs top level": adjusted_rand_score(top[keep], broad[keep]),
            "outliers": float((model.labels_[keep] < 0).mean()), "fit_s": fit_s,
        })
        logging.info("20NG %s: %s", how, rows[-1])
    return rows


def vims(per_section: int) -> tuple[dict, pd.DataFrame]:
    """Events under topics on a ViMs draw of ``per_section`` events per section."""
    from vims import in_form, load_articles

    articles = load_articles()
    articles = articles[articles["section"] != "other"]
    rng = np.random.default_rng(0)
    chosen = []
    for _, group in articles.groupby("section"):
        names = sorted(group["event"].unique())
        chosen += list(rng.choice(names, size=min(per_section, len(names)), replace=False))
    articles = articles[articles["event"].isin(chosen)].reset_index(drop=True)
    index = ParagraphIndex.build(in_form(articles, "paragraphs"), show_progress=False)
    model = TopicModel(random_state=0).fit(index)
    stories = StoryModel().fit(index, topics=model)
    levels = topic_levels(model, stories)
    table = index.paragraphs.assign(topic=model.labels_, broad=broad_labels(model, levels))
    event_of = dict(zip(articles["id"].astype(str), articles["event"]))
    section_of = dict(zip(articles["id"].astype(str), articles["section"]))
    used = table[table["topic"] >= 0]
    per_article = used.groupby("doc_id").agg(topic=("topic", lambda s: s.value_counts().index[0]),
                                             broad=("broad", lambda s: s.value_counts().index[0]))
    per_article["event"] = per_article.index.map(lambda d: event_of[str(d)])
    per_article["section"] = per_article.index.map(lambda d: section_of[str(d)])
    share = per_article.groupby("event")["topic"].agg(lambda s: s.value_counts().iloc[0] / len(s))
    main = per_article.groupby("event")["topic"].agg(lambda s: s.value_counts().index[0])
    events_per_topic = main.value_counts()
    story_truth = articles.set_index(articles["id"].astype(str))["event"]
    story_of = pd.Series(stories.article_stories_)
    row = {
        "data": f"ViMs ({len(chosen)} events, {len(articles)} articles, {len(index.paragraphs):,} paragraphs)",
        "topics": model.n_topics_, "broad groups": int(levels["broad"].nunique()),
        "events' mean share in main topic": float(share.mean()), "events all in one topic": float((share == 1).mean()),
        "topics holding several events": f"{int((events_per_topic > 1).sum())} of {model.n_topics_}",
        "events per topic (median)": float(events_per_topic.median()),
        "multi-article stories per topic (mean)": float(levels["n_stories"].mean()),
        "ARI topics vs events (articles)": adjusted_rand_score(per_article["event"], per_article["topic"]),
        "ARI broad vs sections (articles)": adjusted_rand_score(per_article["section"], per_article["broad"]),
        "ARI stories vs events (articles)": adjusted_rand_score(story_truth[story_of.index], story_of.to_numpy()),
    }
    row = {key: f"{value:.3f}" if isinstance(value, float) else value for key, value in row.items()}
    logging.info("ViMs: %s", row)
    return row, levels


def seeds() -> tuple[dict, pd.DataFrame]:
    """The five seed articles: how many broad groups they form."""
    index = ParagraphIndex.build(ROOT / "seeds", show_progress=False)
    model = TopicModel(random_state=0).fit(index)
    levels = topic_levels(model, StoryModel().fit(index, topics=model))
    articles = int(index.paragraphs["doc_id"].nunique())
    return {"data": f"seeds ({articles} articles)", "topics": model.n_topics_,
            "broad groups": int(levels["broad"].nunique())}, levels


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ng-per-label", type=int, default=75)
    parser.add_argument("--vims-per-section", type=int, default=8)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    for name in ("cluster", "embed"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")
    started = time.perf_counter()
    seed_row, seed_levels = seeds()
    ng_rows = newsgroups(args.ng_per_label)
    vims_row, _ = vims(args.vims_per_section) if VIMS.is_file() else ({}, None)
    lines = [
        "# Topic levels: broad groups above the topics, stories under them", "",
        f"Machine: {platform.machine()}, 2 shared cores; bundled multilingual-e5-small; `TopicModel(random_state=0)` "
        "(one UMAP seed), broad level from `cluster.topics.levels.topic_levels` (largest gap in the topic tree's "
        f"merge distances, ceil(sqrt(k)) .. round(2 sqrt(k)) groups). Produced by `benchmarks/bench_levels.py` in "
        f"{time.perf_counter() - started:.0f} s. Small sizes on purpose (one seed, {args.ng_per_label * 20:,} 20NG docs): "
        "read the numbers as a first measurement, not a seed-stable figure.", "",
        "## 20 Newsgroups: 20 groups under 7 top-level names (alt, comp, misc, rec, sci, soc, talk)", "",
        pd.DataFrame(ng_rows).to_markdown(index=False, floatfmt=".3f"), "",
        "Outliers count as one label in every ARI. 'told 7' cuts the same tree into the true number of top-level "
        "names, for reference; '3' is what the largest gap chose before its lower bound ceil(sqrt(k)).", "",
    ]
    if vims_row:
        lines += ["## ViMs: events (the stories' truth) under topics", "",
                  pd.DataFrame([vims_row]).T.rename(columns={0: "value"}).to_markdown(), "",
                  "An article's topic is the topic of most of its paragraphs; an event's main topic the topic of most "
                  "of its articles. Sections are read off the outlets' URLs (`benchmarks/vims.py`).", ""]
    lines += ["## The seeds", "", pd.DataFrame([seed_row]).to_markdown(index=False), "",
              seed_levels[["topic", "label", "broad", "broad_label"]].to_markdown(index=False), ""]
    OUT.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
