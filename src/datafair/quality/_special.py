"""The special functions the quality engine needs, vectorised in numpy.

``scipy.special`` costs 0.2 s of import (scipy's array-API layer loads ``numpy.f2py`` and
``numpy.testing``), more than the whole of ``datafair quality infer`` on a small file; these few
functions replace it. Each follows a standard method, cited in its docstring, and
``tests/quality/test_special.py`` holds them to ``scipy.special`` over wide grids (relative
agreement about ``1e-10`` or better).

The log-space prefactors ``x^a e^(-x) / Γ(a + 1)`` and ``x^a (1 - x)^b / B(a, b)`` are taken in
Loader's saddle-point form (Loader 2000, *Fast and accurate computation of binomial
probabilities*; as in R's ``dpois_raw`` and ``dbinom_raw``): ``bd0`` and the Stirling error
``stirlerr`` instead of differences of ``lgamma`` values, which lose ``log10(a)`` digits when
``a`` is large.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]

_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)
_EPS = 1e-16
_TINY = 1e-300
_MAX_ITER = 1_000_000
"""Iterations are run on the unconverged entries only; the bound is a guard, never reached by
finite arguments (series and continued fractions converge in ``O(√a)`` terms)."""

# Stirling's series: lgamma(x) = (x − ½) log x − x + ½ log 2π + Σ B₂ₙ / (2n (2n − 1) x^(2n − 1))
_STIRLING = (
    1.0 / 12.0,
    -1.0 / 360.0,
    1.0 / 1260.0,
    -1.0 / 1680.0,
    1.0 / 1188.0,
    -691.0 / 360360.0,
    1.0 / 156.0,
)
_STIRLING_FROM = 10.0
"""Stirling's series (seven terms) is used from here on: its error is below ``3e-17`` there."""


def _stirling_series(x: FloatArray) -> FloatArray:
    inverse = 1.0 / x
    square = inverse * inverse
    total = np.full_like(x, _STIRLING[-1])
    for coefficient in _STIRLING[-2::-1]:
        total = total * square + coefficient
    result: FloatArray = total * inverse
    return result


_LANCZOS_G = 7.0
_LANCZOS = (
    0.99999999999980993,
    676.5203681218851,
    -1259.1392167224028,
    771.32342877765313,
    -176.61502916214059,
    12.507343278686905,
    -0.13857109526572012,
    9.9843695780195716e-6,
    1.5056327351493116e-7,
)
"""Lanczos' approximation of Γ with ``g = 7`` and nine terms (relative error below 2e-15)."""


SCIPY_GAMMALN_FROM = 1 << 16
"""Arrays of at least this many values take ``scipy.special.gammaln`` (imported then): twice as
fast as the numpy series, which repays the import on large crowds (the community models'
assignment evaluates ``workers × 3 × K²`` values per EM round); a small input never imports
scipy. Which one runs depends only on the array's size, so a fit is reproducible bit for bit."""


