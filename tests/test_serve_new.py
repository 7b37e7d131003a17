"""The explorer's Stories page (timelines) and "new since" view over an index that was updated once: `paratopic run`
on four seed articles, then `paratopic index` of a second batch (the fifth seed, its retelling by another outlet, a
retelling of the first seed, the injection article) and `paratopic topics --update` (which updates the stories)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402
from test_serve import EVIL_SOURCE, EVIL_TITLE, _corpus, _ok  # noqa: E402

from paratopic.cli import app as cli  # noqa: E402

FIRST = "000_bafd0c5b1fa3f0f2"


def _batches(folder: Path) -> tuple[Path, Path, dict[str, dict]]:
    """The seeds corpus cut in two: seeds 0-3 (2017-12-07 to 12-10), then seed 4 (12-11), a retelling of seed 4
    by another outlet (12-12), the retelling of seed 0 (dated 12-08, added late) and the injection article (12-20)."""
    rows = [json.loads(line) for line in _corpus(folder).read_text(encoding="utf-8").splitlines()]
    by_id = {r["id"]: r for r in rows}
    seeds = [r for r in rows if r["id"][:3].isdigit() and r["id"] not in ("100_retold", "999_evil")]
    fifth = seeds[4]
    retold = {"id": "101_retold", "title": "Tin lại: " + fifth["title"], "source": "Thanh Niên", "date": "2017-12-12",
              "text": "\n\n".join(fifth["text"].split("\n\n")[:10])}
    first, second = seeds[:4], [fifth, retold, by_id["100_retold"], by_id["999_evil"]]
    paths = []
    for name, batch in (("one", first), ("two", second)):
        path = folder / f"{name}.jsonl"
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in batch), encoding="utf-8")
        paths.append(path)
    return paths[0], paths[1], {r["id"]: r for r in first + second}


@pytest.fixture(scope="module")
def updated(tmp_path_factory):
    """(articles by id, workspace, TestClient) over the index fitted on batch one and updated with batch two."""
    from cluster.workspace import Workspace
    from paratopic.serve import create_app

    folder = tmp_path_factory.mktemp("serve_new")
    one, two, articles = _batches(folder)
    out = folder / "out"
    runner = CliRunner()
    for args in (["run", str(one), "--out", str(out)], ["index", str(two), "--out", str(out / "index")],
                 ["topics", str(out / "index"), "--update"]):
        result = runner.invoke(cli, args)
        assert result.exit_code == 0, (args, result.output)
    workspace = Workspace.open(out)
    assert workspace.notes == [] and workspace.topics is not None and workspace.stories is not None
    assert [e["event"] for e in workspace.topics.history_] == ["fit", "update"]
    with TestClient(create_app(workspace), raise_server_exceptions=False) as client:
        yield articles, workspace, client


def test_new_since_the_previous_update_lists_what_the_update_took_in(updated):
    articles, workspace, client = updated
    body = _ok(client, "/api/new").json()
    assert body["available"] is True and body["mode"] == "update"
    fifth = sorted(a for a in articles if a[:3].isdigit() and a[3] == "_")[4]
    added = {fifth, "101_retold", "100_retold", "999_evil"}
    assert {a["doc_id"] for a in body["articles"]} == added and body["n_articles"] == 4
    table = workspace.index.paragraphs
    assert body["n_paragraphs"] == int(table["doc_id"].isin(added).sum())
    assert body["baseline"]["event"] == "fit" and body["baseline"]["n_paragraphs"] == int((~table["doc_id"].isin(added)).sum())
    assert body["since"] == "2017-12-10"  # the data's latest date at the fit
    dates = [a["date"] for a in body["articles"]]
    assert dates == sorted(dates, reverse=True)
    story_of = workspace.stories.article_stories_
    new_story = next(s for s in body["new_stories"] if {fifth, "101_retold"} <= {a["doc_id"] for a in s["articles"]})
    assert all(a["new"] for a in new_story["articles"]) and new_story["new_articles"] == new_story["n_articles"] >= 2
    assert [p["date"] for p in new_story["article_timeline"]] == ["2017-12-11", "2017-12-12"]
    # one axis for the view, 2017-12-07 (the continued story's first article) to 2017-12-12: five days
    assert [p["x"] for p in new_story["article_timeline"]] == [0.8, 1.0]
    continued = next(s for s in body["continued_stories"] if s["story"] == story_of[FIRST])
    assert {a["doc_id"]: a["new"] for a in continued["articles"]} == {FIRST: False, "100_retold": True}
    assert continued["new_articles"] == 1 and continued["n_articles"] == 2
    assert story_of[FIRST] not in {s["story"] for s in body["new_stories"]}
    k = workspace.topics.history_[0]["n_topics"]
    assert [t["topic"] for t in body["new_topics"]] == list(range(k, workspace.topics.n_topics_))
    assert all(g["now"] > g["before"] for g in body["growing_topics"])


def test_new_since_a_chosen_date_lists_articles_dated_from_then(updated):
    articles, workspace, client = updated
    body = _ok(client, "/api/new?since=2017-12-11").json()
    assert body["mode"] == "date" and body["since"] == "2017-12-11"
    got = {a["doc_id"] for a in body["articles"]}
    assert got == {i for i, a in articles.items() if a["date"] >= "2017-12-11"}
    assert "100_retold" not in got  # added by the update, but dated 2017-12-08
    assert body["baseline"]["event"] == "fit"  # the last history entry dated on or before the day
    assert _ok(client, "/api/new?since=2030-01-01").json()["n_articles"] == 0
    everything = _ok(client, "/api/new?since=2000-01-01").json()
    assert everything["n_articles"] == len(articles) and everything["continued_stories"] == []
    assert {s["story"] for s in everything["new_stories"]} == {
        int(s) for s in workspace.stories.story_info(min_articles=2)["story"]}


def test_new_since_without_an_update_says_so(tmp_path):
    """A model fitted once: no previous update; the API says so (200, available false), a date still works."""
    from cluster.workspace import Workspace
    from paratopic.serve import create_app

    one, _, _ = _batches(tmp_path)
    result = CliRunner().invoke(cli, ["run", str(one), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    with TestClient(create_app(Workspace.open(tmp_path / "out"))) as client:
        body = _ok(client, "/api/new").json()
        assert body["available"] is False and "fitted once" in body["message"]
        assert "fitted once" in _ok(client, "/new").text
        assert _ok(client, "/api/new?since=2017-12-10").json()["n_articles"] == 1


@pytest.mark.parametrize(("url", "status", "words"), [
    ("/api/new?since=yesterday", 400, "not an ISO date"),
    ("/api/new?since=2017-13-40", 400, "not an ISO date"),
    (f"/api/new?since={'9' * 41}", 422, "since: "),
    ("/api/new?min_articles=0", 422, "min_articles: "),
    ("/new?since=%3Cscript%3Ealert(1)%3C/script%3E", 400, "not an ISO date"),
])
def test_new_since_bad_requests_get_a_one_line_4xx(updated, url, status, words):
    response = updated[2].get(url)
    assert response.status_code == status, response.text
    if url.startswith("/api/"):
        detail = response.json()["detail"]
        assert isinstance(detail, str) and "\n" not in detail and words in detail
    else:
        assert response.headers["content-type"].startswith("text/html") and words in response.text
        assert "<script>alert" not in response.text
    assert "Traceback" not in response.text


def test_stories_and_new_pages_draw_timelines_and_escape_every_value(updated):
    articles, workspace, client = updated
    for url in ["/new", "/new?since=2017-12-11", "/new?since=2000-01-01", "/stories", "/stories?since=2017-12-11"]:
        html = _ok(client, url).text
        assert "<script>alert" not in html and "<img src=x" not in html, url
        assert "<script" not in html.split("<main>")[1], url  # no script at all on these pages
    html = _ok(client, "/new").text
    assert "&lt;script&gt;alert(&#34;title&#34;)&lt;/script&gt;" in html  # the evil title, in the new articles
    assert "&lt;img src=x onerror=alert(&#34;source&#34;)&gt;" in html
    assert EVIL_TITLE not in html and EVIL_SOURCE not in html
    assert "Thanh Niên" in html and "Tin lại: " in html and "New since the previous update" in html
    assert 'class="day new"' in html and '<span class="badge">new</span>' in html
    stories = _ok(client, "/api/stories").json()
    assert stories and all(len(s["article_timeline"]) >= 1 for s in stories)
    xs = [p["x"] for s in stories for p in s["article_timeline"]]  # all on one axis, first to last day
    assert min(xs) == 0.0 and max(xs) == 1.0 and all(0.0 <= x <= 1.0 for x in xs)
    for s in stories:
        assert [p["date"] for p in s["article_timeline"]] == sorted({a["date"] for a in s["articles"] if a["date"]})
    html = _ok(client, "/stories").text
    svgs = re.findall(r'<span class="story-timeline"><svg .*?</svg>', html, flags=re.S)
    assert len(svgs) == len(stories)
    first = stories[0]
    circles = re.findall(r'<circle class="day" cx="([\d.]+)"', svgs[0])
    assert len(circles) == len(first["article_timeline"]) and float(circles[0]) <= float(circles[-1])
    story = _ok(client, f"/stories/{first['story']}").text
    assert 'class="story-timeline"' in story and first["headline"].split()[0] in story


def test_new_since_is_in_the_api_listing(updated):
    client = updated[2]
    schema = _ok(client, "/openapi.json").json()
    assert {"/api/new"} <= set(schema["paths"]) and "/new" not in schema["paths"]
    assert "/api/new" in _ok(client, "/api").text and 'href="/new"' in _ok(client, "/").text
