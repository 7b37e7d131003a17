from __future__ import annotations

import json
import unicodedata

import pandas as pd
import pytest
from conftest import SEEDS

from embed import InputError, read_corpus


def test_seed_folder_gives_stable_ids_and_titles():
    first = read_corpus(SEEDS)
    again = read_corpus(SEEDS)
    assert first["id"].tolist() == again["id"].tolist()
    assert first["doc_id"].nunique() == 5
    row = first.set_index("id").loc["000_bafd0c5b1fa3f0f2:8"]
    assert row["title"] == "Ngoại trưởng Nga: Triều Tiên muốn đàm phán trực tiếp với Mỹ"
    assert "Hwasong-15" in row["text"]
    assert row["position"] == 8
    assert first["id"].is_unique


def test_nfd_input_gives_same_paragraphs_as_nfc(tmp_path):
    nfd = tmp_path / "nfd"
    nfd.mkdir()
    for path in SEEDS.glob("*.txt"):
        text = unicodedata.normalize("NFD", path.read_text(encoding="utf-8"))
        assert text != path.read_text(encoding="utf-8")
        (nfd / path.name).write_text(text, encoding="utf-8")
    a, b = read_corpus(SEEDS), read_corpus(nfd)
    cols = ["id", "text", "text_hash", "title", "boilerplate", "duplicate_of"]
    pd.testing.assert_frame_equal(a[cols], b[cols])


def test_tables_keep_metadata_and_split_articles(tmp_path):
    articles = [
        {"id": "a1", "title": "Tiêu đề", "date": "2023-09-05", "source": "VOV", "text": "Đoạn một.\n\nĐoạn hai dài hơn."},
        {"id": "a2", "title": "Khác", "date": "2023-09-06", "source": "TTXVN", "text": "Một đoạn duy nhất ở đây."},
    ]
    jsonl = tmp_path / "a.jsonl"
    jsonl.write_text("\n".join(json.dumps(a, ensure_ascii=False) for a in articles), encoding="utf-8")
    csv = tmp_path / "a.csv"
    pd.DataFrame(articles).to_csv(csv, index=False)
    parquet = tmp_path / "a.parquet"
    pd.DataFrame(articles).to_parquet(parquet)
    for table in (read_corpus(jsonl), read_corpus(csv), read_corpus(parquet), read_corpus(pd.DataFrame(articles))):
        assert table["id"].tolist() == ["a1:0", "a1:1", "a2:0"]
        assert table["text"].tolist() == ["Đoạn một.", "Đoạn hai dài hơn.", "Một đoạn duy nhất ở đây."]
        assert table["date"].tolist() == ["2023-09-05", "2023-09-05", "2023-09-06"]
        assert table["source"].tolist()[2] == "TTXVN"
        assert table["title"].tolist()[0] == "Tiêu đề"


def test_list_of_strings_and_custom_columns():
    table = read_corpus(["Bài một.\n\nĐoạn hai.", "Bài hai."])
    assert table["doc_id"].nunique() == 2
    assert read_corpus(["Bài một.\n\nĐoạn hai.", "Bài hai."])["id"].tolist() == table["id"].tolist()
    frame = pd.DataFrame({"body": ["x y z w"], "key": ["k1"], "headline": ["H"]})
    custom = read_corpus(frame, text_column="body", id_column="key", title_column="headline")
    assert custom["id"].tolist() == ["k1:0"] and custom["title"].tolist() == ["H"]


