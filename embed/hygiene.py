"""Flags for scraped-news noise: boilerplate and duplicates.

Nothing is deleted. Each paragraph gets ``boilerplate`` (bool) with a
human-readable ``boilerplate_reason``, and ``duplicate_of`` (the id of the
first paragraph with the same normalised text, or None).

Boilerplate rules, in order (the first that fires gives the reason):

1. ``share/social line`` - lines made only of share-button words
   ("fb yt zl tw", "Facebook Comments", "Chia sẻ", ...).
2. ``follow-us line`` - "Mời quý độc giả theo dõi VOV.VN trên" and the like.
3. ``related-articles section`` - a heading such as "Tin liên quan",
   "Tin cùng chuyên mục", "Có thể bạn quan tâm", "Bài viết mới nhất",
   "Related articles" and every paragraph after it in that document: these
   sections list other articles' titles and teasers.
4. ``photo caption`` - a short paragraph ending in a photo credit
   ("... Ảnh: AP", "(Nguồn: TASS)", "(Photo: Reuters)") or holding the
   "ảnh 1" marker that scrapers leave where an image was.
5. ``related-article link`` - a title in square brackets, the inline
   "[Read also: ...]" links of Vietnamese news sites.
6. ``repeated line`` - a paragraph made of the same line twice (the way
   scraped related-article lists print each title).
7. ``short line repeated across documents`` - at most ``max_repeat_words``
   words and present in at least two documents.
8. ``very short line`` - fewer than ``min_words`` words (bylines, credits).
"""

from __future__ import annotations

import re

import pandas as pd

__all__ = ["flag_paragraphs", "BOILERPLATE_REASONS"]

_SOCIAL_WORDS = {
    "fb", "yt", "zl", "tw", "zalo", "facebook", "twitter", "youtube", "tiktok", "instagram",
    "linkedin", "email", "e-mail", "print", "in", "share", "chia", "sẻ", "comments", "comment",
    "bình", "luận", "like", "tweet", "copy", "link", "x",
}
_FOLLOW_US = re.compile(
    r"^(mời (quý )?(bạn )?(độc giả|bạn đọc)[^.]{0,80}theo dõi|theo dõi [^.]{0,40} trên|"
    r"follow us|subscribe to|đăng ký nhận tin|tải ứng dụng)",
    re.IGNORECASE,
)
_RELATED_HEADINGS = re.compile(
    r"^(tin liên quan|tin cùng chuyên mục|có thể bạn quan tâm|bài viết mới nhất|bài liên quan|"
    r"xem thêm|đọc thêm|tin mới nhất|tin khác|related( articles| stories| news)?|read more|"
    r"more stories|you may also like|recommended)\s*:?$",
    re.IGNORECASE,
)

_CAPTION = re.compile(r"\(?\b(ảnh|nguồn|photo|image|source|credit)\s*:\s*[^()]{1,60}\)?\s*$", re.IGNORECASE)
_IMAGE_GLUE = re.compile(r"\bảnh \d+(?=\S)")

BOILERPLATE_REASONS = (
    "share/social line",
    "follow-us line",
    "related-articles section",
    "photo caption",
    "related-article link",
    "repeated line",
    "short line repeated across documents",
    "very short line",
)


def _is_social(text: str) -> bool:
    words = re.findall(r"[\w-]+", text.lower())
    return bool(words) and len(words) <= 8 and all(w in _SOCIAL_WORDS for w in words)


def _is_doubled(text: str) -> bool:
    half = len(text) // 2
    return len(text) > 10 and text[:half].strip() == text[half:].strip()


def flag_paragraphs(
    table: pd.DataFrame, *, min_words: int = 4, max_repeat_words: int = 20, max_caption_words: int = 40
) -> pd.DataFrame:
    """Return a copy of ``table`` with ``boilerplate``, ``boilerplate_reason``
    and ``duplicate_of`` filled in (see the module docstring for the rules)."""
    table = table.copy()
    texts = table["text"].tolist()
    n_words = [len(t.split()) for t in texts]
    docs_per_text = table.groupby("text_hash")["doc_id"].nunique()
    docs_of = table["text_hash"].map(docs_per_text).tolist()

    reasons: list[str | None] = []
    in_related: set[str] = set()
    for i, (doc_id, text) in enumerate(zip(table["doc_id"], texts)):
        reason = None
        if _is_social(text):
            reason = "share/social line"
        elif _FOLLOW_US.search(text):
            reason = "follow-us line"
        elif doc_id in in_related or _RELATED_HEADINGS.match(text):
            in_related.add(doc_id)
            reason = "related-articles section"
        elif (n_words[i] <= max_caption_words and _CAPTION.search(text)) or _IMAGE_GLUE.search(text):
            reason = "photo caption"
        elif text.startswith("[") and text.endswith("]") and n_words[i] <= max_repeat_words * 2:
            reason = "related-article link"
        elif _is_doubled(text):
            reason = "repeated line"
        elif n_words[i] <= max_repeat_words and docs_of[i] >= 2:
            reason = "short line repeated across documents"
        elif n_words[i] < min_words:
            reason = "very short line"
        reasons.append(reason)
    table["boilerplate"] = [r is not None for r in reasons]
    table["boilerplate_reason"] = reasons

    first_id = table.groupby("text_hash", sort=False)["id"].transform("first")
    table["duplicate_of"] = [None if f == i else f for f, i in zip(first_id, table["id"])]
    return table
