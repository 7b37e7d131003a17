from __future__ import annotations

import json
import re
import shutil

import pytest
from browser import open_report, screenshots_or_skip
from conftest import SEEDS

from cluster import TopicModel, write_report
from embed import ParagraphIndex

EVIL_TITLE = 'Tin nóng <script>alert("title")</script>'
EVIL = [
    'Quan chức Triều Tiên tuyên bố <script>alert("xss")</script> sẽ tiếp tục phóng thử tên lửa đạn đạo trong năm nay.',
    'Bình Nhưỡng cho biết <img src=x onerror=alert("img")> vụ phóng tên lửa Hwasong mới đã thành công mỹ mãn.',
    "Chuyên gia quân sự nhận định tên lửa </script><b>đậm</b> có thể bay xa hơn các thế hệ trước đây rất nhiều.",
]


#: Markdown syntax, HTML and control characters in a file name (the document id), a title and paragraphs.
MD_EVIL_FILE = "998_`<img src=x onerror=alert('id')>`.txt"
MD_EVIL_TITLE = ("Tin *mới* [bấm vào](javascript:alert('md')) <iframe src=javascript:alert('t')></iframe> "
                 "<img src=x onerror=alert(1)> \x9b\x7f\x1b[31m")
MD_EVIL = [
    "Bình Nhưỡng `<script>alert('code')</script>` tuyên bố | sẽ phóng | tên lửa ![ảnh](http://x/y.png) trong năm nay.",
    "Tên lửa đạn đạo <a href=\"javascript:alert('a')\">Hwasong</a> được phóng thử \x9b\x07 thành công &lt;b&gt; mới.",
]


@pytest.fixture(scope="module")
def seed_topics(seed_index):
    return TopicModel(random_state=0).fit(seed_index)


@pytest.fixture(scope="module")
def evil_topics(e5, tmp_path_factory):
    folder = tmp_path_factory.mktemp("evil")
    for path in SEEDS.glob("*.txt"):
        shutil.copy(path, folder)
    (folder / "999_evil.txt").write_text(EVIL_TITLE + "\n\n" + "\n\n".join(EVIL) + "\n", encoding="utf-8")
    (folder / MD_EVIL_FILE).write_text(MD_EVIL_TITLE + "\n\n" + "\n\n".join(MD_EVIL) + "\n", encoding="utf-8")
    return TopicModel(random_state=0).fit(ParagraphIndex.build(folder, embedder=e5, cache=False))


def test_html_report_is_self_contained_and_complete(seed_topics, tmp_path):
    import re

    path = write_report(seed_topics, tmp_path / "report.html", title="Seeds")
    html = path.read_text(encoding="utf-8")
    assert "<script src" not in html and "<link" not in html and "@import" not in html
    info = seed_topics.topic_info()
    for row in info.itertuples():
        assert f'id="topic-{row.topic}"' in html and f'href="#topic-{row.topic}"' in html
    assert "Facebook Comments" in html  # set-aside boilerplate is listed, not hidden
    assert "Hwasong-15" in html
    text = re.sub(r"<script\b.*?</script>", "", html, flags=re.S)  # not plotly.js nor the figures' data
    n, fitted = len(seed_topics.index), int(seed_topics.fitted_mask_.sum())
    assert re.search(rf"<b>{n}</b>\s*paragraphs", text) and re.search(rf"<b>{fitted}</b>\s*modelled", text)
    assert f"{fitted} of {n}" in text


def test_markdown_and_json_carry_the_same_facts(seed_topics, tmp_path):
    data = json.loads(write_report(seed_topics, tmp_path / "r.json").read_text(encoding="utf-8"))
    md = write_report(seed_topics, tmp_path / "r.md").read_text(encoding="utf-8")
    info = seed_topics.topic_info()
    assert [t["topic"] for t in data["topics"]] == info["topic"].tolist()
    assert data["overview"]["paragraphs"] == len(seed_topics.index)
    assert data["overview"]["outliers"] == len(data["outliers"])
    assert len(data["set_aside"]) == int((~seed_topics.fitted_mask_).sum())
    for topic in data["topics"]:
        assert f"### Topic {topic['topic']}: {topic['label']}" in md
        assert topic["representative"] and topic["keywords"]
    assert "Facebook Comments" in md


