# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""Slow, obviously-correct pure-Python references that tests compare the compiled code with."""

from __future__ import annotations

from modeling_tradefm.events import NS_PER_SECOND


class EWVWAP:
    """Incremental EW-VWAP (the recursion of the ``features`` module docstring), one update at a time.

    The package computes it in compiled code only (``_kernels.ewvwap_step``, used by the feature
    scan, ``features.ewvwap`` and the simulator); this class is the oracle they are checked against.
    Prices may be in any unit; :attr:`value` is in the same unit, ``None`` before the first update.
    """

    def __init__(self, half_life_s: float = 10.0):
        if not half_life_s > 0:
            raise ValueError(f"half_life_s must be > 0, got {half_life_s}")
        self.half_life_s = float(half_life_s)
        self.num = 0.0
        self.den = 0.0
        self.t_prev: int | None = None

    def update(self, ts_ns: int, price: float, size: float) -> float:
        """Fold in one execution (counted once) and return the new value."""
        if size <= 0:
            raise ValueError(f"execution size must be > 0, got {size}")
        if self.t_prev is not None:
            w = 0.5 ** ((int(ts_ns) - self.t_prev) / NS_PER_SECOND / self.half_life_s)
            self.num *= w
            self.den *= w
        self.num += float(price) * float(size)
        self.den += float(size)
        self.t_prev = int(ts_ns)
        return self.num / self.den

    @property
    def value(self) -> float | None:
        return self.num / self.den if self.den > 0 else None

    def state(self) -> dict:
        return {"half_life_s": self.half_life_s, "num": self.num, "den": self.den, "t_prev": self.t_prev}

    def set_state(self, state: dict) -> None:
        self.half_life_s = float(state["half_life_s"])
        self.num, self.den = float(state["num"]), float(state["den"])
        self.t_prev = None if state["t_prev"] is None else int(state["t_prev"])

    def copy(self) -> EWVWAP:
        out = EWVWAP(self.half_life_s)
        out.set_state(self.state())
        return out
