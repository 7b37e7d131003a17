"""Real-world input files: each either reads or fails with a clear error
that names the file, never a traceback from deep inside a library."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from embed import InputError, ParagraphIndex, read_corpus


def test_jsonl_with_unicode_line_separators_inside_strings_reads(tmp_path):
    path = tmp_path / "a.jsonl"
    rows = [{"id": "a", "text": "Dòng một\u2028vẫn là một đoạn\u2029và\u0085tiếp."}, {"id": "b", "text": "Bài thứ hai."}]
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    table = read_corpus(path)
    assert sorted(table["doc_id"].unique()) == ["a", "b"]


def test_deeply_nested_json_is_a_clear_error(tmp_path):
    path = tmp_path / "deep.jsonl"
    path.write_text('{"text": "x", "meta": ' + "[" * 100_000 + "]" * 100_000 + "}\n")
    with pytest.raises(InputError, match="deep.jsonl"):
        read_corpus(path)


def test_an_empty_file_in_a_folder_is_skipped_with_a_warning(tmp_path, caplog):
    (tmp_path / "empty.txt").write_text("")
    (tmp_path / "real.txt").write_text("Tiêu đề\n\nTriều Tiên phóng tên lửa đạn đạo.\n", encoding="utf-8")
    with caplog.at_level("WARNING"):
        table = read_corpus(tmp_path)
    assert list(table["doc_id"].unique()) == ["real"] and "empty.txt: file is empty" in caplog.text


def test_metadata_of_mixed_types_is_saved_as_text(tmp_path, e5, caplog):
    frame = pd.DataFrame({
        "id": ["a", "b", "c"],
        "text": ["Triều Tiên phóng tên lửa.", "Giá vàng tăng mạnh.", "Hội nghị thượng đỉnh tại Hà Nội."],
        "extra": [1, "two", 3.5],
    })
    index = ParagraphIndex.build(frame, embedder=e5, cache=False)
    with caplog.at_level("WARNING"):
        index.save(tmp_path / "idx")
    assert "'extra' holds values of several types" in caplog.text
    assert ParagraphIndex.load(tmp_path / "idx").paragraphs["extra"].tolist() == ["1", "two", "3.5"]


def test_rows_without_text_are_counted_in_a_warning(tmp_path, caplog):
    path = tmp_path / "rows.jsonl"
    path.write_text('{"id": "a", "text": "Bài một."}\n{"id": "b", "text": ""}\n{"id": "c", "text": null}\n', encoding="utf-8")
    with caplog.at_level("WARNING"):
        table = read_corpus(path)
    assert list(table["doc_id"].unique()) == ["a"] and "2 of 3 rows have no text" in caplog.text


def test_a_parquet_struct_holding_a_timestamp_is_kept_as_json(tmp_path, e5):
    import pyarrow as pa
    import pyarrow.parquet as pq

    meta = [{"when": pd.Timestamp("2020-01-01"), "n": 1}, {"when": pd.Timestamp("2021-06-01"), "n": 2}]
    pq.write_table(pa.table({"id": ["a", "b"], "text": ["Triều Tiên phóng tên lửa.", "Giá vàng tăng."], "meta": meta}),
                   tmp_path / "x.parquet")
    index = ParagraphIndex.build(tmp_path / "x.parquet", embedder=e5, cache=False)
    index.save(tmp_path / "idx")
    assert "2020-01-01" in ParagraphIndex.load(tmp_path / "idx").paragraphs["meta"].iloc[0]
