# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""Stylized facts of returns: autocorrelation, volatility clustering, kurtosis vs horizon, Hill tail index.

On numpy arrays. Returns of several independent streams (sessions, rollouts) are passed as a
**list of segments**: statistics pool the segments without ever pairing a value of one segment with
a value of another (a lag never crosses a session or rollout boundary).

Choices (TradeFM is silent on them; all are arguments):

* ACF: the standard biased estimator ``ρ(k) = Σ_t x_t x_{t+k} / Σ_t x_t²`` on values centred by the
  pooled mean, summed over segments (lags within a segment only). Lags 1..50 by default.
* Kurtosis: Fisher's excess kurtosis ``m4/m2² − 3`` (the biased moment estimator,
  ``scipy.stats.kurtosis(x)``), pooled over segments. A Gaussian gives 0; Student-t with ν > 4
  degrees of freedom gives ``6/(ν − 4)``.
* Hill: the tail index α of ``|x|`` from the ``k`` largest non-zero absolute values,
  ``1/α = mean(log x_(i), i = 1..k) − log x_(k+1)`` (x_(1) ≥ x_(2) ≥ …, threshold = the (k+1)-th
  largest). Default ``k = round(0.05·n)`` (the top 5 % of non-zero values, at least 10): a fixed
  fraction is the usual compromise between the bias of a large k (the body is not Pareto) and the
  variance of a small one (std ≈ α/√k). Zero returns (no mid change in the interval, frequent at
  1 s) are excluded because the tail of |r| is the object and log 0 is undefined.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import stats

DEFAULT_MAX_LAG = 50
DEFAULT_HILL_FRACTION = 0.05
DEFAULT_HILL_MIN_K = 10


def _segments(x) -> list[np.ndarray]:
    """A 1-D array or a list of 1-D arrays → list of finite float64 arrays."""
    if isinstance(x, np.ndarray) and x.ndim == 1:
        parts = [x]
    elif isinstance(x, np.ndarray):
        raise ValueError(f"expected a 1-D array or a list of 1-D arrays, got shape {x.shape}")
    else:
        parts = list(x)
    out = []
    for p in parts:
        p = np.asarray(p, dtype=np.float64).ravel()
        out.append(p[np.isfinite(p)])
    return out


def _pooled(x) -> np.ndarray:
    """The finite values of all segments in one array (for statistics that ignore the order)."""
    segs = _segments(x)
    return np.concatenate(segs) if segs else np.zeros(0)


def acf(x: np.ndarray | Sequence[np.ndarray], max_lag: int = DEFAULT_MAX_LAG) -> np.ndarray:
    """Sample autocorrelation at lags 1..max_lag, pooled over segments.

    Args:
        x: [n] series, or a list of series (lags never cross a segment boundary).
        max_lag: the largest lag.

    Returns:
        float64 [max_lag]: ρ(1), …, ρ(max_lag); NaN where no pair exists or the variance is 0.
    """
    segs = [s for s in _segments(x) if len(s)]
    out = np.full(max_lag, np.nan)
    if not segs:
        return out
    mean = np.concatenate(segs).mean()
    centred = [s - mean for s in segs]
    denom = sum(float(np.dot(c, c)) for c in centred)
    if denom <= 0:
        return out
    for k in range(1, max_lag + 1):
        pairs = sum(len(c) - k for c in centred if len(c) > k)
        if pairs == 0:
            break
        out[k - 1] = sum(float(np.dot(c[:-k], c[k:])) for c in centred if len(c) > k) / denom
    return out


def excess_kurtosis(x: np.ndarray | Sequence[np.ndarray]) -> float:
    """Fisher's excess kurtosis (``scipy.stats.kurtosis``, biased moments), pooled; NaN if < 4 values."""
    v = _pooled(x)
    # Fewer than 4 values cannot show tails (and scipy would answer a number regardless).
    if len(v) < 4:
        return float("nan")
    return float(stats.kurtosis(v))


