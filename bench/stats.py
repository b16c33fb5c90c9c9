"""Small statistics helpers shared by every figure (pure)."""

from __future__ import annotations

import math
from collections.abc import Iterable


def percentile(values: Iterable[float], q: float) -> float | None:
    """Linear-interpolated percentile `q` in [0, 100] of `values`; None if empty."""
    xs = sorted(float(v) for v in values)
    if not xs:
        return None
    if len(xs) == 1:
        return xs[0]
    pos = (len(xs) - 1) * min(100.0, max(0.0, q)) / 100.0
    lo = math.floor(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def summarize(values: Iterable[float], digits: int = 2) -> dict[str, float | int | None]:
    """{n, median, p95, min, max} of `values`, rounded to `digits`."""
    xs = [float(v) for v in values]

    def r(v: float | None) -> float | None:
        return None if v is None else round(v, digits)

    return {
        "n": len(xs),
        "median": r(percentile(xs, 50)),
        "p95": r(percentile(xs, 95)),
        "min": r(min(xs) if xs else None),
        "max": r(max(xs) if xs else None),
    }


def p50_p99(values: Iterable[float], digits: int = 2) -> dict[str, float | int | None]:
    xs = [float(v) for v in values]
    return {
        "n": len(xs),
        "p50": None if not xs else round(percentile(xs, 50), digits),  # type: ignore[arg-type]
        "p99": None if not xs else round(percentile(xs, 99), digits),  # type: ignore[arg-type]
        "max": None if not xs else round(max(xs), digits),
    }


def ratio(a: float | None, b: float | None, digits: int = 2) -> float | None:
    """a / b rounded, or None when either is missing or b is 0."""
    if a is None or b is None or b == 0:
        return None
    return round(a / b, digits)
