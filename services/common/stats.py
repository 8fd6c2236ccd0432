"""Statistics both the alert rules and the reports use: one formula, one place."""

from __future__ import annotations

import math


def wilson_bounds(successes: int, trials: int, z: float) -> tuple[float, float]:
    """The Wilson score interval's lower and upper bounds for ``successes / trials`` (no
    continuity correction): Wilson (1927); Newcombe (1998), "Two-sided confidence intervals for
    the single proportion", method 3; as Fingertips computes it (PHEindicatormethods R/Wilson.R):
    ``(2x + z^2 -/+ z * sqrt(z^2 + 4x(1 - x/n))) / (2(n + z^2))``. Exactly 0 and 1 at the ends
    (the formula reaches them only up to rounding), never outside 0..1."""
    if trials <= 0:
        raise ValueError(f"trials must be positive, got {trials}")
    if not 0 <= successes <= trials:
        raise ValueError(f"successes must be between 0 and trials ({trials}), got {successes}")
    if z <= 0:
        raise ValueError(f"z must be positive, got {z}")
    x, n = float(successes), float(trials)
    spread = z * math.sqrt(z * z + 4.0 * x * (1.0 - x / n))
    scale = 2.0 * (n + z * z)
    lower = 0.0 if successes == 0 else (2.0 * x + z * z - spread) / scale
    upper = 1.0 if successes == trials else (2.0 * x + z * z + spread) / scale
    return max(0.0, lower), min(1.0, upper)
