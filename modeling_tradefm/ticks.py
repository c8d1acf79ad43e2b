# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""The price grid: inferring a tick size from data and reading a book's.

One rule, used by the evaluation series, the TradeFM proposer and the baselines.

**Tick from prices** (:func:`tick_from_prices`): the greatest common divisor of the *differences*
between the distinct valid prices. Prices on a grid are ``offset + k·tick``; the differences cancel
the offset, so the rule finds the grid whatever its origin. The gcd of the prices themselves is
``gcd(offset, tick)`` and breaks as soon as the grid does not start at 0 (prices ``0.05 + k·0.10``
give 0.05, not 0.10). On a grid through 0 the two agree when the prices cover neighbouring levels,
as real order flow does: on every real sample here both give ES 0.25 → 250,000,000 and LOBSTER
0.01 → 10,000,000 (1e-9 units). Either rule overestimates the tick when only a sub-grid is seen
(every price an even number of ticks): data that never uses a tick cannot reveal it.

**Which prices** (:func:`infer_tick_size`): those of add records (``A``, snapshot adds included:
resting orders are on the grid too). Every other priced record refers to an added order or is an
execution at a resting order's price, so adds carry the grid; they are also what a prefix of a
rollout always has.
"""

from __future__ import annotations

import numpy as np

from .events import ACTION_ADD, UNDEF_PRICE, EventTable


def tick_from_prices(prices: np.ndarray) -> int | None:
    """The price grid of ``prices``: gcd of the gaps between distinct valid prices (1e-9 units).

    Args:
        prices: int64 [n]; ``UNDEF_PRICE`` and non-positive values are ignored.

    Returns:
        The tick, or ``None`` when there are fewer than two distinct valid prices (no gap to measure).
    """
    p = np.asarray(prices, dtype=np.int64)
    p = np.unique(p[(p > 0) & (p != UNDEF_PRICE)])
    if len(p) < 2:
        return None
    return int(np.gcd.reduce(np.diff(p)))


def infer_tick_size(events: EventTable) -> int | None:
    """The tick size of ``events`` (1e-9 units): :func:`tick_from_prices` of its add prices, or ``None``."""
    return tick_from_prices(events.price[events.action == ACTION_ADD])


def book_tick_size(book, default: int | None = None) -> int | None:
    """A book's tick size (1e-9 units): its ``tick_size`` (attribute or method) when set, else ``default``.

    A ``Simulator`` without a tick grid has ``tick_size`` 0 or ``None``; both mean "none".
    """
    tick = getattr(book, "tick_size", None)
    tick = tick() if callable(tick) else tick
    if tick:
        return int(tick)
    return None if default is None else int(default)


__all__ = ["book_tick_size", "infer_tick_size", "tick_from_prices"]
