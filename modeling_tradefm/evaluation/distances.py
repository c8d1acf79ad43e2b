# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""Two-sample distances (Kolmogorov–Smirnov, normalised Wasserstein-1) with seeded bootstrap intervals.

On 1-D float arrays; no dependency on events, the simulator or the model. Every function drops
NaN/inf first (a missing mid or a one-sided book leaves NaNs in the samples) and answers NaN for an
empty sample, where scipy would raise.

* ``ks_statistic(a, b)`` is ``scipy.stats.ks_2samp(a, b).statistic``: ``sup_x |F_a(x) − F_b(x)|``
  with both empirical CDFs evaluated at every pooled point.
* ``wasserstein1(a, b)`` is ``∫ |F_a − F_b| dx``, ``scipy.stats.wasserstein_distance(a, b)``.
* Both are computed here in scipy's own way rather than called (the reasons are in
  :func:`ks_statistic` and :func:`_w1`); the tests pin them to scipy's.
* ``normalised_w1(real, gen)`` follows TradeFM §9.2 (as read by the LinearBasis replication): BOTH
  samples are standardised by the **real** sample's mean and standard deviation before W1, so
  distances in bps, shares and seconds are comparable. That equals ``W1(real, gen) / std(real)`` and is
  invariant to a common affine rescaling ``x → a·x + b`` (a ≠ 0). When the real sample is constant
  (std 0, e.g. a spread that never leaves one tick) the scale falls back to 1 (raw units) — the
  result dict then says ``"w1_scale": "raw"``.
* ``bootstrap_ci`` is ``scipy.stats.bootstrap(method="percentile")``: both samples resampled
  independently with replacement (``n_boot`` times, a ``numpy.random.default_rng(seed)`` stream, so
  the interval is reproducible), the percentile interval of the statistic. Note that K-S and W1 are
  non-negative and biased upward in small samples, so for two samples of the same law the interval
  sits above 0 and shows the size of the sampling noise; compare a distance with the real-vs-real
  **noise floor** (``compare`` on two disjoint real windows), which has the same bias.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import stats

DEFAULT_N_BOOT = 200
DEFAULT_ALPHA = 0.05


def _clean(x) -> np.ndarray:
    """1-D float64 with NaN/inf removed."""
    x = np.asarray(x, dtype=np.float64).ravel()
    return x[np.isfinite(x)]


def _w1(a: np.ndarray, b: np.ndarray) -> float:
    """``∫ |F_a − F_b| dx`` of two non-empty samples, summed over the gaps of the pooled sorted values.

    ``scipy.stats.wasserstein_distance(a, b)`` evaluates the same CDF steps and gaps but adds the
    products with ``np.vecdot`` (numpy ≥ 2) where this uses ``np.sum``: the two differ in the last bit
    (relative ~1e-16). Kept so that every W1 of an earlier ``metrics.json`` reproduces bit for bit;
    ``tests/test_evaluation_statistics.py`` pins it to scipy's.
    """
    a, b = np.sort(a), np.sort(b)
    pooled = np.sort(np.concatenate([a, b]))
    fa = np.searchsorted(a, pooled[:-1], side="right") / len(a)
    fb = np.searchsorted(b, pooled[:-1], side="right") / len(b)
    return float(np.sum(np.abs(fa - fb) * np.diff(pooled)))


def ks_statistic(a, b) -> float:
    """Two-sample Kolmogorov–Smirnov statistic, ``scipy.stats.ks_2samp(a, b).statistic``.

    Args:
        a: [n] sample (NaN/inf dropped).
        b: [m] sample.

    Returns:
        ``max |F_a − F_b|`` in [0, 1]; NaN if either sample is empty.
    """
    a, b = np.sort(_clean(a)), np.sort(_clean(b))
    if len(a) == 0 or len(b) == 0:
        return float("nan")
    # ks_2samp's own computation (bit-identical, pinned by the tests) without the p-value it always
    # adds, which bootstrap_ci would pay n_boot times per distance: on the AAPL sample's 46k
    # inter-arrival times one ks_2samp call takes 3.4× these lines and compare() 2.1× as long.
    pooled = np.concatenate([a, b])
    fa = np.searchsorted(a, pooled, side="right") / len(a)
    fb = np.searchsorted(b, pooled, side="right") / len(b)
    return float(np.max(np.abs(fa - fb)))


