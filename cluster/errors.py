"""Errors raised by the topic and story models."""

from __future__ import annotations

from typing import Any

from sklearn.exceptions import NotFittedError as _SklearnNotFitted

from embed.errors import ParatopicError

__all__ = ["IndexMismatchError", "ModelFormatError", "NotFittedError", "check_fitted"]


class IndexMismatchError(ParatopicError):
    """A saved topic model is opened with an index other than the one it was fitted on."""


class ModelFormatError(ParatopicError):
    """A saved topic-model directory is missing, incomplete or corrupted."""


class NotFittedError(ParatopicError, _SklearnNotFitted, RuntimeError):
    """A model is used before ``fit``: scikit-learn's ``NotFittedError`` (so ``sklearn.utils.validation``
    and ``except NotFittedError`` from either package catch it), and a RuntimeError as before."""


def check_fitted(model: Any, attribute: str = "labels_") -> None:
    """Raise :class:`NotFittedError` naming the model's class unless it has ``attribute`` (set by ``fit``)."""
    if not hasattr(model, attribute):
        name = type(model).__name__
        raise NotFittedError(f"this {name} is not fitted yet; call fit(index) first")