def test_article_markup_is_escaped(evil_topics, tmp_path):
    html = write_report(evil_topics, tmp_path / "evil.html").read_text(encoding="utf-8")
    assert '<script>alert("xss")' not in html
    assert "<img src=x onerror" not in html
    assert '<script>alert("title")' not in html
    assert "</script><b>" not in html
    # the paragraph is shown escaped: as HTML text, or inside the map's JSON (escaped twice)
    shown = ("&lt;script&gt;alert(&#34;xss&#34;)", "&lt;script&gt;alert(&quot;xss&quot;)",
             '\\u0026lt;script\\u0026gt;alert(\\"xss')  # plotly hover text keeps quotes as quotes
    assert any(form in html for form in shown)
    # the figures' data (Jinja's tojson) holds no raw "<", ">", "&" or "'" and parses back to the figures
    figures = re.search(r"var FIGS = (.*?);\n", html).group(1)
    assert not re.search("[<>&'\u2028\u2029]", figures) and "\\u003c" in figures
    assert set(json.loads(figures)) == {"map", "hierarchy", "similarity"}


@pytest.mark.browser
def test_report_draws_in_headless_chromium(seed_topics, evil_topics, tmp_path):
    shots = screenshots_or_skip(tmp_path)
    path = write_report(seed_topics, tmp_path / "report.html", title="Seeds")
    check = open_report(path, shots / "seeds-report.png")
    assert check.errors == []
    assert check.map_points == int(seed_topics.fitted_mask_.sum())
    assert check.topic_rows == seed_topics.n_topics_ >= 2
    assert (shots / "seeds-report.png").stat().st_size > 10_000
    evil = open_report(write_report(evil_topics, tmp_path / "evil.html"), tmp_path / "evil.png")
    assert evil.alerts == [] and evil.errors == []


# ------------------------------------------------------------------ issue 10, part 4: report and display details
def _descending(values: list[float]) -> bool:
    return all(a >= b for a, b in zip(values, values[1:]))


def test_keywords_are_shown_in_weight_order(seed_topics, tmp_path):
    import re

    from cluster.report.figures import keyword_bars

    for topic in range(seed_topics.n_topics_):
        fig = keyword_bars(seed_topics, topic)
        weights = [float(x) for x in fig.data[0].x]
        assert _descending(weights) and weights[0] == max(w for _, w in seed_topics.get_topic(topic))
        assert fig.layout.yaxis.autorange == "reversed"  # first (heaviest) bar drawn at the top
        shown = re.findall(r"\((\d\.\d{3})\)", seed_topics.topic_details(topic).splitlines()[1])
        assert _descending([float(w) for w in shown])
    data = json.loads(write_report(seed_topics, tmp_path / "r.json").read_text(encoding="utf-8"))
    for topic in data["topics"]:
        assert _descending([k["weight"] for k in topic["keywords"]])
    md = write_report(seed_topics, tmp_path / "r.md").read_text(encoding="utf-8")
    lines = [line for line in md.splitlines() if line.startswith("Keywords: ")]
    assert len(lines) == seed_topics.n_topics_
    for line in lines:
        assert _descending([float(w) for w in re.findall(r"\((\d\.\d{3})\)", line)])
    html = write_report(seed_topics, tmp_path / "r.html").read_text(encoding="utf-8")
    for section in re.findall(r'<section class="topic".*?</section>', html, flags=re.S):
        widths = [float(w) for w in re.findall(r'class="bar" style="display:block;width:([\d.]+)%', section)]
        assert widths and _descending(widths) and widths[0] == 100.0


