"""Document ids: derived when missing, unique within an input, and an article already indexed is skipped by id
only when its text is the same (issue 17 point 3)."""

from __future__ import annotations

import json
import logging

import pandas as pd
import pytest

from embed import InputError, ParagraphIndex, read_corpus

A = "Hà Nội công bố kế hoạch mở rộng tuyến đường sắt đô thị số hai trong năm tới."
B = "Đội tuyển bóng đá nữ Việt Nam giành chiến thắng trong trận chung kết khu vực."
C = "Giá xăng dầu trong nước giảm nhẹ từ chiều nay theo quyết định của liên bộ."


def _jsonl(path, rows):
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False, allow_nan=True) for r in rows) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("missing", [None, float("nan"), "", "   "])
def test_missing_ids_are_derived_from_content_and_file(tmp_path, missing):
    path = _jsonl(tmp_path / "feed.jsonl", [{"id": "k1", "text": A}, {"id": missing, "text": B}, {"text": C}])
    table = read_corpus(path).drop_duplicates("doc_id")
    ids = table["doc_id"].tolist()
    assert ids[0] == "k1"
    assert all(i.startswith("feed#") and len(i) == len("feed#") + 16 for i in ids[1:]), ids
    assert len(set(ids)) == 3 and "nan" not in ids and "" not in ids
    assert read_corpus(path).drop_duplicates("doc_id")["doc_id"].tolist() == ids  # stable across reads
    # the same article on another row (or in a reordered file) keeps its id; another article gets another one
    (tmp_path / "later").mkdir()
    again = _jsonl(tmp_path / "later" / "feed.jsonl", [{"id": missing, "text": C}, {"id": missing, "text": B}])
    assert read_corpus(again).drop_duplicates("doc_id")["doc_id"].tolist() == [ids[2], ids[1]]


def test_csv_and_parquet_null_ids_and_float_ids(tmp_path):
    frame = pd.DataFrame({"id": [7, None, 9], "text": [A, B, C]})  # ints with a null arrive as 7.0, NaN, 9.0
    frame.to_parquet(tmp_path / "t.parquet")
    ids = read_corpus(tmp_path / "t.parquet").drop_duplicates("doc_id")["doc_id"].tolist()
    assert ids[0] == "7" and ids[2] == "9" and ids[1].startswith("t#")
    (tmp_path / "t.csv").write_text(f"id,text\nx1,{A}\n,{B}\n", encoding="utf-8")
    ids = read_corpus(tmp_path / "t.csv").drop_duplicates("doc_id")["doc_id"].tolist()
    assert ids[0] == "x1" and ids[1].startswith("t#") and ids[1] != "t#"


def test_identical_id_less_articles_get_distinct_ids(tmp_path):
    path = _jsonl(tmp_path / "f.jsonl", [{"id": None, "text": A}, {"id": None, "text": A}])
    ids = read_corpus(path).drop_duplicates("doc_id")["doc_id"].tolist()
    assert len(set(ids)) == 2 and ids[1] == ids[0] + "-2"


def test_duplicate_id_in_one_input_names_both_rows(tmp_path):
    path = _jsonl(tmp_path / "dup.jsonl", [{"id": "a", "text": A}, {"id": "b", "text": B}, {"id": "a", "text": C}])
    with pytest.raises(InputError, match=r"dup\.jsonl.*'a'.*rows 0 and 2"):
        read_corpus(path)
    (tmp_path / "two").mkdir()
    _jsonl(tmp_path / "two" / "x.jsonl", [{"id": "a", "text": A}])
    _jsonl(tmp_path / "two" / "y.jsonl", [{"id": "b", "text": B}, {"id": "a", "text": C}])
    with pytest.raises(InputError, match=r"x\.jsonl row 0 and .*y\.jsonl row 1"):
        read_corpus(tmp_path / "two")


def test_add_reports_skipped_ids_and_refuses_changed_text(tmp_path, e5, caplog):
    first = _jsonl(tmp_path / "a.jsonl", [{"id": None, "text": A}, {"id": "k2", "text": B}])
    index = ParagraphIndex.build(first, embedder=e5, cache=False)
    # a second feed: the id-less article is another one; it is added, not skipped as "already indexed"
    (tmp_path / "b").mkdir()
    second = _jsonl(tmp_path / "b" / "a.jsonl", [{"id": None, "text": C}, {"id": "k2", "text": B}])
    with caplog.at_level(logging.INFO, logger="embed.store.index"):
        stats = index.add(second, cache=False)
    assert stats.documents == 1 and stats.skipped_documents == 1 and stats.skipped_ids == ["k2"]
    assert "k2" in caplog.text
    assert index.paragraphs["doc_id"].nunique() == 3
    changed = _jsonl(tmp_path / "c.jsonl", [{"id": "k2", "text": B + " Cập nhật."}])
    before = len(index)
    with pytest.raises(InputError, match=r"c\.jsonl.*'k2'.*already in the index with other text"):
        index.add(changed, cache=False)
    assert len(index) == before
