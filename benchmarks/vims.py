"""What the ViMs benchmarks (and the tests on ViMs) share: where the data is, a quiet start, the fixed split of
the events into a tuning and a held-out half, and the *news-day* draws.

A news day is what a newsroom's feed holds: many events, reported the same day or two, several in each section.
ViMs spreads its 300 events over fourteen months, where dates alone keep most events apart; a news-day draw takes
several events from each section (read off the outlets' URLs: ``/the-thao/``, ``/phap-luat/``, ...) of one half,
and re-dates all their articles at random into one window of 1-3 days (or removes the dates), so that only the
content can tell the events apart. An article comes in one of three forms: ``paragraphs`` (as ViMs gives it),
``block`` (the body as one paragraph) and ``lead`` (title + the outlet's lead only: what many feeds deliver).
"""

from __future__ import annotations

import logging
import re
import warnings

import numpy as np
import pandas as pd
from evaldata import VIMS, missing

#: The events are split by ``np.random.default_rng(SPLIT_SEED).permutation(sorted events)``: the first 150 are the
#: tuning half, the other 150 the held-out half (the split ``bench_stories.py`` has used from the start).
SPLIT_SEED = 0
FORMS = ("paragraphs", "block", "lead")
#: Section of an outlet's URL path, first match wins (order matters: ``the-gioi-sao`` is entertainment).
SECTION_PATTERNS = [
    ("entertainment", r"giai-tri|hau-truong|sao\b|nghe-si|am-nhac|phim|van-hoa"),
    ("sports", r"the-?thao|bong-da|tennis|v-league|ngoai-hang|euro-|chuyen-nhuong|cacmonkhac"),
    ("world", r"the-?gioi|quoc-te|world|quan-su"),
    ("law", r"phap-?luat|an-ninh|vu-an|phap-dinh|hinh-su"),
    ("business", r"kinh-?doanh|kinh-?te|thi-truong|doanh-nghiep|bat-dong-san|tai-chinh|nha-dat|o-?to"),
    ("domestic", r"thoi-su|xa-?hoi|chinh-?tri|giao-duc|giao-thong|dan-sinh|doi-song|suc-khoe|trong-nuoc"),
]
#: Where re-dated articles start (any day works: only differences between dates matter).
NEWS_DAY = pd.Timestamp("2016-06-01")


def prepare(quiet: tuple[str, ...] = ("cluster", "embed", "bertopic", "BERTopic")) -> None:
    """Log progress lines only, silence the libraries' chatter, and stop with a clear message without ViMs."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    for name in quiet:
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")
    if not VIMS.is_file():
        raise SystemExit(missing(VIMS))


def load_articles() -> pd.DataFrame:
    """ViMs' articles with a ``section`` column: the section of their event (majority of its articles' URLs)."""
    articles = pd.read_json(VIMS, lines=True, dtype={"date": str})
    articles["summary"] = articles["summary"].fillna("")
    by_article = articles["url"].map(url_section)
    majority = by_article.dropna().groupby(articles["event"]).agg(lambda s: s.value_counts().index[0])
    articles["section"] = articles["event"].map(majority).fillna("other")
    return articles


def url_section(url: str) -> str | None:
    """The section named in a URL's path, or None."""
    path = re.sub(r"^https?://[^/]+/", "", str(url)).lower()
    folders = "/".join(path.split("/")[:-1])
    for section, pattern in SECTION_PATTERNS:
        if re.search(pattern, folders):
            return section
    return None


def halves(articles: pd.DataFrame) -> dict[str, list[str]]:
    """The fixed split: ``{"tuning": events, "held-out": events}`` (150 each)."""
    events = sorted(articles["event"].unique())
    order = np.random.default_rng(SPLIT_SEED).permutation(events)
    return {"tuning": sorted(order[: len(events) // 2]), "held-out": sorted(order[len(events) // 2:])}


def in_form(articles: pd.DataFrame, form: str) -> pd.DataFrame:
    """The articles as ``form`` (:data:`FORMS`): the columns an index is built from (no event column)."""
    from embed.read.text import split_paragraphs

    frame = articles[["id", "title", "text", "source", "date"]].copy()
    if form == "block":
        frame["text"] = [" ".join(split_paragraphs(t)) for t in articles["text"]]
    elif form == "lead":
        frame["text"] = [s.strip() or (split_paragraphs(t) or [""])[0]
                         for s, t in zip(articles["summary"], articles["text"])]
    elif form != "paragraphs":
        raise ValueError(f"form {form!r}; expected one of {FORMS}")
    return frame


def news_day(articles: pd.DataFrame, events: list[str], seed: int, *, per_section: int = 6,
             window_days: int | None = None, dated: bool = True) -> pd.DataFrame:
    """One news-day draw from ``events``: ``per_section`` events of every section (all of a section's events when
    it has fewer; the "other" section left out), their articles re-dated uniformly at random into one window of
    ``window_days`` days (1-3 drawn with the seed when None), or undated when ``dated`` is false."""
    rng = np.random.default_rng(seed)
    pool = articles[articles["event"].isin(events) & (articles["section"] != "other")]
    chosen = []
    for _, group in pool.groupby("section"):
        names = sorted(group["event"].unique())
        chosen += list(rng.choice(names, size=min(per_section, len(names)), replace=False))
    draw = pool[pool["event"].isin(chosen)].reset_index(drop=True)
    days = int(rng.integers(1, 4)) if window_days is None else window_days
    offsets = rng.uniform(0, days * 86_400, size=len(draw))
    draw["date"] = [(NEWS_DAY + pd.Timedelta(seconds=float(s))).isoformat() for s in offsets] if dated else None
    return draw
