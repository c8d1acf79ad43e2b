# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""Sessions and the paper's scale-invariant features (TradeFM §5.3; PAPER.md §2).

Pipeline: ``EventTable`` → :func:`split_sessions` (one :class:`Session` per ``(instrument_id,
trading date)``) → :func:`build_features` (one :class:`SessionFeatures` per session). Nothing
crosses a session boundary: the EW-VWAP, ``Δt``, ``p_open`` all restart with each session.

Choices where the paper is silent (all configurable through :class:`FeatureConfig`):

**Trading date.** By default the UTC calendar date of ``ts_recv``. ``session_timezone`` and
``session_roll_hour`` move it: an event at local time ≥ ``session_roll_hour`` belongs to the *next*
date, so ``FeatureConfig.cme()`` (America/Chicago, roll at 16:00, the daily maintenance break)
puts the Sunday/evening Globex hours into the next trade date, as CME does.

**Executions, each counted once.** Databento MBO reports one execution several times: a ``T``
record (aggressor side), one ``F`` per resting order filled, then a ``C``/``M`` on each resting
order reducing it (on CME often in the *next* packet, so a different ``sequence``). The LOBSTER
reader emits the same T + F + C pattern for a type-4 row. Execution records are grouped by
``(sequence, ts_recv)``: a group with ``T`` records contributes its ``T`` records (one per price
level hit), a group without any ``T`` contributes its ``F`` records. Snapshot (``F_SNAPSHOT``)
records and records with the UNDEF price never count.

**EW-VWAP mid** (causal; the recursion is shared with the simulator through :class:`EWVWAP`):
on each counted execution at time ``t`` (seconds), price ``p``, size ``q``:
``w = 0.5 ** ((t − t_prev) / half_life)``, ``num = w·num + p·q``, ``den = w·den + q``,
``mid = num / den``. The half-life defaults to 10 s: the paper does not give one, and 10 s is the
choice of the public replication LinearBasis/tradefm (time-based, reset each day). Between executions the value is constant (num and den decay by the same factor).
**Start-up rule:** before a session's first execution there is no mid, so modeled events before
it (and the first aggressor execution itself) are not emitted; they are counted as
``before_first_execution``. ``startup="backfill"`` instead gives them the first execution's price
(a look-ahead of at most one execution; for short files only).

**Modeled events** (the paper predicts add and cancel only):

* ``A`` → add. ``C`` → cancel of the record's size (Databento: the whole remaining size; LOBSTER
  type 2: the cancelled part).
* ``M`` (``modify_policy="cancel_add"``, default): a size decrease at an unchanged price is a
  partial cancel of the difference (the venue keeps queue priority); an unchanged modify is
  skipped (``modify_unchanged``); a price change or size increase is a cancel of the old
  price/size followed by an add of the new (priority is lost, as on the venue). An ``M`` of an
  order whose earlier state is unknown becomes an add of its new size. ``"add"``: every ``M`` is an
  add of its new price/size. ``"drop"``: ``M`` records are skipped.
* Execution bookkeeping is excluded: a ``C``/``M`` that reduces an order by no more than the fills
  (``F``) reported on it and not yet reflected is the venue's reduction, not a trader's cancel
  (``execution_bookkeeping``); any excess is a real cancel. Records without an order id fall back
  to "same ``(sequence, ts_recv)`` as the last execution record".
* Each aggressor execution becomes one **marketable add** on the aggressor side: consecutive ``T``
  records with the same ``(sequence, ts_recv, side, order_id)`` are one add whose size is their
  sum and whose price is the last (least favourable) execution price, so replaying it through a
  matching engine crosses every level that was hit. Without these, a model trained on A/C never
  sends a market order and no trade ever happens in the closed loop. ``T`` records without an
  aggressor side (auction/cross, side ``N``) update the EW-VWAP but are not modeled.
* Snapshot records are the book's state, not flow: excluded (they seed order state for ``M``).

**Per event** (arrays of one session, in feed order): ``δp = (p_order − mid)/mid`` with ``mid``
the EW-VWAP *before* the event; ``v = log(1 + size)``; ``Δt`` = seconds since the previous modeled
event (``ts_recv``; the first event of a session has 0, negatives are clamped to 0);
``Δp = (mid_after − p_open)/p_open`` with ``mid_after`` the EW-VWAP *after* the event (differs from
``mid`` only for marketable adds) and ``p_open`` the EW-VWAP in force at the session's first
modeled event (so the first non-execution event has ``Δp = 0``).