def hill_tail_index(
    x: np.ndarray | Sequence[np.ndarray],
    k: int | None = None,
    fraction: float = DEFAULT_HILL_FRACTION,
    min_k: int = DEFAULT_HILL_MIN_K,
) -> dict:
    """Hill estimator of the tail index of ``|x|``.

    Args:
        x: [n] sample (or segments); zeros and non-finite values are dropped.
        k: number of upper order statistics; default ``max(min_k, round(fraction·n))``, at most n − 1.
        fraction: see ``k``.
        min_k: see ``k``.

    Returns:
        ``{"alpha", "k", "threshold", "stderr", "n"}`` (α NaN when fewer than ``min_k + 1`` non-zero values);
        ``stderr = α/√k`` is the asymptotic standard error.
    """
    v = np.abs(_pooled(x))
    v = np.sort(v[v > 0])[::-1]
    n = len(v)
    if k is None:
        k = max(int(min_k), int(round(fraction * n)))
    k = min(int(k), n - 1)
    if k < 1 or n < min(min_k, k) + 1:
        return {"alpha": float("nan"), "k": int(max(k, 0)), "threshold": float("nan"), "stderr": float("nan"),
                "n": int(n)}
    inv = float(np.mean(np.log(v[:k])) - np.log(v[k]))
    alpha = 1.0 / inv if inv > 0 else float("inf")
    return {"alpha": alpha, "k": int(k), "threshold": float(v[k]), "stderr": float(alpha / np.sqrt(k)), "n": int(n)}


def kurtosis_vs_horizon(returns_by_horizon: dict[float, np.ndarray | Sequence[np.ndarray]]) -> dict[float, float]:
    """Excess kurtosis for each horizon: ``{horizon_s: kurtosis}`` (horizons sorted)."""
    return {h: excess_kurtosis(returns_by_horizon[h]) for h in sorted(returns_by_horizon)}


def summary(x: np.ndarray | Sequence[np.ndarray]) -> dict:
    """n, mean, std, min, max, fraction of zeros of the pooled sample (for the report)."""
    v = _pooled(x)
    if not len(v):
        return {"n": 0, "mean": float("nan"), "std": float("nan"), "min": float("nan"), "max": float("nan"),
                "zero_fraction": float("nan")}
    return {"n": int(len(v)), "mean": float(v.mean()), "std": float(v.std()), "min": float(v.min()),
            "max": float(v.max()), "zero_fraction": float(np.mean(v == 0))}


def stylized_facts(
    returns_by_horizon: dict[float, np.ndarray | Sequence[np.ndarray]],
    acf_horizon: float | None = None,
    max_lag: int = DEFAULT_MAX_LAG,
    hill_fraction: float = DEFAULT_HILL_FRACTION,
) -> dict:
    """All stylized facts of one source.

    Args:
        returns_by_horizon: ``{horizon_s: returns}`` (each a 1-D array or a list of per-stream arrays).
        acf_horizon: the horizon whose returns feed the ACF panels and the Hill estimate
            (default: the shortest).
        max_lag: ACF lags 1..max_lag.
        hill_fraction: see :func:`hill_tail_index`.

    Returns:
        ``{"acf_horizon_s", "acf_returns": [max_lag], "acf_abs_returns": [max_lag],
        "kurtosis": {horizon: excess kurtosis}, "hill": {...}, "returns": {horizon: summary}}``.
    """
    if not returns_by_horizon:
        raise ValueError("no return horizons given")
    h0 = min(returns_by_horizon) if acf_horizon is None else acf_horizon
    segs = _segments(returns_by_horizon[h0])
    return {
        "acf_horizon_s": float(h0),
        "acf_returns": acf(segs, max_lag).tolist(),
        "acf_abs_returns": acf([np.abs(s) for s in segs], max_lag).tolist(),
        "kurtosis": {float(h): v for h, v in kurtosis_vs_horizon(returns_by_horizon).items()},
        "hill": hill_tail_index(segs, fraction=hill_fraction),
        "returns": {float(h): summary(returns_by_horizon[h]) for h in sorted(returns_by_horizon)},
    }


__all__ = [
    "DEFAULT_HILL_FRACTION",
    "DEFAULT_HILL_MIN_K",
    "DEFAULT_MAX_LAG",
    "acf",
    "excess_kurtosis",
    "hill_tail_index",
    "kurtosis_vs_horizon",
    "stylized_facts",
    "summary",
]