def gammaln(x: ArrayLike) -> FloatArray:
    """``log Γ(x)`` for ``x > 0`` (``scipy.special.gammaln`` on that domain).

    Stirling's asymptotic series with seven terms for ``x ≥ 10`` (Abramowitz & Stegun 6.1.40);
    below, Lanczos' approximation (Lanczos 1964; Press et al., *Numerical Recipes* §6.1), at
    ``x + 1`` with ``log Γ(x) = log Γ(x + 1) − log x`` below ½. Absolute error about ``1e-15``.
    From :data:`SCIPY_GAMMALN_FROM` values on, ``scipy.special.gammaln`` itself.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.size >= SCIPY_GAMMALN_FROM:
        from scipy.special import gammaln as scipy_gammaln

        large_input: FloatArray = scipy_gammaln(x)
        return large_input
    value = np.empty_like(x)
    large = x >= _STIRLING_FROM
    xl = x[large]
    with np.errstate(divide="ignore", invalid="ignore"):
        value[large] = (xl - 0.5) * np.log(xl) - xl + _HALF_LOG_2PI + _stirling_series(xl)
        xs = x[~large]
        tiny = xs < 0.5
        z = np.where(tiny, xs + 1.0, xs) - 1.0
        series = np.full_like(z, _LANCZOS[0])
        for i, coefficient in enumerate(_LANCZOS[1:], start=1):
            series += coefficient / (z + i)
        t = z + _LANCZOS_G + 0.5
        small = _HALF_LOG_2PI + (z + 0.5) * np.log(t) - t + np.log(series)
        value[~large] = np.where(tiny, small - np.log(xs), small)
    value[x == np.inf] = np.inf
    return value


def stirlerr(x: FloatArray) -> FloatArray:
    """``log Γ(x) − ((x − ½) log x − x + ½ log 2π)``: the error of Stirling's formula
    (the series itself for ``x ≥ 10``, the difference below, where nothing cancels)."""
    x = np.asarray(x, dtype=np.float64)
    large = x >= _STIRLING_FROM
    safe = np.where(large, x, _STIRLING_FROM)
    series = _stirling_series(safe)
    small = np.where(large, 1.0, x)
    direct = gammaln(small) - ((small - 0.5) * np.log(small) - small + _HALF_LOG_2PI)
    return np.asarray(np.where(large, series, direct), dtype=np.float64)


def bd0(x: FloatArray, mean: FloatArray) -> FloatArray:
    """``x log(x / mean) + mean − x`` without cancellation when ``x ≈ mean`` (Loader 2000):
    the series ``(x − m) v + 2x Σ v^(2j+1) / (2j + 1)``, ``v = (x − m) / (x + m)``, when
    ``|x − m| < 0.1 (x + m)``."""
    x = np.asarray(x, dtype=np.float64)
    mean = np.asarray(mean, dtype=np.float64)
    x, mean = np.broadcast_arrays(x, mean)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        direct = x * np.log(x / mean) + mean - x
        close = np.abs(x - mean) < 0.1 * (x + mean)
        if close.any():
            xc, mc = x[close], mean[close]
            v = (xc - mc) / (xc + mc)
            total = (xc - mc) * v
            term = 2.0 * xc * v
            v2 = v * v
            for j in range(1, 40):  # |v| < 0.1: each term is 100 times smaller
                term = term * v2
                total = total + term / (2 * j + 1)
            direct = direct.copy()
            direct[close] = total
    return np.asarray(direct, dtype=np.float64)


def _log_gamma_density(a: FloatArray, x: FloatArray) -> FloatArray:
    """``log(x^a e^(−x) / Γ(a + 1))`` for ``a > 0``, ``x > 0`` (Loader's ``dpois_raw``)."""
    return -stirlerr(a) - bd0(a, x) - 0.5 * np.log(2.0 * math.pi * a)


def _compact(keep: NDArray[np.bool_], *arrays: NDArray[Any]) -> list[Any]:
    """Each of ``arrays`` restricted to ``keep``: iterations run on the unfinished entries."""
    return [array[keep] for array in arrays]


def _gamma_series(a: FloatArray, x: FloatArray) -> FloatArray:
    """``P(a, x)`` by its series (Numerical Recipes §6.2, ``gser``), for ``x < a + 1``:
    ``P = x^a e^(−x) / Γ(a + 1) · Σₙ xⁿ / ((a + 1) ⋯ (a + n))``."""
    total = np.ones_like(a)
    at, xs, denominator = np.arange(a.shape[0]), x.copy(), a.copy()
    term, running = np.ones_like(a), np.ones_like(a)
    for _ in range(_MAX_ITER):
        if at.shape[0] == 0:
            break
        for _ in range(4):  # convergence is checked every fourth term (terms only shrink)
            denominator += 1.0
            term *= xs / denominator
            running += term
        going = term > _EPS * running
        if not going.all():
            total[at[~going]] = running[~going]
            at, xs, denominator, term, running = _compact(going, at, xs, denominator, term, running)
    result: FloatArray = total * np.exp(_log_gamma_density(a, x))
    return result


def _lentz(
    numerator: FloatArray, denominator: FloatArray | float, d: FloatArray, c: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """One step of the modified Lentz method (NR §5.2) for the partial fraction
    ``numerator / (denominator + ⋯)``: the new ``d`` and ``c`` and the factor ``c · d`` the
    convergent is multiplied by (near-zero ``d`` and ``c`` replaced by a tiny number)."""
    d = denominator + numerator * d
    d = 1.0 / np.where(np.abs(d) < _TINY, _TINY, d)
    c = denominator + numerator / c
    c = np.where(np.abs(c) < _TINY, _TINY, c)
    return d, c, d * c


def _gamma_fraction(a: FloatArray, x: FloatArray) -> FloatArray:
    """``Q(a, x)`` by its continued fraction (Numerical Recipes §6.2, ``gcf``, evaluated by the
    modified Lentz method), for ``x ≥ a + 1``:
    ``Q = e^(−x) x^a / Γ(a) · 1 / (x + 1 − a − 1·(1 − a) / (x + 3 − a − 2·(2 − a) / ⋯))``."""
    h = np.empty_like(a)
    b = x + 1.0 - a
    at, shape, c, d = np.arange(a.shape[0]), a.copy(), np.full_like(a, 1.0 / _TINY), 1.0 / b
    running = d.copy()
    for i in range(1, _MAX_ITER):
        if at.shape[0] == 0:
            break
        b += 2.0
        d, c, delta = _lentz(-i * (i - shape), b, d, c)
        running *= delta
        going = np.abs(delta - 1.0) > _EPS
        if not going.all():
            h[at[~going]] = running[~going]
            at, shape, b, c, d, running = _compact(going, at, shape, b, c, d, running)
    result: FloatArray = h * a * np.exp(_log_gamma_density(a, x))
    return result


def gammainc_pair(a: ArrayLike, x: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Regularised incomplete gamma functions ``(P(a, x), Q(a, x))`` for ``a > 0``, ``x ≥ 0``
    (``scipy.special.gammainc`` and ``gammaincc``). The smaller of the two is computed directly,
    by the series when ``x < a + 1`` and by the continued fraction otherwise (Numerical Recipes
    §6.2), so each keeps its relative accuracy deep in the tail; the other is one minus it."""
    a_arr, x_arr = np.broadcast_arrays(
        np.asarray(a, dtype=np.float64), np.asarray(x, dtype=np.float64)
    )
    shape = a_arr.shape
    a_flat, x_flat = a_arr.ravel().copy(), x_arr.ravel().copy()
    lower = np.zeros_like(a_flat)
    upper = np.ones_like(a_flat)
    bad = ~((a_flat > 0) & (x_flat >= 0))  # nan, a ≤ 0, x < 0
    infinite = (x_flat == np.inf) & ~bad
    lower[infinite], upper[infinite] = 1.0, 0.0
    lower[bad] = upper[bad] = np.nan
    inside = ~bad & (x_flat > 0) & ~infinite
    series = inside & (x_flat < a_flat + 1.0)
    fraction = inside & ~series
    if series.any():
        value = np.minimum(_gamma_series(a_flat[series], x_flat[series]), 1.0)
        lower[series], upper[series] = value, 1.0 - value
    if fraction.any():
        value = np.minimum(_gamma_fraction(a_flat[fraction], x_flat[fraction]), 1.0)
        lower[fraction], upper[fraction] = 1.0 - value, value
    return lower.reshape(shape), upper.reshape(shape)


def pdtr(k: ArrayLike, mean: ArrayLike) -> FloatArray:
    """``P(Poisson(mean) ≤ k) = Q(⌊k⌋ + 1, mean)`` for ``k ≥ 0`` (``scipy.special.pdtr``)."""
    return gammainc_pair(np.floor(np.asarray(k, dtype=np.float64)) + 1.0, mean)[1]


def pdtrc(k: ArrayLike, mean: ArrayLike) -> FloatArray:
    """``P(Poisson(mean) > k) = P(⌊k⌋ + 1, mean)`` for ``k ≥ 0`` (``scipy.special.pdtrc``)."""
    return gammainc_pair(np.floor(np.asarray(k, dtype=np.float64)) + 1.0, mean)[0]


_erfc = np.frompyfunc(math.erfc, 1, 1)


def ndtr(x: ArrayLike) -> FloatArray:
    """Standard normal distribution function ``Φ(x) = erfc(−x / √2) / 2``
    (``scipy.special.ndtr``), from the C library's ``erfc`` (relative accuracy in both tails)."""
    values = np.asarray(x, dtype=np.float64)
    return np.asarray(0.5 * _erfc(-values / math.sqrt(2.0)), dtype=np.float64).reshape(values.shape)


def _log_beta_density(a: FloatArray, b: FloatArray, x: FloatArray, y: FloatArray) -> FloatArray:
    """``log(x^a y^b / B(a, b))`` with ``y = 1 − x``, in Loader's form (``dbinom_raw``):
    ``−bd0(a, n x) − bd0(b, n y) + ½ log(a b / (2π n)) − stirlerr(a) − stirlerr(b) +
    stirlerr(n)`` with ``n = a + b``."""
    n = a + b
    return (
        -bd0(a, n * x)
        - bd0(b, n * y)
        + 0.5 * np.log(a * b / (2.0 * math.pi * n))
        - stirlerr(a)
        - stirlerr(b)
        + stirlerr(n)
    )


def _beta_fraction(a: FloatArray, b: FloatArray, x: FloatArray) -> FloatArray:
    """The continued fraction of ``I_x(a, b)`` (Numerical Recipes §6.4, ``betacf``, modified
    Lentz): ``I_x(a, b) = x^a (1 − x)^b / (a B(a, b)) · 1 / (1 + d₁ / (1 + d₂ / ⋯))``, rapidly
    convergent for ``x < (a + 1) / (a + b + 2)``."""
    h = np.empty_like(a)
    d = 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / np.where(np.abs(d) < _TINY, _TINY, d)
    at, aa, bb, xx = np.arange(a.shape[0]), a.copy(), b.copy(), x.copy()
    c, running = np.ones_like(a), d.copy()
    for m in range(1, _MAX_ITER):
        if at.shape[0] == 0:
            break
        m2 = 2.0 * m
        step = m * (bb - m) * xx / ((aa - 1.0 + m2) * (aa + m2))
        d, c, delta = _lentz(step, 1.0, d, c)
        running *= delta
        step = -(aa + m) * (aa + bb + m) * xx / ((aa + m2) * (aa + 1.0 + m2))
        d, c, delta = _lentz(step, 1.0, d, c)
        running *= delta
        going = np.abs(delta - 1.0) > _EPS
        if not going.all():
            h[at[~going]] = running[~going]
            at, aa, bb, xx, c, d, running = _compact(going, at, aa, bb, xx, c, d, running)
    return h


def _betainc_flat(
    a: FloatArray, b: FloatArray, x: FloatArray, y: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """``(I_x(a, b), 1 − I_x(a, b))`` for flat arrays with ``0 < x < 1``, ``y = 1 − x``: the
    fraction for ``I_x(a, b)`` below ``(a + 1) / (a + b + 2)``, for ``I_y(b, a)`` above (NR
    §6.4, ``betai``), the other one minus it."""
    direct = x < (a + 1.0) / (a + b + 2.0)
    lower = np.empty_like(a)
    upper = np.empty_like(a)
    if direct.any():
        value = _beta_side(a[direct], b[direct], x[direct], y[direct])
        lower[direct], upper[direct] = value, 1.0 - value
    flip = ~direct
    if flip.any():
        value = _beta_side(b[flip], a[flip], y[flip], x[flip])
        lower[flip], upper[flip] = 1.0 - value, value
    return lower, upper


def _beta_side(a: FloatArray, b: FloatArray, x: FloatArray, y: FloatArray) -> FloatArray:
    """``I_x(a, b)`` by :func:`_beta_fraction` with Loader's prefactor, at most 1 (``y = 1 − x``;
    accurate where ``x < (a + 1) / (a + b + 2)``)."""
    value = np.exp(_log_beta_density(a, b, x, y)) * _beta_fraction(a, b, x) / a
    return np.minimum(value, 1.0)


def _beta_arguments(
    a: ArrayLike, b: ArrayLike, p: ArrayLike
) -> tuple[tuple[int, ...], FloatArray, FloatArray, FloatArray, FloatArray, NDArray[np.bool_]]:
    """Broadcast shape, flat copies of ``a, b, p``, the result (0 at ``p = 0``, 1 at ``p = 1``,
    nan outside the domain ``a, b > 0``, ``0 ≤ p ≤ 1``) and where ``0 < p < 1`` is left to do."""
    arrays = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in (a, b, p)))
    a_flat, b_flat, p_flat = (v.ravel().copy() for v in arrays)
    result = np.full(a_flat.shape, np.nan)
    valid = (a_flat > 0) & (b_flat > 0) & (p_flat >= 0) & (p_flat <= 1)
    result[valid & (p_flat == 0)] = 0.0
    result[valid & (p_flat == 1)] = 1.0
    inside = valid & (p_flat > 0) & (p_flat < 1)
    return arrays[0].shape, a_flat, b_flat, p_flat, result, inside


def betainc(a: ArrayLike, b: ArrayLike, x: ArrayLike) -> FloatArray:
    """Regularised incomplete beta function ``I_x(a, b)`` for ``a, b > 0``, ``0 ≤ x ≤ 1``
    (``scipy.special.betainc``; Numerical Recipes §6.4 with Loader's prefactor)."""
    shape, a_flat, b_flat, x_flat, result, inside = _beta_arguments(a, b, x)
    if inside.any():
        xi = x_flat[inside]
        result[inside] = _betainc_flat(a_flat[inside], b_flat[inside], xi, 1.0 - xi)[0]
    return result.reshape(shape)


def _betaincinv_lower(a: FloatArray, b: FloatArray, q: FloatArray, qc: FloatArray) -> FloatArray:
    """``x`` with ``I_x(a, b) = q`` (``qc = 1 − q``, both in (0, 1)) when it is at most ½ (flat
    arrays). Each step compares the smaller of ``q`` and ``qc`` with the matching side of
    :func:`_betainc_flat`, so neither is ever formed as one minus the other.

    Newton's method on ``log I_x(a, b) = log q`` (or ``log(1 − I_x) = log(1 − q)``, whichever
    side is smaller) in ``t = log x``: both are nearly linear in ``t`` deep in their tails
    (near 0, ``I_x ≈ x^a / (a B)``), so roots down to the smallest doubles are reached in a few
    steps. The iterate stays inside a bracket ``[t_low, log ½]`` that every evaluation narrows;
    a step leaving the bracket bisects it."""
    log_beta = gammaln(a) + gammaln(b) - gammaln(a + b)
    log_x = np.empty_like(a)
    # first guess (NR §6.4, invbetai): a normal approximation when a, b ≥ 1, else the
    # power-law behaviour of either end, I_x ≈ x^a / (a B) and 1 − (1 − x)^b / (b B)
    big = (a >= 1.0) & (b >= 1.0)
    if big.any():
        ab, bb, qb = a[big], b[big], q[big]
        t = np.sqrt(-2.0 * np.log(np.minimum(qb, qc[big])))
        z = (2.30753 + t * 0.27061) / (1.0 + t * (0.99229 + t * 0.04481)) - t
        z = np.where(qb < 0.5, -z, z)
        al = (z * z - 3.0) / 6.0
        h = 2.0 / (1.0 / (2.0 * ab - 1.0) + 1.0 / (2.0 * bb - 1.0))
        w = z * np.sqrt(al + h) / h - (1.0 / (2.0 * bb - 1.0) - 1.0 / (2.0 * ab - 1.0)) * (
            al + 5.0 / 6.0 - 2.0 / (3.0 * h)
        )
        log_x[big] = np.log(ab) - np.logaddexp(np.log(ab), np.log(bb) + 2.0 * w)
    small = ~big
    if small.any():
        asm, bsm, qs, lb = a[small], b[small], q[small], log_beta[small]
        log_qc = np.log(qc[small])
        n = asm + bsm
        log_t = asm * np.log(asm / n) - np.log(asm)
        log_u = bsm * np.log(bsm / n) - np.log(bsm)
        head = np.log(qs) < log_t - np.logaddexp(log_t, log_u)
        with np.errstate(divide="ignore", invalid="ignore"):
            tail = np.log(-np.expm1((log_qc + np.log(bsm) + lb) / bsm))
        log_x[small] = np.where(head, (np.log(qs) + np.log(asm) + lb) / asm, tail)
    high = np.full_like(a, math.log(0.5))
    low = np.full_like(a, -np.inf)
    log_x = np.minimum(np.nan_to_num(log_x, nan=math.log(0.25), neginf=-700.0), high)
    active = np.arange(a.shape[0])
    for _ in range(400):
        if active.shape[0] == 0:
            break
        aa_, bb_, qa, ta = a[active], b[active], q[active], log_x[active]
        xa = np.exp(ta)
        ya = -np.expm1(ta)
        value, complement = _betainc_flat(aa_, bb_, xa, ya)
        # the log of the smaller side against its target: nearly linear in t in either tail
        use_low = qa <= qc[active]
        side = np.where(use_low, value, complement)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            gap = np.log(side) - np.log(np.where(use_low, qa, qc[active]))
            error = np.where(use_low, gap, -gap)  # increasing in t
            below = error < 0
            lo = np.where(below, np.maximum(low[active], ta), low[active])
            hi = np.where(below, high[active], np.minimum(high[active], ta))
            low[active], high[active] = lo, hi
            # dI/dt = x · density = x^a (1 − x)^(b−1) / B(a, b)
            slope = np.exp(aa_ * ta + (bb_ - 1.0) * np.log1p(-xa) - log_beta[active])
            step = -error * side / slope
        proposed = ta + step
        converged = (np.abs(step) <= 1e-15) | (error == 0)
        bad = ~np.isfinite(proposed) | (proposed <= lo) | (proposed >= hi)
        # outside the bracket: its midpoint (ten e-folds down while it is open below)
        fallback = np.where(np.isfinite(lo), 0.5 * (lo + hi), np.minimum(ta, hi) - 10.0)
        log_x[active] = np.where(converged, ta, np.where(bad, fallback, proposed))
        done = converged | (hi - lo <= 1e-15)
        active = active[~done]
    return np.exp(log_x)


def betaincinv(a: ArrayLike, b: ArrayLike, q: ArrayLike) -> FloatArray:
    """``x`` with ``I_x(a, b) = q`` for ``a, b > 0``, ``0 ≤ q ≤ 1`` (``scipy.special
    .betaincinv``): Numerical Recipes' first guess (§6.4, ``invbetai``), then Newton's method on
    ``log x`` kept inside a bracket that every evaluation narrows (a step leaving it is
    replaced by a bisection), run to full precision. When ``q > I_½(a, b)`` the root is above ½
    and the mirror problem ``I_(1−x)(b, a) = 1 − q`` is solved instead, so that the smaller of
    ``x`` and ``1 − x`` keeps its relative accuracy."""
    shape, a_flat, b_flat, q_flat, result, inside = _beta_arguments(a, b, q)
    half = np.full(a_flat.shape, 0.5)
    at_half = np.full(a_flat.shape, np.nan)
    if inside.any():
        at_half[inside] = _betainc_flat(a_flat[inside], b_flat[inside], half[inside], half[inside])[
            0
        ]
    lower = inside & (q_flat <= at_half)
    upper = inside & ~lower
    if lower.any():
        ql = q_flat[lower]
        result[lower] = _betaincinv_lower(a_flat[lower], b_flat[lower], ql, 1.0 - ql)
    if upper.any():
        qu = q_flat[upper]
        mirrored = _betaincinv_lower(b_flat[upper], a_flat[upper], 1.0 - qu, qu)
        result[upper] = 1.0 - mirrored
    return result.reshape(shape)
