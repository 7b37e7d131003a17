"""The quick paths of issue 18 point 2 give what the full ones give: ``paratopic info``'s pyarrow summary is the
loaded index's ``info()``, and a topic model's load skips hashing its index only for the very rows it was fitted on.
Run on a copy of ``tests/data/saved-1258a3b`` (the seeds index the previous release saved)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO

from cluster.topics.persist import index_fingerprint, load_model
from embed import ParagraphIndex
from embed.errors import IndexFormatError
from embed.store.summary import index_summary

SAVED = REPO / "tests" / "data" / "saved-1258a3b"


@pytest.fixture
def saved(tmp_path: Path) -> Path:
    folder = tmp_path / "saved"
    shutil.copytree(SAVED, folder)
    return folder


def test_the_summary_is_the_loaded_index_info(saved):
    summary = index_summary(saved)
    index = ParagraphIndex.load(saved)
    assert {k: summary[k] for k in index.info()} == {k: str(v) for k, v in index.info().items()}
    reasons = index.paragraphs["boilerplate_reason"].dropna().value_counts()
    assert {k: v for k, v in summary.items() if k.startswith("  boilerplate: ")} == {
        f"  boilerplate: {r}": str(c) for r, c in reasons.items()}
    assert summary["paragraphs"] == "128" and int(summary["searchable"]) < 128


def test_the_summary_checks_the_files(saved):
    manifest = json.loads((saved / "manifest.json").read_text())
    vectors = saved / manifest["files"]["vectors"]["name"]
    data = bytearray(vectors.read_bytes())
    data[-1] ^= 0xFF  # same size, other checksum: the vectors are not read, but still checked
    vectors.write_bytes(bytes(data))
    with pytest.raises(IndexFormatError, match="checksum"):
        index_summary(saved)


def test_a_saved_model_loads_by_the_files_checksums_only_for_its_rows(saved, tmp_path, monkeypatch):
    import cluster.topics.persist as persist
    from cluster import TopicModel

    index = ParagraphIndex.load(saved)
    old = load_model(saved / "topics", index=index)  # saved by the previous release: no data digest, full hash
    assert old.state["index"] is index
    assert index.stored_digest() is not None
    model = TopicModel.load(saved / "topics", index=index)
    fitted = tmp_path / "topics"
    model.save(fitted)
    recorded = json.loads((fitted / "topic_model.json").read_text())["index"]
    assert recorded["data_digest"] == index.stored_digest()
    assert recorded["fingerprint"] == index_fingerprint(index)  # the value old models hold, unchanged
    with monkeypatch.context() as patch:  # the data is not hashed again
        patch.setattr(persist, "index_fingerprint", lambda _: pytest.fail("hashed the index"))
        assert load_model(fitted, index=index).state["index"] is index
    # other vectors under the same files' digest: the shortcut is refused and the real fingerprint refuses them
    index.vectors = np.ascontiguousarray(index.vectors[::-1])
    assert index.stored_digest() is None
    with pytest.raises(Exception, match="fitted on another index"):
        load_model(fitted, index=index)