def test_representative_paragraphs_are_not_near_duplicates(seed_topics):
    import numpy as np

    from cluster.topics.representatives import REPRESENTATIVE_DUPLICATE_COSINE, normalise_text

    vectors = dict(zip(seed_topics.index.paragraphs["id"], np.asarray(seed_topics.index.vectors, dtype=np.float32)))
    for topic in range(seed_topics.n_topics_):
        size = int((seed_topics.fit_labels_ == topic).sum())
        for n in (3, 5):
            reps = seed_topics.representative_paragraphs(topic, n=n)
            assert len(reps) == 3 if n == 3 else len(reps) >= min(4, size)  # n when enough distinct ones exist
            assert list(reps["score"]) == sorted(reps["score"], reverse=True)
            matrix = np.stack([vectors[i] for i in reps["id"]])
            sims = matrix @ matrix.T
            assert (sims[~np.eye(len(reps), dtype=bool)] < REPRESENTATIVE_DUPLICATE_COSINE).all(), (topic, reps["id"])
            texts = [normalise_text(t) for t in reps["text"]]
            for i, a in enumerate(texts):
                assert not any(a in b or b in a for b in texts[i + 1:])
    # the seeds' lead and its "Các hãng thông tấn Nga đưa tin, <lead>" copy (cosine 0.987) are never shown together
    shown = {i for t in range(seed_topics.n_topics_) for i in seed_topics.representative_paragraphs(t, n=5)["id"]}
    assert not {"000_bafd0c5b1fa3f0f2:0", "000_bafd0c5b1fa3f0f2:2"} <= shown


def test_distinct_order_skips_near_duplicates_but_still_returns_n():
    import numpy as np

    from cluster.topics.representatives import distinct_order

    rng = np.random.default_rng(0)
    base = rng.normal(size=(6, 32)).astype(np.float32)
    base /= np.linalg.norm(base, axis=1, keepdims=True)
    close = base[0] + 0.01 * rng.normal(size=32).astype(np.float32)
    vectors = np.stack([base[0], close / np.linalg.norm(close), base[1], base[2], base[3], base[4]])
    texts = ["Một câu.", "Một câu khác hẳn.", "Hai nước hợp tác.", "Theo AP, hai nước hợp tác!", "Bốn.", "Năm."]
    # 1 is a near-duplicate vector of 0; 3's text contains 2's
    assert distinct_order(vectors, texts, 3) == [0, 2, 4]
    assert distinct_order(vectors, texts, 10) == [0, 2, 4, 5]
    assert distinct_order(vectors, ["Giống hệt."] * 6, 3) == [0]


def test_topic_similarity_separates_topics(seed_topics):
    import numpy as np

    k = seed_topics.n_topics_
    assert k >= 3
    off = ~np.eye(k, dtype=bool)
    sims = seed_topics.topic_similarity().to_numpy()
    raw = (seed_topics.centroids_ @ seed_topics.centroids_.T)[off]
    assert np.allclose(sims, sims.T) and np.allclose(np.diag(sims), 1.0)
    spread, raw_spread = np.ptp(sims[off]), np.ptp(raw)
    assert spread > 0.05 and spread > 5 * raw_spread, (sims, raw)  # raw cosines bunch within ~0.03
    for topic in range(k):
        nearest = seed_topics.nearest_topics(topic, n=k)
        assert [t for t, _ in nearest] == [int(t) for t in np.argsort(-sims[topic], kind="stable") if t != topic]
        assert [s for _, s in nearest] == [float(sims[topic, t]) for t, _ in nearest]


def _centred_by_hand(model):
    import numpy as np

    fitted = np.asarray(model.index.vectors, dtype=np.float64)[model.fitted_mask_]
    mean = fitted.mean(axis=0)
    centres = np.stack([fitted[model.fit_labels_ == t].mean(axis=0) - mean for t in range(model.n_topics_)])
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    return centres @ centres.T