def test_hard_wrapped_lines_are_joined_but_caption_lines_are_not():
    wrapped = (
        "This paragraph was wrapped at a fixed width by an old mail client\n"
        "so that its lines run on without any sentence punctuation at all\nuntil the end."
    )
    assert len(read_corpus([wrapped])) == 1
    caption = "Lavrov said talks would go on.\nNgoại trưởng Nga Sergei Lavrov. Ảnh: TASS"
    assert len(read_corpus([caption])) == 2


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda d: None, "no readable files"),
        (lambda d: (d / "a.txt").write_text("", encoding="utf-8"), "empty"),
        (lambda d: (d / "a.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00binary"), "binary"),
        (lambda d: (d / "a.txt").write_bytes("Triều Tiên phóng tên lửa".encode("cp1258", "replace")), "not valid UTF-8"),
        (lambda d: (d / "a.jsonl").write_text('{"body": "x"}\n', encoding="utf-8"), "no text column 'text'"),
        (lambda d: (d / "a.jsonl").write_text('{"text": "x"}\n{oops\n', encoding="utf-8"), "line 2"),
        (lambda d: (d / "a.csv").write_text("", encoding="utf-8"), "empty"),
    ],
)
def test_bad_input_names_the_file(tmp_path, setup, message):
    folder = tmp_path / "in"
    folder.mkdir()
    setup(folder)
    with pytest.raises(InputError) as info:
        read_corpus(folder)
    assert message in str(info.value)
    assert str(folder) in str(info.value)


def test_missing_path_and_wrong_types(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        read_corpus(tmp_path / "absent")
    with pytest.raises(InputError, match="item 1"):
        read_corpus(["ok", 3])
    with pytest.raises(InputError, match="row 1"):
        read_corpus(pd.DataFrame({"text": ["fine", 12]}))
    with pytest.raises(InputError, match="no column 'nope'"):
        read_corpus(pd.DataFrame({"text": ["fine"]}), id_column="nope")


def _seed_records(copies: int) -> list[dict]:
    """The seed articles as table rows, ``copies`` times (no id column: ids come from row numbers)."""
    rows = []
    for path in sorted(SEEDS.glob("*.txt")):
        title, _, body = path.read_text(encoding="utf-8").partition("\n")
        rows.append({"title": title, "text": body, "outlet": path.stem[:3]})
    return [dict(row, copy=i) for i in range(copies) for row in rows]


def test_large_files_read_in_pieces_give_the_whole_file_documents(tmp_path):
    from embed.read.articles import _read_file
    from embed.read.pieces import plan_pieces, read_piece

    rows = _seed_records(4)
    jsonl = tmp_path / "archive.jsonl"
    lines = [json.dumps(r, ensure_ascii=False) for r in rows]
    lines[5:5] = ["", "   "]  # blank lines count as lines, not as records
    jsonl.write_text("\ufeff" + "\n".join(lines) + "\n", encoding="utf-8")
    parquet = tmp_path / "archive.parquet"
    pd.DataFrame(rows).to_parquet(parquet, row_group_size=3)
    for path, size in ((jsonl, 20_000), (parquet, 1)):
        pieces = plan_pieces([str(path)], piece_bytes=size)
        assert len(pieces) >= 3
        whole = _read_file(path, "text", None, None)
        parts = [doc for piece in pieces for doc in read_piece(piece)]
        assert [d["doc_id"] for d in parts] == [d["doc_id"] for d in whole] == [f"archive#{i}" for i in range(len(rows))]
        assert parts == whole
    small = plan_pieces([str(jsonl)])  # under the default size: one whole-file read
    assert len(small) == 1 and small[0].start is None


def test_a_broken_line_in_a_later_piece_is_named_by_its_line_in_the_file(tmp_path):
    from embed.read.pieces import plan_pieces, read_piece

    lines = [json.dumps(r, ensure_ascii=False) for r in _seed_records(4)]
    lines[17] = lines[17][:-5]
    path = tmp_path / "broken.jsonl"
    path.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(InputError, match=r"broken.jsonl, line 18: not valid JSON"):
        read_corpus(path)
    pieces = plan_pieces([str(path)], piece_bytes=8_000)
    assert pieces[0].end <= sum(len(line.encode()) + 1 for line in lines[:17])  # the broken line is in a later piece
    with pytest.raises(InputError, match=r"broken.jsonl, line 18: not valid JSON"):
        for piece in pieces:
            read_piece(piece)
