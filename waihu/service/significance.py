"""Significance tests of conversion rates: the two-proportion z-test and Pearson's chi-squared test.

Pure functions on counts (no SciPy: the service must not pull in a numerical stack for one p-value).
The chi-squared p-value is the regularised upper incomplete gamma function Q(df/2, x/2), computed by its
series or its continued fraction (Numerical Recipes, 6.2) to about 1e-12.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

_EPS = 1e-14
_MAX_ITER = 500


def _gamma_q_series(a: float, x: float) -> float:
    """Q(a, x) as 1 - P(a, x), P by its series (good for x < a + 1)."""
    term = total = 1.0 / a
    denominator = a
    for _ in range(_MAX_ITER):
        denominator += 1.0
        term *= x / denominator
        total += term
        if abs(term) < abs(total) * _EPS:
            break
    return 1.0 - total * math.exp(-x + a * math.log(x) - math.lgamma(a))


def _gamma_q_fraction(a: float, x: float) -> float:
    """Q(a, x) by Lentz's continued fraction (good for x >= a + 1)."""
    tiny = 1e-300
    b = x + 1.0 - a
    c = 1.0 / tiny
    d = 1.0 / b
    h = d
    for i in range(1, _MAX_ITER):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1.0 / d
        step = d * c
        h *= step
        if abs(step - 1.0) < _EPS:
            break
    return math.exp(-x + a * math.log(x) - math.lgamma(a)) * h


def chi2_sf(statistic: float, df: int) -> float:
    """P(X >= ``statistic``) for X chi-squared with ``df`` degrees of freedom."""
    if df < 1:
        raise ValueError("df must be at least 1")
    if statistic <= 0:
        return 1.0
    a, x = df / 2.0, statistic / 2.0
    q = _gamma_q_series(a, x) if x < a + 1.0 else _gamma_q_fraction(a, x)
    return min(1.0, max(0.0, q))


@dataclass(frozen=True)
class Significance:
    """A test's statistic, p-value and whether every expected cell count is at least 5."""

    name: str
    statistic: float
    p_value: float
    df: int
    reliable: bool


def two_proportion_z(successes_a: int, total_a: int, successes_b: int, total_b: int) -> Significance:
    """Two-sided two-proportion z-test with the pooled proportion (z² equals the 2×2 chi-squared)."""
    if total_a <= 0 or total_b <= 0:
        return Significance("two-proportion z", 0.0, 1.0, 1, False)
    pooled = (successes_a + successes_b) / (total_a + total_b)
    spread = math.sqrt(pooled * (1 - pooled) * (1 / total_a + 1 / total_b))
    z = 0.0 if spread == 0 else (successes_a / total_a - successes_b / total_b) / spread
    p_value = math.erfc(abs(z) / math.sqrt(2))
    expected = [pooled * total_a, (1 - pooled) * total_a, pooled * total_b, (1 - pooled) * total_b]
    return Significance("two-proportion z", z, p_value, 1, min(expected) >= 5)


def chi_squared(groups: list[tuple[int, int]]) -> Significance:
    """Pearson's chi-squared test of homogeneity for ``(successes, total)`` per group (k×2 table)."""
    groups = [(s, n) for s, n in groups if n > 0]
    if len(groups) < 2:
        return Significance("chi-squared", 0.0, 1.0, max(1, len(groups) - 1), False)
    successes = sum(s for s, _ in groups)
    total = sum(n for _, n in groups)
    rate = successes / total
    statistic = 0.0
    smallest = math.inf
    for s, n in groups:
        for observed, expected in ((s, n * rate), (n - s, n * (1 - rate))):
            smallest = min(smallest, expected)
            if expected > 0:
                statistic += (observed - expected) ** 2 / expected
    df = len(groups) - 1
    return Significance("chi-squared", statistic, chi2_sf(statistic, df), df, smallest >= 5)