def test_topic_similarity_follows_save_load_and_merges(seed_topics, seed_index, tmp_path):
    import numpy as np

    seed_topics.save(tmp_path / "topics")
    loaded = TopicModel.load(tmp_path / "topics", index=seed_index)
    assert np.allclose(loaded.topic_similarity().to_numpy(), seed_topics.topic_similarity().to_numpy(), atol=1e-6)
    assert np.allclose(loaded.topic_similarity().to_numpy(), _centred_by_hand(loaded), atol=1e-5)
    loaded.merge_topics([1, 2])
    assert loaded.topic_similarity().shape == (loaded.n_topics_, loaded.n_topics_) == (seed_topics.n_topics_ - 1,) * 2
    assert np.allclose(loaded.topic_similarity().to_numpy(), _centred_by_hand(loaded), atol=1e-5)
    again = TopicModel.load(tmp_path / "topics", index=seed_index).reduce_topics(2)
    assert np.allclose(again.topic_similarity().to_numpy(), _centred_by_hand(again), atol=1e-5)


def test_similarity_is_explained_next_to_the_heatmap_and_nearest_topics(seed_topics, tmp_path):
    from cluster.topics.similarity import SIMILARITY_NOTE

    html = write_report(seed_topics, tmp_path / "r.html").read_text(encoding="utf-8")
    assert 'id="similarity-note"' in html and html.index('id="similarity-note"') < html.index('id="fig-similarity"')
    assert SIMILARITY_NOTE.split(":")[0] in html
    assert html.count('href="#similarity"') == seed_topics.n_topics_  # each topic's "Nearest topics" links to it
    md = write_report(seed_topics, tmp_path / "r.md").read_text(encoding="utf-8")
    assert "## Topic similarity" in md and SIMILARITY_NOTE.split(":")[0] in md


def test_set_aside_count_agrees_everywhere(seed_topics, tmp_path):
    import re

    from cluster.report.writer import report_data
    from cluster.topics.setaside import fit_mask

    table = seed_topics.index.paragraphs
    assert (table["boilerplate"].astype(bool) & table["duplicate_of"].notna()).any()  # the case that double-counted
    assert (fit_mask(table) == seed_topics.fitted_mask_).all()
    data = report_data(seed_topics)
    o = data["overview"]
    assert o["boilerplate"] + o["duplicates"] + o["empty"] == o["set_aside"] == len(data["set_aside"])
    assert o["set_aside"] == o["paragraphs"] - o["fitted_paragraphs"]
    html = write_report(seed_topics, tmp_path / "r.html").read_text(encoding="utf-8")
    card = re.search(r'id="card-set-aside"><b>(\d+)</b>set aside: (\d+) boilerplate, (\d+) duplicate', html)
    heading = re.search(r'<h2 id="set-aside">Set aside: boilerplate and duplicates \((\d+)\)</h2>', html)
    assert card and heading
    assert int(card[1]) == int(heading[1]) == int(card[2]) + int(card[3]) == len(data["set_aside"])
    assert html.count("<tr><td><code>", html.index('id="set-aside"')) == len(data["set_aside"])
    md = write_report(seed_topics, tmp_path / "r.md").read_text(encoding="utf-8")
    assert f"## Set aside: boilerplate and duplicates ({o['set_aside']})" in md
    assert f"{o['fitted_paragraphs']} modelled + {o['set_aside']} set aside ({o['boilerplate']} boilerplate" in md


def test_model_name_is_shown_whole(seed_topics, tmp_path):
    model_id = seed_topics.index.model_id
    assert "@" in model_id and len(model_id) > 40
    assert f"<code>{model_id}</code>" in write_report(seed_topics, tmp_path / "r.html").read_text(encoding="utf-8")
    assert f"`{model_id}`" in write_report(seed_topics, tmp_path / "r.md").read_text(encoding="utf-8")
    assert json.loads(write_report(seed_topics, tmp_path / "r.json").read_text("utf-8"))["overview"]["model"] == model_id


def test_unknown_report_format_or_suffix_is_refused(seed_topics, tmp_path):
    for path, fmt in ((tmp_path / "r.pdf", None), (tmp_path / "r.html", "pdf"), (tmp_path / "r.docx", None)):
        with pytest.raises(ValueError, match="html, md, json"):
            write_report(seed_topics, path, format=fmt)
        assert not path.exists()
    assert write_report(seed_topics, tmp_path / "r.txt", format="md").read_text("utf-8").startswith("# ")


