"""Exceptions shared by the models and the training command (a low module: imports nothing)."""

from __future__ import annotations


class TrainingDivergedError(RuntimeError):
    """The loss became NaN or inf during ``fit``; training stopped at that batch."""
