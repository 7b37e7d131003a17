"""Keywords and phrase labels of a model's topics, from the fitted paragraphs' tokens.

The tokens are computed once per model (:func:`ensure_tokens`, kept in
``tokens_`` / ``raw_tokens_`` / ``tokenizer_``; set ``tokens_`` to None when
the fitted rows change) and :func:`compute_keywords` fills ``keywords_`` and
``phrase_labels_`` (:func:`cluster.words.labels.describe_topics`).
"""

from __future__ import annotations

from typing import Any

from cluster.topics.state import FittedTopics
from cluster.words.stopwords import corpus_stopwords, stopwords_for
from cluster.words.tokens import Tokenizer, detect_language

__all__ = ["ensure_tokens", "compute_keywords", "fitted_texts"]

_BUILTIN = {"vi": "cluster/words/data/vietnamese_stopwords.txt (curated, paratopic)", "en": "sklearn ENGLISH_STOP_WORDS"}


def fitted_texts(model: FittedTopics) -> Any:
    """The texts of the fitted rows (a numpy array of str)."""
    return model.index.paragraphs["text"].astype(str).to_numpy()[model.fitted_mask_]


def ensure_tokens(model: Any) -> list[list[str]]:
    """The fitted paragraphs' keyword tokens (stopwords removed), computed on first use.

    Also sets ``raw_tokens_``, ``tokenizer_``, ``stopwords_info_`` and ``params_["language"]``."""
    if getattr(model, "tokens_", None) is None:
        texts = fitted_texts(model).tolist()
        language = detect_language(texts) if model.language == "auto" else model.language
        tokenizer = Tokenizer(language)
        raw = tokenizer.raw_tokens_many(texts)
        builtin = stopwords_for(language)
        extra = frozenset(w.lower().replace("_", " ") for w in (model.stopwords or ()))
        from_corpus = corpus_stopwords(raw) - extra
        stop = builtin | extra | from_corpus
        tokenizer.stopwords = stop
        model.tokens_, model.raw_tokens_ = [[w for w in doc if w not in stop] for doc in raw], raw
        model.tokenizer_ = tokenizer
        model.stopwords_info_ = {
            "language": language, "builtin": _BUILTIN.get(language, "none"), "n_builtin": len(builtin),
            "n_extra": len(extra), "corpus": sorted(from_corpus),
        }
        model.params_["language"] = language
    return model.tokens_


def compute_keywords(model: Any, fixed_labels: dict[int, str] | None = None) -> None:
    """Fill ``keywords_`` and ``phrase_labels_`` (c-TF-IDF x reference IDF, and phrase labels; topics in
    ``fixed_labels`` keep those labels)."""
    from cluster.words.labels import describe_topics

    if not model.n_topics_:
        model.keywords_, model.phrase_labels_ = {}, {}
        return
    tokens = ensure_tokens(model)
    model.keywords_, model.phrase_labels_ = describe_topics(
        tokens, model.raw_tokens_, fitted_texts(model), model.fit_labels_, model.n_topics_, model.tokenizer_,
        n_keywords=int(model.n_keywords), diversity=float(model.diversity), fixed_labels=fixed_labels,
    )