def wasserstein1(a, b) -> float:
    """Wasserstein-1 (earth mover's) distance between two empirical distributions, in the data's units."""
    a, b = _clean(a), _clean(b)
    if len(a) == 0 or len(b) == 0:
        return float("nan")
    return _w1(a, b)


def real_scale(real) -> tuple[float, float, bool]:
    """(mean, std, is_raw) of the real sample used to normalise W1; std falls back to 1 when 0."""
    real = _clean(real)
    if len(real) == 0:
        return float("nan"), float("nan"), True
    mu, sd = float(real.mean()), float(real.std())
    if not np.isfinite(sd) or sd <= 0:
        return mu, 1.0, True
    return mu, sd, False


def normalised_w1(real, gen) -> float:
    """W1 after standardising both samples by the real sample's mean and std.

    Args:
        real: [n] real sample (defines the normalisation).
        gen: [m] generated sample.

    Returns:
        ``W1((real − μ)/σ, (gen − μ)/σ)`` with μ, σ of ``real`` (σ = 1 if the real sample is constant).
    """
    real, gen = _clean(real), _clean(gen)
    if len(real) == 0 or len(gen) == 0:
        return float("nan")
    mu, sd, _ = real_scale(real)
    return _w1((real - mu) / sd, (gen - mu) / sd)


def bootstrap_ci(
    statistic: Callable[[np.ndarray, np.ndarray], float],
    a,
    b,
    n_boot: int = DEFAULT_N_BOOT,
    alpha: float = DEFAULT_ALPHA,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap interval of a two-sample statistic (``scipy.stats.bootstrap``).

    Args:
        statistic: ``f(a, b) -> float`` (e.g. :func:`ks_statistic`, :func:`normalised_w1`).
        a: [n] first sample (the real one for ``normalised_w1``).
        b: [m] second sample.
        n_boot: resamples (each sample resampled with replacement, independently, at its own size).
        alpha: 1 − coverage; the interval is the (α/2, 1 − α/2) quantiles.
        seed: seed of the ``numpy.random.default_rng`` stream (same seed → same interval).

    Returns:
        (lo, hi); (NaN, NaN) if a sample has fewer than 2 values or ``n_boot`` < 1.
    """
    a, b = _clean(a), _clean(b)
    # scipy needs two values per sample; the interval of a one-value sample would ignore its own noise.
    if len(a) < 2 or len(b) < 2 or n_boot < 1:
        return float("nan"), float("nan")
    # batch=1: one resample of each sample in memory at a time (not n_boot copies of a day of events),
    # drawn from the seeded stream in a fixed order (a's indices, then b's), so a seed fixes the interval.
    res = stats.bootstrap((a, b), statistic, n_resamples=n_boot, batch=1, vectorized=False, paired=False,
                          confidence_level=1 - alpha, method="percentile", rng=np.random.default_rng(seed))
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def compare(
    real,
    gen,
    n_boot: int = DEFAULT_N_BOOT,
    alpha: float = DEFAULT_ALPHA,
    seed: int = 0,
) -> dict:
    """K-S and normalised W1 of ``gen`` against ``real`` with bootstrap intervals.

    Args:
        real: [n] real sample.
        gen: [m] generated (or second real window) sample.
        n_boot, alpha, seed: see :func:`bootstrap_ci` (K-S uses ``seed``, W1 ``seed + 1``).

    Returns:
        ``{"ks", "w1", "ks_ci": [lo, hi], "w1_ci": [lo, hi], "n_real", "n_gen", "w1_scale"}``;
        ``w1_scale`` is ``"real_std"`` or ``"raw"`` (constant real sample). Values are NaN (JSON
        ``null`` after :func:`modeling_tradefm.evaluation.report.to_jsonable`) if a sample is empty.
    """
    real, gen = _clean(real), _clean(gen)
    _, _, raw = real_scale(real)
    return {
        "ks": ks_statistic(real, gen),
        "w1": normalised_w1(real, gen),
        "ks_ci": list(bootstrap_ci(ks_statistic, real, gen, n_boot, alpha, seed)),
        "w1_ci": list(bootstrap_ci(normalised_w1, real, gen, n_boot, alpha, seed + 1)),
        "n_real": int(len(real)),
        "n_gen": int(len(gen)),
        "w1_scale": "raw" if raw else "real_std",
    }


__all__ = [
    "DEFAULT_ALPHA",
    "DEFAULT_N_BOOT",
    "bootstrap_ci",
    "compare",
    "ks_statistic",
    "normalised_w1",
    "real_scale",
    "wasserstein1",
]
