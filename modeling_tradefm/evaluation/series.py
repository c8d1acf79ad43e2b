# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""From any event stream to the evaluated quantities: mid on a clock grid, returns, spreads, flow.

A *stream* is one instrument-session of events: a real session, or one rollout (plus the real
prefix it was conditioned on, which only seeds the book and the EW-VWAP and is never evaluated).

**The book** (best quotes and the volume at them) comes from :func:`modeling_tradefm.book.top_of_book`,
the package's one rule, from the best source a stream has:

* a **LOBSTER orderbook file** beside the message file (same stem, ``_orderbook_N``; read with
  ``orderbook="auto"``): the venue's book after every message, exact. This is the only truth for
  a level-1 file, whose messages do not determine the book (``tradefm replay --check`` finds 98 %
  of AMZN's cells undetermined: replayed, its book almost never has both sides).
* **replay** through :class:`modeling_tradefm.simulator.Simulator` for every other source:
  Databento MBO, LOBSTER without an orderbook file, and rollouts — replayed from the SAME book the
  rollout started from (``book.starting_book``, rebuilt from ``meta.json``'s ``start_book``).

Which source each stream used is reported (``info["book"]``), and a quantity that cannot be
measured for a source is reported with the reason in words (``info["unavailable"]``), never as a
silent empty row.

**Mid price.** ``EvalConfig.mid = "book"`` (default, the one the report uses): ``(best bid + best
ask)/2`` of that book. The book is read only after
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

**Top-of-book depth** (shares): the volume at the best bid and at the best ask (two samples per
sampled record with both sides present).

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

QUANTITIES = ("log_return_1s", "log_return_10s", "log_return_60s", "spread", "top_depth", "inter_arrival",
              "order_size", "price_depth", "time_to_cancel")
QUANTITY_UNITS = {"log_return_1s": "log return", "log_return_10s": "log return", "log_return_60s": "log return",
                  "spread": "ticks", "top_depth": "shares", "inter_arrival": "s", "order_size": "shares",
                  "price_depth": "bps", "time_to_cancel": "s"}
_BOOK_QUANTITIES = ("spread", "top_depth")
_FLOW_QUANTITIES = ("inter_arrival", "order_size", "price_depth", "time_to_cancel")

# Why a quantity has no sample (reported in words; see ``unavailable_reasons``).
WHY_REPLAY_ONE_SIDED = ("the book replayed from the messages never has both sides: a LOBSTER level-N message file "
                        "does not determine its book; put its orderbook file beside it (same stem, _orderbook_N) "
                        "and the real book is read from there")
WHY_ORDERBOOK_ONE_SIDED = "the orderbook file never shows both sides of the book"
WHY_NO_EXECUTION = "no execution, so the EW-VWAP mid never starts"
WHY_NO_FLOW = "no modeled order: orders are modeled from the first execution on, and the stream has none"
# Share of messages whose cancel/execution finds no order to take beyond which a replayed book is
# flagged as not determined by its records: AMZN's level-1 day 16 %, the AAPL 50-level hour 0.1 %,
# complete sources (Databento MBO from a snapshot, rollouts from their starting book) 0.
UNSEEN_TOLERANCE = 0.01


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
        depth: float64 [m, 2] volume at the best bid and ask (NaN unless both sides are present).
        book_source: ``"orderbook"`` (LOBSTER orderbook file), ``"replay"``, or ``None`` (no book).
        no_book: why there is no book (``book_source is None``), in words.
        warning: a replayed book the records do not determine (``TopOfBook.unseen``), in words.
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
    depth: np.ndarray | None = None
    book_source: str | None = None
    no_book: str | None = None
    warning: str | None = None

    def __post_init__(self) -> None:
        if self.depth is None:
            self.depth = np.full((len(self.ts), 2), np.nan)
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
                            self.depth[m], self.book_source, self.no_book, self.warning, msgs)

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
    *,
    orderbook: np.ndarray | None = None,
    start_book=None,
    no_book: str | None = None,
) -> StreamSeries:
    """Book/EW-VWAP mid, spread, top-of-book depth and modeled-event fields of one stream.

    Args:
        events: one instrument's events in feed order (a session, or one rollout's log).
        prefix: real events before ``events`` (a rollout's conditioning prefix, or a session's past
            before ``--after-prefix``): they seed the EW-VWAP and the order-flow features (and,
            without ``start_book``, the replayed book), and are never evaluated.
        config: :class:`EvalConfig` (``mid``, ``feature_config``).
        name: label for reports.
        has_book: False when the book cannot be rebuilt (a rollout whose starting book is lost: its
            executions hit orders the replay never saw). The mid is then the EW-VWAP and spread and
            depth are missing; ``no_book`` says why.
        orderbook: the LOBSTER orderbook rows of the message file ``events`` come from: the book is
            read from there (exact) instead of replayed.
        start_book: the book before ``events`` (a ``Simulator``; copied): a rollout's starting book
            (``book.starting_book``). Default: the replay of ``prefix``.
        no_book: the reason when ``has_book`` is False (reported).

    Returns:
        :class:`StreamSeries` over the window [first evaluated record, last record].
    """
    from ..book import top_of_book

    config = config or EvalConfig()
    if len(events) == 0:
        raise ValueError(f"stream {name!r} has no events")
    if len(np.unique(events.instrument_id)) > 1:
        raise ValueError(f"stream {name!r} holds several instruments; evaluate one instrument per stream")
    half_life = getattr(config.feature_config, "vwap_half_life_s", 10.0)
    sample = _sample_mask(events)
    top = None
    if orderbook is not None:
        top = top_of_book(events, orderbook)
    elif has_book:
        if start_book is None and prefix is not None and len(prefix):
            from ..simulator import Simulator

            start_book = Simulator.from_events(prefix)
        top = top_of_book(events, initial=start_book)
    if top is not None:
        spread = top.spread()
        two = top.two_sided
        depth = np.where(two[:, None], np.stack([top.bid_size, top.ask_size], axis=1), np.nan)
        mid_source = config.mid
        mid = top.mid() if mid_source == "book" else _vwap_after_each(events, prefix, half_life)
    else:
        spread = np.full(len(events), np.nan)
        depth = np.full((len(events), 2), np.nan)
        mid_source = "vwap"
        mid = _vwap_after_each(events, prefix, half_life)
    flow = _flow(events, prefix, config.feature_config)
    ok = np.flatnonzero(np.isfinite(mid) & sample)
    start = int(events.ts_recv[ok[0]]) if len(ok) else int(events.ts_recv[0])
    if len(flow[0]):
        start = min(start, int(flow[0][0]))
    messages = max(1, len(np.unique(events.sequence)))
    warning = None
    if top is not None and top.unseen > UNSEEN_TOLERANCE * messages:
        warning = (f"{name}: the replayed book is not the venue's: {top.unseen} cancels/executions "
                   f"({100 * top.unseen / messages:.1f} % of messages) hit orders the records never showed, so its "
                   "spreads, depth and mid are unreliable (a LOBSTER message file: put its orderbook file beside "
                   "it, same stem _orderbook_N)")
    end = int(events.ts_recv[-1])
    return StreamSeries(name, events.ts_recv[sample], mid[sample], spread[sample], *flow, mid_source=mid_source,
                        start_ns=start, end_ns=end, depth=depth[sample],
                        book_source=None if top is None else top.source,
                        no_book=None if top is not None else (no_book or "no book for this stream"), warning=warning,
                        messages=message_flow(events, prefix).window(start, end + 1))



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
    """Pool the quantities of ``series`` (one source) into samples for distances and stylized facts.

    ``info`` holds ``"book"`` (the book sources used, e.g. ``"orderbook"``) and ``"unavailable"``
    (``{quantity: reason}`` for every quantity without a sample, :func:`unavailable_reasons`).
    """
    returns = {h: [log_returns(s, h) for s in series] for h in config.all_horizons()}

    def cat(xs):
        xs = [np.asarray(x, dtype=np.float64).ravel() for x in xs]
        v = np.concatenate(xs) if xs else np.zeros(0)
        return v[np.isfinite(v)]

    spread = cat([s.spread for s in series])
    spread = spread / tick_size if tick_size else spread / 1e9
    samples = {
        "log_return_1s": cat(returns[1.0]),
        "log_return_10s": cat(returns[10.0]),
        "log_return_60s": cat(returns[60.0]),
        "spread": spread,
        "top_depth": cat([s.depth for s in series]),
        "inter_arrival": cat([s.inter_arrival for s in series]),
        "order_size": cat([s.order_size for s in series]),
        "price_depth": cat([s.price_depth for s in series]),
        "time_to_cancel": cat([s.messages.time_to_cancel for s in series if s.messages is not None]),
    }
    srcs = sorted({s.mid_source for s in series})
    books = sorted({s.book_source or "none" for s in series})
    types = {t: sum(s.messages.type_counts()[t] for s in series if s.messages is not None) for t in EVENT_TYPE_NAMES}
    info = {"book": "+".join(books), "unavailable": unavailable_reasons(series, samples),
            "warnings": [s.warning for s in series if s.warning], "event_types": types}
    return SourceQuantities(returns, samples, len(series), "+".join(srcs), tick_size, info)