def _no_raw_tags(html: str) -> list[str]:
    """The HTML tags in rendered Markdown other than the ones Markdown itself makes."""
    import re

    made = {"h1", "h2", "h3", "p", "ul", "li", "ol", "em", "strong", "code", "table", "thead", "tbody", "tr", "th",
            "td", "a", "hr", "br", "blockquote", "pre"}
    return [t for t in re.findall(r"</?([a-zA-Z][a-zA-Z0-9]*)", html) if t.lower() not in made]


def test_markdown_report_renders_article_text_as_text(evil_topics, tmp_path):
    """Rendered by a Markdown library, no tag, link, image or code span comes from article text (issue 17 point 5)."""
    from markdown_it import MarkdownIt

    md = write_report(evil_topics, tmp_path / "evil.md").read_text(encoding="utf-8")
    html = MarkdownIt("commonmark").enable("table").render(md)
    assert _no_raw_tags(html) == [], _no_raw_tags(html)
    assert "javascript:" not in "".join(__import__("re").findall(r'(?:href|src)="([^"]*)"', html))
    assert "<img" not in html and "<script" not in html and "<iframe" not in html
    assert "&lt;script&gt;alert(" in html  # shown, as text
    assert "<em>mới</em>" not in html and "*mới*" in html  # no emphasis from a title
    import re

    code_spans = re.findall(r"<code>(.*?)</code>", html)
    assert not any("alert('code')" in c for c in code_spans)  # a backtick in article text opens no code span
    from cluster.report.writer import md_code

    shown = MarkdownIt("commonmark").render("- " + md_code(MD_EVIL_FILE))  # ids go in as code spans: verbatim
    assert "<img" not in shown and "&lt;img src=x onerror=alert('id')&gt;`.txt</code>" in shown


def test_json_report_is_valid_without_raw_control_characters(evil_topics, tmp_path):
    import re

    text = write_report(evil_topics, tmp_path / "evil.json").read_text(encoding="utf-8")
    data = json.loads(text)
    assert data["topics"]
    assert not re.search("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029]", text)
    assert "\\u009b\\u007f\\u001b[31m" in text  # the title's control characters, escaped
    assert any("\x9b\x7f\x1b" in d["title"] for t in data["topics"] for d in t["documents"])


def test_plotly_hover_shows_quotes_as_quotes(evil_topics):
    from cluster.report.figures import paragraph_map

    hover = " ".join(t for trace in paragraph_map(evil_topics).data for t in trace.hovertext)
    assert "&lt;script&gt;alert(\"xss\")" in hover or "&lt;script&gt;alert(\"xss" in hover
    assert "&quot;" not in hover and "&#x27;" not in hover


def _alerts_in_chromium(html: str, path) -> list[str]:
    """The dialogs (alert, ...) a page raises when Chromium opens it."""
    from browser import CHROMIUM_ARGS, chromium_path
    from playwright.sync_api import sync_playwright

    path.write_text(f"<!doctype html><html><head><meta charset='utf-8'></head><body>{html}</body></html>", "utf-8")
    alerts: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.on("dialog", lambda dialog: (alerts.append(dialog.message), dialog.dismiss()))
        page.goto(path.resolve().as_uri())
        page.wait_for_load_state("load")
        page.wait_for_timeout(500)
        browser.close()
    return alerts


@pytest.mark.browser
def test_markdown_report_runs_no_script_in_chromium(evil_topics, tmp_path):
    """The Markdown report, rendered with raw HTML allowed (CommonMark's default) and opened in Chromium,
    runs none of the articles' scripts; the same title unescaped does (the check can see one)."""
    from markdown_it import MarkdownIt

    screenshots_or_skip(tmp_path)
    md = write_report(evil_topics, tmp_path / "evil.md").read_text(encoding="utf-8")
    render = MarkdownIt("commonmark").enable("table").render
    assert _alerts_in_chromium(render(md), tmp_path / "md.html") == []
    raw = render(f"# {MD_EVIL_TITLE}\n")
    assert _alerts_in_chromium(raw, tmp_path / "raw.html")  # unescaped, the article's script runs
