"""`paratopic serve`: the explorer's API and pages over a real index (`paratopic run` on the seeds, with sources
and dates, a second outlet retelling one seed article, and an article whose title, text and source are HTML)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from conftest import HWASONG, REPO, SEEDS
from typer.testing import CliRunner

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from paratopic.cli import app as cli  # noqa: E402

QUERY = "Triều Tiên phóng tên lửa đạn đạo liên lục địa"
README_QUERY = "Nga mua vũ khí của Triều Tiên"  # docs/explorer.png (its hits do not start with the injection article)
EVIL_TITLE = 'Tin nóng <script>alert("title")</script>'
EVIL_SOURCE = '<img src=x onerror=alert("source")>'
EVIL = [
    'Quan chức Triều Tiên tuyên bố <script>alert("xss")</script> sẽ tiếp tục phóng thử tên lửa đạn đạo trong năm nay.',
    'Bình Nhưỡng cho biết <img src=x onerror=alert("img")> vụ phóng tên lửa Hwasong mới đã thành công mỹ mãn.',
]
SOURCES = ["Báo Nhân Dân", "Tuổi Trẻ"]


def _corpus(folder: Path) -> Path:
    """The seeds as JSON Lines with a source and a date each; seed 0 retold by a third outlet a day later
    (its first ten paragraphs: the two articles make a story); the injection article."""
    rows = []
    for n, path in enumerate(sorted(SEEDS.glob("*.txt"))):
        title, _, body = path.read_text(encoding="utf-8").partition("\n")
        rows.append({"id": path.stem, "title": title.strip(), "text": body.strip(), "source": SOURCES[n % 2],
                     "date": f"2017-12-{7 + n:02d}"})
    first = rows[0]
    rows.append({"id": "100_retold", "title": "Nga: Bình Nhưỡng muốn nói chuyện trực tiếp với Washington",
                 "text": "\n\n".join(first["text"].split("\n\n")[:10]), "source": "VnExpress", "date": "2017-12-08"})
    rows.append({"id": "999_evil", "title": EVIL_TITLE, "text": "\n\n".join(EVIL), "source": EVIL_SOURCE,
                 "date": "2017-12-20"})
    path = folder / "articles.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def _run_corpus(folder: Path) -> Path:
    """`paratopic run` over :func:`_corpus` in ``folder``; the folder it wrote."""
    out = folder / "out"
    result = CliRunner().invoke(cli, ["run", str(_corpus(folder)), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """The folder `paratopic run` wrote, and a TestClient on the explorer over it."""
    from cluster.workspace import Workspace
    from paratopic.serve import create_app

    out = _run_corpus(tmp_path_factory.mktemp("serve"))
    workspace = Workspace.open(out)
    with TestClient(create_app(workspace), raise_server_exceptions=False) as client:
        yield out, workspace, client


def _ok(client, url):
    response = client.get(url)
    assert response.status_code == 200, (url, response.text[:500])
    return response


def test_workspace_loads_index_topics_and_stories(served):
    out, workspace, _ = served
    assert workspace.directory == out / "index"
    assert workspace.topics is not None and workspace.topics.n_topics_ >= 2
    assert workspace.stories is not None and workspace.notes == []
    assert "story" in workspace.index.paragraphs.columns


def test_vietnamese_search_finds_hwasong_first_with_metadata(served):
    _, workspace, client = served
    body = _ok(client, f"/api/search?q={QUERY}&k=3").json()
    first = body["groups"][0]
    assert first["id"] in HWASONG
    assert "Hwasong" in first["text"]
    assert first["source"] == SOURCES[0] and first["date"] == "2017-12-07"
    assert first["title"].startswith("Ngoại trưởng Nga")
    assert first["topic"]["topic"] == int(workspace.topics.labels_[workspace.index.paragraphs["id"].tolist().index(first["id"])])
    assert len(body["groups"]) == 3


def test_search_filters(served):
    _, workspace, client = served
    groups = _ok(client, f"/api/search?q={QUERY}&k=10&source={SOURCES[1]}").json()["groups"]
    assert groups and all(g["source"] == SOURCES[1] for g in groups)
    assert all(m["source"] == SOURCES[1] for g in groups for m in g["members"])
    groups = _ok(client, f"/api/search?q={QUERY}&k=10&date_from=2017-12-09&date_to=2017-12-10").json()["groups"]
    assert groups and {g["date"] for g in groups} <= {"2017-12-09", "2017-12-10"}
    topic = int(workspace.topics.topic_info()["topic"].iloc[0])
    groups = _ok(client, f"/api/search?q={QUERY}&k=10&topic={topic}").json()["groups"]
    assert groups and all(g["topic"]["topic"] == topic for g in groups)
    assert _ok(client, f"/api/search?q={QUERY}&source=no such outlet").json()["groups"] == []


@pytest.mark.parametrize(("url", "status", "words"), [
    ("/api/search?q=", 400, "query is empty"),
    ("/api/search?q=%20%20", 400, "query is empty"),
    (f"/api/search?q={'a' * 1001}", 422, "q: "),
    ("/api/search?q=x&k=0", 422, "k: "),
    ("/api/search?q=x&k=101", 422, "k: "),
    ("/api/search?q=x&k=abc", 422, "k: "),
    ("/api/search?q=x&date_from=12/05/2017", 400, "not an ISO date"),
    ("/api/search?q=x&date_from=2017-12-10&date_to=2017-12-01", 400, "is after"),
    ("/api/search?q=x&topic=999", 404, "no topic 999"),
    ("/api/paragraph?id=nope:1", 404, "no paragraph with id 'nope:1'"),
    ("/api/similar?id=nope:1", 404, "no paragraph"),
    ("/api/topics/999", 404, "no topic 999"),
    ("/api/stories/99999", 404, "no story 99999"),
    ("/api/stories?since=yesterday", 400, "not an ISO date"),
    ("/api/new?since=yesterday", 400, "not an ISO date"),
    ("/api/nothing", 404, "Not Found"),
    ("/api/map.bin?max_points=0", 422, "max_points: "),
    ("/api/map.bin?max_points=2000001", 422, "max_points: "),
    ("/api/map.bin?max_points=many", 422, "max_points: "),
    ("/api/point/99999999", 404, "no map point 99999999"),
    ("/api/point/-1", 404, "no map point -1"),
    ("/api/point/x", 422, "row: "),
])
def test_bad_requests_get_a_one_line_4xx(served, url, status, words):
    response = served[2].get(url)
    assert response.status_code == status, response.text
    detail = response.json()["detail"]
    assert isinstance(detail, str) and "\n" not in detail and words in detail
    assert "Traceback" not in response.text


def test_paragraph_similar_topics_stories(served):
    _, workspace, client = served
    p = _ok(client, f"/api/paragraph?id={HWASONG[0]}").json()
    assert p["id"] == HWASONG[0] and [a["position"] for a in p["article"]] == sorted(a["position"] for a in p["article"])
    assert {a["doc_id"] for a in p["article"]} == {p["doc_id"]}
    similar = _ok(client, f"/api/similar?id={HWASONG[0]}&k=5").json()["groups"]
    assert similar and all(g["doc_id"] != p["doc_id"] for g in similar)
    topics = _ok(client, "/api/topics").json()
    assert [t["topic"] for t in topics] == workspace.topics.topic_info()["topic"].tolist()
    t = _ok(client, f"/api/topics/{topics[0]['topic']}").json()
    assert t["keywords"] and t["representatives"] and t["articles"] and t["nearest"] and t["timeline"]
    stories = _ok(client, "/api/stories").json()
    retold = [s for s in stories if s["n_articles"] >= 2]
    assert retold, stories
    story = _ok(client, f"/api/stories/{retold[0]['story']}").json()
    assert {"000_bafd0c5b1fa3f0f2", "100_retold"} <= {a["doc_id"] for a in story["articles"]}
    assert {"000_bafd0c5b1fa3f0f2", "100_retold"} <= {a["doc_id"] for a in retold[0]["articles"]}
    assert [s["last_date"] for s in stories] == sorted((s["last_date"] for s in stories), reverse=True)
    assert _ok(client, "/api/stories?since=2017-12-30").json() == []
    assert [s["story"] for s in _ok(client, "/api/stories?since=2017-12-08").json()] == [retold[0]["story"]]
    status = _ok(client, "/api/status").json()
    assert status["paragraphs"] == len(workspace.index) and status["stale"] is False


def test_map_points_are_columnar(served):
    _, workspace, client = served
    m = _ok(client, "/api/map").json()
    n = len(workspace.index)
    assert m["n"] == n and all(len(m[c]) == n for c in ("x", "y", "topic", "id", "text"))
    assert {label["topic"] for label in m["labels"]} == set(range(workspace.topics.n_topics_))


def test_map_binary_has_every_point_and_label(served):
    from paratopic.serve.mapdata import decode

    _, workspace, client = served
    response = _ok(client, "/api/map.bin")
    assert response.headers["content-type"] == "application/octet-stream"
    header, points = decode(response.content)
    n = len(workspace.index)
    assert header["n"] == header["sent"] == n and header["sampled"] is False
    assert len(response.content) < 14 * n + 8 + 4096  # 14 bytes a point and the header
    assert points["row"].tolist() == list(range(n))
    xy = workspace.topics.embedding_2d_
    assert abs(points["x"] - xy[:, 0]).max() < 1e-4 and abs(points["y"] - xy[:, 1]).max() < 1e-4
    assert points["topic"].tolist() == [int(t) for t in workspace.topics.labels_]
    labels = {label["topic"]: label["label"] for label in header["labels"]}
    assert labels == {t: workspace.topics.topic_label(t) for t in range(workspace.topics.n_topics_)}
    sizes = [label["size"] for label in header["labels"]]
    assert sizes == sorted(sizes, reverse=True)
    row = int(points["row"][-1])
    point = _ok(client, f"/api/point/{row}").json()
    assert point["id"] == workspace.index.paragraphs["id"].iat[row] and point["row"] == row
    assert point["topic"]["topic"] == int(workspace.topics.labels_[row])


def test_map_sample_keeps_every_topic_and_is_the_same_each_time():
    import numpy as np

    from paratopic.serve.mapdata import MIN_PER_TOPIC, decode, encode, sample_rows

    topics = np.repeat(np.arange(-1, 9, dtype=np.int16), [5000, 60_000, 20_000, 9000, 3000, 2000, 700, 200, 30, 10])
    np.random.default_rng(1).shuffle(topics)
    rows = sample_rows(topics, 10_000)
    assert 10_000 <= len(rows) <= 10_000 + 9 * MIN_PER_TOPIC and (np.diff(rows.astype(np.int64)) > 0).all()
    kept = np.bincount(topics[rows] + 1)
    assert all(kept[t + 1] >= min(MIN_PER_TOPIC, int((topics == t).sum())) for t in range(-1, 9))
    assert kept[8 + 1] == 10  # a topic smaller than MIN_PER_TOPIC keeps all its points
    assert (sample_rows(topics, 10_000) == rows).all()
    assert len(sample_rows(topics, len(topics))) == len(topics)
    xy = np.random.default_rng(2).normal(size=(len(topics), 2)).astype(np.float32)
    header, points = decode(encode({"n": len(topics), "sent": len(rows), "é": "ê"}, xy, rows, topics))
    assert header["é"] == "ê" and (points["row"] == rows).all() and (points["topic"] == topics[rows]).all()
    assert (points["x"] == xy[rows, 0]).all() and (points["y"] == xy[rows, 1]).all()
    with pytest.raises(ValueError, match="not a paratopic map"):
        decode(b"GIF89a" + bytes(20))


def test_search_hits_carry_their_map_position(served):
    _, workspace, client = served
    groups = _ok(client, f"/api/search?q={QUERY}&k=3").json()["groups"]
    xy = workspace.topics.embedding_2d_
    row = workspace.index.paragraphs["id"].tolist().index(groups[0]["id"])
    assert groups[0]["xy"] == [round(float(xy[row, 0]), 3), round(float(xy[row, 1]), 3)]


def test_explore_page_has_the_search_box_and_the_map(served):
    html = _ok(served[2], "/explore").text
    assert 'id="explore-form"' in html and 'id="explore-results"' in html
    assert 'id="map" data-src="/api/map.bin?max_points=' in html and "/static/explore.js" in html
    assert "function" in _ok(served[2], "/static/explore.js").text


def test_explore_in_a_notebook_runs_the_app_in_a_thread_and_stops(served):
    """paratopic.explore: the app on a free local port in a background thread, shown as an iframe; close() frees
    the port. From a folder (saved topics and stories) and from objects in memory."""
    import paratopic

    out, workspace, _ = served
    with paratopic.explore(out) as view:
        assert view.url.startswith("http://127.0.0.1:") and view.running
        status = json.loads(view.get("api/status"))
        assert status["paragraphs"] == len(workspace.index) and status["topics"] == workspace.topics.n_topics_
        html = view._repr_html_()
        assert f'<iframe class="paratopic-explorer" src="{view.url}explore"' in html
        assert "Hwasong" in json.loads(view.get(f"api/search?k=1&q={urllib.parse.quote(QUERY)}"))["groups"][0]["text"]
    assert not view.running and "is closed" in view._repr_html_()
    with pytest.raises(OSError):
        urllib.request.urlopen(view.url + "api/status", timeout=5)
    table = workspace.index.paragraphs.drop(columns="story")
    from embed import ParagraphIndex

    bare = ParagraphIndex(table, workspace.index.vectors, embedder_description=workspace.index.embedder_description)
    view = paratopic.explore(bare, topics=workspace.topics, stories=workspace.stories)
    try:
        assert "story" not in bare.paragraphs.columns  # the caller's table is left as it was
        assert json.loads(view.get("api/status"))["stories"] == workspace.stories.n_stories_
        assert b'id="map"' in view.get("explore")
    finally:
        view.close()
    with pytest.raises(ValueError, match="fitted on"):
        paratopic.explore(ParagraphIndex(table.iloc[:5], workspace.index.vectors[:5],
                                         embedder_description=workspace.index.embedder_description),
                          topics=workspace.topics)


def test_pages_render_and_escape_every_value(served):
    _, _, client = served
    pages = ["/", f"/?q={QUERY}", f"/paragraph?id={HWASONG[0]}", "/paragraph?id=999_evil:0", "/topics", "/stories",
             "/map", "/api", "/?q=%3Cscript%3Ealert(1)%3C/script%3E", "/new", "/new?since=2017-12-01"]
    pages += [f"/topics/{t['topic']}" for t in client.get("/api/topics").json()]
    pages += [f"/stories/{s['story']}" for s in client.get("/api/stories?min_articles=1").json()]
    for url in pages:
        html = _ok(client, url).text
        assert "<script>alert" not in html and "<img src=x" not in html, url
    html = _ok(client, "/paragraph?id=999_evil:0").text
    assert "&lt;script&gt;alert(&#34;title&#34;)&lt;/script&gt;" in html and "&lt;img src=x onerror" in html
    html = _ok(client, "/new?since=2017-12-01").text  # the new articles' table holds the injection article
    assert "&lt;script&gt;alert(&#34;title&#34;)&lt;/script&gt;" in html and "&lt;img src=x onerror" in html
    assert "Hwasong" in _ok(client, f"/?q={QUERY}").text
    assert "Tin nóng" in _ok(client, "/?q=Tin%20n%C3%B3ng%20Hwasong").text


def test_pages_answer_bad_requests_with_an_escaped_error_page(served):
    client = served[2]
    for url, status, words in [("/paragraph?id=%3Cscript%3Ealert(1)%3C/script%3E", 404, "no paragraph with id"),
                               ("/?q=x&date_from=31/12/2017", 400, "not an ISO date"),
                               ("/?q=x&k=1000", 422, "k: "), ("/topics/999", 404, "no topic 999"),
                               ("/stories?since=soon", 400, "not an ISO date"), ("/nothing", 404, "Not Found"),
                               ("/new?since=%3Cb%3Esoon", 400, "not an ISO date"),
                               ("/map?max_points=0", 422, "max_points: "), ("/explore?max_points=x", 422, "max_points: ")]:
        response = client.get(url)
        assert response.status_code == status, url
        assert response.headers["content-type"].startswith("text/html") and words in response.text, url
        assert "<script>alert" not in response.text and "Traceback" not in response.text, url


def test_static_files_only_from_the_static_folder(served):
    client = served[2]
    assert "scattergl" in _ok(client, "/static/map.js").text
    assert len(_ok(client, "/assets/plotly.min.js").content) > 1_000_000
    for url in ["/static/../app.py", "/static/%2e%2e/app.py", "/static/..%2fapp.py", "/static/%2e%2e%2f%2e%2e%2fcli.py",
                "/static//etc/passwd", "/static/%2fetc%2fpasswd", "/static/....//app.py"]:
        response = client.get(url)
        assert response.status_code == 404, url
        assert "import" not in response.text and "root:" not in response.text, url


def test_read_only(served):
    out, _, client = served
    before = {p: p.stat().st_mtime_ns for p in (out / "index").rglob("*")}
    for url in ["/api/search", "/api/paragraph", "/api/topics", "/api/stories"]:
        for method in ("post", "put", "delete", "patch"):
            assert getattr(client, method)(url).status_code == 405, (method, url)
    client.get(f"/api/search?q={QUERY}")
    assert {p: p.stat().st_mtime_ns for p in (out / "index").rglob("*")} == before


def test_a_newer_save_is_reported_and_the_opened_generation_kept(served, tmp_path):
    """A writer saving the index while the server runs: /api/status says stale, search keeps working."""
    import shutil

    from cluster.workspace import Workspace
    from embed import ParagraphIndex
    from paratopic.serve import create_app

    out, _, _ = served
    copy = tmp_path / "index"
    shutil.copytree(out / "index", copy)
    workspace = Workspace.open(copy)
    with TestClient(create_app(workspace)) as client:
        assert client.get("/api/status").json()["stale"] is False
        ParagraphIndex.load(copy).save(copy)
        status = client.get("/api/status").json()
        assert status["stale"] is True and status["generation"] == workspace.index.generation
        assert "A newer version of this index" in client.get("/").text
        assert client.get(f"/api/search?q={QUERY}&k=1").json()["groups"][0]["id"] in HWASONG


def test_workspace_leaves_out_topics_fitted_on_an_older_index(served, tmp_path):
    """Articles added since the topics were fitted: the workspace opens without the topics, saying why; the
    explorer still searches, and the topic pages answer 404 with that reason."""
    import shutil

    import pandas as pd

    from cluster.workspace import Workspace
    from embed import ParagraphIndex
    from paratopic.serve import create_app

    out, _, _ = served
    copy = tmp_path / "index"
    shutil.copytree(out / "index", copy)
    grown = ParagraphIndex.load(copy)
    grown.add(pd.DataFrame({"id": ["200_new"], "title": ["Tin mới"], "text": [EVIL[0]]}), cache=False)
    grown.save(copy)
    workspace = Workspace.open(copy)
    assert workspace.topics is None and len(workspace.notes) == 1 and "topics are left out" in workspace.notes[0]
    assert workspace.stories is not None  # saved stories take a grown index: the new article has no story yet
    assert workspace.index.paragraphs["story"].tolist()[-1] == -1
    with TestClient(create_app(workspace)) as client:
        assert client.get(f"/api/search?q={QUERY}&k=1").json()["groups"][0]["id"] in HWASONG
        response = client.get("/api/topics")
        assert response.status_code == 404 and "no saved topics" in response.json()["detail"]
        assert "topics are left out" in client.get("/").text


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def _real_server(out: Path):
    """`paratopic serve OUT` in a subprocess on a free local port: yields (url, process) once it answers;
    stopped with SIGINT (Ctrl-C) afterwards."""
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, "-m", "paratopic.cli", "serve", str(out), "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(url + "api/status", timeout=5):
                    break
            except OSError:
                assert proc.poll() is None, proc.communicate()
                assert time.monotonic() < deadline, "the server did not answer within 120 s"
                time.sleep(0.5)
        yield url, proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)  # Ctrl-C
        try:
            proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise


def test_paratopic_serve_runs_a_real_server(served):
    out, _, _ = served
    with _real_server(out) as (url, proc):
        with urllib.request.urlopen(url + "topics", timeout=30) as response:
            page = response.read().decode("utf-8")
        assert "topic-table" in page
        proc.send_signal(signal.SIGINT)  # Ctrl-C
        stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 0, stderr
    assert f"paratopic explorer on {url}" in stdout
    assert "Traceback" not in stderr and "stopped" in stderr


@pytest.mark.browser
def test_explorer_in_chromium(served, tmp_path):
    """Headless Chromium on the real server: a Vietnamese query shows the Hwasong paragraph first, its link opens
    the paragraph page; a topic and a story open; the map draws every topic's label; the injection stays inert."""
    from browser import CHROMIUM_ARGS, chromium_path, screenshots_or_skip

    shots = screenshots_or_skip(tmp_path)
    from playwright.sync_api import sync_playwright

    out, workspace, _ = served
    errors: list[str] = []
    alerts: list[str] = []
    with _real_server(out) as (url, _), sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1366, "height": 900})
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("dialog", lambda dialog: (alerts.append(dialog.message), dialog.dismiss()))
        page.goto(url)
        page.fill("input[name=q]", QUERY)
        page.press("input[name=q]", "Enter")
        page.wait_for_selector("ol.hits li.hit")
        first = page.locator("ol.hits li.hit .text a").first
        assert "Hwasong" in first.inner_text()
        page.screenshot(path=str(shots / "search.png"))
        first.click()
        page.wait_for_selector(".article p.current")
        assert page.url.split("id=")[1].replace("%3A", ":") in HWASONG
        assert "Hwasong" in page.locator(".article p.current").inner_text()
        page.goto(url + "topics")
        page.locator("#topic-table tbody tr a").first.click()
        page.wait_for_selector("h1:has-text('Topic')")
        assert page.locator(".keywords span").count() > 0
        page.goto(url + "stories")
        assert page.locator("ol.stories .story-timeline svg circle").count() >= 2  # each story's articles by day
        page.locator("ol.stories > li > a").first.click()
        page.wait_for_selector("table.articles tbody tr")
        assert page.locator("table.articles tbody tr").count() >= 2
        page.goto(url + "new?since=2017-12-08")  # "new since" a chosen date: its articles, Vietnamese as written
        page.wait_for_selector("#new-articles tbody tr")
        assert "Nga: Bình Nhưỡng muốn nói chuyện trực tiếp với Washington" in page.locator("#new-articles").inner_text()
        page.goto(url + "map")
        page.wait_for_selector("#map[data-ready='1']", timeout=60_000)
        labels = page.evaluate("() => [...document.querySelectorAll('#map .annotation-text')].map(e => e.textContent)")
        assert sorted(labels) == sorted(workspace.topics.topic_label(t) for t in range(workspace.topics.n_topics_))
        page.screenshot(path=str(shots / "map.png"))
        assert page.evaluate("() => Number(document.getElementById('map').dataset.sent)") == len(workspace.index)
        page.goto(url + "explore")  # the notebook view: search beside the map, hits drawn on it
        page.wait_for_selector("#map[data-ready='1']", timeout=60_000)
        page.fill("#explore-form input[name=q]", QUERY)
        page.press("#explore-form input[name=q]", "Enter")
        page.wait_for_selector("#explore-form[data-done='1']")
        assert "Hwasong" in page.locator("#explore-results li.hit .text a").first.inner_text()
        assert page.evaluate("() => (d => d[d.length - 1].x.length)(document.getElementById('map').data)") >= 1  # the hits, as stars
        page.screenshot(path=str(shots / "explore.png"))
        page.fill("#explore-form input[name=q]", EVIL[0])  # its hits show the markup as text: no alert below
        page.press("#explore-form input[name=q]", "Enter")
        page.wait_for_selector("#explore-form[data-done='2']")
        assert '<script>alert("xss")</script>' in page.locator("#explore-results li.hit .text a").first.inner_text()
        page.fill("#explore-form input[name=q]", README_QUERY)  # the README's picture: scripts/screenshot.py
        page.press("#explore-form input[name=q]", "Enter")
        page.wait_for_selector("#explore-form[data-done='3']")
        assert "vũ khí" in page.locator("#explore-results li.hit .text a").first.inner_text()
        page.screenshot(path=str(shots / "explorer.png"))
        for path in ["paragraph?id=999_evil:0", "?q=" + EVIL_TITLE, "topics", "stories", "new", "new?since=2017-12-01"]:
            page.goto(url + path)
            page.wait_for_load_state("load")
        assert page.evaluate("() => document.querySelectorAll('script:not([src])').length") == 0
        browser.close()
    assert alerts == [] and errors == [], (alerts, errors)


