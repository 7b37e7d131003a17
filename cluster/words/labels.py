"""Topic keywords and short phrase labels a person could have written.

A topic's label is a phrase of 2-4 words (after word segmentation, so
"hội nghị thượng đỉnh Mỹ" is three words; at most :data:`MAX_SYLLABLES`
syllables) taken from the topic's own paragraphs:

1. candidates are the n-grams of 2-4 consecutive words (stopwords kept
   inside, never first or last) found in at least two of the topic's
   paragraphs (one for a one-paragraph topic);
2. each is scored like a keyword: class-based TF-IDF against the other
   topics, times the share of the phrase's uses that fall in this topic
   (so a name every topic mentions, "Ngoại trưởng Nga Sergei Lavrov" on the
   seeds, does not label one of them), times the mean reference-IDF factor
   of its content words (:mod:`cluster.words.reference`), so phrases of generic
   words lose;
3. the best candidate is replaced by a longer one that contains it when that
   one is nearly as widespread in the topic (in at least
   :data:`EXTEND_SHARE` as many paragraphs): "hội nghị thượng đỉnh" becomes
   "hội nghị thượng đỉnh Mỹ - Triều" only if most mentions say so;
4. in Vietnamese a subject-verb clause is no label (:func:`is_clause`:
   "Lavrov cho biết Việt Nam" was one on the seeds);
5. the phrase must occur as such in the text (no punctuation between its
   words; this also drops n-grams that span two sentences) and is shown in
   its most common surface form there ("Triều Tiên", "Kim Jong Un");
6. topics are labelled largest first and a phrase is used once.

When no candidate qualifies the label is the two best keywords joined. An
article title was not used: titles describe one article, a topic gathers
paragraphs from several, and news titles rarely fit in five words.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from cluster.words.ctfidf import class_tfidf
from cluster.words.keywords import KeywordModel, short_label
from cluster.words.reference import reference_for

if TYPE_CHECKING:
    from cluster.words.reference import ReferenceVocab
    from cluster.words.tokens import Tokenizer

__all__ = ["describe_topics", "phrase_labels", "is_clause", "MIN_WORDS", "MAX_WORDS", "MAX_SYLLABLES"]

MIN_WORDS, MAX_WORDS = 2, 4
#: Longest label in syllables (space-separated parts).
MAX_SYLLABLES = 8
#: A longer phrase replaces the best one when found in this share of its paragraphs.
EXTEND_SHARE = 0.6
#: Candidates checked against the text per topic, best first.
N_CHECKED = 40
_SEP = "\t"  # joins an n-gram's words (pyvi never yields a tab inside a word)


def describe_topics(
    tokens: Sequence[list[str]], raw_tokens: Sequence[list[str]], texts: Sequence[str], labels: np.ndarray,
    n_topics: int, tokenizer: Tokenizer, *, n_keywords: int = 10, diversity: float = 0.3,
    fixed_labels: dict[int, str] | None = None,
) -> tuple[dict[int, list[tuple[str, float]]], dict[int, str]]:
    """Keywords (display form, weight) and a phrase label for topics ``0..n_topics-1``.

    Args:
        tokens: each paragraph's keyword tokens (stopwords removed).
        raw_tokens: each paragraph's tokens with stopwords (same order).
        texts: each paragraph's text.
        labels: each paragraph's topic (-1 = outlier).
        n_topics: number of topics.
        n_keywords: keywords kept per topic.
        diversity: MMR trade-off among the top keywords.
        tokenizer: the tokenizer that made the tokens (language, stopwords, display forms).
        fixed_labels: labels kept as they are (a tracked topic's label never changes); only the
            other topics get a phrase, never one of these.
    """
    reference = reference_for(tokenizer.language)
    model = KeywordModel(tokens, labels, reference=reference)
    keywords = {
        t: [(tokenizer.display(w), weight) for w, weight in model.keywords(t, n=n_keywords, diversity=diversity)]
        for t in range(n_topics)
    }
    phrases = phrase_labels(raw_tokens, texts, labels, n_topics, stopwords=tokenizer.stopwords, reference=reference,
                            no_clauses=tokenizer.language == "vi", fixed=fixed_labels)
    names = {t: phrases.get(t) or short_label([w for w, _ in keywords[t]], n=2) for t in range(n_topics)}
    return keywords, names


def _ngrams(stopwords: frozenset[str]):  # noqa: ANN202 - a CountVectorizer analyzer
    def analyzer(doc: list[str]) -> list[str]:
        out = []
        for n in range(MIN_WORDS, MAX_WORDS + 1):
            for i in range(len(doc) - n + 1):
                gram = doc[i:i + n]
                if gram[0] in stopwords or gram[-1] in stopwords or len(set(gram)) < n:
                    continue
                if sum(len(w.split()) for w in gram) <= MAX_SYLLABLES:
                    out.append(_SEP.join(gram))
        return out

    return analyzer


def phrase_labels(
    raw_tokens: Sequence[list[str]], texts: Sequence[str], labels: np.ndarray, n_topics: int, *,
    stopwords: frozenset[str], reference: ReferenceVocab | None = None, no_clauses: bool = False,
    fixed: dict[int, str] | None = None,
) -> dict[int, str]:
    """The phrase label of each topic that has one (see the module docs);
    ``no_clauses`` drops Vietnamese subject-verb candidates (:func:`is_clause`); topics in ``fixed``
    keep the label given there (no candidates are scored for them)."""
    from sklearn.feature_extraction.text import CountVectorizer

    labels = np.asarray(labels)
    vectorizer = CountVectorizer(analyzer=_ngrams(stopwords), lowercase=False)
    try:
        counts = vectorizer.fit_transform(list(raw_tokens)).tocsr()
    except ValueError:  # no n-gram at all
        return dict(fixed or {})
    vocab = vectorizer.get_feature_names_out()
    scored = class_tfidf(counts, labels, range(n_topics))
    weights = scored.weights * scored.class_counts / np.maximum(scored.frequency, 1)  # share of its uses in the topic
    if reference is not None:
        factor = np.array([
            float(np.mean(reference.factor([w for w in g.split(_SEP) if w not in stopwords]))) for g in vocab
        ])
        weights = weights * factor[None, :]
    out: dict[int, str] = dict(fixed or {})
    for t in range(n_topics):  # largest first: a phrase already used by a larger topic is skipped
        if fixed and t in fixed:
            continue
        rows = np.flatnonzero(labels == t)
        df = np.asarray((counts[rows] > 0).sum(axis=0)).ravel()
        need = 2 if len(rows) >= 2 else 1
        order = np.argsort(-weights[t], kind="stable")
        order = order[(weights[t][order] > 0) & (df[order] >= need)][:N_CHECKED]
        taken = {label.lower() for label in out.values()}
        label = _pick([str(vocab[i]) for i in order], df[order], [texts[i] for i in rows], need, taken, no_clauses)
        if label:
            out[t] = label
    return out


def _pick(candidates: list[str], df: np.ndarray, texts: list[str], need: int, taken: set[str],
          no_clauses: bool = False) -> str | None:
    """The first candidate found as such in ``need`` texts, extended to a
    longer candidate containing it when that one is nearly as widespread;
    returned in its most common surface form; never one of ``taken`` (lower case)."""
    cache: dict[str, str | None] = {}

    def surface(gram: str) -> str | None:
        if gram not in cache:
            found = _surface(gram, texts, need)
            clause = found is not None and no_clauses and is_clause(gram, found)
            cache[gram] = None if found is None or clause or found.lower() in taken else found
        return cache[gram]

    for k, gram in enumerate(candidates):
        found = surface(gram)
        if found is None:
            continue
        words = gram.split(_SEP)
        for j, longer in enumerate(candidates):
            other = longer.split(_SEP)
            if len(other) > len(words) and df[j] >= EXTEND_SHARE * df[k] and _contains(other, words):
                extended = surface(longer)
                if extended is not None:
                    return extended
        return found
    return None


#: Part-of-speech tags (pyvi) of a clause's subject: a noun, proper noun,
#: classifier noun or pronoun directly before a verb.
_SUBJECT_TAGS = frozenset({"N", "Np", "Nc", "P"})


def is_clause(gram: str, surface: str) -> bool:
    """True when a Vietnamese candidate reads as a clause, not a phrase: a
    verb right after a noun or pronoun ("Lavrov cho biết Việt Nam", "ông
    Lavrov nói"), by pyvi's tagger on the text's own casing. A phrase may
    start with a verb ("cung cấp vũ khí cho Nga")."""
    from pyvi import ViPosTagger

    syllables = surface.split()
    words, start = [], 0
    for word in gram.split(_SEP):
        size = len(word.split())
        words.append("_".join(syllables[start:start + size]))
        start += size
    if start != len(syllables):
        return False
    _, tags = ViPosTagger.postagging(" ".join(words))
    return any(tag == "V" and tags[i - 1] in _SUBJECT_TAGS for i, tag in enumerate(tags) if i)


def _contains(longer: list[str], shorter: list[str]) -> bool:
    n = len(shorter)
    return any(longer[i:i + n] == shorter for i in range(len(longer) - n + 1))


def _surface(gram: str, texts: list[str], need: int) -> str | None:
    """The most common way ``gram`` is written in ``texts`` (words separated
    by spaces only), or None when fewer than ``need`` texts contain it."""
    syllables = [s for w in gram.split(_SEP) for s in w.split()]
    pattern = re.compile(r"(?<!\w)" + r"\s+".join(re.escape(s) for s in syllables) + r"(?!\w)", re.IGNORECASE)
    forms: Counter[str] = Counter()
    n_texts = 0
    for text in texts:
        hits = [" ".join(m.group(0).split()) for m in pattern.finditer(text)]
        if hits:
            n_texts += 1
            forms.update(hits)
    return forms.most_common(1)[0][0] if n_texts >= need else None
