# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""A full session's volume from part of it: the intraday volume profile behind the liquidity tier.

The rule, its profile and why it is parametric are documented in ``features`` (module docstring,
"Session volume estimator") and docs/evaluation.md; this module is the arithmetic.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from .events import NS_PER_SECOND


@dataclass(frozen=True)
class VolumeProfile:
    """A parametric U-shaped intraday volume profile over a regular session (see the module docstring).

    Attributes:
        timezone: IANA zone of ``open``/``close``.
        open_hour, close_hour: the regular session, local hours (9.5 = 09:30).
        curvature: ``c`` in ``λ(x) = 1 + c·(2x − 1)²`` (0 = flat; open and close at ``1 + c`` × midday).
    """

    timezone: str = "America/New_York"
    open_hour: float = 9.5
    close_hour: float = 16.0
    curvature: float = 2.0

    def cumulative(self, x: float) -> float:
        """Share of the session's volume traded by the fraction ``x`` ∈ [0, 1] of it elapsed."""
        x = min(max(float(x), 0.0), 1.0)
        c = self.curvature
        return (x + c * ((2 * x - 1) ** 3 + 1) / 6) / (1 + c / 3)

    def fraction(self, t0_ns: int, t1_ns: int) -> float:
        """Share of one regular session's volume that a typical day trades within ``[t0, t1]`` (ns UTC).

        Summed over the local days the span touches (a span covering two regular sessions gives 2).
        """
        from zoneinfo import ZoneInfo

        if t1_ns <= t0_ns:
            return 0.0
        zone = ZoneInfo(self.timezone)
        a = dt.datetime.fromtimestamp(t0_ns / NS_PER_SECOND, tz=zone)
        b = dt.datetime.fromtimestamp(t1_ns / NS_PER_SECOND, tz=zone)
        total = 0.0
        day = a.date()
        while day <= b.date():
            midnight = dt.datetime.combine(day, dt.time(), tzinfo=zone)
            lo = (a - midnight).total_seconds() / 3600 if day == a.date() else 0.0
            hi = (b - midnight).total_seconds() / 3600 if day == b.date() else 24.0
            span = self.close_hour - self.open_hour
            x0, x1 = (lo - self.open_hour) / span, (hi - self.open_hour) / span
            total += self.cumulative(x1) - self.cumulative(x0)
            day += dt.timedelta(days=1)
        return total


US_EQUITY_PROFILE = VolumeProfile()
MIN_PROFILE_FRACTION = 0.01


def estimate_session_volume(volume: float, t0_ns: int, t1_ns: int,
                            profile: VolumeProfile = US_EQUITY_PROFILE) -> tuple[float, float]:
    """A full session's volume estimated from the volume traded within ``[t0, t1]`` (module docstring).

    Args:
        volume: counted executed size within the span.
        t0_ns, t1_ns: the span (ns UTC), e.g. a prefix's first and last record.
        profile: the intraday volume profile.

    Returns:
        ``(estimate, F)``: ``volume / F`` with ``F`` the profile's share of a session in the span,
        or ``(volume, F)`` unscaled when ``F < MIN_PROFILE_FRACTION`` (outside regular hours, or a
        few minutes only).
    """
    f = profile.fraction(int(t0_ns), int(t1_ns))
    if f < MIN_PROFILE_FRACTION:
        return float(volume), f
    return float(volume) / f, f



__all__ = ["MIN_PROFILE_FRACTION", "US_EQUITY_PROFILE", "VolumeProfile", "estimate_session_volume"]
