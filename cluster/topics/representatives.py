"""Representative paragraphs of a topic, closest to its centre first, with no
two near-duplicates of each other.

News articles repeat their lead ("Các hãng thông tấn Nga đưa tin, <the lead>")
and quote a sentence they paraphrased a paragraph earlier; such pairs are not
flagged as duplicates (the text differs) but would fill a topic's few
representative slots with one sentence. A candidate is skipped when its
cosine to a paragraph already chosen reaches :data:`REPRESENTATIVE_DUPLICATE_COSINE`
or when its normalised text equals, contains or is contained in a chosen one.

The threshold comes from the data: among the 44 modelled seed paragraphs the
two same-sentence pairs have cosines 0.967 and 0.987, while the closest pair
of different paragraphs has 0.938 (e5 cosines of related news paragraphs
bunch around 0.85-0.92), so 0.95 sits in the gap. Search's
``near_duplicate_threshold`` (0.97) would keep the 0.967 pair.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

import numpy as np
import pandas as pd

from cluster.topics.state import FittedTopics as TopicModel

__all__ = ["REPRESENTATIVE_DUPLICATE_COSINE", "normalise_text", "distinct_order", "representative_rows"]

#: Cosine at or above which two representative paragraphs count as near-duplicates.
REPRESENTATIVE_DUPLICATE_COSINE = 0.95

_NON_WORD = re.compile(r"[\W_]+")


def normalise_text(text: str) -> str:
    """NFC, case-folded, punctuation and spacing reduced to single spaces."""
    return " ".join(_NON_WORD.sub(" ", unicodedata.normalize("NFC", str(text)).casefold()).split())


def _overlaps(a: str, b: str) -> bool:
    """Equal, or one contains the other on word boundaries (never for empty text)."""
    if a == b:
        return True
    if not a or not b:
        return False
    short, long = (a, b) if len(a) <= len(b) else (b, a)
    return f" {short} " in f" {long} "


def distinct_order(
    vectors: np.ndarray, texts: Sequence[str], n: int, *, threshold: float = REPRESENTATIVE_DUPLICATE_COSINE
) -> list[int]:
    """Positions of up to ``n`` candidates, taken in the given order, skipping
    any whose cosine to one already taken is at least ``threshold`` or whose
    normalised text overlaps one already taken (see :func:`normalise_text`).

    ``vectors`` are the candidates' unit vectors, best candidate first. Fewer
    than ``n`` come back only when fewer than ``n`` distinct candidates exist
    in that greedy sense."""
    chosen: list[int] = []
    chosen_texts: list[str] = []
    vectors = np.asarray(vectors, dtype=np.float32)
    for i in range(len(vectors)):
        if len(chosen) >= n:
            break
        if chosen and float(np.max(vectors[chosen] @ vectors[i])) >= threshold:
            continue
        text = normalise_text(texts[i])
        if any(_overlaps(text, other) for other in chosen_texts):
            continue
        chosen.append(i)
        chosen_texts.append(text)
    return chosen


def representative_rows(model: TopicModel, topic: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Index rows of up to ``n`` distinct fitted members of ``topic``, closest
    to its centre first, and their cosines to the centre."""
    rows = np.flatnonzero(model.fitted_mask_)[model.fit_labels_ == topic]
    vectors = np.asarray(model.index.vectors, dtype=np.float32)[rows]
    scores = vectors @ model.centroids_[topic]
    order = np.argsort(-scores, kind="stable")
    texts = model.index.paragraphs["text"].astype(str).to_numpy()[rows[order]]
    keep = order[distinct_order(vectors[order], texts, n)]
    return rows[keep], scores[keep]


def representative_table(model: TopicModel, topic: int, n: int) -> pd.DataFrame:
    """:func:`representative_rows` as a table: id, doc_id, title, text, score (cosine to the centre)."""
    rows, scores = representative_rows(model, topic, n)
    out = model.index.paragraphs.iloc[rows][["id", "doc_id", "title", "text"]].copy()
    out["score"] = scores.astype(float)
    return out.reset_index(drop=True)