**Liquidity tier** from a rolling ADV: daily volume = the counted executed size of a session; ADV
of a session = mean daily volume over the previous ``adv_window_days`` sessions of the same
instrument (the current day excluded, so it is causal); tier = number of cut points ≤ ADV (3
tiers for 2 cuts). Default cuts (250,000; 2,500,000) shares/contracts per day are round numbers
separating thin, mid and heavily traded US-listed names; they are a starting point, not fitted on
a universe here — :func:`tier_cuts_from_adv` computes terciles of your own ADVs. **First day**
(no earlier session of that instrument, and no ``adv_history``): ``adv_fallback="session"`` (default)
uses the session's own volume (a same-day look-ahead of one number per day); ``"middle"`` assigns
tier 1.

**Participant flag** ``I_MP``: the record's ``participant`` column (0 for real data).
"""

from __future__ import annotations

import datetime as _dt
import math
import os
from dataclasses import dataclass, field, fields
from typing import Iterable, Sequence

import numpy as np

from . import _kernels
from .events import NS_PER_SECOND, EventTable

_NS_PER_DAY = 86_400 * NS_PER_SECOND
_NS_PER_HOUR = 3_600 * NS_PER_SECOND
_MODIFY_POLICIES = {"cancel_add": _kernels.MODIFY_CANCEL_ADD, "add": _kernels.MODIFY_ADD, "drop": _kernels.MODIFY_DROP}


@dataclass
class FeatureConfig:
    """Settings of the feature pass (see the module docstring for each rule).

    Attributes:
        vwap_half_life_s: EW-VWAP half-life in seconds (default 10).
        adv_window_days: sessions of the same instrument averaged into the ADV (default 20).
        tier_cuts: increasing ADV cut points (shares/contracts per day); ``len + 1`` tiers.
        adv_fallback: ``"session"`` or ``"middle"``: the tier of an instrument's first session.
        session_timezone: IANA zone in which the trading date is taken (default ``"UTC"``).
        session_roll_hour: local hour (1..23) from which events belong to the next date; ``None``
            = calendar date.
        modify_policy: ``"cancel_add"`` (default), ``"add"`` or ``"drop"``.
        startup: ``"drop"`` (default) or ``"backfill"``: events before the first execution.
    """

    vwap_half_life_s: float = 10.0
    adv_window_days: int = 20
    tier_cuts: tuple[float, ...] = (250_000.0, 2_500_000.0)
    adv_fallback: str = "session"
    session_timezone: str = "UTC"
    session_roll_hour: int | None = None
    modify_policy: str = "cancel_add"
    startup: str = "drop"

    def __post_init__(self) -> None:
        if not self.vwap_half_life_s > 0:
            raise ValueError(f"vwap_half_life_s must be > 0, got {self.vwap_half_life_s}")
        if self.adv_window_days < 1:
            raise ValueError(f"adv_window_days must be ≥ 1, got {self.adv_window_days}")
        self.tier_cuts = tuple(float(c) for c in self.tier_cuts)
        if any(b <= a for a, b in zip(self.tier_cuts, self.tier_cuts[1:])):
            raise ValueError(f"tier_cuts must be strictly increasing, got {self.tier_cuts}")
        if self.adv_fallback not in ("session", "middle"):
            raise ValueError(f"adv_fallback must be 'session' or 'middle', got {self.adv_fallback!r}")
        if self.modify_policy not in _MODIFY_POLICIES:
            raise ValueError(f"modify_policy must be one of {sorted(_MODIFY_POLICIES)}, got {self.modify_policy!r}")
        if self.startup not in ("drop", "backfill"):
            raise ValueError(f"startup must be 'drop' or 'backfill', got {self.startup!r}")
        if self.session_roll_hour is not None and not 1 <= int(self.session_roll_hour) <= 23:
            raise ValueError(f"session_roll_hour must be in 1..23 or None, got {self.session_roll_hour}")
        if self.session_timezone != "UTC":
            from zoneinfo import ZoneInfo

            ZoneInfo(self.session_timezone)  # raises on an unknown zone now, not mid-run

    @property
    def n_tiers(self) -> int:
        return len(self.tier_cuts) + 1

    @classmethod
    def cme(cls, **overrides) -> FeatureConfig:
        """CME Globex trade dates: America/Chicago, the date rolls at 16:00 local."""
        return cls(**{"session_timezone": "America/Chicago", "session_roll_hour": 16, **overrides})

    def to_dict(self) -> dict:
        return {f.name: (list(v) if isinstance(v := getattr(self, f.name), tuple) else v) for f in fields(self)}

    @classmethod
    def from_dict(cls, d: dict) -> FeatureConfig:
        return cls(**d)


# ---------------------------------------------------------------------------------------------
# EW-VWAP
# ---------------------------------------------------------------------------------------------
class EWVWAP:
    """Incremental EW-VWAP mid (the recursion of the module docstring), for the simulator.

    Prices may be in any unit (1e-9 integers, currency); :attr:`value` is in the same unit.
    ``value`` is ``None`` before the first update; a simulator may seed it from its book mid with
    :meth:`seed` (that seed then carries weight ``seed_size``).

    Args:
        half_life_s: half-life of the weights in seconds.
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

    def seed(self, ts_ns: int, price: float, seed_size: float = 1.0) -> None:
        """Start from ``price`` (e.g. a book mid) when no execution has been seen yet."""
        self.num, self.den, self.t_prev = float(price) * seed_size, float(seed_size), int(ts_ns)

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


