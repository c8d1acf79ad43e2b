# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""From any event stream to the evaluated quantities: mid on a clock grid, returns, spreads, flow.

A *stream* is one instrument-session of events: a real session, or one rollout (plus the real
prefix it was conditioned on, which only seeds the book and the EW-VWAP and is never evaluated).

**Mid price.** ``EvalConfig.mid = "book"`` (default, the one the report uses): the events are
replayed through :class:`modeling_tradefm.simulator.Simulator` (``lobster_orderbook`` with one level)
and the mid is ``(best bid + best ask)/2`` of the reconstructed book. The book is read only after
records flagged ``F_LAST`` (Databento: the end of a venue packet; the LOBSTER reader and the
simulator log set it on the last record of a message / submit), so transient states inside an
execution (after the T/F, before the C that removes the volume) are never sampled; snapshot
records seed the book but are not samples. A stream with no ``F_LAST`` at all is sampled after
every record. ``mid = "vwap"``: the EW-VWAP of executions (``features.ewvwap``, each execution once,
the model's own reference price); use it for streams whose book cannot be rebuilt (level-1 LOBSTER
files, rollouts whose prefix is lost). The evaluation reports which one each source used.

A crossed or locked book (bid ≥ ask: pre-open and auction periods, e.g. CME's pre-open before
the Globex reopen) has no mid and no spread: those samples are NaN and drop out.

**Clock grid.** Previous-tick sampling: the value at grid time g is the last sampled mid at or
before g. The grid of horizon h starts at the stream's first sample with a valid mid and steps by h
up to its last record; log returns at horizon h are ``diff(log mid)`` on that grid
(non-overlapping). Grid points before the first valid mid, and returns touching a one-sided book
(NaN mid), are dropped. Returns never span two streams.

