"""Errors raised by the topic and story models.

:class:`NotFittedError` is scikit-learn's ``NotFittedError`` too, so it is made on first use (PEP 562): importing
scikit-learn costs about a second, which the commands that only read saved files (``info``, ``search``) should not
pay.
"""

from __future__ import annotations

from typing import Any

from embed.errors import ParatopicError

__all__ = ["IndexMismatchError", "ModelFormatError", "NotFittedError", "check_fitted"]  # noqa: F822 (made on first use)


class IndexMismatchError(ParatopicError):
    """A saved topic model is opened with an index other than the one it was fitted on."""


class ModelFormatError(ParatopicError):
    """A saved topic-model directory is missing, incomplete or corrupted."""


def _not_fitted_error() -> type[Exception]:
    from sklearn.exceptions import NotFittedError as SklearnNotFitted

    class NotFittedError(ParatopicError, SklearnNotFitted, RuntimeError):
        """A model is used before ``fit``: scikit-learn's ``NotFittedError`` (so ``sklearn.utils.validation``
        and ``except NotFittedError`` from either package catch it), and a RuntimeError as before."""

    NotFittedError.__module__ = __name__
    return NotFittedError


def __getattr__(name: str) -> Any:
    if name == "NotFittedError":
        if name not in globals():
            globals()[name] = _not_fitted_error()
        return globals()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def check_fitted(model: Any, attribute: str = "labels_") -> None:
    """Raise :class:`NotFittedError` naming the model's class unless it has ``attribute`` (set by ``fit``)."""
    if not hasattr(model, attribute):
        name = type(model).__name__
        raise __getattr__("NotFittedError")(f"this {name} is not fitted yet; call fit(index) first")
