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
4. ``photo caption`` - a caption is short and stands alone: a paragraph of
   at most ``max_caption_words`` words ending in a photo credit
   ("... Ảnh: AP", "(Nguồn: TASS)", "(Photo: Reuters)"), or one of at most
   twice that holding the marker that scrapers leave where an image was,
   "ảnh 1" glued to the capitalised caption that follows ("... với Mỹ ảnh
   1Ngoại trưởng Nga Lavrov (phải) ..."). "ảnh" followed by a number in a
   sentence ("điện ảnh 2017", "điểm ảnh 445ppi", "chụp ảnh 59 khuôn mặt",
   "(ảnh 2)") is article text, and so is a long paragraph.
5. ``related-article link`` - a title in square brackets, the inline
   "[Read also: ...]" links of Vietnamese news sites.
6. ``repeated line`` - a paragraph made of the same line twice (the way
   scraped related-article lists print each title), or a short one (at most
   ``max_caption_words`` words) printed twice in a row (an image's alt text
   and its caption).
7. ``short line repeated across documents`` - at most ``max_repeat_words``
   words, neither a heading nor a field (below), and present in two
   documents that are not copies of each other. Two documents are copies when they share a body
   paragraph (more than 20 words) or at least three paragraphs (the same
   article twice in a corpus, or one story from two outlets): the lines they
   share are their own text, not a site's furniture. Longer shared lines
   are stock sentences of the news ("Nguyên nhân vụ việc đang được cơ quan
   chức năng làm rõ."), still text.
8. ``very short line`` - fewer than ``min_words`` words (bylines, credits,
   sign-offs), except a fragment that starts in lower case (the rest of a
   cut sentence), a "label: value" field with a number ("Hotline: 0966...",
   "Dự đoán: 2-2") and a heading. A bare date or time ("19/05/2016 10:25
   GMT+7") always counts.

A heading is a line followed in its document by a body paragraph, or one
that ends in ":" with more to follow ("Đội hình xuất phát:").
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping

import pandas as pd

__all__ = ["flag_paragraphs", "repeated_in_unrelated_documents", "BOILERPLATE_REASONS"]

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
# "ảnh 1" glued to the next word, which starts a capitalised caption: "ảnh 1Ngoại trưởng ..."
_IMAGE_GLUE = re.compile(r"\bảnh \d{1,2}(?=[^\W\d_][^\W\d_])")
_DATELINE = re.compile(r"^\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}(,? \d{1,2}[:h]\d{2})?( ?gmt ?[+-] ?\d{1,2})?$", re.IGNORECASE)
_COPY_SHARED_LINES = 3
_BODY_WORDS = 20  # a paragraph longer than this is body text
_FIELD = re.compile(r"\w: .*\d")

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
    if len(text) > 100:  # eight share-button words are shorter
        return False
    words = re.findall(r"[\w-]+", text.lower())
    return bool(words) and len(words) <= 8 and all(w in _SOCIAL_WORDS for w in words)


def _is_doubled(text: str) -> bool:
    half = len(text) // 2
    return len(text) > 10 and text[:half].strip() == text[half:].strip()


def _has_image_glue(text: str) -> bool:
    """True when "ảnh <n>" runs straight into a capitalised word ("ảnh 1Ngoại")."""
    if "ảnh " not in text:
        return False
    return any(text[m.end()].isupper() and text[m.end() + 1].islower() for m in _IMAGE_GLUE.finditer(text))


def _repeated_in_unrelated_documents(doc_ids: list[str], digests: list[str], n_words: list[int]) -> set[str]:
    """Hashes of short texts found in two documents that are not copies of each other."""
    docs_of: dict[str, list[str]] = defaultdict(list)
    hashes_of: dict[str, set[str]] = defaultdict(set)
    long_hashes: set[str] = set()
    for doc_id, digest, words in zip(doc_ids, digests, n_words):
        if digest not in hashes_of[doc_id]:
            hashes_of[doc_id].add(digest)
            docs_of[digest].append(doc_id)
        if words > _BODY_WORDS:
            long_hashes.add(digest)

    def copies(a: str, b: str) -> bool:
        shared = hashes_of[a] & hashes_of[b]
        return len(shared) >= _COPY_SHARED_LINES or not shared.isdisjoint(long_hashes)

    found = set()
    for digest, docs in docs_of.items():
        if len(docs) < 2 or digest in long_hashes:
            continue
        docs = docs[:50]  # a line in many documents is found in the first few pairs
        if any(not copies(a, b) for i, a in enumerate(docs) for b in docs[i + 1:]):
            found.add(digest)
    return found


#: Public name of the whole-collection rule (used by ``embed.distributed.build``'s reduce).
repeated_in_unrelated_documents = _repeated_in_unrelated_documents


def _neighbours(
    doc_ids: list[str], positions: list[int], texts: list[str]
) -> tuple[list[str | None], list[str | None]]:
    """The text of the paragraph before and after each one in its document (None at the ends)."""
    rows_of: dict[str, list[int]] = defaultdict(list)
    for row, doc_id in enumerate(doc_ids):
        rows_of[doc_id].append(row)
    before: list[str | None] = [None] * len(texts)
    after: list[str | None] = [None] * len(texts)
    for rows in rows_of.values():
        rows.sort(key=positions.__getitem__)
        for a, b in zip(rows, rows[1:]):
            before[b], after[a] = texts[a], texts[b]
    return before, after


def _is_heading(text: str, next_text: str | None) -> bool:
    """A line followed by a body paragraph, or ending in ":" with more to follow."""
    if next_text is None:
        return False
    return text.endswith(":") or len(next_text.split()) > _BODY_WORDS


def flag_paragraphs(
    table: pd.DataFrame,
    *,
    min_words: int = 4,
    max_repeat_words: int = 10,
    max_caption_words: int = 40,
    repeated: set[str] | None = None,
    first_ids: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Return a copy of ``table`` with ``boilerplate``, ``boilerplate_reason``
    and ``duplicate_of`` filled in (see the module docstring for the rules).

    ``table`` needs the columns ``id``, ``doc_id``, ``position``, ``text`` and
    ``text_hash``; each document's rows in order of ``position``.

    The two rules that need the whole collection can be given from outside,
    so that a part of it (whole documents) is flagged as in the whole
    (``embed.distributed.build``): ``repeated``, the hashes of short lines found in
    unrelated documents (:func:`repeated_in_unrelated_documents`), and
    ``first_ids``, the id of the first paragraph of every hash that occurs
    more than once; a paragraph is then a duplicate when its hash has a first
    id other than its own."""
    table = table.copy()
    texts = table["text"].tolist()
    doc_ids = table["doc_id"].tolist()
    digests = table["text_hash"].tolist()
    n_words = [len(t.split()) for t in texts]
    if repeated is None:
        repeated = _repeated_in_unrelated_documents(doc_ids, digests, n_words)
    before, after = _neighbours(doc_ids, table["position"].tolist(), texts)

    reasons: list[str | None] = []
    in_related: set[str] = set()
    for i, (doc_id, text, digest) in enumerate(zip(doc_ids, texts, digests)):
        words = n_words[i]
        reason = None
        if _is_social(text):
            reason = "share/social line"
        elif _FOLLOW_US.search(text):
            reason = "follow-us line"
        elif doc_id in in_related or _RELATED_HEADINGS.match(text):
            in_related.add(doc_id)
            reason = "related-articles section"
        elif (words <= max_caption_words and _CAPTION.search(text)) or (
            words <= 2 * max_caption_words and _has_image_glue(text)
        ):
            reason = "photo caption"
        elif text.startswith("[") and text.endswith("]") and words <= max_caption_words:
            reason = "related-article link"
        elif _is_doubled(text) or (words <= max_caption_words and text in (before[i], after[i])):
            reason = "repeated line"
        elif words <= max_repeat_words and digest in repeated and not (
            _FIELD.search(text) or _is_heading(text, after[i])
        ):
            reason = "short line repeated across documents"
        elif words < min_words and (
            _DATELINE.match(text) or not (text[:1].islower() or _FIELD.search(text) or _is_heading(text, after[i]))
        ):
            reason = "very short line"
        reasons.append(reason)
    table["boilerplate"] = [r is not None for r in reasons]
    table["boilerplate_reason"] = reasons

    if first_ids is not None:
        table["duplicate_of"] = [None if first_ids.get(h, i) == i else first_ids[h] for h, i in zip(digests, table["id"])]
        return table
    first_id = table.groupby("text_hash", sort=False)["id"].transform("first")
    table["duplicate_of"] = [None if f == i else f for f, i in zip(first_id, table["id"])]
    return table
