"""Stories (cluster.stories.model): the seeds, ViMs events (when ../shared/eval is present), update, save/load, CLI."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import EVAL, HWASONG, REPO, SEEDS
from sklearn.metrics import adjusted_rand_score
from typer.testing import CliRunner

from cluster import IndexMismatchError, ModelFormatError
from cluster.stories.model import STORY_INFO_COLUMNS, StoryModel
from embed import InputError, ParagraphIndex
from embed.read.text import normalize_text
from embed.store.cache import default_cache_path
from paratopic.cli import app

VIMS = EVAL / "vims" / "vims_articles.jsonl"
sys.path.insert(0, str(REPO / "benchmarks"))
import vims as vims_bench  # noqa: E402  (the news-day draws and the split, as the benchmark makes them)

#: Held-out news-day draws (seeds 1000, 1001), title + lead only, dates removed: article ARI 0.945 with the
#: defaults (0.974, 0.916); the defaults before issue 19 gave 0.909 (0.912, 0.906), under this bound.
NEWS_DAY_BOUND = 0.925
#: Article ARI of the 40-event draw below was 0.991 (0.98-0.99 on three other draws of 40).
ARI_40_BOUND = 0.95
needs_vims = pytest.mark.skipif(not VIMS.exists(), reason=f"{VIMS} absent (set PARATOPIC_EVAL_DIR)")


def _vims_cache() -> Path:
    """The session's embedding cache (in a temporary folder, tests/conftest.py): the ViMs articles these tests
    share are embedded once per run, never into the user's own cache."""
    return default_cache_path()


def _vims(n_events: int, seed: int) -> pd.DataFrame:
    articles = pd.read_json(VIMS, lines=True, dtype={"date": str})
    chosen = np.random.default_rng(seed).choice(sorted(articles["event"].unique()), size=n_events, replace=False)
    return articles[articles["event"].isin(chosen)].reset_index(drop=True)


def _article_ari(model: StoryModel, articles: pd.DataFrame) -> float:
    stories = [model.story_of(d) for d in articles["id"]]
    return adjusted_rand_score(articles["event"], stories)


@pytest.fixture(scope="module")
def seed_stories(seed_index: ParagraphIndex) -> StoryModel:
    return StoryModel().fit(seed_index)


@pytest.fixture(scope="module")
def vims40() -> tuple[pd.DataFrame, ParagraphIndex, StoryModel]:
    if not VIMS.exists():
        pytest.skip(f"{VIMS} absent (set PARATOPIC_EVAL_DIR)")
    articles = _vims(40, seed=11)
    index = ParagraphIndex.build(articles, cache=_vims_cache())
    return articles, index, StoryModel().fit(index)


# ------------------------------------------------------------------- seeds
def test_seed_articles_are_five_separate_stories(seed_index: ParagraphIndex, seed_stories: StoryModel) -> None:
    """The five seed articles report five different events (Lavrov on talks, Dec 2017; a Russian defence
    delegation in Pyongyang; the Hanoi summit venue, 2019; Lavrov and Wang Yi in Moscow; US warnings on
    arms for Russia, 2023): all about Russia and North Korea, none the same event, so none is merged."""
    info = seed_stories.story_info()
    assert list(info.columns) == STORY_INFO_COLUMNS
    assert seed_stories.n_stories_ == 5 and (info["n_articles"] == 1).all()
    assert seed_stories.story_info(min_articles=2).empty
    table = seed_index.paragraphs
    for row in info.itertuples():
        articles = seed_stories.story_articles(row.story)
        assert row.headline == articles["title"].iloc[0]
        assert row.n_paragraphs == int((table["doc_id"] == articles["doc_id"].iloc[0]).sum())
    # the Hwasong-15 launch paragraphs sit in one story: their article's, with all its paragraphs
    rows = table.index[table["id"].isin(HWASONG)]
    hwasong = {int(seed_stories.labels_[r]) for r in rows}
    assert len(hwasong) == 1
    story = hwasong.pop()
    assert set(seed_stories.story_paragraphs(story, include_flagged=True)["doc_id"]) == {HWASONG[0].split(":")[0]}
    assert set(HWASONG) <= set(seed_stories.story_paragraphs(story)["id"])