def ewvwap(ts_ns: np.ndarray, price: np.ndarray, size: np.ndarray, half_life_s: float = 10.0) -> np.ndarray:
    """Vectorised (compiled) EW-VWAP over a series of counted executions.

    Args:
        ts_ns: int64 [m] execution times (ns), non-decreasing.
        price: [m] prices (any unit).
        size: [m] sizes (> 0).
        half_life_s: half-life (s).

    Returns:
        float64 [m]: the value after each execution, identical to repeated :meth:`EWVWAP.update`.
    """
    return _kernels.ewvwap_series(
        np.ascontiguousarray(ts_ns, np.int64), np.ascontiguousarray(price, np.float64),
        np.ascontiguousarray(size, np.float64), float(half_life_s),
    )


def counted_executions(events: EventTable) -> np.ndarray:
    """Which records feed the EW-VWAP: each execution once (see the module docstring).

    Args:
        events: one session (feed order).

    Returns:
        bool [n]: ``T`` records of groups that have one, else the ``F`` records; never snapshots,
        UNDEF prices or zero sizes. Groups are runs of equal ``(sequence, ts_recv)`` among
        execution records.
    """
    return _execution_groups(events)[0]


def _execution_groups(events: EventTable) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return _kernels.execution_groups(
        events.ts_recv, events.action, events.side, events.price, events.size, events.flags, events.sequence,
        events.order_id,
    )


# ---------------------------------------------------------------------------------------------
# Sessions
# ---------------------------------------------------------------------------------------------
@dataclass
class Session:
    """The events of one ``(instrument_id, trading date)``, in feed order."""

    instrument_id: int
    symbol: str
    date: str
    events: EventTable

    def __len__(self) -> int:
        return len(self.events)


