from __future__ import annotations

from conftest import SEEDS

from embed import read_corpus

NOISE = ["fb yt zl tw", "Facebook Comments", "Mời quý độc giả theo dõi VOV.VN trên", "Tin liên quan"]


def test_scraped_noise_in_seeds_is_flagged_not_deleted():
    table = read_corpus(SEEDS)
    for line in NOISE:
        rows = table[table["text"] == line]
        assert len(rows) >= 1, line
        assert rows["boilerplate"].all(), line
    reasons = set(table["boilerplate_reason"].dropna())
    assert {"share/social line", "follow-us line", "related-articles section", "photo caption"} <= reasons
    # real reporting stays unflagged
    body = table.set_index("id").loc[["000_bafd0c5b1fa3f0f2:8", "002_d3edf12b0699b25c:1"]]
    assert not body["boilerplate"].any()


def test_duplicates_point_to_first_occurrence():
    table = read_corpus(SEEDS)
    dups = table[table["duplicate_of"].notna()]
    assert len(dups) > 0
    by_id = table.set_index("id")
    for _, row in dups.iterrows():
        original = by_id.loc[row["duplicate_of"]]
        assert original["text"] == row["text"]
        assert original.name != row["id"]
        assert table.index[table["id"] == original.name][0] < table.index[table["id"] == row["id"]][0]
    assert table["text_hash"].nunique() == len(table) - len(dups)


def test_short_lines_repeated_across_documents():
    docs = [f"Bài số {i} nói về một chủ đề rất khác với các bài còn lại.\n\nTheo dõi chúng tôi" for i in range(3)]
    table = read_corpus(docs)
    follow = table[table["text"] == "Theo dõi chúng tôi"]
    assert follow["boilerplate"].all()
    assert follow["duplicate_of"].notna().sum() == 2
