from __future__ import annotations

import json
import shutil

import pytest
from browser import chromium_path, open_report
from conftest import REPO, SEEDS

from cluster import TopicModel, write_report
from embed import ParagraphIndex

EVIL_TITLE = 'Tin nóng <script>alert("title")</script>'
EVIL = [
    'Quan chức Triều Tiên tuyên bố <script>alert("xss")</script> sẽ tiếp tục phóng thử tên lửa đạn đạo trong năm nay.',
    'Bình Nhưỡng cho biết <img src=x onerror=alert("img")> vụ phóng tên lửa Hwasong mới đã thành công mỹ mãn.',
    "Chuyên gia quân sự nhận định tên lửa </script><b>đậm</b> có thể bay xa hơn các thế hệ trước đây rất nhiều.",
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
    return TopicModel(random_state=0).fit(ParagraphIndex.build(folder, embedder=e5, cache=False))


def test_html_report_is_self_contained_and_complete(seed_topics, tmp_path):
    path = write_report(seed_topics, tmp_path / "report.html", title="Seeds")
    html = path.read_text(encoding="utf-8")
    assert "<script src" not in html and "<link" not in html and "@import" not in html
    info = seed_topics.topic_info()
    for row in info.itertuples():
        assert f'id="topic-{row.topic}"' in html and f'href="#topic-{row.topic}"' in html
    assert "Facebook Comments" in html  # set-aside boilerplate is listed, not hidden
    assert "Hwasong-15" in html
    assert str(len(seed_topics.index)) in html


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
    assert "&lt;script&gt;alert(&#34;xss&#34;)" in html or "&lt;script&gt;alert(&quot;xss&quot;)" in html


@pytest.mark.browser
def test_report_draws_in_headless_chromium(seed_topics, evil_topics, tmp_path):
    if chromium_path() is None:
        pytest.skip("Debian's chromium is not installed (scripts/test.sh installs it when run as root)")
    pytest.importorskip("playwright")
    shots = REPO / "out" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    path = write_report(seed_topics, tmp_path / "report.html", title="Seeds")
    check = open_report(path, shots / "seeds-report.png")
    assert check.errors == []
    assert check.map_points == int(seed_topics.fitted_mask_.sum())
    assert check.topic_rows == seed_topics.n_topics_ >= 2
    assert (shots / "seeds-report.png").stat().st_size > 10_000
    evil = open_report(write_report(evil_topics, tmp_path / "evil.html"), tmp_path / "evil.png")
    assert evil.alerts == [] and evil.errors == []
