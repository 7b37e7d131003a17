"""Dates read day-first, never guessed (issue 19 point 3)."""

from __future__ import annotations

import json
import logging

import pandas as pd
import pytest

from embed import read_corpus
from embed.read.dates import normalize_dates, parse_iso_date

DAYS = pd.date_range("2013-01-01", "2013-12-31", freq="D")


@pytest.mark.parametrize("form", ["%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S",
                                  "%-d/%-m/%Y"])
def test_every_day_of_2013_is_read_day_first(form):
    stamps = [d + pd.Timedelta(hours=11, minutes=9) for d in DAYS]
    values, report = normalize_dates([s.strftime(form) for s in stamps], where="x")
    assert report.unread == 0
    misread = sum(v[:10] != s.strftime("%Y-%m-%d") for v, s in zip(values, stamps))
    assert misread == 0
    if "%H" in form:
        assert values[295] == "2013-10-23T11:09:00"  # "23/10/2013 11:09"


def test_every_day_of_2013_month_first_when_asked():
    values, report = normalize_dates([d.strftime("%m/%d/%Y") for d in DAYS], where="x", month_first=True)
    assert report.unread == 0 and values == [d.strftime("%Y-%m-%d") for d in DAYS]


def test_iso_is_read_first_and_kept_as_given():
    given = ["2013-10-23", "2013-10-24T11:09:00+07:00", None]
    values, report = normalize_dates(given, where="x")
    assert values == given and report.unread == 0


def test_unreadable_and_ambiguous_dates_are_reported_not_guessed():
    values, report = normalize_dates(["23/10/2013 11:09", "10/25/2013", "03/12/26", "hôm qua", None], where="f.csv")
    assert values == ["2013-10-23T11:09:00", None, None, None, None]
    assert report.unread == 3 and report.total == 4
    text = report.message()
    assert "f.csv: 3 of 4 dates" in text and "'10/25/2013'" in text and "month-first" in text
    assert "two-digit year" in text and "hôm qua" in text


def test_read_corpus_day_first_with_report_and_option(tmp_path, caplog):
    rows = [{"id": "a", "text": "Đoạn một.", "date": "03/12/2026"},
            {"id": "b", "text": "Đoạn hai.", "date": "23/10/2013 11:09"},
            {"id": "c", "text": "Đoạn ba.", "date": "không rõ"}]
    path = tmp_path / "a.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        table = read_corpus(path)
    def plain(column):
        return [None if pd.isna(v) else v for v in table[column]]

    assert plain("date") == ["2026-12-03T00:00:00", "2013-10-23T11:09:00", None]
    assert plain("date_unread") == [None, None, "không rõ"]
    assert "1 of 3 dates could not be read" in caplog.text and "không rõ" in caplog.text
    # later parsing of the column (topics over time, stories) reads the same days
    days = pd.to_datetime(table["date"], errors="coerce", utc=True).dt.strftime("%Y-%m-%d").tolist()
    assert days[:2] == ["2026-12-03", "2013-10-23"]
    assert read_corpus(path, month_first=True)["date"].tolist()[0] == "2026-03-12"  # "23/10/2013" is unread then


def test_iso_only_on_the_command_line():
    assert parse_iso_date("2026-12-03") == pd.Timestamp("2026-12-03")
    with pytest.raises(ValueError, match=r"'03/12/2026' is not an ISO date.*2026-12-03"):
        parse_iso_date("03/12/2026", "--since")


def test_info_counts_unread_dates(tmp_path, e5):
    from typer.testing import CliRunner

    from embed import ParagraphIndex
    from paratopic.cli import app

    rows = [{"id": "a", "text": "Hà Nội mở rộng tuyến đường sắt đô thị.", "date": "23/10/2013 11:09"},
            {"id": "b", "text": "Giá xăng dầu giảm nhẹ từ chiều nay.", "date": "hôm qua"}]
    path = tmp_path / "a.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    ParagraphIndex.build(path, embedder=e5, cache=False).save(tmp_path / "idx")
    result = CliRunner().invoke(app, ["info", str(tmp_path / "idx")])
    flat = " ".join(result.output.replace("│", " ").split())
    assert result.exit_code == 0 and "documents with a date 1 of 2" in flat and "dates not read (left empty) 1, e.g. 'hôm qua'" in flat, flat


def test_stored_dates_of_mixed_iso_forms_all_count():
    """An index of plain dates extended with dated-and-timed articles: the timeline counts every dated
    paragraph (pandas' default format inference turned the second form into NaT without a word)."""
    import numpy as np

    from cluster.topics.timeline import topics_over_time
    from embed.read.dates import stored_dates

    table = pd.DataFrame({"date": ["2013-10-23", "2013-10-24T11:09:00", "2013-10-25 08:00:00+07:00", None, "x"]})
    dates = stored_dates(table["date"])
    assert [d.isoformat() if not pd.isna(d) else None for d in dates] == [
        "2013-10-23T00:00:00", "2013-10-24T11:09:00", "2013-10-25T01:00:00", None, None]
    counts = topics_over_time(table, np.zeros(len(table), dtype=int))
    assert counts["count"].sum() == 3 and len(counts) == 3