def trading_day(ts_recv: np.ndarray, config: FeatureConfig | None = None) -> np.ndarray:
    """Trading date of each timestamp as days since 1970-01-01 (int64), per the config's rule.

    The UTC offset of ``session_timezone`` is looked up once per distinct UTC hour (zone
    transitions fall on whole UTC hours for the exchanges we read), so the cost is vectorised.
    """
    config = config or FeatureConfig()
    ts = np.asarray(ts_recv, dtype=np.int64)
    local = ts
    if config.session_timezone != "UTC" and len(ts):
        from zoneinfo import ZoneInfo

        tz = ZoneInfo(config.session_timezone)
        hours, inverse = np.unique(ts // _NS_PER_HOUR, return_inverse=True)
        offsets = np.array(
            [
                int(_dt.datetime.fromtimestamp(int(h) * 3600, tz=_dt.timezone.utc).astimezone(tz).utcoffset().total_seconds())
                for h in hours
            ],
            dtype=np.int64,
        )
        local = ts + offsets[inverse] * NS_PER_SECOND
    if config.session_roll_hour is not None:
        local = local + (24 - int(config.session_roll_hour)) * _NS_PER_HOUR
    return np.floor_divide(local, _NS_PER_DAY)


def _day_str(day: int) -> str:
    return str(np.datetime64(int(day), "D"))


def split_sessions(events: EventTable, config: FeatureConfig | None = None) -> list[Session]:
    """Split events into sessions, one per ``(instrument_id, trading date)``.

    Args:
        events: any EventTable; rows keep their relative (feed) order inside each session.
        config: the trading-date rule (``session_timezone``, ``session_roll_hour``).

    Returns:
        Sessions sorted by ``(instrument_id, date)``.
    """
    if len(events) == 0:
        return []
    day = trading_day(events.ts_recv, config)
    iid = events.instrument_id.astype(np.int64)
    if iid[0] == iid[-1] and day[0] == day[-1] and (iid == iid[0]).all() and (day == day[0]).all():
        return [Session(int(iid[0]), events.symbol_of(iid[0]), _day_str(day[0]), events)]
    change = np.flatnonzero((iid[1:] != iid[:-1]) | (day[1:] != day[:-1])) + 1
    starts = np.concatenate([[0], change])
    run_keys = iid[starts] * 1_000_000 + day[starts]
    if len(np.unique(run_keys)) == len(starts):
        # Each session is one contiguous run (the usual one-file-per-day case): slices are views.
        ends = np.concatenate([change, [len(iid)]])
        out = [
            Session(int(iid[a]), events.symbol_of(iid[a]), _day_str(day[a]), events[int(a):int(b)])
            for a, b in zip(starts, ends)
        ]
        return sorted(out, key=lambda s: (s.instrument_id, s.date))
    order = np.lexsort((day, iid))  # stable: feed order kept inside a session
    iid_s, day_s = iid[order], day[order]
    cut = np.flatnonzero((iid_s[1:] != iid_s[:-1]) | (day_s[1:] != day_s[:-1])) + 1
    bounds = np.concatenate([[0], cut, [len(order)]])
    out = []
    for a, b in zip(bounds[:-1], bounds[1:]):
        rows = order[a:b]
        out.append(Session(int(iid_s[a]), events.symbol_of(iid_s[a]), _day_str(day_s[a]), events[rows]))
    return out


# ---------------------------------------------------------------------------------------------
# Features
# ---------------------------------------------------------------------------------------------
@dataclass
class SessionFeatures:
    """Modeled events of one session with their features (all arrays of length n, feed order).

    Attributes:
        instrument_id, symbol, date: the session key.
        ts_recv: int64 [n], ns UTC.
        action: uint8 [n], 0 add / 1 cancel.
        side: uint8 [n], 0 buy (bid) / 1 sell (ask).
        price: int64 [n], 1e-9 units.
        size: uint32 [n].
        price_depth: float64 [n], ``δp = (price − mid)/mid`` (a fraction, not bps).
        log_volume: float64 [n], ``log(1 + size)``.
        dt: float64 [n], seconds since the previous modeled event (first = 0).
        mid: float64 [n], EW-VWAP mid before the event, currency units (price / 1e9).
        price_level: float64 [n], ``Δp = (mid_after − p_open)/p_open``.
        tier: int64 [n], liquidity tier 0..n_tiers−1 (constant in a session).
        participant: uint8 [n], the I_MP flag.
        source_row: int64 [n], row of the session's EventTable the event comes from.
        p_open: float, the session's opening EW-VWAP mid (currency units; NaN when empty).
        adv: float, the ADV the tier was taken from (NaN for ``adv_fallback="middle"``).
        daily_volume: int, counted executed size of the session.
        records: int, input records of the session.
        used: int, records that produced ≥ 1 modeled event.
        skipped: dict reason → records; ``records == used + sum(skipped.values())``.
    """

    instrument_id: int
    symbol: str
    date: str
    ts_recv: np.ndarray
    action: np.ndarray
    side: np.ndarray
    price: np.ndarray
    size: np.ndarray
    price_depth: np.ndarray
    log_volume: np.ndarray
    dt: np.ndarray
    mid: np.ndarray
    price_level: np.ndarray
    tier: np.ndarray
    participant: np.ndarray
    source_row: np.ndarray
    p_open: float = math.nan
    adv: float = math.nan
    daily_volume: int = 0
    records: int = 0
    used: int = 0
    skipped: dict[str, int] = field(default_factory=dict)

    ARRAYS = (
        "ts_recv", "action", "side", "price", "size", "price_depth", "log_volume", "dt", "mid",
        "price_level", "tier", "participant", "source_row",
    )

    def __len__(self) -> int:
        return len(self.ts_recv)

    def columns(self) -> dict[str, np.ndarray]:
        return {name: getattr(self, name) for name in self.ARRAYS}

    def to_arrow(self):
        """A ``pyarrow.Table`` of the per-event arrays; session fields go into the schema metadata."""
        import json

        import pyarrow as pa

        meta = {
            "instrument_id": self.instrument_id, "symbol": self.symbol, "date": self.date,
            "p_open": self.p_open, "adv": self.adv, "daily_volume": self.daily_volume,
            "records": self.records, "used": self.used, "skipped": self.skipped,
        }
        table = pa.table({name: pa.array(arr) for name, arr in self.columns().items()})
        return table.replace_schema_metadata({"tradefm_session": json.dumps(meta)})


def tier_cuts_from_adv(adv: Sequence[float] | np.ndarray, n_tiers: int = 3) -> tuple[float, ...]:
    """Equal-count cut points (e.g. terciles) of a universe's ADVs, for ``FeatureConfig.tier_cuts``."""
    adv = np.asarray(adv, dtype=np.float64)
    adv = adv[np.isfinite(adv)]
    if len(adv) < n_tiers:
        raise ValueError(f"need at least {n_tiers} ADV values, got {len(adv)}")
    cuts = np.quantile(adv, np.arange(1, n_tiers) / n_tiers)
    return tuple(float(c) for c in np.maximum.accumulate(cuts))


def _scan(session: Session, config: FeatureConfig, seed_price: float = math.nan) -> dict:
    ev = session.events
    counted, agg_start, agg_end = _execution_groups(ev)
    res = _kernels.scan_session(
        ev.ts_recv, ev.action, ev.side, ev.price, ev.size, ev.order_id, ev.flags, ev.sequence,
        ev.participant, counted, agg_start, agg_end, float(config.vwap_half_life_s),
        _MODIFY_POLICIES[config.modify_policy], float(seed_price),
    )
    src, ts, act, side, price, size, mid_b, mid_a, part, fate, p_first = res
    daily_volume = int(ev.size[counted].sum(dtype=np.int64))
    return dict(
        src=src, ts=ts, act=act, side=side, price=price, size=size, mid_b=mid_b, mid_a=mid_a, part=part,
        fate=fate, p_first=float(p_first), daily_volume=daily_volume,
    )


def _backfill(scan: dict, session: Session, config: FeatureConfig) -> dict:
    """``startup="backfill"``: re-run with the first execution's price as a zero-weight seed mid."""
    if not (scan["fate"] == _kernels.FATE_BEFORE_FIRST_EXEC).any() or not np.isfinite(scan["p_first"]):
        return scan
    # the first counted execution alone gives p_first = its price
    return _scan(session, config, seed_price=scan["p_first"])


def _tiers(sessions: list[Session], volumes: list[int], config: FeatureConfig, adv_history) -> tuple[list[int], list[float]]:
    """Causal ADV tier of each session (previous ``adv_window_days`` sessions of the instrument)."""
    history: dict[int, list[tuple[str, float]]] = {}
    for iid, rows in (adv_history or {}).items():
        history[int(iid)] = sorted((str(d), float(v)) for d, v in rows)
    order = sorted(range(len(sessions)), key=lambda i: (sessions[i].instrument_id, sessions[i].date))
    tiers = [0] * len(sessions)
    advs = [math.nan] * len(sessions)
    cuts = np.asarray(config.tier_cuts, dtype=np.float64)
    for i in order:
        s = sessions[i]
        past = [v for d, v in history.get(s.instrument_id, []) if d < s.date][-config.adv_window_days:]
        if past:
            adv = float(np.mean(past))
        elif config.adv_fallback == "session":
            adv = float(volumes[i])
        else:
            adv = math.nan
        advs[i] = adv
        tiers[i] = (config.n_tiers // 2) if math.isnan(adv) else int(np.searchsorted(cuts, adv, side="right"))
        history.setdefault(s.instrument_id, []).append((s.date, float(volumes[i])))
    return tiers, advs


def build_features(
    events_or_sessions: EventTable | Session | Iterable[Session],
    config: FeatureConfig | None = None,
    *,
    adv_history: dict[int, Iterable[tuple[str, float]]] | None = None,
    progress: bool | None = None,
    num_threads: int | None = None,
) -> list[SessionFeatures]:
    """Scale-invariant features of every session (see the module docstring for every rule).

    Args:
        events_or_sessions: an EventTable (split with :func:`split_sessions`), one Session, or a
            list of Sessions.
        config: :class:`FeatureConfig` (defaults if ``None``).
        adv_history: optional earlier daily volumes per instrument,
            ``{instrument_id: [("YYYY-MM-DD", volume), ...]}``, for the ADV of the first sessions.
        progress: show a tqdm bar over sessions (default: when there are more than 20).
        num_threads: sessions processed in parallel (the compiled kernels release the GIL);
            default ``os.cpu_count()``, 1 = serial. Results do not depend on it.

    Returns:
        One :class:`SessionFeatures` per session, sorted by ``(instrument_id, date)``.
    """
    config = config or FeatureConfig()
    if isinstance(events_or_sessions, EventTable):
        sessions = split_sessions(events_or_sessions, config)
    elif isinstance(events_or_sessions, Session):
        sessions = [events_or_sessions]
    else:
        sessions = list(events_or_sessions)
    sessions.sort(key=lambda s: (s.instrument_id, s.date))
    if progress is None:
        progress = len(sessions) > 20
    def one(s: Session) -> dict:
        scan = _scan(s, config)
        return _backfill(scan, s, config) if config.startup == "backfill" else scan

    threads = min(len(sessions), num_threads or os.cpu_count() or 1)
    if threads > 1:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(threads) as pool:
            results = pool.map(one, sessions)  # ordered like sessions
            if progress:
                from tqdm.auto import tqdm

                results = tqdm(results, total=len(sessions), desc="features", unit="session")
            scans = list(results)
    else:
        iterator = sessions
        if progress:
            from tqdm.auto import tqdm

            iterator = tqdm(sessions, desc="features", unit="session")
        scans = [one(s) for s in iterator]
    tiers, advs = _tiers(sessions, [sc["daily_volume"] for sc in scans], config, adv_history)

    out = []
    for s, sc, tier, adv in zip(sessions, scans, tiers, advs):
        n = len(sc["ts"])
        price_depth, log_volume, dt, price_level, p_open = _kernels.derive_features(
            sc["ts"], sc["price"], sc["size"], sc["mid_b"], sc["mid_a"], _kernels.LOG1P_TABLE
        )
        counts = np.bincount(sc["fate"], minlength=len(_kernels.FATE_NAMES))
        skipped = {name: int(c) for name, c in zip(_kernels.FATE_NAMES[1:], counts[1:]) if c}
        out.append(
            SessionFeatures(
                instrument_id=s.instrument_id,
                symbol=s.symbol,
                date=s.date,
                ts_recv=sc["ts"],
                action=sc["act"],
                side=sc["side"],
                price=sc["price"],
                size=sc["size"].astype(np.uint32),
                price_depth=price_depth,
                log_volume=log_volume,
                dt=dt,
                mid=sc["mid_b"],
                price_level=price_level,
                tier=np.full(n, tier, dtype=np.int64),
                participant=sc["part"],
                source_row=sc["src"],
                p_open=float(p_open),
                adv=adv,
                daily_volume=sc["daily_volume"],
                records=len(s.events),
                used=int(counts[0]),
                skipped=skipped,
            )
        )
    return out


__all__ = [
    "EWVWAP",
    "FeatureConfig",
    "Session",
    "SessionFeatures",
    "build_features",
    "counted_executions",
    "ewvwap",
    "split_sessions",
    "tier_cuts_from_adv",
    "trading_day",
]
