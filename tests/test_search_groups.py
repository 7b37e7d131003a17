"""Search groups near-duplicates and same-story hits instead of dropping them
(embed/search/grouping.py). Real data: a few ViMs events (skipped when ../shared/eval
is absent) and the seeds."""

from __future__ import annotations

import json
import re
import sys

import numpy as np
import pandas as pd
import pytest
from conftest import EVAL, REPO
from typer.testing import CliRunner

from embed import InputError, ParagraphIndex
from embed.search.grouping import NEAR_DUPLICATE_THRESHOLD, STORY_THRESHOLD
from paratopic.cli import app

VIMS = EVAL / "vims" / "vims_articles.jsonl"
ICBM = "Triều Tiên phóng tên lửa đạn đạo liên lục địa"


def _vims_frame(n_events: int = 8, paragraphs: int = 4) -> pd.DataFrame:
    """The first ``paragraphs`` paragraphs of every article of ``n_events`` random ViMs events
    (the openings are where outlets repeat each other most)."""
    if not VIMS.exists():
        pytest.skip(f"{VIMS} absent (set PARATOPIC_EVAL_DIR)")
    articles = pd.read_json(VIMS, lines=True)
    events = np.random.default_rng(0).choice(sorted(articles["event"].unique()), n_events, replace=False)
    sub = articles[articles["event"].isin(events)].copy()
    sub["text"] = ["\n\n".join(t.split("\n\n")[:paragraphs]) for t in sub["text"]]
    return sub


@pytest.fixture(scope="module")
def vims(e5) -> tuple[ParagraphIndex, pd.DataFrame]:
    sub = _vims_frame()
    index = ParagraphIndex.build(sub[["id", "title", "text", "source"]], embedder=e5)
    return index, sub[sub["summary"].str.strip() != ""]


def test_grouped_search_keeps_every_hit_show_returns_in_its_span(vims):
    index, queries = vims
    collapsed = 0
    for query in queries["summary"].head(12):
        grouped = index.search(query, k=5)
        assert len(grouped.leaders()) == 5  # k counts groups
        shown = index.search(query, k=len(grouped), duplicates="show")
        assert grouped.ids == shown.ids  # the same hits, in the same (score) order: nothing dropped
        collapsed += len(grouped) - 5
    assert collapsed >= 12  # other outlets' openings do get grouped, about one per query at least


def test_group_members_are_genuinely_similar(vims):
    index, queries = vims
    row = {pid: i for i, pid in enumerate(index.paragraphs["id"])}
    same_event = members = 0
    for query in queries["summary"].head(12):
        frame = index.search(query, k=5).to_frame()
        leader_of = frame.set_index("rank")["id"]
        for hit in frame[~frame["is_group_leader"]].itertuples():
            leader = leader_of[hit.group]
            assert hit.group < hit.rank
            assert float(index.vectors[row[hit.id]] @ index.vectors[row[leader]]) >= STORY_THRESHOLD
            members += 1
            same_event += hit.doc_id.split("/")[0] == leader.split("/")[0]  # ViMs ids: <event>/<article>
    assert members and same_event / members >= 0.9


def test_to_frame_has_a_group_column_and_the_display_collapses_members(vims):
    index, queries = vims
    hits = index.search(queries["summary"].tolist()[:3], k=4)
    frame = hits.to_frame()
    assert {"group", "is_group_leader"} <= set(frame.columns)
    for _, one in frame.groupby("query"):
        assert one["rank"].tolist() == list(range(1, len(one) + 1)) and one["score"].is_monotonic_decreasing
        assert (one["is_group_leader"] == (one["group"] == one["rank"])).all()
        assert set(one["group"]) == set(one.loc[one["is_group_leader"], "rank"])
    members = frame[~frame["is_group_leader"]]
    assert len(members)
    html = hits._repr_html_()
    assert html.count("<tr>") == 1 + 12 and "<details><summary>+" in html  # a header, then one line per group
    assert re.search(r"\+\d+ more from (\d+ other documents?|the same document)", repr(hits))
    from rich.console import Console

    console = Console(width=120, record=True)
    console.print(hits)
    assert "more from" in console.export_text()


def test_hide_mode_drops_near_duplicates_as_before(seed_index):
    """"hide" keeps a hit unless its cosine to a kept, better hit reaches 0.97: the old default, checked
    against that rule applied to the full ranking."""
    for query in [ICBM, "hội nghị thượng đỉnh Mỹ-Triều tại Hà Nội", "Nga và Trung Quốc"]:
        everything = seed_index.search(query, k=60, duplicates="show")
        kept: list[int] = []
        for pid in everything.ids:
            vec = seed_index.vectors[seed_index._row_of[pid]]
            if all(float(vec @ seed_index.vectors[r]) < NEAR_DUPLICATE_THRESHOLD for r in kept):
                kept.append(seed_index._row_of[pid])
        expected = [seed_index.paragraphs["id"].iat[r] for r in kept[:8]]
        hidden = seed_index.search(query, k=8, duplicates="hide")
        assert hidden.ids == expected and hidden.to_frame()["is_group_leader"].all()


