"""Topic keywords: class-based TF-IDF with MMR diversity.

c-TF-IDF (:func:`cluster.words.ctfidf.class_tfidf`, Grootendorst 2022) treats
all paragraphs of a topic as one document: a word's weight in topic *c* is
``tf(t, c) * log(1 + A / f(t))`` where ``tf`` is the word's share of the
topic's tokens, ``f(t)`` its count in the whole corpus and ``A`` the average
number of tokens per topic.

Diversity: from the best ``n_candidates`` words, keywords are picked by
maximal marginal relevance, trading weight against similarity to words
already picked. Word similarity needs no embedding model: it is the larger
of the cosine between the words' paragraph-occurrence vectors and the overlap
of their syllables (so "Triều Tiên" and "Bình Nhưỡng Triều Tiên" or "tên"
and "tên lửa" do not both take a slot).

Generic words: with a ``reference`` (:mod:`cluster.words.reference`, Vietnamese
news), each weight is also multiplied by the word's reference-IDF factor, so
words found in news of every kind (nó, khiến, thực hiện, thông tin) give way
to the words of the topic, by the evidence of a large corpus and not by a
hand-kept list.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from cluster.words.ctfidf import class_tfidf

if TYPE_CHECKING:
    from cluster.words.reference import ReferenceVocab

__all__ = ["KeywordModel", "mmr", "short_label"]


def _identity(tokens: list[str]) -> list[str]:
    return tokens


class KeywordModel:
    """c-TF-IDF over tokenised paragraphs grouped by topic.

    Args:
        docs: tokens of each paragraph (lower case).
        labels: topic of each paragraph (``-1`` = outlier; outliers count
            towards word frequencies but get no keywords).
        reference: word statistics of a reference corpus; weights are
            multiplied by :meth:`ReferenceVocab.factor` (``None``: collection only).
    """

    def __init__(self, docs: Sequence[list[str]], labels: np.ndarray, *, reference: ReferenceVocab | None = None) -> None:
        from sklearn.feature_extraction.text import CountVectorizer

        labels = np.asarray(labels)
        self.topics = sorted(int(t) for t in set(labels.tolist()) if t >= 0)
        self.vectorizer = CountVectorizer(analyzer=_identity, lowercase=False)
        nonempty = any(len(d) for d in docs)
        if not nonempty:
            self.vocab = np.array([], dtype=object)
            self.counts = sp.csr_matrix((len(docs), 0))
        else:
            self.counts = self.vectorizer.fit_transform(list(docs)).tocsr()
            self.vocab = self.vectorizer.get_feature_names_out()
        scored = class_tfidf(self.counts, labels, self.topics)
        self.class_counts = scored.class_counts  # rows follow self.topics
        self.doc_freq_in_topic = {
            t: np.asarray((self.counts[labels == t] > 0).sum(axis=0)).ravel() for t in self.topics
        }
        self.topic_sizes = {t: int((labels == t).sum()) for t in self.topics}
        self.weights = scored.weights  # rows follow self.topics
        if reference is not None and len(self.vocab):
            self.weights = self.weights * reference.factor(self.vocab)[None, :]
        occurrence = (self.counts > 0).astype(np.float32).tocsc()
        norms = np.sqrt(np.asarray(occurrence.sum(axis=0)).ravel())
        self._occurrence = occurrence
        self._norms = np.maximum(norms, 1e-9)

    def keywords(self, topic: int, *, n: int = 10, diversity: float = 0.3, n_candidates: int = 30) -> list[tuple[str, float]]:
        """Top ``n`` (token, weight) pairs of ``topic`` (tokens in lower case)."""
        row = self.topics.index(topic)
        weights = self.weights[row]
        order = np.argsort(-weights, kind="stable")
        order = order[weights[order] > 0]
        df = self.doc_freq_in_topic[topic]
        if self.topic_sizes[topic] >= 4:
            repeated = order[df[order] >= 2]
            if len(repeated) >= n:
                order = repeated
        candidates = order[: max(n_candidates, n)]
        if not len(candidates):
            return []
        if diversity > 0 and len(candidates) > n:
            picked = mmr(weights[candidates], self.similarity(candidates), n=n, diversity=diversity)
            candidates = candidates[picked]
        else:
            candidates = candidates[:n]
        return [(str(self.vocab[i]), float(weights[i])) for i in candidates]

    def similarity(self, columns: np.ndarray) -> np.ndarray:
        """Word-word similarity of vocabulary ``columns`` (see module docs)."""
        occ = self._occurrence[:, columns]
        cooc = np.asarray((occ.T @ occ).todense(), dtype=np.float64)
        norms = self._norms[columns]
        sim = cooc / np.outer(norms, norms)
        syllables = [set(str(self.vocab[i]).split()) for i in columns]
        for a in range(len(columns)):
            for b in range(a + 1, len(columns)):
                overlap = len(syllables[a] & syllables[b])
                if overlap:
                    jac = overlap / min(len(syllables[a]), len(syllables[b]))
                    sim[a, b] = sim[b, a] = max(sim[a, b], jac)
        return sim


def mmr(weights: np.ndarray, similarity: np.ndarray, *, n: int, diversity: float) -> list[int]:
    """Maximal marginal relevance: indices of ``n`` items, the first being the
    heaviest, each next maximising ``(1 - diversity) * weight - diversity *
    max similarity to those picked`` (weights scaled to [0, 1])."""
    if not 0 <= diversity <= 1:
        raise ValueError(f"diversity must be in [0, 1], got {diversity!r}")
    scaled = np.asarray(weights, dtype=np.float64)
    scaled = scaled / scaled.max() if scaled.max() > 0 else scaled
    picked = [int(np.argmax(scaled))]
    remaining = [i for i in range(len(scaled)) if i != picked[0]]
    while remaining and len(picked) < n:
        scores = [(1 - diversity) * scaled[i] - diversity * similarity[i, picked].max() for i in remaining]
        best = remaining[int(np.argmax(scores))]
        picked.append(best)
        remaining.remove(best)
    return picked


def short_label(keywords: Sequence[str], *, n: int = 3) -> str:
    """A short topic label: the best ``n`` keywords joined by commas."""
    return ", ".join(keywords[:n]) if keywords else "(no keywords)"
