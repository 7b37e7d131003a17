"""Class-based TF-IDF (c-TF-IDF, Grootendorst 2022): the one implementation.

All paragraphs of a class (a topic) are treated as one document. A term's
weight in class *c* is ``tf(t, c) * log(1 + A / f(t))`` where ``tf`` is the
term's share of the class's tokens, ``f(t)`` its count in the whole corpus
(rows in no class, the outliers, included) and ``A`` the average number of
tokens per class.

Used by the topic keywords (:mod:`cluster.words.keywords`, words), the phrase
labels (:mod:`cluster.words.labels`, n-grams) and the sampled fit's keywords
(per-topic counts summed over chunks: :func:`keywords_from_counts`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

if TYPE_CHECKING:
    from cluster.words.reference import ReferenceVocab

__all__ = ["ClassTfidf", "class_tfidf", "keywords_from_counts"]


@dataclass(frozen=True)
class ClassTfidf:
    """The result of :func:`class_tfidf`.

    Attributes:
        weights: ``(len(classes), n_terms)`` c-TF-IDF weights, rows following ``classes``.
        class_counts: ``(len(classes), n_terms)`` summed term counts of each class.
        frequency: ``(n_terms,)`` each term's count in the whole corpus (every row, in a class or not).
    """

    weights: np.ndarray
    class_counts: np.ndarray
    frequency: np.ndarray


def class_tfidf(counts: sp.spmatrix | np.ndarray, labels: np.ndarray, classes: Sequence[int]) -> ClassTfidf:
    """c-TF-IDF of term ``counts`` (one row per document) grouped by ``labels``.

    Args:
        counts: ``(n_docs, n_terms)`` term counts (e.g. a ``CountVectorizer``'s output).
        labels: the class of each row; rows whose label is not in ``classes`` (outliers, ``-1``)
            count towards the corpus frequency ``f(t)`` only.
        classes: the classes to weigh, in the order of the returned rows; ``A`` is their mean size.

    Raises:
        ValueError: when ``labels`` does not have one entry per row of ``counts``.
    """
    labels = np.asarray(labels)
    n_docs, n_terms = counts.shape
    if labels.shape != (n_docs,):
        raise ValueError(f"labels must have one entry per row of counts ({n_docs}), got shape {labels.shape}")
    matrix = sp.csr_matrix(counts)
    rows = [np.asarray(matrix[labels == c].sum(axis=0)).ravel() for c in classes]
    class_counts = np.vstack(rows) if rows else np.zeros((0, n_terms))
    frequency = np.asarray(matrix.sum(axis=0)).ravel()
    totals = class_counts.sum(axis=1, keepdims=True)
    tf = np.divide(class_counts, np.maximum(totals, 1))
    average = float(totals.mean()) if len(classes) else 1.0
    idf = np.log1p(average / np.maximum(frequency, 1))
    return ClassTfidf(weights=tf * idf, class_counts=class_counts, frequency=frequency)


def keywords_from_counts(
    counts: Mapping[int, Mapping[str, int]], n_topics: int, n: int, *, reference: ReferenceVocab | None = None,
) -> dict[int, list[tuple[str, float]]]:
    """The ``n`` best ``(word, weight)`` of each topic ``0..n_topics-1`` from per-topic word counts (summed over
    chunks, as the sampled fit gathers them): :func:`class_tfidf` with one row per topic, times the reference
    factor where there is one (:meth:`ReferenceVocab.factor`), best first, ties by word; weights rounded to 5
    decimals. A topic missing from ``counts`` gets no keywords."""
    from sklearn.feature_extraction import DictVectorizer

    if n_topics <= 0 or not any(counts.values()):
        return {t: [] for t in range(max(n_topics, 0))}
    vectorizer = DictVectorizer()
    matrix = vectorizer.fit_transform([dict(counts.get(t, {})) for t in range(n_topics)])
    words = vectorizer.get_feature_names_out()
    scored = class_tfidf(matrix, np.arange(n_topics), range(n_topics))
    weights = scored.weights
    if reference is not None:
        weights = weights * reference.factor(words)[None, :]
    out = {}
    for t in range(n_topics):
        present = np.flatnonzero(scored.class_counts[t] > 0)
        order = present[np.argsort(-weights[t][present], kind="stable")][:n]  # columns are sorted: ties by word
        out[t] = [(str(words[i]), round(float(weights[t][i]), 5)) for i in order]
    return out