def test_deprecated_keyword_and_bad_values(seed_index):
    with pytest.warns(DeprecationWarning, match="duplicates='hide'"):
        old = seed_index.search(ICBM, k=4, hide_near_duplicates=True)
    assert old.ids == seed_index.search(ICBM, k=4, duplicates="hide").ids
    with pytest.raises(InputError, match="contradicts"), pytest.warns(DeprecationWarning):
        seed_index.search(ICBM, hide_near_duplicates=True, duplicates="show")
    with pytest.raises(InputError, match=r"duplicates must be one of 'group', 'hide', 'show'; got 'collapse'"):
        seed_index.search(ICBM, duplicates="collapse")
    with pytest.raises(InputError, match="story_threshold"):
        seed_index.similar("000_bafd0c5b1fa3f0f2:8", story_threshold=1.5)


def test_a_story_column_decides_over_cosine(vims, e5):
    """With a ``story`` column, hits of one story group by the label whatever their cosine, and hits of
    two stories only as near-duplicates; unlabelled (-1) hits fall back to cosine."""
    index, queries = vims
    paragraphs = index.paragraphs.assign(story=index.paragraphs["doc_id"].str.split("/").str[0].str[-3:].astype(int))
    paragraphs.loc[paragraphs.index % 5 == 0, "story"] = -1
    labelled = ParagraphIndex(paragraphs, index.vectors, embedder=e5)
    row = {pid: i for i, pid in enumerate(paragraphs["id"])}
    story = paragraphs["story"].to_numpy()
    grouped_by_label = 0
    for query in queries["summary"].head(8):
        frame = labelled.search(query, k=4).to_frame()
        leader_of = frame.set_index("rank")["id"]
        for hit in frame[~frame["is_group_leader"]].itertuples():
            a, b = row[hit.id], row[leader_of[hit.group]]
            cosine = float(index.vectors[a] @ index.vectors[b])
            if story[a] >= 0 and story[b] >= 0:
                assert story[a] == story[b] or cosine >= NEAR_DUPLICATE_THRESHOLD
                grouped_by_label += cosine < STORY_THRESHOLD
            else:
                assert cosine >= STORY_THRESHOLD
        leaders = frame[frame["is_group_leader"]]
        labels = [story[row[p]] for p in leaders["id"]]
        assert len([s for s in labels if s >= 0]) == len({s for s in labels if s >= 0})  # one line per story
    assert grouped_by_label  # the label grouped hits that cosine alone would have kept apart


def test_cli_duplicates_option_and_json_members(vims, tmp_path):
    index, queries = vims
    index.save(tmp_path / "idx")
    runner = CliRunner()
    query = queries["summary"].iloc[0]
    result = runner.invoke(app, ["search", str(tmp_path / "idx"), query, "-k", "3", "--json"])
    assert result.exit_code == 0, result.output
    groups = json.loads(result.output)
    assert len(groups) == 3 and all("members" in g for g in groups)
    members = [m for g in groups for m in g["members"]]
    assert members and all(m["group"] == g["rank"] for g in groups for m in g["members"])
    result = runner.invoke(app, ["search", str(tmp_path / "idx"), query, "-k", "3", "--duplicates", "show", "--json"])
    shown = json.loads(result.output)
    assert result.exit_code == 0 and len(shown) == 3 and not any(g["members"] for g in shown)
    result = runner.invoke(app, ["search", str(tmp_path / "idx"), query, "-k", "3"])
    assert result.exit_code == 0 and "more from" in result.output
    result = runner.invoke(app, ["similar", str(tmp_path / "idx"), index.paragraphs["id"].iloc[0], "--duplicates",
                                 "hide", "--json"])
    assert result.exit_code == 0 and len(json.loads(result.output)) == 5
    result = runner.invoke(app, ["search", str(tmp_path / "idx"), "query", "--duplicates", "nope"])
    assert result.exit_code == 2 and "'nope'" in result.output and "group" in result.output


def test_news_day_grouped_search_keeps_events_apart():
    """A news-day draw of ViMs' held-out half (benchmarks/vims.py: about 36 same-day events, several per section,
    230 articles), stories fitted on it: grouped search with the stories collapses few hits from another event
    under a leader (0.2% over two draws, 2.0% as title + lead; the issue's held-out set had 35%) and keeps the nDCG gain over
    one line per hit (0.985 against 0.886; benchmarks/results/search_groups.md)."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    import bench_search_groups as bench
    import vims as vims_bench
    from test_stories import _vims_cache

    if not vims_bench.VIMS.exists():
        pytest.skip("ViMs absent (PARATOPIC_EVAL_DIR or ../shared/eval)")
    articles = vims_bench.load_articles()
    draw = vims_bench.news_day(articles, vims_bench.halves(articles)["held-out"], 1000)
    index = ParagraphIndex.build(vims_bench.in_form(draw, "paragraphs"), cache=_vims_cache(), show_progress=False)
    queries, event_of, vectors, doc_of = bench.draw_queries(draw, index)
    show = bench.evaluate(bench.ranked(index, vectors, "show"), queries, doc_of, event_of)
    grouped = bench.evaluate(bench.ranked(bench.with_stories(index), vectors, "group"), queries, doc_of, event_of)
    assert grouped["members"] >= 20  # the stories do collapse the other outlets' reports
    assert grouped["foreign"] < 0.05, grouped["foreign"]
    assert grouped["ndcg"] >= show["ndcg"] + 0.05, (grouped["ndcg"], show["ndcg"])
