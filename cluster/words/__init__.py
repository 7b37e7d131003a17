"""Words of topics: tokens (pyvi segmentation, cached), stopwords, the shipped reference vocabulary, keywords
(class-based TF-IDF, one implementation in ctfidf, with MMR) and phrase labels.

Public names are imported on first use (PEP 562), so importing the package costs nothing until one is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from embed.lazy import lazy_exports

_LAZY = {
    "Tokenizer": "cluster.words.tokens",
    "detect_language": "cluster.words.tokens",
    "stopwords_for": "cluster.words.stopwords",
    "reference_for": "cluster.words.reference",
    "ReferenceVocab": "cluster.words.reference",
    "KeywordModel": "cluster.words.keywords",
    "class_tfidf": "cluster.words.ctfidf",
    "ClassTfidf": "cluster.words.ctfidf",
    "describe_topics": "cluster.words.labels",
    "phrase_labels": "cluster.words.labels",
}

if TYPE_CHECKING:
    from cluster.words.ctfidf import ClassTfidf, class_tfidf
    from cluster.words.keywords import KeywordModel
    from cluster.words.labels import describe_topics, phrase_labels
    from cluster.words.reference import ReferenceVocab, reference_for
    from cluster.words.stopwords import stopwords_for
    from cluster.words.tokens import Tokenizer, detect_language

__getattr__, __dir__ = lazy_exports("cluster.words", _LAZY, globals())

__all__ = ["Tokenizer", "detect_language", "stopwords_for", "reference_for", "ReferenceVocab", "KeywordModel", "class_tfidf", "ClassTfidf",
           "describe_topics", "phrase_labels"]