def test_bad_story_and_parameters_are_refused(seed_stories: StoryModel) -> None:
    with pytest.raises(InputError, match="no story 7; story ids are 0..4"):
        seed_stories.story_articles(7)
    with pytest.raises(InputError, match="min_similarity=2"):
        StoryModel(min_similarity=2).fit(seed_stories.index)
    with pytest.raises(RuntimeError, match="not fitted"):
        StoryModel().story_info()


# -------------------------------------------------------------------- ViMs
@needs_vims
def test_vims_events_come_out_as_stories(vims40: tuple[pd.DataFrame, ParagraphIndex, StoryModel]) -> None:
    articles, index, model = vims40
    ari = _article_ari(model, articles)
    assert ari >= ARI_40_BOUND, ari
    info = model.story_info()
    assert info["n_articles"].sum() == len(articles)
    # a story's headline is one of its articles' titles; its dates and sources are its articles'
    for row in info.head(15).itertuples():
        members = articles[articles["id"].isin(model.story_articles(row.story)["doc_id"])]
        assert row.headline in {normalize_text(t) for t in members["title"]}  # as read: NFC, zero-width spaces out
        dates = pd.to_datetime(members["date"], errors="coerce")
        if dates.notna().any():
            assert row.first_date == dates.min() and row.last_date == dates.max()
        else:
            assert pd.isna(row.first_date)
        assert row.sources == sorted(set(members["source"]))
    # stories gather many outlets: the largest holds several sources
    assert len(info["sources"].iloc[0]) >= 3


@needs_vims
def test_update_keeps_ids_and_gives_new_events_new_ids(tmp_path: Path) -> None:
    articles = _vims(16, seed=23)
    events = sorted(articles["event"].unique())
    new_events = set(events[-4:])
    # at first: 12 events, each without its last article
    last = articles.groupby("event")["id"].transform("last") == articles["id"]
    first = articles[~articles["event"].isin(new_events) & ~last]
    index = ParagraphIndex.build(first, cache=_vims_cache())
    model = StoryModel().fit(index)
    before = dict(model.article_stories_)
    old_ids = set(before.values())
    model.save(tmp_path / "stories")
    index.add(articles[~articles["id"].isin(first["id"])].reset_index(drop=True), cache=_vims_cache())
    loaded = StoryModel.load(tmp_path / "stories", index)
    assert len(loaded.unseen_articles()) == len(articles) - len(first)
    loaded.update(index)
    assert all(loaded.article_stories_[d] == s for d, s in before.items())
    assert loaded.unseen_articles() == []
    story_of_event = first.assign(story=[before[d] for d in first["id"]]).groupby("event")["story"].agg(
        lambda s: s.mode().iloc[0])
    # the held-back article of a known event joins that event's story ...
    late = articles[last & ~articles["event"].isin(new_events)]
    joined = [loaded.article_stories_[d] == story_of_event[e] for d, e in zip(late["id"], late["event"])]
    assert np.mean(joined) >= 0.9, joined
    # ... and the new events become new stories, with ids never used before
    fresh = articles[articles["event"].isin(new_events)]
    fresh_ids = {loaded.article_stories_[d] for d in fresh["id"]}
    assert fresh_ids.isdisjoint(old_ids) and min(fresh_ids) >= model.next_story_id_
    assert adjusted_rand_score(fresh["event"], [loaded.article_stories_[d] for d in fresh["id"]]) >= 0.9
    assert loaded.next_story_id_ == max(fresh_ids) + 1


