"""Topic tracking on ViMs ordered by date: fit before a cut date, then daily updates.

Run:  python benchmarks/bench_tracking.py [--share 0.7]

ViMs (``../shared/eval/vims``: 300 events, 1,945 articles, 4-10 per event)
is cut at the day before which ``--share`` of the dated articles were
published. The topic model is fitted on the articles before the cut plus the
296 articles without a date (they cannot be placed in time, so they belong
to the starting collection); the rest is added one publication day at a time
through the real path: ``ParagraphIndex.add`` and ``save``, then
:func:`cluster.workspace.update_saved` (load the saved model against the
grown index, update, save), as ``paratopic index NEW --out DIR`` followed
by ``paratopic topics DIR --update`` do. Embeddings come from the default
cache.

Measured:

- the share of the starting paragraphs whose topic id changed (those with a
  topic at the fit): after all updates (must be 0), after a full refit of the
  final index matched to the previous ids (:func:`cluster.workspace.match_refit`,
  for several minimum Jaccard overlaps) and without matching;
- new-event detection: an event is *new* when every one of its articles is
  dated after the cut. Recall: the share of new events with most of their
  modelled paragraphs in topics created by updates. Precision: the share of
  update-created topics with most of their paragraphs from one new event
  (and, looser, from one event of any start);
- seconds per daily update (load + update + save of the model; the index
  add is timed apart).

Writes ``benchmarks/results/tracking.md``.
"""

from __future__ import annotations

import argparse
import logging
import platform
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from evaldata import VIMS, missing

from cluster import StoryModel, TopicModel
from cluster.workspace import match_refit, update_saved
from embed import ParagraphIndex, read_corpus
from embed.store.cache import cache_root

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "tracking.md"
VARIANTS = [("groups", 1, False), ("groups", 1, True), ("groups", 2, False), ("rule", 1, False)]
#: (method, min articles per new topic, cold): cold deletes the word segmentation cache before each update,
#: which is how every update ran before cluster/words/segments.py (the speed-up, side by side in one run)
JACCARDS = [0.1, 0.2, 0.3, 0.5]


def cut_day(dates: pd.Series, share: float) -> pd.Timestamp:
    """The first day D such that the share of dated articles before D is closest to ``share``."""
    days = dates.dropna().dt.normalize()
    candidates = sorted(days.unique())
    return min(candidates, key=lambda d: abs((days < d).mean() - share))


def event_of(index: ParagraphIndex, articles: pd.DataFrame) -> np.ndarray:
    return index.paragraphs["doc_id"].map(articles.set_index("id")["event"]).to_numpy()


def detection(model: TopicModel, events: np.ndarray, new_events: set[str], created: set[int]) -> dict[str, float]:
    labels = model.labels_[model.fitted_mask_]
    ev = events[model.fitted_mask_]
    frame = pd.DataFrame({"topic": labels, "event": ev})
    in_new = frame["topic"].isin(created)
    per_event = frame[frame["event"].isin(new_events)].groupby("event").apply(
        lambda g: in_new.loc[g.index].mean(), include_groups=False)
    recall = float((per_event > 0.5).mean()) if len(per_event) else float("nan")
    tops = frame[frame["topic"].isin(created)].groupby("topic")["event"]
    majority = tops.agg(lambda s: s.value_counts().index[0])
    share = tops.agg(lambda s: s.value_counts().iloc[0] / len(s))
    precise_new = [(share[t] > 0.5) and majority[t] in new_events for t in majority.index]
    precise_any = [share[t] > 0.5 for t in majority.index]
    return {
        "new events": len(new_events), "detected": int((per_event > 0.5).sum()), "recall": recall,
        "new topics": len(majority), "precision": float(np.mean(precise_new)) if len(majority) else float("nan"),
        "precision (any event)": float(np.mean(precise_any)) if len(majority) else float("nan"),
    }