def unavailable_reasons(series: list[StreamSeries], samples: dict[str, np.ndarray]) -> dict[str, str]:
    """``{quantity: why it has no sample}`` for every quantity of ``samples`` that is empty.

    The reason names the cause that holds for the source's streams: no book (and why), a book that
    never has both sides (replayed or read from an orderbook file), no mid (no execution for the
    EW-VWAP), streams shorter than a return horizon, or no modeled order.
    """
    out = {}
    mids = any(np.isfinite(s.mid).any() for s in series)
    two_sided = any(np.isfinite(s.spread).any() for s in series)
    no_book = sorted({s.no_book for s in series if s.book_source is None and s.no_book})
    book_sources = {s.book_source for s in series if s.book_source}

    def book_reason() -> str:
        if no_book and not book_sources:
            return "no book: " + "; ".join(no_book)
        if "replay" in book_sources:
            return WHY_REPLAY_ONE_SIDED
        return WHY_ORDERBOOK_ONE_SIDED

    for q, v in samples.items():
        if len(v):
            continue
        if q in _BOOK_QUANTITIES:
            out[q] = book_reason()
        elif q in _FLOW_QUANTITIES:
            out[q] = WHY_NO_FLOW
        elif q.startswith("log_return"):
            h = float(q.removeprefix("log_return_").removesuffix("s"))
            book_mid = any(s.mid_source == "book" for s in series)
            if not mids:
                out[q] = "no mid price: " + (book_reason() if book_mid and not two_sided else WHY_NO_EXECUTION)
            else:
                span = max((s.end_ns - s.start_ns) / NS_PER_SECOND for s in series)
                valid = sum(int(np.isfinite(s.mid).sum()) for s in series) / max(1, sum(len(s.mid) for s in series))
                out[q] = (f"every stream is shorter than the {h:g} s horizon (longest: {span:.1f} s)" if span < h
                          else f"no two consecutive {h:g} s grid points with a mid (the book has both sides after "
                               f"{100 * valid:.1f} % of the sampled records; longest stream {span:.0f} s)")
    return out


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


