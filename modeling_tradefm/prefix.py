# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""Choosing a rollout start inside a session and cutting the real prefix before it.

A rollout starts at a wall-clock time of the trading day (``09:45:00`` New York for a Nasdaq
session, ``23:30`` UTC for a CME evening): :func:`parse_clock` reads that time, :func:`clock_to_ns`
places it in the session (its first occurrence at or after the session's first event, so an
evening session's "03:00" is the next morning), and :func:`select_prefix` returns the session's
events before it. ``tradefm generate``, ``tradefm evaluate`` (rebuilding a run's prefix) and the demo
all cut the prefix here, so they agree on it to the event.
"""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

from .errors import DataError

_TIME = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?$")


def parse_clock(text: str) -> dt.time:
    """``HH:MM[:SS[.fffffffff]]`` → ``datetime.time`` (microsecond precision).

    Raises:
        ValueError: not of that form, or not a time of day (``25:00``).
    """
    m = _TIME.match(text.strip())
    if not m:
        raise ValueError(f"expected HH:MM:SS, got {text!r}")
    h, mi, s = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
    frac = m.group(4) or ""
    micro = int(round(float(frac) * 1e6)) if frac else 0
    if h > 23 or mi > 59 or s > 59:
        raise ValueError(f"not a time of day: {text!r}")
    return dt.time(h, mi, s, min(micro, 999_999))


def clock_to_ns(clock: dt.time, first_ts_ns: int, tz: str) -> int:
    """The first occurrence of ``clock`` in zone ``tz`` at or after ``first_ts_ns`` (ns UTC)."""
    zone = ZoneInfo(tz)
    first = dt.datetime.fromtimestamp(first_ts_ns / 1e9, tz=dt.UTC).astimezone(zone)
    candidate = dt.datetime.combine(first.date(), clock, tzinfo=zone)
    if candidate.timestamp() * 1e9 < first_ts_ns:
        candidate = dt.datetime.combine(first.date() + dt.timedelta(days=1), clock, tzinfo=zone)
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    delta = candidate.astimezone(dt.UTC) - epoch
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000


def select_prefix(events, start_clock: dt.time, tz: str, source: str, feature_config=None):
    """The first session's events before the start time, and the start (ns UTC).

    Args:
        events: an ``EventTable``; its first session (``split_sessions`` order) is used.
        start_clock: the rollout start as a wall-clock time in ``tz``.
        tz: IANA time zone of ``start_clock``.
        source: the data's name in error messages (file names).
        feature_config: ``FeatureConfig`` whose trading-date rule splits the sessions.

    Returns:
        ``(session, prefix_events, start_ns)``.

    Raises:
        DataError: no session, or no event of the session before the start.
    """
    from .features import split_sessions

    sessions = split_sessions(events, feature_config)
    if not sessions:
        raise DataError(source, "no session (no events) in the data")
    session = sessions[0]
    ev = session.events
    start_ns = clock_to_ns(start_clock, int(ev.ts_recv[0]), tz)
    n = int((ev.ts_recv < start_ns).sum())
    if n == 0:
        raise DataError(source, f"no event of session {session.symbol} {session.date} before {start_clock} {tz}")
    return session, ev[:n], start_ns


__all__ = ["clock_to_ns", "parse_clock", "select_prefix"]
