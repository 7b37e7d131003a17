"""Turning paragraphs into keyword tokens.

Vietnamese text is word-segmented with pyvi (offline): compounds such as
``tên_lửa`` stay one token and are shown with spaces (``tên lửa``). Where pyvi
splits a compound it does not know (``xảy`` ``ra``, ``bé`` ``gái``), adjacent
pairs learned from a reference corpus (:mod:`cluster.words.reference`) are joined
back into one token (``xảy ra``). Other languages get plain word tokens.
Tokens are compared in lower case; each is shown in its most frequent surface
form (``Triều Tiên``, ``Hwasong``).
"""

from __future__ import annotations

import logging
import re
from collections import Counter, defaultdict
from collections.abc import Sequence

__all__ = ["detect_language", "Tokenizer", "join_compounds"]

logger = logging.getLogger(__name__)

_VI_CHARS = set("ăâđêôơưàảãáạằẳẵắặầẩẫấậèẻẽéẹềểễếệìỉĩíịòỏõóọồổỗốộờởỡớợùủũúụừửữứựỳỷỹýỵ")
_WORD = re.compile(r"[^\W\d_](?:[\w'’-]*\w)?", re.UNICODE)
_HAS_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)
#: From this many texts pyvi segments them in parallel processes (starting them costs ~1 s).
PARALLEL_FROM = 3_000
_PUNCT = ".,;:!?\"'“”‘’()[]{}…"


def detect_language(texts: Sequence[str], *, sample: int = 500) -> str:
    """``"vi"`` when Vietnamese letters are common, ``"en"`` for mostly ASCII
    letters, ``"other"`` otherwise. Looks at up to ``sample`` texts."""
    letters = vi = ascii_ = 0
    for text in texts[:sample]:
        for ch in text.lower():
            if ch.isalpha():
                letters += 1
                if ch in _VI_CHARS:
                    vi += 1
                elif ch.isascii():
                    ascii_ += 1
    if not letters:
        return "other"
    if vi / letters > 0.03:
        return "vi"
    if ascii_ / letters > 0.95:
        return "en"
    return "other"


class Tokenizer:
    """Splits texts into keyword tokens and remembers how to display them.

    Args:
        language: ``"vi"`` (pyvi word segmentation), ``"en"`` or ``"other"``
            (plain word tokens).
        stopwords: lower-case words (with spaces) never used as keywords.
        min_chars: shortest token kept (in characters).
        compounds: lower-case token pairs joined into one token when adjacent
            in a sentence; ``None`` = the pairs learned from the reference
            corpus for ``language`` (Vietnamese only), empty = none.
    """

    def __init__(
        self, language: str, stopwords: frozenset[str] = frozenset(), *, min_chars: int = 2,
        compounds: frozenset[tuple[str, str]] | None = None,
    ) -> None:
        if language not in ("vi", "en", "other"):
            raise ValueError(f"language must be 'vi', 'en' or 'other', got {language!r}")
        self.language = language
        self.stopwords = stopwords
        self.min_chars = min_chars
        if compounds is None:
            from cluster.words.reference import reference_for

            reference = reference_for(language)
            compounds = reference.compounds if reference is not None else frozenset()
        self.compounds = compounds
        self._surface: defaultdict[str, Counter[str]] = defaultdict(Counter)

    def raw_tokens(self, text: str) -> list[str]:
        """Lower-case tokens of ``text`` before stopword removal (compounds with spaces)."""
        if self.language == "vi":
            from pyvi import ViTokenizer

            return self._words(ViTokenizer.tokenize(text))
        return self._plain(text)

    def raw_tokens_many(self, texts: Sequence[str]) -> list[list[str]]:
        """:meth:`raw_tokens` of each text; Vietnamese word segmentation (pyvi,
        ~800 news paragraphs/s per core) runs on every core from
        :data:`PARALLEL_FROM` texts."""
        if self.language != "vi":
            return [self.raw_tokens(t) for t in texts]
        return [self._words(s) for s in segment_many(texts)]

    def _words(self, segmented: str) -> list[str]:
        """Tokens of pyvi's output (compounds joined by ``_``), learned
        compounds joined (with a space)."""
        out = []
        for run in runs(segmented):
            for surface in join_compounds(run, self.compounds):
                if len(surface) < self.min_chars:
                    continue
                key = surface.lower()
                self._surface[key][surface] += 1
                out.append(key)
        return out

    def _plain(self, text: str) -> list[str]:
        out = []
        for match in _WORD.finditer(text):
            surface = match.group(0)
            if len(surface) < self.min_chars:
                continue
            key = surface.lower()
            if self.language == "en":
                self._surface[key][key] += 1  # English keywords read best in lower case
            else:
                self._surface[key][surface] += 1
            out.append(key)
        return out

    def tokenize(self, texts: Sequence[str]) -> list[list[str]]:
        """Tokens of each text, stopwords removed."""
        stop = self.stopwords
        return [[t for t in self.raw_tokens(text) if t not in stop] for text in texts]

    def display(self, token: str) -> str:
        """The most frequent surface form of ``token``."""
        forms = self._surface.get(token)
        return forms.most_common(1)[0][0] if forms else token


def segment_many(texts: Sequence[str]) -> list[str]:
    """pyvi's word segmentation of each text (compounds joined by ``_``), on
    every core from :data:`PARALLEL_FROM` texts; texts seen before on this
    machine come from :mod:`cluster.words.segments`."""
    from cluster.words.segments import cached_segments

    return cached_segments(list(texts), _segment_many)


def _segment_many(texts: Sequence[str]) -> list[str]:
    import multiprocessing

    from pyvi import ViTokenizer

    from embed.store.cache import available_cores

    workers = min(available_cores(), 8)
    forkable = "fork" in multiprocessing.get_all_start_methods()
    if len(texts) < PARALLEL_FROM or workers < 2 or not forkable:
        return [ViTokenizer.tokenize(t) for t in texts]
    from concurrent.futures import ProcessPoolExecutor

    # fork, not spawn: spawn re-runs the caller's script in each worker
    # (breaking scripts without a __main__ guard); the workers only run pyvi.
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
        return list(pool.map(ViTokenizer.tokenize, texts, chunksize=max(64, len(texts) // (workers * 8))))


def runs(segmented: str) -> list[list[str]]:
    """The words of pyvi's output (surface forms, compounds with spaces) in
    runs that punctuation, numbers and symbols break: words of one run were
    adjacent in the text."""
    out: list[list[str]] = []
    run: list[str] = []
    for piece in segmented.split():
        surface = piece.replace("_", " ").strip(_PUNCT)
        if not _HAS_LETTER.search(surface):
            if run:
                out.append(run)
            run = []
            continue
        if surface[:1] != piece[:1] and run:  # opening punctuation: a new run
            out.append(run)
            run = []
        run.append(surface)
        if surface[-1:] != piece.replace("_", " ")[-1:]:  # closing punctuation ends the run
            out.append(run)
            run = []
    if run:
        out.append(run)
    return out


def join_compounds(words: Sequence[str], compounds: frozenset[tuple[str, str]]) -> list[str]:
    """``words`` (one run, surface forms) with each adjacent pair whose lower
    case is in ``compounds`` joined by a space, left to right."""
    if not compounds:
        return list(words)
    out = []
    i = 0
    while i < len(words):
        if i + 1 < len(words) and (words[i].lower(), words[i + 1].lower()) in compounds:
            out.append(f"{words[i]} {words[i + 1]}")
            i += 2
        else:
            out.append(words[i])
            i += 1
    return out
