"""Folders saved by the previous release still open with today's code.

``tests/data/saved-1258a3b/`` is the seeds index that ``paratopic run seeds`` wrote at commit 1258a3b (the
last release before the sub-package reshape), with its ``topics/`` and ``stories/`` inside (the empty lock files
left out). ``tests/data/saved-1258a3b.expected.json`` is what that release itself said about the folder
(``tests/data/saved_expected.py``, run with the old code): ids, a digest of the vectors, ``info()``, the ICBM
search, the topic labels and ``topic_info()``, the story labels and ``story_info()``. Every test opens a copy in
``tmp_path`` and checks that opening it wrote nothing.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import HWASONG, REPO, tree_state
from typer.testing import CliRunner

from cluster import StoryModel, TopicModel
from cluster.workspace import Workspace
from embed import ParagraphIndex
from paratopic.cli import app

SAVED = REPO / "tests" / "data" / "saved-1258a3b"
EXPECTED = json.loads((REPO / "tests" / "data" / "saved-1258a3b.expected.json").read_text(encoding="utf-8"))
ICBM = EXPECTED["icbm_query"]


@pytest.fixture
def saved(tmp_path: Path) -> Path:
    """A copy of the saved folder; the test fails if anything in it was created, removed or changed."""
    folder = tmp_path / "index"
    shutil.copytree(SAVED, folder)
    before = tree_state(folder)
    yield folder
    after = tree_state(folder)
    changed = sorted(p for p in before.keys() | after.keys() if before.get(p) != after.get(p))
    assert not changed, f"opening a saved folder wrote into it: {changed}"


@pytest.fixture
def index(saved: Path) -> ParagraphIndex:
    return ParagraphIndex.load(saved)


def _vectors_digest(vectors: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(vectors, dtype=np.float32).tobytes()).hexdigest()


def test_the_saved_index_loads_with_the_same_paragraphs_and_vectors(index):
    assert len(index) == EXPECTED["n_paragraphs"] == 128
    assert index.paragraphs["id"].tolist() == EXPECTED["paragraph_ids"]
    assert index.vectors.shape == (128, 384)
    assert _vectors_digest(index.vectors) == EXPECTED["vectors_sha256"]
    info = index.info()
    for key, value in EXPECTED["info"].items():
        assert info[key] == value, key


def test_the_saved_index_answers_the_icbm_query_with_the_hwasong_paragraph(index):
    frame = index.search(ICBM, k=5).to_frame()
    assert frame["id"].iloc[0] == HWASONG[0] == EXPECTED["icbm_hits"][0]["id"]
    assert set(frame["id"].iloc[:2]) == set(HWASONG)
    # the query is embedded by today's engine: the same model, so the same scores up to int8 kernel noise
    expected = {hit["id"]: hit["score"] for hit in EXPECTED["icbm_hits"]}
    for hit_id, score in zip(frame["id"], frame["score"]):
        if hit_id in expected:
            assert score == pytest.approx(expected[hit_id], abs=0.01), hit_id


def test_the_saved_topics_load_with_their_labels_and_table(saved, index):
    model = TopicModel.load(saved / "topics", index=index)
    assert np.asarray(model.labels_).tolist() == EXPECTED["topic_labels"]
    info = json.loads(model.topic_info().to_json(orient="records", force_ascii=False))
    assert len(info) == 5
    for row, old in zip(info, EXPECTED["topic_info"]):
        for key, value in old.items():
            assert row[key] == (pytest.approx(value) if isinstance(value, float) else value), (old["topic"], key)


def test_the_saved_stories_load_with_their_labels_and_table(saved, index):
    model = StoryModel.load(saved / "stories", index)
    assert np.asarray(model.labels_).tolist() == EXPECTED["story_labels"]
    assert model.n_stories_ == len(EXPECTED["story_info"]) == 5
    assert not model.unseen_articles()
    info = json.loads(model.story_info().to_json(orient="records", force_ascii=False, date_format="iso"))
    assert [(r["story"], r["headline"], r["n_articles"], r["n_paragraphs"], r["topic"]) for r in info] == [
        (r["story"], r["headline"], r["n_articles"], r["n_paragraphs"], r["topic"]) for r in EXPECTED["story_info"]
    ]


def test_a_workspace_opens_the_saved_index_topics_and_stories(saved):
    workspace = Workspace.open(saved)
    assert workspace.notes == []
    assert len(workspace.index) == 128
    assert workspace.topics is not None and workspace.topics.n_topics_ == 5
    assert np.asarray(workspace.topics.labels_).tolist() == EXPECTED["topic_labels"]
    assert workspace.stories is not None
    assert workspace.index.paragraphs["story"].tolist() == EXPECTED["story_labels"]
    # the folder `paratopic run` wrote (OUT with OUT/index in it) opens too
    assert Workspace.open(saved.parent).directory == saved


def test_the_cli_reads_the_saved_index(saved):
    runner = CliRunner()
    result = runner.invoke(app, ["info", str(saved)])
    assert result.exit_code == 0, result.output
    assert "128" in result.output and "multilingual-e5-small" in result.output
    result = runner.invoke(app, ["search", str(saved), ICBM, "-k", "3", "--json"])
    assert result.exit_code == 0, result.output
    hits = json.loads(result.output)
    assert len(hits) == 3 and hits[0]["id"] == HWASONG[0]
