"""Errors raised by the topic model."""

from __future__ import annotations

from embed.errors import ParatopicError

__all__ = ["IndexMismatchError", "ModelFormatError"]


class IndexMismatchError(ParatopicError):
    """A saved topic model is opened with an index other than the one it was fitted on."""


class ModelFormatError(ParatopicError):
    """A saved topic-model directory is missing, incomplete or corrupted."""