def _prefix_from_meta(meta: dict, folder: Path, real_sessions=None):
    """The ``prefix.Prefix`` a generate run started from: from meta's data files, else from ``real_sessions``.

    Args:
        real_sessions: ``prefix.read_sessions`` of the ``--real`` files (with their orderbooks).

    Returns:
        The Prefix (its orderbook when its file has one beside it), or ``None`` when not found.
    """
    import datetime as dt

    from ..prefix import Prefix, load_prefix, select_prefix

    start = dt.time.fromisoformat(meta["start"])
    tz = meta.get("tz", "America/New_York")
    sess = meta.get("session", {})
    iid = None if sess.get("instrument_id") is None else int(sess["instrument_id"])
    date = sess.get("date")
    data = meta.get("data") or []
    found = None
    for base in (Path.cwd(), folder, folder.parent):
        paths = [p if Path(p).is_absolute() else base / p for p in data]
        if paths and all(Path(p).exists() for p in paths):
            found = [str(p) for p in paths]
            break
    if found:
        pre = load_prefix(found if len(found) > 1 else found[0], start, tz, instrument_id=iid, date=date,
                          source=str(folder))
    else:
        pre = None
        for b in real_sessions or []:
            if (iid is None or b.session.instrument_id == iid) and date in (None, b.session.date):
                try:
                    _, ev, start_ns = select_prefix(b.session.events, start, tz, str(folder))
                except DataError:
                    continue
                pre = Prefix(b.session, ev, start_ns, b.orderbook, b.orderbook_path)
                break
        if pre is None:
            return None
    n = int(meta.get("prefix_events", len(pre.events)))
    if n != len(pre.events):
        pre.events = pre.events[len(pre.events) - min(n, len(pre.events)):]
    return pre


