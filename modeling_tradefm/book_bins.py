# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""Bins of the book-aware tokenizer fields (beyond the paper): spread, queue imbalance, depth from the best.

``TradeFMTokenizer(book_fields=..., price_reference=...)`` stores these bins in its frozen state
next to the paper's. Values come from :mod:`modeling_tradefm.book_context`.

**Spread** (context field ``spread_bin``), in ticks: bin 0 is reserved for "no two-sided book"
(a side empty, crossed or locked; the value is NaN); bins 1.. are fixed, log-spaced ranges given
by their lower bounds, default ``1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64+`` ticks. The edges are
fixed by construction, NOT quantiles of the training data: the point is to generalise to an
instrument whose spreads are wider than any training instrument's (AAPL 2012 sits at 10–25 ticks,
ES at 1), and quantile edges fitted on a 1-tick instrument would lump every wider spread into one
outlier bin. Geometric spacing gives the same relative resolution at 2 ticks as at 40. A bound
``b`` is the cut ``b − 0.5``, so a value is binned as if rounded to whole ticks (off-grid spreads
of a mis-inferred tick still land in a sensible bin); spreads below the first bound go to bin 1.

**Imbalance** (context field ``imbalance_bin``), ``(q_bid − q_ask)/(q_bid + q_ask)`` of level 1 in
``[−1, 1]``: bin 0 reserved (no two-sided book), bins 1..n equal-width on ``[−1, 1]``
(``imbalance_binning="uniform"``, default: the quantity is already scale-free) or equal-frequency
on the calibration data (``"quantile"``).

**Depth from the best** (``price_reference="best"``: what the δp digit of the trade token means),
the order's aggressiveness in ticks relative to its own side's best quote before it (0 = join,
> 0 improve / cross, < 0 behind). Fixed, log-spaced, symmetric bins by construction, for the
same reason as the spread; default lower bounds ``−64, −32, −16, −8, −4, −2, −1, 0, 1, 2, 3, 5, 9,
17, 33`` (16 bins: ``< −64``, ``[−64, −32)``, …, ``−1``, ``0``, ``1``, ``2``, ``[3, 5)``, …,
``≥ 33``). The edges are fixed; what is calibrated is the in-bin decode table (the tokenizer's
empirical in-bin quantiles) and the outer bins' extremes, as for the paper's δp.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

BOOK_FIELDS = ("spread", "imbalance")
PRICE_REFERENCES = ("vwap", "best")
IMBALANCE_BINNINGS = ("uniform", "quantile")
DEFAULT_SPREAD_BOUNDS = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64)
DEFAULT_BEST_BOUNDS = (-64, -32, -16, -8, -4, -2, -1, 0, 1, 2, 3, 5, 9, 17, 33)
RESERVED_BIN = 0  # no two-sided book (spread and imbalance)


def check_bounds(name: str, bounds: Sequence[float], n_bins: int | None = None) -> tuple[float, ...]:
    """Validate strictly increasing lower bounds (``n_bins − 1`` of them when given)."""
    b = tuple(float(x) for x in bounds)
    if len(b) < 1 or any(y <= x for x, y in zip(b, b[1:], strict=False)):
        raise ValueError(f"{name} must be a non-empty strictly increasing sequence, got {list(bounds)}")
    if n_bins is not None and len(b) != n_bins - 1:
        raise ValueError(f"{name} must hold {n_bins - 1} bounds for {n_bins} bins, got {len(b)}")
    return b


def tick_edges(bounds: Sequence[float]) -> list[float]:
    """Cut points of bins whose lower bounds are whole ticks: ``bound − 0.5`` (values binned as if rounded)."""
    return [float(b) - 0.5 for b in bounds]


def fit_spread(bounds: Sequence[float]) -> dict:
    """State of the spread field (fixed edges; bins 1.. above the reserved bin 0)."""
    return {"kind": "ticks", "bounds": [float(b) for b in bounds], "edges": tick_edges(bounds[1:])}


def fit_imbalance(x: np.ndarray, n: int, binning: str) -> dict:
    """State of the imbalance field: ``n`` value bins (1..n) equal-width on [−1, 1] or equal-frequency on ``x``."""
    if binning == "uniform":
        edges = np.linspace(-1.0, 1.0, n + 1)[1:-1]
    else:
        x = x[np.isfinite(x)]
        if not len(x):
            raise ValueError("calibrate(): no two-sided book to fit the imbalance quantiles on")
        edges = np.quantile(x, np.arange(1, n) / n)
        for i in range(1, len(edges)):  # point masses (e.g. 100 vs 100 shares) give tied quantiles
            if edges[i] <= edges[i - 1]:
                edges[i] = np.nextafter(edges[i - 1], np.inf)
    return {"kind": binning, "edges": [float(e) for e in edges]}


def fit_best(x: np.ndarray, bounds: Sequence[float]) -> dict:
    """State of the δp field under ``price_reference="best"`` (fixed edges; extremes from ``x``)."""
    edges = tick_edges(bounds)
    return {"kind": "best_ticks", "bounds": [float(b) for b in bounds], "edges": edges,
            "low": min(float(x.min()), edges[0]), "high": max(float(x.max()), edges[-1])}


def book_bin(edges: np.ndarray, x) -> np.ndarray:
    """Bins of a book field: :data:`RESERVED_BIN` where ``x`` is NaN, else ``1 + #(edges ≤ x)`` (int64)."""
    x = np.asarray(x, dtype=np.float64)
    out = np.full(x.shape, RESERVED_BIN, dtype=np.int64)
    ok = np.isfinite(x)
    out[ok] = 1 + np.searchsorted(edges, x[ok], side="right")
    return out


__all__ = [
    "BOOK_FIELDS",
    "DEFAULT_BEST_BOUNDS",
    "DEFAULT_SPREAD_BOUNDS",
    "IMBALANCE_BINNINGS",
    "PRICE_REFERENCES",
    "RESERVED_BIN",
    "book_bin",
    "check_bounds",
    "fit_best",
    "fit_imbalance",
    "fit_spread",
    "tick_edges",
]
