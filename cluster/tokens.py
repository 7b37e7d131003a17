"""Turning paragraphs into keyword tokens.

Vietnamese text is word-segmented with pyvi (offline): compounds such as
``tên_lửa`` stay one token and are shown with spaces (``tên lửa``). Other
languages get plain word tokens. Tokens are compared in lower case; each is
shown in its most frequent surface form (``Triều Tiên``, ``Hwasong``).
"""

from __future__ import annotations

import logging
import re
from collections import Counter, defaultdict
from collections.abc import Sequence

__all__ = ["detect_language", "Tokenizer"]

logger = logging.getLogger(__name__)

_VI_CHARS = set("ăâđêôơưàảãáạằẳẵắặầẩẫấậèẻẽéẹềểễếệìỉĩíịòỏõóọồổỗốộờởỡớợùủũúụừửữứựỳỷỹýỵ")
_WORD = re.compile(r"[^\W\d_](?:[\w'’-]*\w)?", re.UNICODE)
_HAS_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)
#: From this many texts pyvi segments them in parallel processes (starting them costs ~1 s).
PARALLEL_FROM = 3_000


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
    """

    def __init__(self, language: str, stopwords: frozenset[str] = frozenset(), *, min_chars: int = 2) -> None:
        if language not in ("vi", "en", "other"):
            raise ValueError(f"language must be 'vi', 'en' or 'other', got {language!r}")
        self.language = language
        self.stopwords = stopwords
        self.min_chars = min_chars
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
        import multiprocessing

        from embed.cache import available_cores

        workers = min(available_cores(), 8)
        forkable = "fork" in multiprocessing.get_all_start_methods()
        if self.language != "vi" or len(texts) < PARALLEL_FROM or workers < 2 or not forkable:
            return [self.raw_tokens(t) for t in texts]
        from concurrent.futures import ProcessPoolExecutor

        from pyvi import ViTokenizer

        # fork, not spawn: spawn re-runs the caller's script in each worker
        # (breaking scripts without a __main__ guard); the workers only run pyvi.
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
            segmented = list(pool.map(ViTokenizer.tokenize, texts, chunksize=max(64, len(texts) // (workers * 8))))
        return [self._words(s) for s in segmented]

    def _words(self, segmented: str) -> list[str]:
        """Tokens of pyvi's output (compounds joined by ``_``)."""
        out = []
        for piece in segmented.split():
            if not _HAS_LETTER.search(piece):
                continue
            surface = piece.replace("_", " ").strip(".,;:!?\"'“”‘’()[]{}…")
            if len(surface) < self.min_chars or not _HAS_LETTER.search(surface):
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