@dataclass
class GeneratedSource:
    """A ``tradefm generate`` folder as the evaluation measures it.

    Attributes:
        rollouts: ``[(file name, EventTable)]``.
        prefix: the real events the rollouts were conditioned on, or ``None`` (not found).
        meta: ``meta.json`` (``{}`` without one).
        start_book: the book the rollouts started from (``book.starting_book``, rebuilt the way
            ``meta.json``'s ``start_book`` says), or ``None`` when it cannot be rebuilt.
        no_book: why ``start_book`` is ``None``, in words.
    """

    rollouts: list
    prefix: EventTable | None
    meta: dict
    start_book: object | None = None
    no_book: str | None = None


def load_generated_source(folder: str | os.PathLike, real_sessions=None) -> GeneratedSource:
    """The rollouts of a ``tradefm generate -o DIR`` folder and the book they started from.

    Args:
        folder: the folder (``rollout_*.mbo.csv.zst`` or LOBSTER message files, any format
            ``io.read_file`` reads; ``meta.json`` optional).
        real_sessions: ``prefix.read_sessions`` of the real data, to take the conditioning prefix
            (and its orderbook) from when meta.json's data files are not found.

    Raises:
        DataError: the folder has no event file, or a bad meta.json.
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
    rollouts = [(str(p.relative_to(folder)), read_file(p).events) for p in files]
    pre, why = None, "meta.json names no rollout start" if not meta.get("start") else None
    if meta.get("start"):
        try:
            pre = _prefix_from_meta(meta, folder, real_sessions)
        except (DataError, ValueError, KeyError) as exc:
            why = f"cannot rebuild the conditioning prefix ({exc})"
            print(f"warning: {folder}: {why}", file=sys.stderr)
        if pre is None and why is None:
            why = "the conditioning prefix's data (meta.json 'data') is not found, nor in the --real files"
    if pre is None:
        return GeneratedSource(rollouts, None, meta, None, f"the rollouts' starting book cannot be rebuilt: {why}")
    book, why = _rebuild_start_book(meta, pre, folder)
    return GeneratedSource(rollouts, pre.events, meta, book, why)


def _rebuild_start_book(meta: dict, pre, folder: Path):
    """(the starting book, None) as ``meta["start_book"]`` describes it, or (None, why it cannot be rebuilt)."""
    from ..book import starting_book

    want = meta.get("start_book") or {"source": "replay"}  # runs before start_book was recorded: replay
    kwargs = {"cancel_priority": meta["cancel_rule"]} if meta.get("cancel_rule") else {}
    if want.get("source") != "orderbook":
        return starting_book(pre.events, None, **kwargs), None
    if pre.orderbook is None:
        why = (f"the rollouts started from the venue's visible book ({want.get('orderbook')}, row {want.get('row')}), "
               "and that orderbook file is not beside the prefix's message file now")
        print(f"warning: {folder}: {why}; their book is not measured", file=sys.stderr)
        return None, why
    if want.get("row") is not None and int(want["row"]) != pre.orderbook_row + 1:
        why = (f"meta.json says the rollouts started at orderbook row {want['row']}, the prefix rebuilt now ends at "
               f"row {pre.orderbook_row + 1}")
        print(f"warning: {folder}: {why}; their book is not measured", file=sys.stderr)
        return None, why
    return starting_book(pre.events, pre.orderbook, pre.orderbook_path, **kwargs), None


def load_generated(folder: str | os.PathLike, real: EventTable | None = None) -> tuple[list, EventTable | None, dict]:
    """``(rollouts, prefix, meta)`` of a ``tradefm generate -o DIR`` folder (:func:`load_generated_source`).

    Args:
        folder: the folder.
        real: real events to take the conditioning prefix from when meta.json's data files are not
            found (without orderbooks; the evaluation passes ``prefix.read_sessions`` to
            :func:`load_generated_source` instead).
    """
    sessions = None
    if real is not None:
        from ..features import split_sessions
        from ..prefix import BookedSession

        sessions = [BookedSession(s) for s in split_sessions(real)]
    g = load_generated_source(folder, sessions)
    return g.rollouts, g.prefix, g.meta


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
    "load_generated_source",
    "source_quantities",
    "split_streams",
    "stream_series",
    "unavailable_reasons",
]
