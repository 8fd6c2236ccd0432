"""Reading the Prometheus text format in tests."""

from __future__ import annotations


def series(text: str) -> dict[str, float]:
    """An exposition as {series as written (name and labels): value}; comments left out."""
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            out[name] = float(value)
    return out