def run_variant(method: str, min_documents: int, cold: bool, start: Path, days: list[tuple[str, pd.DataFrame]],
                work: Path, articles: pd.DataFrame, new_events: set[str], track_stories: bool = False) -> dict[str, object]:
    folder = work / f"{method}-{min_documents}-{'cold' if cold else 'warm'}"
    shutil.copytree(start, folder)
    index_dir, topics_dir = folder / "index", folder / "index" / "topics"
    first = TopicModel.load(topics_dir, index_dir)
    before = pd.Series(first.labels_, index=first.index.paragraphs["id"])[first.fitted_mask_]
    k0 = first.n_topics_
    seconds, adds = [], []
    stories = StoryModel().fit(first.index) if track_stories else None
    story_before = dict(stories.article_stories_) if stories else {}
    first_new_story, story_seconds = (stories.next_story_id_ if stories else 0), []
    for _, frame in days:
        t0 = time.perf_counter()
        index = ParagraphIndex.load(index_dir)
        index.add(frame, id_column="id", title_column="title")
        index.save(index_dir)
        if cold:
            (cache_root() / "segments.sqlite").unlink(missing_ok=True)
        t1 = time.perf_counter()
        model = update_saved(topics_dir, index_dir, min_documents=min_documents, method=method)
        seconds.append(time.perf_counter() - t1)
        adds.append(t1 - t0)
        if stories is not None:
            t2 = time.perf_counter()
            stories.update(model.index, model)
            story_seconds.append(time.perf_counter() - t2)
    after = pd.Series(model.labels_, index=model.index.paragraphs["id"]).loc[before.index]
    had = before >= 0
    created = {t for e in model.history_ if e["event"] == "update" for t in e["new_topics"]}
    result = {
        "method": method + (", no segmentation cache" if cold else ""), "min_documents": min_documents, "k0": k0, "k": model.n_topics_,
        "changed": float((after[had] != before[had]).mean()),
        "seconds": seconds, "add_seconds": adds,
        **detection(model, event_of(model.index, articles), new_events, created),
    }
    result["model"], result["before"] = model, before
    if stories is not None:
        result["stories"] = story_detection(stories, story_before, first_new_story, articles, new_events)
        result["stories"]["seconds"] = story_seconds
    return result


def story_detection(stories: StoryModel, before: dict[str, int], first_new: int, articles: pd.DataFrame,
                    new_events: set[str]) -> dict[str, float]:
    """Old articles' story ids kept; new events found as new stories (recall) and new stories that are one
    new event (precision), over stories of any size and of at least two articles."""
    event = dict(zip(articles["id"].astype(str), articles["event"]))
    kept = float(np.mean([stories.article_stories_.get(doc) == story for doc, story in before.items()]))
    members: dict[int, list[str]] = {}
    for doc, story in stories.article_stories_.items():
        members.setdefault(story, []).append(event[doc])
    out: dict[str, float] = {"old articles keeping their story": kept}
    for least in (1, 2):
        new = {s: e for s, e in members.items() if s >= first_new and len(e) >= least}
        majority = {s: max(set(e), key=e.count) for s, e in new.items()}
        good = {s for s, m in majority.items() if m in new_events and e_share(new[s], m) > 0.5}
        found = {majority[s] for s in good}
        out[f"new stories (>= {least} articles)"] = len(new)
        out[f"recall (>= {least})"] = len(found) / len(new_events) if new_events else float("nan")
        out[f"precision (>= {least})"] = len(good) / len(new) if new else float("nan")
    return out


def e_share(events: list[str], event: str) -> float:
    """Share of a story's articles from ``event``."""
    return events.count(event) / len(events)


def refit_rows(updated: TopicModel, before: pd.Series) -> list[dict[str, object]]:
    """Refit the final index; share of paragraphs whose id changed, with and without matching."""
    index = updated.index
    prev = pd.Series(updated.labels_, index=index.paragraphs["id"])[updated.fitted_mask_]
    rows = []
    t0 = time.perf_counter()
    fresh = TopicModel(random_state=0).fit(index)
    fit_seconds = time.perf_counter() - t0
    for jaccard in [None, *JACCARDS]:
        new = fresh if jaccard is None else match_refit(_copy(fresh), updated, min_jaccard=jaccard)
        now = pd.Series(new.labels_, index=index.paragraphs["id"])
        had_prev = prev >= 0
        had_first = before >= 0
        notes = new.history_[-1]["notes"] if jaccard is not None else []
        rows.append({
            "matching": "none" if jaccard is None else f"Jaccard >= {jaccard}",
            "topics": new.n_topics_,
            "changed vs before refit": float((now.loc[prev.index][had_prev] != prev[had_prev]).mean()),
            "changed vs first fit": float((now.loc[before.index][had_first] != before[had_first]).mean()),
            "matched": len(new.history_[-1].get("matched", {})) if jaccard is not None else 0,
            "reused ids": sum("reused" in n for n in notes),
            "vanished": sum("vanished" in n for n in notes),
            "fit seconds": fit_seconds,
        })
    return rows


def _copy(model: TopicModel) -> TopicModel:
    import copy

    clone = copy.copy(model)
    for name in ("fit_labels_", "centroids_", "thresholds_", "labels_"):
        setattr(clone, name, getattr(model, name).copy())
    clone.keywords_, clone.phrase_labels_ = dict(model.keywords_), dict(model.phrase_labels_)
    clone.custom_labels_, clone.history_ = dict(model.custom_labels_), list(model.history_)
    return clone


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--share", type=float, default=0.7, help="share of dated articles before the cut")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if not VIMS.is_file():
        raise SystemExit(missing(VIMS))
    articles = pd.read_json(VIMS, lines=True, dtype={"date": str})
    articles["when"] = pd.to_datetime(articles["date"], errors="coerce")
    cut = cut_day(articles["when"], args.share)
    early = articles[articles["when"].isna() | (articles["when"] < cut)]
    late = articles[articles["when"] >= cut].sort_values("when")
    early_events = set(early["event"])
    new_events = set(late["event"]) - early_events
    days = [(str(day.date()), part.drop(columns="when")) for day, part in late.groupby(late["when"].dt.normalize())]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        start = work / "start"
        t0 = time.perf_counter()
        index = ParagraphIndex.build(read_corpus(early.drop(columns="when"), id_column="id", title_column="title"))
        index.save(start / "index")
        model = TopicModel(random_state=0).fit(index)
        model.save(start / "index" / "topics", index_dir=start / "index")
        fit_seconds = time.perf_counter() - t0
        results = [run_variant(m, d, c, start, days, work, articles, new_events, track_stories=i == 0)
                   for i, (m, d, c) in enumerate(VARIANTS)]
        refits = refit_rows(results[0]["model"], results[0]["before"])
    write(args.out, articles, early, late, cut, days, new_events, fit_seconds, model, results, refits)


