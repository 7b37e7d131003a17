"""Word segmentation is cached on disk: a text is segmented once per machine."""

from __future__ import annotations

from pathlib import Path

import pytest

from cluster.words.segments import cached_segments
from cluster.words.tokens import _segment_many

SEEDS = Path(__file__).resolve().parents[1] / "seeds"


def test_second_call_reads_the_cache_and_gives_the_same(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARATOPIC_CACHE_DIR", str(tmp_path))
    texts = [p.read_text(encoding="utf-8") for p in sorted(SEEDS.glob("*.txt"))]
    calls: list[int] = []

    def counting(batch):  # noqa: ANN001, ANN202
        calls.append(len(batch))
        return _segment_many(batch)

    first = cached_segments(texts, counting)
    assert calls == [len(texts)] and "Triều_Tiên" in first[0] + first[1] + first[2]
    again = cached_segments([*texts, "Hội nghị thượng đỉnh Mỹ - Triều"], counting)
    assert calls == [len(texts), 1]  # only the new text was segmented
    assert again[: len(texts)] == first
    assert (tmp_path / "segments.sqlite").is_file()


def test_unusable_cache_falls_back_to_segmenting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x", encoding="utf-8")
    monkeypatch.setenv("PARATOPIC_CACHE_DIR", str(blocker))  # a file where the cache folder should be
    out = cached_segments(["Triều Tiên phóng tên lửa"], _segment_many)
    assert out == _segment_many(["Triều Tiên phóng tên lửa"])
    assert "segmentation cache unavailable" in caplog.text
