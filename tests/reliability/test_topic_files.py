"""A topic model's folder: saved atomically, never through a symlink, and
every tampered file a clear error."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from conftest import REPO

from cluster import ModelFormatError, TopicModel

CLI = [sys.executable, "-c", "from paratopic.cli import app; app()"]


@pytest.fixture(scope="module")
def saved(seed_index, tmp_path_factory):
    root = tmp_path_factory.mktemp("topics")
    seed_index.save(root / "index")
    model = TopicModel(random_state=0).fit(seed_index)
    model.save(root / "index" / "topics", index_dir=root / "index")
    return root / "index", model


def test_a_save_killed_midway_leaves_the_previous_model_whole(saved, monkeypatch):
    index_dir, model = saved
    before = TopicModel.load(index_dir / "topics", index=index_dir).topic_info()
    import cluster.topics.persist as persist

    def crash(*args, **kwargs):
        raise KeyboardInterrupt("killed while swapping the model file")

    kept = set(json.loads((index_dir / "topics" / "topic_model.json").read_text())["files"].values())
    monkeypatch.setattr(persist, "write_atomic", crash)
    model.set_labels({0: "renamed"})
    with pytest.raises(KeyboardInterrupt):
        model.save(index_dir / "topics", index_dir=index_dir)
    monkeypatch.undo()
    after = TopicModel.load(index_dir / "topics", index=index_dir).topic_info()
    assert after.equals(before)
    model.save(index_dir / "topics", index_dir=index_dir)  # the next save removes the dead one's files
    document = json.loads((index_dir / "topics" / "topic_model.json").read_text())
    # the dead save's files are gone; the generation replaced stays for readers that opened it
    assert {p.name for p in (index_dir / "topics").glob("*.npy")} == set(document["files"].values()) | kept


def test_a_save_never_writes_through_a_symlink(saved, tmp_path):
    index_dir, model = saved
    victim = tmp_path / "victim.npy"
    victim.write_bytes(b"precious")
    document = json.loads((index_dir / "topics" / "topic_model.json").read_text())
    for name in ("labels.npy", "centroids.npy", document["files"]["labels"]):
        link = index_dir / "topics" / name
        link.unlink(missing_ok=True)
        link.symlink_to(victim)
    model.save(index_dir / "topics", index_dir=index_dir)
    assert victim.read_bytes() == b"precious"
    assert TopicModel.load(index_dir / "topics", index=index_dir).n_topics_ == model.n_topics_


@pytest.mark.parametrize(
    "tamper",
    [
        lambda d: d.pop("keywords"),
        lambda d: d.update(n_topics="3"),
        lambda d: d["keywords"].update({"99": [["x", 1.0]]}),
        lambda d: d["files"].update(labels="../../outside.npy"),
        lambda d: d.update(n_topics=d["n_topics"] + 5),
        lambda d: d["init_params"].update(evil=1),
    ],
    ids=["no-keywords", "n_topics-str", "topic-out-of-range", "traversal", "arrays-disagree", "unknown-param"],
)
def test_a_tampered_topic_file_is_a_clear_error(saved, tmp_path, tamper):
    import shutil

    index_dir, _ = saved
    copy = tmp_path / "index"
    shutil.copytree(index_dir, copy)
    path = copy / "topics" / "topic_model.json"
    document = json.loads(path.read_text())
    tamper(document)
    path.write_text(json.dumps(document))
    with pytest.raises(ModelFormatError):
        TopicModel.load(copy / "topics", index=copy)
    result = subprocess.run([*CLI, "topics", str(copy)], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 1 and "error:" in result.stderr and "Traceback" not in result.stderr


def test_labels_out_of_range_in_the_arrays_are_refused(saved, tmp_path):
    import shutil

    index_dir, _ = saved
    copy = tmp_path / "index"
    shutil.copytree(index_dir, copy)
    document = json.loads((copy / "topics" / "topic_model.json").read_text())
    labels = copy / "topics" / document["files"]["labels"]
    values = np.load(labels)
    values[0] = 57
    labels.unlink()
    np.save(labels, values)
    with pytest.raises(ModelFormatError, match="labels run from"):
        TopicModel.load(copy / "topics", index=copy)