**Spread** (ticks): best ask − best bid after every sampled record with both sides present
(event-time sampling, as LOB-Bench does), divided by the tick size — given
(``EvalConfig.tick_size``) or inferred from the add prices of the real data
(``ticks.infer_tick_size``, the package's one rule), and then the same tick for every source.

**Order flow** (the model's own fields, from :func:`modeling_tradefm.features.build_features`):
inter-arrival time Δt (s) between modeled events (the first event of a stream, whose Δt is 0 by
construction, is left out), order size (shares of each modeled add/cancel, marketable adds
included), and price depth δp in **basis points** relative to the EW-VWAP mid.

**Messages** (``evaluation.flow``): the stream as LOBSTER message rows — the share of each
message type and the time to cancel (s) of every order submitted and cancelled in the stream.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import DataError
from ..events import F_LAST, F_SNAPSHOT, NS_PER_SECOND, EventTable
from ..ticks import infer_tick_size  # re-exported: ``evaluation.infer_tick_size``
from .flow import EVENT_TYPE_NAMES, MessageFlow, message_flow

QUANTITIES = ("log_return_1s", "log_return_10s", "log_return_60s", "spread", "inter_arrival", "order_size",
              "price_depth", "time_to_cancel")
QUANTITY_UNITS = {"log_return_1s": "log return", "log_return_10s": "log return", "log_return_60s": "log return",
                  "spread": "ticks", "inter_arrival": "s", "order_size": "shares", "price_depth": "bps",
                  "time_to_cancel": "s"}


@dataclass
class EvalConfig:
    """Evaluation settings (all documented choices in one place).

    Attributes:
        horizons_s: return horizons (s) for distances and the return plots.
        kurtosis_horizons_s: horizons of the kurtosis-vs-horizon panel.
        acf_horizon_s: horizon of the returns whose ACF (and Hill index) is reported.
        max_lag: ACF lags 1..max_lag.
        mid: ``"book"`` (reconstructed book mid) or ``"vwap"`` (EW-VWAP); see the module docstring.
        tick_size: tick in 1e-9 units; ``None`` = inferred from the real data.
        n_boot, alpha, seed: bootstrap of the distances (percentile interval, seeded).
        hill_fraction: Hill's k as a fraction of the non-zero |returns|.
        feature_config: ``features.FeatureConfig`` for the order-flow fields (None = defaults).
    """

    horizons_s: tuple[float, ...] = (1.0, 10.0, 60.0, 300.0)
    kurtosis_horizons_s: tuple[float, ...] = (1.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
    acf_horizon_s: float = 1.0
    max_lag: int = 50
    mid: str = "book"
    tick_size: int | None = None
    n_boot: int = 200
    alpha: float = 0.05
    seed: int = 0
    hill_fraction: float = 0.05
    feature_config: object | None = None

    def __post_init__(self) -> None:
        if self.mid not in ("book", "vwap"):
            raise ValueError(f"mid must be 'book' or 'vwap', got {self.mid!r}")

    def all_horizons(self) -> tuple[float, ...]:
        return tuple(sorted({float(h) for h in (*self.horizons_s, *self.kurtosis_horizons_s, self.acf_horizon_s,
                                               1.0, 10.0, 60.0)}))


@dataclass
class StreamSeries:
    """Sampled book state and modeled-event fields of one stream (the evaluated window only).

    Attributes:
        name: label (file / session / rollout).
        ts: int64 [m] times (ns) of the sampled records.
        mid: float64 [m] mid after each sampled record (1e-9 units; NaN where undefined).
        spread: float64 [m] best ask − best bid (1e-9 units; NaN if a side is empty).
        flow_ts: int64 [k] times of the modeled events.
        inter_arrival: float64 [k] Δt (s); NaN for the stream's first modeled event.
        order_size: float64 [k] sizes.
        price_depth: float64 [k] δp in bps.
        mid_source: ``"book"`` or ``"vwap"``.
        start_ns, end_ns: the evaluated window [start, end].
        messages: the window as LOBSTER message rows (``evaluation.flow.MessageFlow``), or None.
    """

    name: str
    ts: np.ndarray
    mid: np.ndarray
    spread: np.ndarray
    flow_ts: np.ndarray
    inter_arrival: np.ndarray
    order_size: np.ndarray
    price_depth: np.ndarray
    mid_source: str
    start_ns: int
    end_ns: int
    messages: MessageFlow | None = None

    def window(self, start_ns: int, end_ns: int, name: str | None = None) -> StreamSeries:
        """The part of the stream with ``start_ns ≤ ts < end_ns`` (book state carried in by the grid)."""
        m = (self.ts >= start_ns) & (self.ts < end_ns)
        f = (self.flow_ts >= start_ns) & (self.flow_ts < end_ns)
        ia = self.inter_arrival[f].copy()
        if len(ia):
            ia[0] = np.nan  # its predecessor is outside the window
        msgs = None if self.messages is None else self.messages.window(start_ns, end_ns)
        return StreamSeries(name or self.name, self.ts[m], self.mid[m], self.spread[m], self.flow_ts[f], ia,
                            self.order_size[f], self.price_depth[f], self.mid_source, int(start_ns), int(end_ns),
                            msgs)

    def halves(self) -> tuple[StreamSeries, StreamSeries]:
        """Two disjoint windows with equally many modeled events (split at their median time).

        Used for the real-vs-real noise floor: the same market, two disjoint stretches of time.
        Without modeled events the split is at the median sample time.
        """
        t = self.flow_ts if len(self.flow_ts) else self.ts
        mid = int(t[len(t) // 2]) if len(t) else (self.start_ns + self.end_ns) // 2
        return self.window(self.start_ns, mid, f"{self.name}[1/2]"), self.window(mid, self.end_ns + 1,
                                                                                  f"{self.name}[2/2]")


def _sample_mask(events: EventTable) -> np.ndarray:
    live = (events.flags & F_SNAPSHOT) == 0
    last = (events.flags & F_LAST) != 0
    return live & last if (last & live).any() else live


def _book_top(events: EventTable, initial=None) -> tuple[np.ndarray, np.ndarray]:
    """Best bid and ask (1e-9, NaN if empty) after every record, by replay through the simulator."""
    from ..simulator import lobster_orderbook

    rows = np.asarray(lobster_orderbook(events, levels=1, initial=initial, price_divisor=1), dtype=np.int64)
    ask = np.where(rows[:, 1] > 0, rows[:, 0].astype(np.float64), np.nan)
    bid = np.where(rows[:, 3] > 0, rows[:, 2].astype(np.float64), np.nan)
    # A crossed or locked book (pre-open, auctions) has no meaningful mid or spread.
    bad = ~(ask > bid)
    ask[bad] = np.nan
    bid[bad] = np.nan
    return bid, ask


def _vwap_after_each(events: EventTable, prefix: EventTable | None, half_life_s: float) -> np.ndarray:
    """EW-VWAP (1e-9 units) in force after every record of ``events`` (prefix executions included)."""
    from ..features import counted_executions, ewvwap

    full = EventTable.concat([prefix, events]) if prefix is not None and len(prefix) else events
    off = len(full) - len(events)
    ex = np.flatnonzero(counted_executions(full))
    out = np.full(len(events), np.nan)
    if not len(ex):
        return out
    vals = ewvwap(full.ts_recv[ex], full.price[ex].astype(np.float64), full.size[ex].astype(np.float64), half_life_s)
    pos = np.searchsorted(ex, np.arange(off, len(full)), side="right") - 1
    ok = pos >= 0
    out[ok] = vals[pos[ok]]
    return out


def _flow(events: EventTable, prefix: EventTable | None, feature_config) -> tuple:
    """Modeled events of ``events`` (after the prefix): (ts, Δt, size, δp bps)."""
    from ..features import build_features

    full = EventTable.concat([prefix, events]) if prefix is not None and len(prefix) else events
    n_prefix = len(full) - len(events)
    parts = []
    for sf in build_features(full, feature_config, progress=False):
        # split_sessions keeps feed order, so rows ≥ the prefix length of the session are the stream's.
        keep = sf.source_row >= n_prefix if n_prefix else np.ones(len(sf), dtype=bool)
        dt = sf.dt.astype(np.float64).copy()
        if keep.any():
            first = int(np.flatnonzero(keep)[0])
            if first == 0 or n_prefix == 0:
                dt[first] = np.nan  # Δt = 0 by construction for a session's first modeled event
        parts.append((sf.ts_recv[keep], dt[keep], sf.size[keep].astype(np.float64), sf.price_depth[keep] * 1e4))
    if not parts:
        z = np.zeros(0)
        return np.zeros(0, dtype=np.int64), z, z, z
    return tuple(np.concatenate([p[i] for p in parts]) for i in range(4))


def stream_series(
    events: EventTable,
    prefix: EventTable | None = None,
    config: EvalConfig | None = None,
    name: str = "",
    has_book: bool = True,
) -> StreamSeries:
    """Book/EW-VWAP mid, spread and modeled-event fields of one stream.

    Args:
        events: one instrument's events in feed order (a session, or one rollout's log).
        prefix: real events before ``events`` (a rollout's conditioning prefix): replayed to seed the
            book and the EW-VWAP, never evaluated.
        config: :class:`EvalConfig` (``mid``, ``feature_config``).
        name: label for reports.
        has_book: False when the book cannot be rebuilt (a rollout whose conditioning prefix is
            lost: its executions hit orders the replay never saw). The mid is then the EW-VWAP and
            the spread is missing (NaN).

    Returns:
        :class:`StreamSeries` over the window [first evaluated record, last record].
    """
    config = config or EvalConfig()
    if len(events) == 0:
        raise ValueError(f"stream {name!r} has no events")
    if len(np.unique(events.instrument_id)) > 1:
        raise ValueError(f"stream {name!r} holds several instruments; evaluate one instrument per stream")
    half_life = getattr(config.feature_config, "vwap_half_life_s", 10.0)
    sample = _sample_mask(events)
    mid_source = config.mid if has_book else "vwap"
    if has_book:
        from ..simulator import Simulator

        initial = Simulator.from_events(prefix) if prefix is not None and len(prefix) else None
        bid, ask = _book_top(events, initial)
        spread = ask - bid
        mid = (bid + ask) / 2 if mid_source == "book" else _vwap_after_each(events, prefix, half_life)
    else:
        spread = np.full(len(events), np.nan)
        mid = _vwap_after_each(events, prefix, half_life)
    flow = _flow(events, prefix, config.feature_config)
    ok = np.flatnonzero(np.isfinite(mid) & sample)
    start = int(events.ts_recv[ok[0]]) if len(ok) else int(events.ts_recv[0])
    if len(flow[0]):
        start = min(start, int(flow[0][0]))
    end = int(events.ts_recv[-1])
    messages = message_flow(events, prefix).window(start, end + 1)
    return StreamSeries(name, events.ts_recv[sample], mid[sample], spread[sample], *flow, mid_source=mid_source,
                        start_ns=start, end_ns=end, messages=messages)


def grid_values(ts: np.ndarray, values: np.ndarray, step_ns: int, end_ns: int) -> np.ndarray:
    """Previous-tick sampling of ``values`` on a grid starting at the first finite value.

    Args:
        ts: int64 [m] sample times (non-decreasing).
        values: float64 [m].
        step_ns: grid step (ns).
        end_ns: last time covered.

    Returns:
        float64 [g]: value in force at ``t0 + j·step`` for j = 0..⌊(end − t0)/step⌋ (t0 = first finite sample).
    """
    ok = np.flatnonzero(np.isfinite(values))
    if not len(ok) or step_ns <= 0:
        return np.zeros(0)
    t0 = int(ts[ok[0]])
    if end_ns < t0:
        return np.zeros(0)
    grid = t0 + step_ns * np.arange((end_ns - t0) // step_ns + 1, dtype=np.int64)
    pos = np.searchsorted(ts, grid, side="right") - 1
    return values[pos]


def log_returns(series: StreamSeries, horizon_s: float) -> np.ndarray:
    """Non-overlapping log returns of the mid at ``horizon_s`` on the stream's clock grid (finite only)."""
    g = grid_values(series.ts, series.mid, int(round(horizon_s * NS_PER_SECOND)), series.end_ns)
    if len(g) < 2:
        return np.zeros(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.diff(np.log(g))
    return r[np.isfinite(r)]


@dataclass
class SourceQuantities:
    """Everything measured on one source (real, or one generator), pooled over its streams.

    Attributes:
        returns: ``{horizon_s: [per-stream arrays]}`` log returns (segments kept apart for the ACF).
        samples: ``{quantity: float64 array}`` for every name in ``QUANTITIES``.
        streams: number of streams; mid_source: ``"book"``/``"vwap"``; tick_size (1e-9 units).
        info: ``{"event_types": {LOBSTER message type: rows}}`` over the streams (``evaluation.flow``).
    """

    returns: dict[float, list[np.ndarray]]
    samples: dict[str, np.ndarray]
    streams: int
    mid_source: str
    tick_size: int | None
    info: dict = field(default_factory=dict)


def source_quantities(series: list[StreamSeries], config: EvalConfig, tick_size: int | None) -> SourceQuantities:
    """Pool the quantities of ``series`` (one source) into samples for distances and stylized facts."""
    returns = {h: [log_returns(s, h) for s in series] for h in config.all_horizons()}

    def cat(xs):
        xs = [np.asarray(x, dtype=np.float64) for x in xs]
        v = np.concatenate(xs) if xs else np.zeros(0)
        return v[np.isfinite(v)]

    spread = cat([s.spread for s in series])
    spread = spread / tick_size if tick_size else spread / 1e9
    samples = {
        "log_return_1s": cat(returns[1.0]),
        "log_return_10s": cat(returns[10.0]),
        "log_return_60s": cat(returns[60.0]),
        "spread": spread,
        "inter_arrival": cat([s.inter_arrival for s in series]),
        "order_size": cat([s.order_size for s in series]),
        "price_depth": cat([s.price_depth for s in series]),
        "time_to_cancel": cat([s.messages.time_to_cancel for s in series if s.messages is not None]),
    }
    srcs = sorted({s.mid_source for s in series})
    types = {t: sum(s.messages.type_counts()[t] for s in series if s.messages is not None) for t in EVENT_TYPE_NAMES}
    return SourceQuantities(returns, samples, len(series), "+".join(srcs), tick_size, {"event_types": types})


# ---- loading sources ---------------------------------------------------------------------------
def _event_files(folder: Path) -> list[Path]:
    from ..io.paths import detect_format

    out = []
    for p in sorted(folder.rglob("*")):
        if not p.is_file() or p.name == "meta.json":
            continue
        try:
            fmt = detect_format(p)
        except DataError:
            continue
        if fmt != "lobster-orderbook":
            out.append(p)
    return out


def _prefix_from_meta(meta: dict, folder: Path, real: EventTable | None) -> EventTable | None:
    """The real prefix a generate run conditioned on: from meta's data files, else from ``real``."""
    import datetime as dt

    from ..prefix import select_prefix

    start = dt.time.fromisoformat(meta["start"])
    tz = meta.get("tz", "America/New_York")
    sess = meta.get("session", {})
    candidates = []
    data = meta.get("data") or []
    for base in (Path.cwd(), folder, folder.parent):
        paths = [p if Path(p).is_absolute() else base / p for p in data]
        if paths and all(Path(p).exists() for p in paths):
            candidates.append(paths)
            break
    events = None
    if candidates:
        from ..io import read_events

        events = read_events([str(p) for p in candidates[0]], progress=False)
    elif real is not None:
        events = real
    if events is None:
        return None
    if sess.get("instrument_id") is not None:
        events = events[events.instrument_id == int(sess["instrument_id"])]
    if not len(events):
        return None
    from ..features import split_sessions

    for s in split_sessions(events):
        if sess.get("date") in (None, s.date):
            try:
                _, prefix, _ = select_prefix(s.events, start, tz, str(folder))
            except DataError:
                continue
            n = int(meta.get("prefix_events", len(prefix)))
            return prefix if n == len(prefix) else prefix[len(prefix) - min(n, len(prefix)):]
    return None


def load_generated(folder: str | os.PathLike, real: EventTable | None = None) -> tuple[list, EventTable | None, dict]:
    """The rollouts of a ``tradefm generate -o DIR`` folder.

    Args:
        folder: the folder (``rollout_*.mbo.csv.zst`` or LOBSTER message files, any format
            ``io.read_file`` reads; ``meta.json`` optional).
        real: real events to take the conditioning prefix from when meta.json's data files are not
            found (they are usually the same files as ``--real``).

    Returns:
        (list of (name, EventTable), prefix EventTable or None, meta dict).

    Raises:
        DataError: the folder has no event file.
    """
    from ..io import read_file

    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(folder, "not a folder (expected the output folder of `tradefm generate -o DIR`)")
    files = _event_files(folder)
    if not files:
        raise DataError(folder, "no event file (rollout_*.mbo.csv.zst, .dbn.zst, LOBSTER _message_ files) in the folder")
    meta = {}
    if (folder / "meta.json").exists():
        try:
            meta = json.loads((folder / "meta.json").read_text())
        except json.JSONDecodeError as exc:
            raise DataError(folder / "meta.json", f"not valid JSON ({exc})") from None
    prefix = None
    if meta.get("start"):
        try:
            prefix = _prefix_from_meta(meta, folder, real)
        except (DataError, ValueError, KeyError) as exc:
            print(f"warning: {folder}: cannot rebuild the conditioning prefix ({exc})", file=sys.stderr)
    rollouts = [(str(p.relative_to(folder)), read_file(p).events) for p in files]
    return rollouts, prefix, meta


def split_streams(events: EventTable, feature_config=None) -> list[tuple[str, EventTable]]:
    """One stream per (instrument, trading date) session, labelled ``SYMBOL DATE``."""
    from ..features import split_sessions

    return [(f"{s.symbol} {s.date}", s.events) for s in split_sessions(events, feature_config)]


__all__ = [
    "EvalConfig",
    "QUANTITIES",
    "QUANTITY_UNITS",
    "SourceQuantities",
    "StreamSeries",
    "grid_values",
    "infer_tick_size",
    "load_generated",
    "log_returns",
    "source_quantities",
    "split_streams",
    "stream_series",
]