def test_serve_warns_on_a_non_local_host_and_refuses_a_port_in_use(served):
    out, _, _ = served
    from paratopic.serve.server import is_local

    assert is_local("127.0.0.1") and is_local("localhost") and is_local("::1")
    assert not is_local("0.0.0.0") and not is_local("192.168.1.5")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = CliRunner().invoke(cli, ["serve", str(out), "--host", "0.0.0.0", "--port", str(port)])
    assert result.exit_code == 1
    assert "anyone who can reach this machine" in result.stderr
    assert "error:" in result.stderr and "Traceback" not in result.output


def test_other_commands_do_not_import_the_web_stack():
    """`paratopic --help` (and every other command) stays quick: FastAPI and uvicorn load only in `serve`."""
    code = ("import sys\nfrom paratopic.cli import app\ntry:\n    app(['--help'])\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('fastapi', 'uvicorn', 'starlette', 'paratopic')))")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "serve" in done.stdout  # the command is listed
    loaded = done.stdout.strip().splitlines()[-1]
    assert "paratopic.cli" in loaded
    assert not any(name in loaded for name in ("'fastapi", "'uvicorn", "'starlette", "'paratopic.serve"))


@pytest.mark.slow
def test_explorer_over_vims(eval_dir, tmp_path):
    """A few thousand ViMs paragraphs (40 events, their articles' first 8 paragraphs, five outlets and real dates)
    through `paratopic run`: summaries find their own event first, filters hold, stories are single events."""
    import pandas as pd

    from cluster.workspace import Workspace
    from paratopic.serve import create_app

    articles = pd.read_json(eval_dir / "vims" / "vims_articles.jsonl", lines=True, dtype=False)
    events = sorted(articles["event"].unique())[::7][:40]
    sub = articles[articles["event"].isin(events)].copy()
    sub["text"] = ["\n\n".join(t.split("\n\n")[:8]) for t in sub["text"]]
    sub["id"] = sub["id"].str.replace("/", "_")
    path = tmp_path / "vims.jsonl"
    sub[["id", "title", "text", "source", "date"]].to_json(path, orient="records", lines=True, force_ascii=False)
    result = CliRunner().invoke(cli, ["run", str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    event_of = dict(zip(sub["id"], sub["event"]))
    workspace = Workspace.open(tmp_path / "out")
    assert len(workspace.index) > 1500 and workspace.topics is not None and workspace.stories is not None
    with TestClient(create_app(workspace)) as client:
        queries = sub[sub["summary"].str.strip() != ""].drop_duplicates("event").head(20)
        right = 0
        for row in queries.itertuples():
            groups = _ok(client, f"/api/search?q={row.summary[:900]}&k=5").json()["groups"]
            right += event_of[groups[0]["doc_id"]] == row.event
        assert right >= 17, f"{right} of {len(queries)} summaries found their own event first"
        source = sorted(sub["source"].unique())[0]
        groups = _ok(client, f"/api/search?q={queries['summary'].iloc[0][:900]}&k=20&source={source}"
                             "&date_from=2016-01-01&date_to=2017-12-31").json()["groups"]
        hits = [h for g in groups for h in [g, *g["members"]]]
        assert hits and all(h["source"] == source and "2016-01-01" <= h["date"] <= "2017-12-31" for h in hits)
        stories = _ok(client, "/api/stories").json()
        assert len(stories) >= 20
        pure = [max(pd.Series([event_of[a["doc_id"]] for a in s["articles"]]).value_counts(normalize=True))
                for s in stories]
        assert sum(pure) / len(pure) >= 0.9
        assert [s["last_date"] for s in stories] == sorted((s["last_date"] for s in stories), reverse=True)
        response = _ok(client, "/api/map")
        assert response.json()["n"] == len(workspace.index)
        assert len(response.content) / len(workspace.index) < 400  # bytes per point, hover text included
        for url in ["/topics", f"/topics/{workspace.topics.topic_info()['topic'].iloc[0]}", "/stories",
                    f"/stories/{stories[0]['story']}", f"/?q={queries['title'].iloc[0]}"]:
            _ok(client, url)
