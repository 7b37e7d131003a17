"""Topic tracking (issue 9): updates keep every old topic id and label, new
groups get new ids, history is kept and saved, refits match the old ids, the
command line and the report's "New since" section."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from browser import chromium_path, open_report, screenshots_or_skip
from conftest import SEEDS
from typer.testing import CliRunner

from cluster import IndexMismatchError, ModelFormatError, TopicModel, write_report
from cluster.topics.tracking import (
    HISTORY_COLUMNS,
    match_to_previous,
    update_topics,
)
from cluster.topics.updates import relabel_topics
from cluster.workspace import load_for_update, match_refit, update_saved
from embed import ParagraphIndex, read_corpus
from paratopic.cli import app

runner = CliRunner()
FILES = sorted(SEEDS.glob("*.txt"))
#: The fifth seed article (weapons for Russia) tells a story none of the other four does.
FIFTH = FILES[4]


def dated(paths: list[Path], first_day: int) -> pd.DataFrame:
    """The seed articles as a table (id, title, text, date, source), article i dated 2024-03-(first_day + i)."""
    table = read_corpus(*[str(p) for p in paths])
    rows = [{"id": doc, "title": part["title"].iat[0], "text": "\n\n".join(part["text"]),
             "date": f"2024-03-{first_day + i:02d}", "source": f"outlet{i % 3}"}
            for i, (doc, part) in enumerate(table.groupby("doc_id", sort=True))]
    return pd.DataFrame(rows)


def retold(articles: pd.DataFrame) -> pd.DataFrame:
    """The same articles as told by another outlet a day later (every paragraph reworded a little)."""
    out = articles.copy()
    out["id"] = out["id"] + "_retold"
    out["title"] = "Theo một hãng tin khác: " + out["title"]
    out["text"] = ["\n\n".join(p + " Hãng tin khác cũng đưa tin này." if len(p) > 120 else p for p in text.split("\n\n"))
                   for text in out["text"]]  # short lines (captions, share buttons) stay as they are
    out["date"], out["source"] = "2024-03-10", "outlet9"
    return out


def build(articles: pd.DataFrame, embedder: object) -> ParagraphIndex:
    return ParagraphIndex.build(articles, embedder=embedder, id_column="id", title_column="title")


@pytest.fixture(scope="module")
def tracked(e5, tmp_path_factory):
    """Four seed articles indexed, fitted and saved; then the fifth added and the model updated."""
    root = tmp_path_factory.mktemp("tracked")
    index_dir = root / "index"
    index = build(dated(FILES[:4], 1), e5)
    index.save(index_dir)
    first = TopicModel(random_state=0).fit(index)
    first.save(index_dir / "topics", index_dir=index_dir)
    before = SimpleNamespace(labels=first.labels_.copy(), names={t: first.topic_label(t) for t in range(first.n_topics_)},
                             k=first.n_topics_, n=len(index), fit_labels=first.fit_labels_.copy())
    grown = ParagraphIndex.load(index_dir)
    fifth = dated([FIFTH], 9)
    grown.add(pd.concat([fifth, retold(fifth)], ignore_index=True), id_column="id", title_column="title")
    grown.save(index_dir)
    updated = update_saved(index_dir / "topics", index_dir)
    return SimpleNamespace(root=root, index_dir=index_dir, before=before, model=updated, first=first)


def test_fifth_article_keeps_every_old_topic_id_and_label(tracked):
    model, before = tracked.model, tracked.before
    assert len(model.index) > before.n
    assert np.array_equal(model.labels_[: before.n], before.labels)  # no old paragraph moved
    assert {t: model.topic_label(t) for t in range(before.k)} == before.names
    entry = model.history_[-1]
    assert entry["event"] == "update" and entry["new_topics"] == list(range(before.k, model.n_topics_))
    assert model.n_topics_ == before.k + 1  # the fifth article's story is new
    fifth = model.index.paragraphs["doc_id"].to_numpy() == FIFTH.stem
    new = model.labels_[fifth & model.fitted_mask_]
    assert (new == before.k).mean() > 0.5
    counts = entry["counts"]
    assert counts["modelled"] == counts["joined"] + counts["new_topic_paragraphs"] + counts["outliers"]
    assert counts["modelled"] == int(model.fitted_mask_[before.n :].sum())
    assert model.embedding_2d_.shape == (len(model.index), 2) and np.isfinite(model.embedding_2d_).all()


def test_history_grows_and_survives_save_and_load(tracked):
    loaded = TopicModel.load(tracked.index_dir / "topics")
    assert [e["event"] for e in loaded.history_] == ["fit", "update"]
    assert loaded.history_ == json.loads(json.dumps(tracked.model.history_))
    assert np.array_equal(loaded.labels_, tracked.model.labels_)
    frame = loaded.topic_history()
    assert list(frame.columns) == HISTORY_COLUMNS
    assert len(frame) == tracked.before.k + loaded.n_topics_
    assert frame[frame["update"] == 0]["date"].iat[0].startswith("2024-03-04")
    assert frame[frame["update"] == 1]["date"].iat[0].startswith("2024-03-10")
    sizes = frame[frame["update"] == 1].set_index("topic")["size"]
    assert sizes.to_dict() == loaded.topic_info().set_index("topic")["size"].to_dict()


def test_update_with_nothing_new_changes_nothing_and_new_ids_never_reuse(tracked, tmp_path):
    model = TopicModel.load(tracked.index_dir / "topics")
    labels, k = model.labels_.copy(), model.n_topics_
    n_entries = len(model.history_)
    update_topics(model, model.index)
    assert np.array_equal(model.labels_, labels) and model.n_topics_ == k
    assert model.last_update_ is None and len(model.history_) == n_entries
    created = [t for e in model.history_[1:] for t in e["new_topics"]]
    assert len(created) == len(set(created)) and all(t >= tracked.before.k for t in created)


def test_library_update_on_a_grown_index_object(e5):
    index = build(dated(FILES[:4], 1), e5)
    model = TopicModel(random_state=0).fit(index)
    labels = model.labels_.copy()
    index.add(dated([FIFTH], 9), id_column="id", title_column="title")  # the model's own index object grows
    model.update(index)
    assert np.array_equal(model.labels_[: len(labels)], labels) and model.n_topics_ > labels.max() + 1


def test_an_index_that_was_rebuilt_is_refused(tracked, e5, tmp_path):
    tracked.first.save(tmp_path / "topics")  # fitted on the four articles' rows
    other = build(dated(FILES, 1).iloc[[3, 0, 1, 2, 4]], e5)
    with pytest.raises(IndexMismatchError, match=f"first {tracked.before.n} paragraphs are not the ones this topic model was fitted on"):
        load_for_update(tmp_path / "topics", other)
    with pytest.raises(IndexMismatchError, match="fitted on another index"):
        load_for_update(tracked.index_dir / "topics", other)  # as many rows as the updated model: no prefix to check
    with pytest.raises(IndexMismatchError, match="rebuilt or changed"):
        update_topics(tracked.first, other)


def test_refit_on_the_same_index_keeps_ids(seed_index):
    old = TopicModel(random_state=0).fit(seed_index)
    old.history_ = []
    new = TopicModel(random_state=0).fit(seed_index)
    shuffle = {t: (t + 2) % new.n_topics_ for t in range(new.n_topics_)}
    relabel_topics(new, shuffle)  # the same topics under other ids
    assert not np.array_equal(new.labels_, old.labels_)
    assert match_to_previous(new, old) == {shuffle[t]: t for t in range(new.n_topics_)}
    matched = match_refit(new, old)
    assert np.array_equal(matched.labels_, old.labels_)
    assert [e["event"] for e in matched.history_] == ["fit", "refit"] and matched.history_[-1]["notes"] == []
    assert {t: matched.topic_label(t) for t in range(old.n_topics_)} == {t: old.topic_label(t) for t in range(old.n_topics_)}


def test_refit_reports_vanished_topics_and_reused_ids(seed_index):
    old = TopicModel(random_state=0).fit(seed_index)
    old.history_ = []
    k = old.n_topics_
    merged = TopicModel(random_state=0).fit(seed_index).merge_topics([k - 2, k - 1])  # one topic fewer
    merged = match_refit(merged, old)
    assert merged.n_topics_ == k - 1 and set(np.unique(merged.fit_labels_[merged.fit_labels_ >= 0])) == set(range(k - 1))
    assert any("vanished" in n for n in merged.history_[-1]["notes"])
    again = match_refit(TopicModel(random_state=0).fit(seed_index), merged)  # the split comes back
    notes = again.history_[-1]["notes"]
    assert again.n_topics_ == k and f"retired id {k - 1} reused after refit" in notes
    assert again.history_[-1]["new_topics"] == [k - 1]


def test_models_saved_without_history_still_load(tracked, tmp_path):
    folder = tmp_path / "topics"
    tracked.first.save(folder)
    document = json.loads((folder / "topic_model.json").read_text("utf-8"))
    document.pop("history")
    (folder / "topic_model.json").write_text(json.dumps(document), encoding="utf-8")
    index = ParagraphIndex.load(tracked.index_dir)
    model = load_for_update(folder, index)
    assert model.history_ == []
    update_topics(model, index)
    assert [e["event"] for e in model.history_] == ["fit", "update"] and model.history_[0]["at"] is None
    document["history"] = [{"event": "fit", "at": None, "date": None, "n_paragraphs": "many", "n_topics": 4, "topics": {}}]
    (folder / "topic_model.json").write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(ModelFormatError, match="history entry 0"):
        load_for_update(folder, index)


def test_cli_topics_update_end_to_end(tmp_path):
    four, five = tmp_path / "four", tmp_path / "five"
    four.mkdir(), five.mkdir()
    for path in FILES[:4]:
        (four / path.name).write_bytes(path.read_bytes())
    (five / FIFTH.name).write_bytes(FIFTH.read_bytes())
    out = tmp_path / "idx"
    assert runner.invoke(app, ["index", str(four), "--out", str(out)]).exit_code == 0
    result = runner.invoke(app, ["topics", str(out), "--update"])  # no saved model yet: it fits one
    assert result.exit_code == 0 and "no saved topic model" in result.output
    k = TopicModel.load(out / "topics").n_topics_
    assert runner.invoke(app, ["index", str(five), "--out", str(out)]).exit_code == 0
    result = runner.invoke(app, ["topics", str(out), "--update", "--refit"])
    assert result.exit_code == 1 and "--refit" in result.output and "Traceback" not in result.output
    result = runner.invoke(app, ["topics", str(out), "--update"])
    assert result.exit_code == 0, result.output
    assert f"formed 1 new topics (ids {k})" in result.output and "new paragraphs:" in result.output
    result = runner.invoke(app, ["report", str(out), "--out", str(tmp_path / "r.json")])
    assert result.exit_code == 0, result.output
    changes = json.loads((tmp_path / "r.json").read_text("utf-8"))["changes"]
    assert [t["topic"] for t in changes["new_topics"]] == [k]
    result = runner.invoke(app, ["topics", str(out), "--refit"])  # the same data: every id kept
    assert result.exit_code == 0, result.output
    model = TopicModel.load(out / "topics")
    assert model.history_[-1]["event"] == "refit" and model.n_topics_ >= k


# ------------------------------------------------------------------------- report
@pytest.fixture(scope="module")
def with_stories(tracked):
    stories_mod = pytest.importorskip("cluster.stories.model")
    index = ParagraphIndex.load(tracked.index_dir)
    four = build(dated(FILES[:4], 1), index.embedder)
    stories = stories_mod.StoryModel().fit(four)
    stories.update(index, tracked.model)
    return stories


def test_report_has_new_since_section_in_every_format(tracked, tmp_path):
    model, k = tracked.model, tracked.before.k
    data = json.loads(write_report(model, tmp_path / "r.json").read_text("utf-8"))
    changes = data["changes"]
    assert changes["since"] == "2024-03-04" and changes["baseline"]["event"] == "fit"
    assert [t["topic"] for t in changes["new_topics"]] == list(range(k, model.n_topics_))
    growth = [g["growth"] for g in changes["growing"]]
    assert growth == sorted(growth, reverse=True) and all(g > 0 for g in growth)
    assert changes["new_stories"] is None and changes["stories"] is None  # no stories given: absent
    md = write_report(model, tmp_path / "r.md").read_text("utf-8")
    assert "## New since 2024-03-04" in md and f"- {k}: {model.topic_label(k)}" in md and "New stories" not in md
    html = write_report(model, tmp_path / "r.html").read_text("utf-8")
    assert 'id="new-since"' in html and f'href="#topic-{k}"' in html and 'data-figure="stories"' not in html
    # --since a date before everything: the fit's topics count as new too, nothing to grow from
    early = report_changes(model, tmp_path, "2024-01-01")
    assert early["baseline"] is None and len(early["new_topics"]) == model.n_topics_
    first = TopicModel.load(tracked.index_dir / "topics")
    first.history_ = first.history_[:1]
    assert json.loads(write_report(first, tmp_path / "one.json").read_text("utf-8"))["changes"] is None


def report_changes(model: TopicModel, folder: Path, since: str) -> dict:
    return json.loads(write_report(model, folder / f"since-{since}.json", since=since).read_text("utf-8"))["changes"]


def test_report_lists_new_stories_and_draws_their_timeline(tracked, with_stories, tmp_path):
    data = json.loads(write_report(tracked.model, tmp_path / "r.json", stories=with_stories).read_text("utf-8"))
    changes = data["changes"]
    assert changes["new_stories"] is not None and changes["stories"] is not None
    assert all(s["first_date"] > changes["since"] for s in changes["new_stories"])
    assert any(s["n_articles"] == 2 and s["first_date"].startswith("2024-03-09") for s in changes["new_stories"])
    md = write_report(tracked.model, tmp_path / "r.md", stories=with_stories).read_text("utf-8")
    assert "### New stories" in md


@pytest.mark.browser
def test_new_since_section_draws_in_headless_chromium(tracked, with_stories, tmp_path):
    shots = screenshots_or_skip(tmp_path)
    path = write_report(tracked.model, tmp_path / "report.html", title="Tracked", stories=with_stories)
    check = open_report(path, shots / "tracking-report.png")
    assert check.errors == [] and check.alerts == []
    assert check.map_points == int(tracked.model.fitted_mask_.sum())
    from browser import CHROMIUM_ARGS
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.goto(path.resolve().as_uri())
        page.wait_for_selector("body[data-ready='1']", timeout=30_000)
        new_topics = page.evaluate("() => document.querySelectorAll('#new-topics li').length")
        traces = page.evaluate("() => document.querySelectorAll('#fig-stories .scatterlayer .trace').length")
        page.locator("#changes").screenshot(path=str(shots / "tracking-new-since.png"))
        browser.close()
    assert new_topics == tracked.model.n_topics_ - tracked.before.k
    stories = json.loads(write_report(tracked.model, tmp_path / "r.json", stories=with_stories).read_text("utf-8"))
    assert traces == len(stories["changes"]["stories"]) >= 1  # the fifth article and its retelling
