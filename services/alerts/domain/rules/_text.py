"""Small formatting helpers for the sentences rules write."""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum


def day(d: date | datetime) -> str:
    """'12 March 2026'."""
    return f"{d.day} {d:%B %Y}"


def label(value: Enum) -> str:
    """A vocabulary entry as words: 'african_caribbean' -> 'African Caribbean'."""
    words = str(value.value).split("_")
    return " ".join("BME" if w == "bme" else w if w == "and" else w.capitalize() for w in words)


def number(x: float) -> str:
    """A figure without a needless '.0'."""
    return f"{x:g}" if float(x).is_integer() else f"{x:.1f}"


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"