def write(out: Path, articles, early, late, cut, days, new_events, fit_seconds, model, results, refits) -> None:  # noqa: ANN001
    n_fit = int(model.fitted_mask_.sum())
    lines = [
        "# Topic tracking on ViMs ordered by date", "",
        f"`python benchmarks/bench_tracking.py` on {platform.processor() or platform.machine()}, "
        f"{time.strftime('%Y-%m-%d')}. ViMs: {len(articles)} articles, 300 events.", "",
        f"- Cut: {cut.date()} ({(articles['when'] < cut).sum()} of {articles['when'].notna().sum()} dated articles, "
        f"{(articles['when'] < cut).sum() / articles['when'].notna().sum():.0%}, before it). Fitted on those plus the "
        f"{articles['when'].isna().sum()} undated articles: {len(early)} articles, {len(model.index)} paragraphs, "
        f"{n_fit} modelled, {model.n_topics_} topics ({fit_seconds:.0f} s to index from the cache and fit).",
        f"- Then {len(late)} articles in {len(days)} daily batches ({', '.join(f'{d}: {len(f)}' for d, f in days)}).",
        f"- New events (every article after the cut): {len(new_events)}; events that continue across the cut: "
        f"{len(set(late['event']) & set(early['event']))}.", "",
        "## Updates (`topics --update` after each day)", "",
        "| method | min articles per new topic | topics before → after | starting paragraphs whose id changed | "
        "new topics | recall (new events found) | precision (new topic = one new event) | precision (= one event) | "
        "s per update (mean / max) | s per index add (mean) |",
        "|---|---:|---|---:|---:|---:|---:|---:|---|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r['method']} | {r['min_documents']} | {r['k0']} → {r['k']} | {r['changed']:.3f} | {r['new topics']} | "
            f"{r['recall']:.2f} ({r['detected']}/{r['new events']}) | {r['precision']:.2f} | {r['precision (any event)']:.2f} | "
            f"{np.mean(r['seconds']):.1f} / {np.max(r['seconds']):.1f} | {np.mean(r['add_seconds']):.1f} |"
        )
    lines += [
        "", "`groups` (the default): the new paragraphs (and earlier updates' outliers) are clustered first; a group "
        "joins the nearest old topic when its centre is at least as close as that topic's nearest other topic, else it "
        "is a new topic. `rule`: each new paragraph first gets the model's own rule (what `transform` does) and only the "
        "rest are clustered.", "",
        f"## Full refit of the final index (after the `{results[0]['method']}` updates)", "",
        "| matching | topics | paragraphs whose id changed (vs the ids before the refit) | starting paragraphs whose id changed "
        "(vs the first fit) | matched topics | retired ids reused | vanished topics |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in refits:
        lines.append(f"| {r['matching']} | {r['topics']} | {r['changed vs before refit']:.3f} | "
                     f"{r['changed vs first fit']:.3f} | {r['matched']} | {r['reused ids']} | {r['vanished']} |")
    lines += ["", f"The refit took {refits[0]['fit seconds']:.0f} s. Shares are over paragraphs that had a topic before.", ""]
    story = results[0].get("stories")
    if story:
        lines += [
            "## Stories (`StoryModel` fitted on the starting articles, `update` after each day)", "",
            "A new story is one created by an update. Recall: new events that some new story holds as its majority "
            "(over half its articles); precision: new stories whose majority (over half) is one new event.", "",
            "| stories counted | new stories | recall (new events found) | precision | old articles keeping their story |"
            " s per update (mean / max) |",
            "|---|---:|---:|---:|---:|---|",
        ]
        for least in (1, 2):
            lines.append(
                f"| at least {least} article{'s' if least > 1 else ''} | {story[f'new stories (>= {least} articles)']} | "
                f"{story[f'recall (>= {least})']:.2f} | {story[f'precision (>= {least})']:.2f} | "
                f"{story['old articles keeping their story']:.3f} | {np.mean(story['seconds']):.1f} / "
                f"{np.max(story['seconds']):.1f} |")
        lines.append("")
    out.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