# --------------------------------------------------------- save and load
def test_save_load_roundtrip_and_tampering(tmp_path: Path, seed_index: ParagraphIndex, seed_stories: StoryModel) -> None:
    where = seed_stories.save(tmp_path / "stories")
    loaded = StoryModel.load(where, seed_index)
    assert loaded.article_stories_ == seed_stories.article_stories_
    pd.testing.assert_frame_equal(loaded.story_info(), seed_stories.story_info())
    assert (loaded.labels_ == seed_stories.labels_).all()
    assert not list(where.glob("*.tmp"))
    path = where / "stories.json"
    document = json.loads(path.read_text(encoding="utf-8"))
    some = next(iter(document["articles"]))
    for change, message in [
        (lambda d: d["articles"].__setitem__(some, 99), f"article '{some}' is in story 99"),
        (lambda d: d.__setitem__("next_story_id", "5"), "'next_story_id' is str"),
        (lambda d: d["params"].__setitem__("min_similarity", 7.0), "bad parameters"),
        (lambda d: d.__setitem__("format", "other"), "format 'other'"),
    ]:
        tampered = json.loads(json.dumps(document))
        change(tampered)
        path.write_text(json.dumps(tampered), encoding="utf-8")
        with pytest.raises(ModelFormatError, match=message):
            StoryModel.load(where, seed_index)
    path.write_text(json.dumps(document)[:-20], encoding="utf-8")
    with pytest.raises(ModelFormatError, match="corrupted"):
        StoryModel.load(where, seed_index)
    path.write_text(json.dumps(document), encoding="utf-8")
    smaller = ParagraphIndex(seed_index.paragraphs[seed_index.paragraphs["doc_id"] != some].reset_index(drop=True),
                             seed_index.vectors[(seed_index.paragraphs["doc_id"] != some).to_numpy()],
                             embedder_description=seed_index.embedder_description)
    with pytest.raises(IndexMismatchError, match="not in the index given"):
        StoryModel.load(where, smaller)
    with pytest.raises(ModelFormatError, match="not saved stories"):
        StoryModel.load(tmp_path / "nothing", seed_index)


