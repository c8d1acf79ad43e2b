# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""Choosing a rollout start inside a session and cutting the real prefix before it.

A rollout starts at a wall-clock time of the trading day (``09:45:00`` New York for a Nasdaq
session, ``23:30`` UTC for a CME evening): :func:`parse_clock` reads that time, :func:`clock_to_ns`
places it in the session (its first occurrence at or after the session's first event, so an
evening session's "03:00" is the next morning), and :func:`select_prefix` returns the session's
events before it. ``tradefm generate``, ``tradefm evaluate`` (rebuilding a run's prefix) and the demo
all cut the prefix here, so they agree on it to the event.

:func:`load_prefix` reads the files, cuts the prefix and keeps what the rollout's starting book is
built from (:class:`Prefix`): a LOBSTER message file with its orderbook file beside it (same stem,
``_orderbook_N``) brings that orderbook, and the starting book then shows the venue's visible
levels at the start (``book.starting_book``). :func:`read_sessions` is the reading half, shared
with the evaluation's real data.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np

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


#: LOBSTER's own clock: its time stamps are seconds after midnight New York time.
LOBSTER_ZONE = "America/New_York"


def default_zone(paths) -> str:
    """The zone a start time is read in when none is given: ``LOBSTER_ZONE`` for LOBSTER files, else UTC.

    A LOBSTER file's clock is New York time (its name's T0/T1 and every time stamp), so ``11:00``
    means 11:00 in New York there; Databento's time stamps are UTC.

    Raises:
        DataError: LOBSTER and other files together (no one zone is theirs); a path matching nothing.
    """
    from .io import expand_paths
    from .io.paths import detect_format

    files = expand_paths(paths)
    lobster = [f for f in files if detect_format(f) == "lobster"]
    if lobster and len(lobster) < len(files):
        raise DataError(lobster[0], "LOBSTER files (New York time) and Databento files (UTC) together: "
                                    "give the time zone of the start (--tz)")
    return LOBSTER_ZONE if lobster else "UTC"


def select_prefix(events, start_clock: dt.time, tz: str, source: str, feature_config=None):
    """The first session's events before the start time, and the start (ns UTC).

    The start is :func:`clock_to_ns` of ``start_clock`` from the session's first event: its first
    occurrence at or after that event. It must fall inside the session: a start before the
    session's first event would otherwise move silently to the next day, and one after its last
    event would make the whole session the prefix and start the rollouts where the data ends, not
    at the requested time.

    Args:
        events: an ``EventTable``; its first session (``split_sessions`` order) is used.
        start_clock: the rollout start as a wall-clock time in ``tz``.
        tz: IANA time zone of ``start_clock``.
        source: the data's name in error messages (file names).
        feature_config: ``FeatureConfig`` whose trading-date rule splits the sessions.

    Returns:
        ``(session, prefix_events, start_ns)``.

    Raises:
        DataError: no session; a start before the session's first event, after its last, or at
            its first (no event before it); the message names the start and the session's first
            and last event, in ``tz``.
    """
    from .features import split_sessions

    sessions = split_sessions(events, feature_config)
    if not sessions:
        raise DataError(source, "no session (no events) in the data")
    session = sessions[0]
    ev = session.events
    first, last = int(ev.ts_recv[0]), int(ev.ts_recv[-1])
    start_ns = clock_to_ns(start_clock, first, tz)
    if start_ns > last:
        # clock_to_ns moved to the next day exactly when the time on the first event's date is before it
        rolled = _local(start_ns, tz).date() != _local(first, tz).date()
        where = "before the first event" if rolled else "after the last event"
        raise DataError(source, f"start {start_clock} {tz} is {where} of session {session.symbol} {session.date}, "
                                f"{_session_span(first, last, tz)}")
    n = int((ev.ts_recv < start_ns).sum())
    if n == 0:
        raise DataError(source, f"no event of session {session.symbol} {session.date} before {start_clock} {tz}, "
                                f"{_session_span(first, last, tz)}")
    return session, ev[:n], start_ns


def _session_span(first_ns: int, last_ns: int, tz: str) -> str:
    """"which runs from <first event> to <last event> <tz>", local times of ``tz`` to the microsecond."""
    fmt = "%Y-%m-%d %H:%M:%S.%f"
    return f"which runs from {_local(first_ns, tz).strftime(fmt)} to {_local(last_ns, tz).strftime(fmt)} {tz}"


def _local(ns: int, tz: str) -> dt.datetime:
    """``ns`` (UTC) as a datetime of zone ``tz``, truncated to the microsecond (no float rounding)."""
    t = dt.datetime.fromtimestamp(ns // 1_000_000_000, tz=dt.UTC).replace(microsecond=ns % 1_000_000_000 // 1000)
    return t.astimezone(ZoneInfo(tz))


@dataclass
class BookedSession:
    """One session of the data and the LOBSTER orderbook of the file it was read from, if any.

    Attributes:
        session: a ``features.Session``.
        orderbook: int64 [rows, 4·levels] the whole file's orderbook (``sequence`` picks the rows),
            or ``None`` (no orderbook beside the file, a non-LOBSTER file, or a session that spans
            several files).
        orderbook_path: where ``orderbook`` was read from.
    """

    session: object
    orderbook: np.ndarray | None = None
    orderbook_path: str | None = None


def read_sessions(paths, feature_config=None, progress: bool = False) -> list[BookedSession]:
    """Every session of the files (``features.split_sessions`` of their concatenation), with its orderbook.

    LOBSTER message files are read with ``orderbook="auto"``: an orderbook file beside one (same
    stem, ``_orderbook_N``) comes along and becomes the session's :attr:`BookedSession.orderbook`.

    Raises:
        DataError: a file that cannot be read, or an orderbook whose rows do not match its messages.
    """
    from .events import EventTable
    from .features import split_sessions
    from .io import expand_paths, read_file
    from .io.lobster import sibling_orderbook

    files = expand_paths(paths)
    if progress and len(files) > 1:
        from tqdm.auto import tqdm

        files = tqdm(files, desc="reading", unit="file")
    results = [read_file(f, orderbook="auto") for f in files]
    events = EventTable.concat([r.events for r in results]) if len(results) != 1 else results[0].events
    ends = np.cumsum([len(r.events) for r in results])
    out = []
    for s in split_sessions(events, feature_config):
        rows = s.rows if s.rows is not None else np.zeros(0, dtype=np.int64)
        f = np.unique(np.searchsorted(ends, rows, side="right")) if len(rows) else np.zeros(0, dtype=np.int64)
        book = results[int(f[0])].orderbook if len(f) == 1 else None
        path = str(sibling_orderbook(results[int(f[0])].report.path)) if book is not None else None
        out.append(BookedSession(s, book, path))
    return out


@dataclass
class Prefix:
    """A rollout start: the session, its events before the start, and its orderbook if it has one.

    Attributes:
        session: the ``features.Session`` the prefix is cut from.
        events: the session's events before ``start_ns``.
        start_ns: the rollout start (ns UTC).
        orderbook, orderbook_path: the session's LOBSTER orderbook (:class:`BookedSession`).
    """

    session: object
    events: object
    start_ns: int
    orderbook: np.ndarray | None = None
    orderbook_path: str | None = None

    @property
    def orderbook_row(self) -> int | None:
        """0-based orderbook row in force at the start (after the prefix's last message), or ``None``."""
        if self.orderbook is None or not len(self.events):
            return None
        return int(self.events.sequence[-1]) - 1

    def starting_book(self, **simulator_kwargs):
        """``book.starting_book`` of this prefix: what every rollout from it starts from."""
        from .book import starting_book

        return starting_book(self.events, self.orderbook, self.orderbook_path, **simulator_kwargs)

    def describe(self) -> dict:
        """What ``meta.json`` records about the starting book (so the evaluation rebuilds the same one)."""
        if self.orderbook is None:
            return {"source": "replay"}
        row = self.orderbook[self.orderbook_row]
        return {"source": "orderbook", "orderbook": self.orderbook_path, "row": self.orderbook_row + 1,
                "levels": int(self.orderbook.shape[1] // 4),
                "best_ask": int(row[0]) if row[1] > 0 else None, "best_bid": int(row[2]) if row[3] > 0 else None}


def load_prefix(paths, start_clock: dt.time, tz: str, feature_config=None, *, instrument_id: int | None = None,
                date: str | None = None, source: str | None = None) -> Prefix:
    """Read ``paths`` and cut the prefix before ``start_clock`` (:func:`select_prefix`'s rule).

    Args:
        paths: event files or globs.
        start_clock, tz: the rollout start as wall-clock time in ``tz``.
        feature_config: its trading-date rule splits the sessions.
        instrument_id, date: the session to use (default: the first, as ``select_prefix``).
        source: the data's name in errors (default: the paths).

    Raises:
        DataError: no such session, or no event of it before the start.
    """
    source = source or ", ".join(str(p) for p in (paths if isinstance(paths, (list, tuple)) else [paths]))
    booked = read_sessions(paths, feature_config)
    if instrument_id is not None or date is not None:
        booked = [b for b in booked if (instrument_id is None or b.session.instrument_id == int(instrument_id))
                  and (date is None or b.session.date == date)]
    if not booked:
        what = "no session (no events) in the data" if instrument_id is None and date is None else (
            f"no session of instrument {instrument_id} on {date} in the data")
        raise DataError(source, what)
    b = booked[0]
    _, prefix, start_ns = select_prefix(b.session.events, start_clock, tz, source, feature_config)
    return Prefix(b.session, prefix, start_ns, b.orderbook, b.orderbook_path)


__all__ = [
    "LOBSTER_ZONE",
    "BookedSession",
    "Prefix",
    "clock_to_ns",
    "default_zone",
    "load_prefix",
    "parse_clock",
    "read_sessions",
    "select_prefix",
]