# -------------------------------------------------------------------- CLI
def test_cli_stories_on_the_seeds(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "idx"
    assert runner.invoke(app, ["index", str(SEEDS), "--out", str(out)]).exit_code == 0
    result = runner.invoke(app, ["stories", str(out), "--min-articles", "1", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert len(rows) == 5 and all(r["n_articles"] == 1 for r in rows) and rows[0]["topic"] is None
    # each story lists its member articles: id, title, source, date
    titles = dict(zip(*ParagraphIndex.load(out).paragraphs[["doc_id", "title"]].to_numpy().T))
    for row in rows:
        assert [set(a) for a in row["articles"]] == [{"doc_id", "title", "source", "date"}]
        assert row["articles"][0]["title"] == titles[row["articles"][0]["doc_id"]] == row["headline"]
    assert (out / "stories" / "stories.json").is_file()
    result = runner.invoke(app, ["stories", str(out)])  # loads the saved stories; none has 2+ articles
    assert result.exit_code == 0 and "no story is told by 2 or more" in result.output and "fitting" not in result.output
    assert "┏" not in result.output  # no empty table
    result = runner.invoke(app, ["stories", str(out), "--top", "2", "--min-articles", "1", "--refit"])
    assert result.exit_code == 0 and "fitting stories over 5 articles" in result.output
    assert "Ngoại trưởng Nga" in result.output
    result = runner.invoke(app, ["stories", str(tmp_path / "none")])
    assert result.exit_code == 1 and "Traceback" not in result.output


@pytest.mark.skipif(not vims_bench.VIMS.exists(), reason="ViMs absent (PARATOPIC_EVAL_DIR or ../shared/eval)")
def test_news_day_leads_without_dates_keep_same_day_events_apart() -> None:
    """Two news-day draws of the held-out half (about 36 events of six sections, 230 articles each), as title +
    lead only and without dates: the content alone must keep the events of one section apart."""
    articles = vims_bench.load_articles()
    events = vims_bench.halves(articles)["held-out"]
    scores, precision = [], []
    for seed in (1000, 1001):
        draw = vims_bench.news_day(articles, events, seed, dated=False)
        index = ParagraphIndex.build(vims_bench.in_form(draw, "lead"), cache=_vims_cache(), show_progress=False)
        model = StoryModel().fit(index)
        stories = np.array([model.story_of(d) for d in draw["id"]])
        scores.append(adjusted_rand_score(draw["event"], stories))
        truth = draw["event"].to_numpy()
        together = np.triu(stories[:, None] == stories[None, :], 1)
        precision.append((together & (truth[:, None] == truth[None, :])).sum() / together.sum())
    assert np.mean(scores) >= NEWS_DAY_BOUND, scores
    assert min(precision) >= 0.9, precision  # two events merged into one story are rare


def test_dates_never_make_a_pair_more_alike(seed_index: ParagraphIndex) -> None:
    """A dated pair scores at most what it would undated: same-day and undated pairs score alike, pairs days
    apart lower (before issue 19 an undated pair paid 0.07 that a same-day pair did not)."""
    from cluster.stories.signals import article_table

    model = StoryModel()
    articles = article_table(seed_index.paragraphs)
    rows = np.arange(len(articles.frame))
    model.language_ = "vi"
    signals = model._signals(seed_index, articles)
    undated = signals.similarity(rows, rows)
    signals.days = np.zeros(len(rows))
    np.testing.assert_allclose(signals.similarity(rows, rows), undated)
    signals.days = np.arange(len(rows)) * 3.0
    apart = signals.similarity(rows, rows)
    assert (apart <= undated + 1e-12).all() and (apart[0, 1:] < undated[0, 1:]).all()


# ------------------------------------------------------------------- slow
@needs_vims
@pytest.mark.slow
def test_vims_held_out_half_beats_the_peers() -> None:
    """The benchmark's held-out half (benchmarks/bench_stories.py): article ARI >= 0.85, above HDBSCAN."""
    import hdbscan

    from cluster.stories.signals import article_table, article_vectors

    articles = pd.read_json(VIMS, lines=True, dtype={"date": str})
    events = sorted(articles["event"].unique())
    held_out = sorted(np.random.default_rng(0).permutation(events)[len(events) // 2:])
    part = articles[articles["event"].isin(held_out)].reset_index(drop=True)
    index = ParagraphIndex.build(part, cache=_vims_cache())
    model = StoryModel().fit(index)
    ours = _article_ari(model, part)
    table = article_table(index.paragraphs)
    vectors = article_vectors(index.vectors, table).astype(np.float64)
    distances = np.clip(1 - vectors @ vectors.T, 0, 2)
    labels = hdbscan.HDBSCAN(min_cluster_size=2, metric="precomputed").fit(distances).labels_
    labels = np.where(labels < 0, labels.max() + 1 + np.arange(len(labels)), labels)
    event_of = part.set_index("id")["event"]
    base = adjusted_rand_score(event_of.loc[table.frame["doc_id"]], labels)
    assert ours >= 0.85 and ours > base, (ours, base)


def test_report_lists_the_stories(vims40: tuple[pd.DataFrame, ParagraphIndex, StoryModel], tmp_path: Path) -> None:
    import json

    from cluster import TopicModel, write_report

    _, index, stories = vims40
    topics = TopicModel(random_state=0).fit(index)
    data = json.loads(write_report(topics, tmp_path / "r.json", stories=stories).read_text(encoding="utf-8"))
    listed = data["stories"]["stories"]
    info = stories.story_info()
    assert len(listed) == int((info["n_articles"] >= 2).sum()) > 30
    assert data["stories"]["n_single"] == int((info["n_articles"] < 2).sum())
    assert [s["n_articles"] for s in listed] == sorted((s["n_articles"] for s in listed), reverse=True)
    titles = set(index.paragraphs["title"])  # as read: NFC, whitespace collapsed
    assert all(s["headline"] in titles for s in listed)
    md = write_report(topics, tmp_path / "r.md", stories=stories).read_text(encoding="utf-8")
    assert "## Stories" in md and listed[0]["headline"] in md
    html = write_report(topics, tmp_path / "r.html", stories=stories).read_text(encoding="utf-8")
    assert 'id="story-table"' in html and 'data-figure="stories"' in html


def test_cli_search_groups_hits_by_saved_stories(vims40: tuple[pd.DataFrame, ParagraphIndex, StoryModel],
                                                 tmp_path: Path) -> None:
    articles, index, stories = vims40
    out = tmp_path / "idx"
    index.save(out)
    stories.save(out / "stories", index_dir=out)
    query = articles["summary"].dropna().iloc[0]
    result = CliRunner().invoke(app, ["search", str(out), query, "-k", "5", "--json"])
    assert result.exit_code == 0, result.output
    groups = json.loads(result.stdout)
    members = [(g["doc_id"], m["doc_id"]) for g in groups for m in g["members"]]
    assert members, "the story's other articles should ride along under its best hit"
    same = [stories.story_of(a) == stories.story_of(b) for a, b in members]
    assert sum(same) >= 0.9 * len(same)
    # without saved stories, grouping falls back to cosine: fewer hits ride along
    (out / "stories" / "stories.json").unlink()
    plain = json.loads(CliRunner().invoke(app, ["search", str(out), query, "-k", "5", "--json"]).stdout)
    assert sum(len(g["members"]) for g in plain) < len(members)
