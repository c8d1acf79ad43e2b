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

**EW-VWAP mid** (causal; one compiled recursion, ``_kernels.ewvwap_step``, shared with the simulator):
on each counted execution at time ``t`` (seconds), price ``p``, size ``q``:
``w = 0.5 ** ((t − t_prev) / half_life)``, ``num = w·num + p·q``, ``den = w·den + q``,
``mid = num / den``. The half-life defaults to 10 s: the paper does not give one, and 10 s is the
choice of the public replication LinearBasis/tradefm (time-based, reset each day). Between executions the value is constant (num and den decay by the same factor).
**Start-up rule:** before a session's first execution there is no mid, so modeled events before
it (and the first aggressor execution itself) are not emitted; they are counted as
``before_first_execution``. ``startup="backfill"`` instead gives them the first execution's price
(a look-ahead of at most one execution; for short files only).

**Modeled events** (the paper predicts add and cancel only; :func:`modeled_events` applies these
rules, and both :func:`build_features` and the baselines' ``extract_orders`` are built on it):

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
tiers for 2 cuts, :func:`tier_of_adv`). Default cuts (250,000; 2,500,000) shares/contracts per day
are round numbers separating thin, mid and heavily traded US-listed names; they are a starting
point, not fitted on a universe here — :func:`tier_cuts_from_adv` computes terciles of your own
ADVs. **First day** (no earlier session of that instrument, and no ``adv_history``):
``adv_fallback="session"`` (default) estimates the day's volume from the session itself
(``liquidity.estimate_session_volume``, below; a same-day look-ahead of one number per day, as every
session's own volume is); ``"raw"`` takes the session's volume as it is (the rule before the
estimator); ``"middle"`` assigns tier 1.

**Session volume estimator** (``liquidity.estimate_session_volume``). A session's data often cover
part of the day only — a rollout prefix ends at the rollout start (09:30–11:00 holds about 30 % of
a Nasdaq day's volume), a sample file holds the first hour — and the volume of part of a day
would put the instrument into a lower tier than its full days have. The estimate is the volume
of the span ``[first record, last record]`` divided by the share of a regular session's volume a
typical day trades in that span, ``F(span)``, from an intraday volume profile:
``liquidity.US_EQUITY_PROFILE``, a documented parametric U-shape over the US regular session (09:30–16:00
America/New_York): intensity ``λ(x) = 1 + c·(2x − 1)²`` at the fraction ``x`` of the session
elapsed, ``c = 2`` — the open and the close trade at 3× the midday rate. Why parametric: the
U-shape of US equity volume is a long-documented regularity (Jain & Joh 1988, JFQA 23(3);
Admati & Pfleiderer 1988, RFS 1(1)), and a curve measured on the data here would come from the
evaluated instrument itself (the only full regular-hours day in the samples is AMZN, the
held-out stock of the zero-shot test), a leak. ``c = 2`` was set before looking at AMZN; checked
against it afterwards (not fitted), the profile puts 30.7 % of the day before 11:00, AMZN's
LOBSTER file 29.6 % (benchmarks/RESULTS.md). Spans outside the regular session (CME's evening and
overnight hours) get no profile mass: when ``F(span)`` is below ``MIN_PROFILE_FRACTION`` (1 %, the
first ~3 minutes, where the opening cross dominates) the session's own volume is used unscaled.
The estimator is the same in training and in rollouts, so a prefix gets the tier a full session
of the instrument gets. ``tradefm generate --adv`` / ``--tier`` (``TradeFMProposer(adv=, tier=)``)
override it.

**Participant flag** ``I_MP``: the record's ``participant`` column (0 for real data).

**Book context** (beyond the paper; only when :func:`build_features` gets ``books``, one
``book.TopOfBook`` per session: the venue's LOBSTER orderbook file where there is one, else the
simulator's replay, ``book.BookSource``). Prices are measured in ticks of the session
(``ticks.infer_tick_size`` of its events, or the caller's ``tick_size``):

* ``spread_ticks`` and ``imbalance`` describe the book right AFTER the event, like every context
  field: the book after the record flagged ``F_LAST`` at or after the event's source row (after
  the whole message or venue packet; a stream without ``F_LAST`` there: after the source row).
  ``spread_ticks = (ask − bid)/tick``; ``imbalance = (bid_size − ask_size)/(bid_size + ask_size)``
  of level 1. Both are NaN when the book is not two-sided (a side empty, or crossed/locked).
* ``price_depth_best`` is the order's price relative to its OWN side's best quote BEFORE the
  event (just before ``first_row``: after the preceding record on replay, the previous message's
  row of a LOBSTER orderbook), in ticks, signed by aggressiveness:
  ``(price − ref)/tick`` for a buy, ``(ref − price)/tick`` for a sell, so 0 joins the best, > 0
  improves it (≥ the spread: marketable), < 0 rests behind it. ``ref`` (``own_best_reference``):
  the own best; when the own side is empty, one tick inside the opposite best (as if the spread
  were one tick); when both are empty, the EW-VWAP mid before the event rounded to the tick grid.

The closed loop computes the same quantities with the same functions (:mod:`.book_context`:
``spread_in_ticks``, ``queue_imbalance``, ``own_best_reference``, ``depth_from_best``) from the live
simulator after (resp. before) each order, so a position's context means the same in training
and in rollouts (tests/test_book_context.py replays real sessions both ways).
"""

from __future__ import annotations

import datetime as _dt
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields

import numpy as np

from . import _kernels
from .book_context import book_context
from .errors import DataError
from .events import ACTION_TRADE, NS_PER_SECOND, EventTable
from .liquidity import MIN_PROFILE_FRACTION, US_EQUITY_PROFILE, VolumeProfile, estimate_session_volume
from .ticks import infer_tick_size

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
        adv_fallback: ``"session"`` (the session's volume scaled to a full day by the intraday
            profile), ``"raw"`` (the session's volume as it is) or ``"middle"``: the tier of an
            instrument's first session.
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
        if any(b <= a for a, b in zip(self.tier_cuts, self.tier_cuts[1:], strict=False)):
            raise ValueError(f"tier_cuts must be strictly increasing, got {self.tier_cuts}")
        if self.adv_fallback not in ("session", "raw", "middle"):
            raise ValueError(f"adv_fallback must be 'session', 'raw' or 'middle', got {self.adv_fallback!r}")
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
def ewvwap(ts_ns: np.ndarray, price: np.ndarray, size: np.ndarray, half_life_s: float = 10.0) -> np.ndarray:
    """Vectorised (compiled) EW-VWAP over a series of counted executions.

    Args:
        ts_ns: int64 [m] execution times (ns), non-decreasing.
        price: [m] prices (any unit).
        size: [m] sizes (> 0).
        half_life_s: half-life (s).

    Returns:
        float64 [m]: the value after each execution (``_kernels.ewvwap_step``).
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
    """The events of one ``(instrument_id, trading date)``, in feed order.

    Attributes:
        instrument_id, symbol, date: the session key.
        events: the session's records.
        rows: int64 [n], the rows of the table :func:`split_sessions` split (``None`` for a
            session built by hand).
    """

    instrument_id: int
    symbol: str
    date: str
    events: EventTable
    rows: np.ndarray | None = None

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
                int(_dt.datetime.fromtimestamp(int(h) * 3600, tz=_dt.UTC).astimezone(tz).utcoffset().total_seconds())
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
        return [Session(int(iid[0]), events.symbol_of(iid[0]), _day_str(day[0]), events, np.arange(len(events)))]
    change = np.flatnonzero((iid[1:] != iid[:-1]) | (day[1:] != day[:-1])) + 1
    starts = np.concatenate([[0], change])
    run_keys = iid[starts] * 1_000_000 + day[starts]
    if len(np.unique(run_keys)) == len(starts):
        # Each session is one contiguous run (the usual one-file-per-day case): slices are views.
        ends = np.concatenate([change, [len(iid)]])
        out = [
            Session(int(iid[a]), events.symbol_of(iid[a]), _day_str(day[a]), events[int(a):int(b)],
                    np.arange(int(a), int(b)))
            for a, b in zip(starts, ends, strict=True)
        ]
        return sorted(out, key=lambda s: (s.instrument_id, s.date))
    order = np.lexsort((day, iid))  # stable: feed order kept inside a session
    iid_s, day_s = iid[order], day[order]
    cut = np.flatnonzero((iid_s[1:] != iid_s[:-1]) | (day_s[1:] != day_s[:-1])) + 1
    bounds = np.concatenate([[0], cut, [len(order)]])
    out = []
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        rows = order[a:b]
        out.append(Session(int(iid_s[a]), events.symbol_of(iid_s[a]), _day_str(day_s[a]), events[rows], rows))
    return out


# ---------------------------------------------------------------------------------------------
# Modeled events
# ---------------------------------------------------------------------------------------------
@dataclass
class ModeledEvents:
    """The modeled events of one session (the rules of the module docstring), before any feature.

    The one definition of which records are modeled orders: :func:`build_features` derives the
    features from it and the baselines (``baselines.common.extract_orders``) are fitted on it.
    Per-event arrays have length k (emission order = feed order); ``fate`` has one entry per record.

    Attributes:
        session: the session scanned.
        source_row: int64 [k], row of ``session.events`` the event comes from (a marketable add:
            the aggressor group's last ``T``; both events of a split modify share their row).
        first_row: int64 [k], the aggressor group's first ``T`` for a marketable add, else
            ``source_row``: the book "just before the event" is the book before this row.
        ts_recv: int64 [k], ns UTC.
        action: uint8 [k], 0 add / 1 cancel.
        side: uint8 [k], 0 buy (bid) / 1 sell (ask).
        price: int64 [k], 1e-9 units (a marketable add: the group's last execution price).
        size: int64 [k].
        mid_before, mid_after: float64 [k], the EW-VWAP before/after the event (currency units).
        participant: uint8 [k].
        fate: int8 [n], per record: index into ``_kernels.FATE_NAMES`` (0 = used).
        p_first: the EW-VWAP after the first counted execution (NaN if none).
        daily_volume: counted executed size of the session.
    """

    session: Session
    source_row: np.ndarray
    first_row: np.ndarray
    ts_recv: np.ndarray
    action: np.ndarray
    side: np.ndarray
    price: np.ndarray
    size: np.ndarray
    mid_before: np.ndarray
    mid_after: np.ndarray
    participant: np.ndarray
    fate: np.ndarray
    p_first: float
    daily_volume: int

    def __len__(self) -> int:
        return len(self.ts_recv)

    @property
    def marketable(self) -> np.ndarray:
        """bool [k]: the event is an aggressor execution's marketable add (from ``T`` records)."""
        return self.session.events.action[self.source_row] == ACTION_TRADE

    @property
    def records(self) -> int:
        return len(self.fate)

    @property
    def used(self) -> int:
        """Records that produced ≥ 1 modeled event (or were merged into one)."""
        return int(np.count_nonzero(self.fate == _kernels.FATE_USED))

    @property
    def skipped(self) -> dict[str, int]:
        """Reason → records; ``records == used + sum(skipped.values())``."""
        counts = np.bincount(self.fate, minlength=len(_kernels.FATE_NAMES))
        return {name: int(c) for name, c in zip(_kernels.FATE_NAMES[1:], counts[1:], strict=True) if c}


def _scan(session: Session, config: FeatureConfig) -> ModeledEvents:
    ev = session.events
    counted, agg_start, agg_end = _execution_groups(ev)

    def run(seed_price: float):
        return _kernels.scan_session(
            ev.ts_recv, ev.action, ev.side, ev.price, ev.size, ev.order_id, ev.flags, ev.sequence,
            ev.participant, counted, agg_start, agg_end, float(config.vwap_half_life_s),
            _MODIFY_POLICIES[config.modify_policy], float(seed_price),
        )

    res = run(math.nan)
    fate, p_first = res[9], res[10]
    if config.startup == "backfill" and (fate == _kernels.FATE_BEFORE_FIRST_EXEC).any() and np.isfinite(p_first):
        # the first counted execution alone gives p_first = its price: a zero-weight seed mid
        res = run(p_first)
    src, ts, act, side, price, size, mid_b, mid_a, part, fate, p_first = res
    first = src
    market = ev.action[src] == ACTION_TRADE
    if market.any():
        starts = np.flatnonzero(agg_start)
        first = src.copy()
        first[market] = starts[np.searchsorted(starts, src[market], side="right") - 1]
    return ModeledEvents(
        session=session, source_row=src, first_row=first, ts_recv=ts, action=act, side=side, price=price,
        size=size, mid_before=mid_b, mid_after=mid_a, participant=part, fate=fate, p_first=float(p_first),
        daily_volume=int(ev.size[counted].sum(dtype=np.int64)),
    )


def _as_sessions(events_or_sessions, config: FeatureConfig) -> list[Session]:
    if isinstance(events_or_sessions, EventTable):
        sessions = split_sessions(events_or_sessions, config)
    elif isinstance(events_or_sessions, Session):
        sessions = [events_or_sessions]
    else:
        sessions = list(events_or_sessions)
    sessions.sort(key=lambda s: (s.instrument_id, s.date))
    return sessions


def _scan_all(sessions: list[Session], config: FeatureConfig, progress: bool | None,
              num_threads: int | None) -> list[ModeledEvents]:
    if progress is None:
        progress = len(sessions) > 20
    threads = min(len(sessions), num_threads or os.cpu_count() or 1)
    if threads > 1:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(threads) as pool:
            results = pool.map(lambda s: _scan(s, config), sessions)  # ordered like sessions
            if progress:
                from tqdm.auto import tqdm

                results = tqdm(results, total=len(sessions), desc="features", unit="session")
            return list(results)
    iterator = sessions
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(sessions, desc="features", unit="session")
    return [_scan(s, config) for s in iterator]


def modeled_events(
    events_or_sessions: EventTable | Session | Iterable[Session],
    config: FeatureConfig | None = None,
    *,
    progress: bool | None = None,
    num_threads: int | None = None,
) -> list[ModeledEvents]:
    """Which records are modeled orders, per session: the rules of the module docstring.

    Args:
        events_or_sessions: an EventTable (split with :func:`split_sessions`), one Session, or a
            list of Sessions.
        config: :class:`FeatureConfig` (its session rule, ``vwap_half_life_s``,
            ``modify_policy`` and ``startup`` apply).
        progress, num_threads: as in :func:`build_features`.

    Returns:
        One :class:`ModeledEvents` per session, sorted by ``(instrument_id, date)``.
    """
    config = config or FeatureConfig()
    return _scan_all(_as_sessions(events_or_sessions, config), config, progress, num_threads)


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
        adv: float, the ADV the tier was taken from: the rolling ADV, or on a first day the estimate
            of ``adv_fallback`` (NaN for ``"middle"``).
        daily_volume: int, counted executed size of the session.
        records: int, input records of the session.
        used: int, records that produced ≥ 1 modeled event.
        skipped: dict reason → records; ``records == used + sum(skipped.values())``.
        spread_ticks, imbalance, price_depth_best: float64 [n] book context (module docstring),
            ``None`` unless built with ``books``.
        tick_size: the tick (1e-9 units) the book context is measured in (0 without it).
        book_source: ``"orderbook"`` or ``"replay"`` (``book.TopOfBook.source``), ``""`` without it.
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
    spread_ticks: np.ndarray | None = None
    imbalance: np.ndarray | None = None
    price_depth_best: np.ndarray | None = None
    tick_size: int = 0
    book_source: str = ""

    ARRAYS = (
        "ts_recv", "action", "side", "price", "size", "price_depth", "log_volume", "dt", "mid",
        "price_level", "tier", "participant", "source_row",
    )
    BOOK_ARRAYS = ("spread_ticks", "imbalance", "price_depth_best")

    def __len__(self) -> int:
        return len(self.ts_recv)

    @property
    def has_book(self) -> bool:
        """Whether the book context was computed (``build_features(..., books=...)``)."""
        return self.spread_ticks is not None

    def columns(self) -> dict[str, np.ndarray]:
        """The per-event arrays (the book context's too when computed)."""
        names = self.ARRAYS + (self.BOOK_ARRAYS if self.has_book else ())
        return {name: getattr(self, name) for name in names}

    def to_arrow(self):
        """A ``pyarrow.Table`` of the per-event arrays; session fields go into the schema metadata."""
        import json

        import pyarrow as pa

        meta = {
            "instrument_id": self.instrument_id, "symbol": self.symbol, "date": self.date,
            "p_open": self.p_open, "adv": self.adv, "daily_volume": self.daily_volume,
            "records": self.records, "used": self.used, "skipped": self.skipped,
        }
        if self.has_book:
            meta.update(tick_size=self.tick_size, book_source=self.book_source)
        table = pa.table({name: pa.array(arr) for name, arr in self.columns().items()})
        return table.replace_schema_metadata({"tradefm_session": json.dumps(meta)})


def tier_of_adv(adv: float, config: FeatureConfig | None = None) -> int:
    """The liquidity tier of an ADV: the number of ``config.tier_cuts`` ≤ it (the middle tier for NaN)."""
    config = config or FeatureConfig()
    if adv is None or math.isnan(adv):
        return config.n_tiers // 2
    return int(np.searchsorted(np.asarray(config.tier_cuts, dtype=np.float64), float(adv), side="right"))


def _session_span(session: Session) -> tuple[int, int]:
    """First and last live (non-snapshot) record of a session (ns UTC): the span its volume covers."""
    from .events import F_SNAPSHOT

    ev = session.events
    live = np.flatnonzero((ev.flags & F_SNAPSHOT) == 0)
    if not len(live):
        return (int(ev.ts_recv[0]), int(ev.ts_recv[-1])) if len(ev) else (0, 0)
    return int(ev.ts_recv[live[0]]), int(ev.ts_recv[live[-1]])


def _session_book(session: Session, me: ModeledEvents, books, tick_size: int | None) -> dict:
    """SessionFeatures fields of the book context of one session (``books``: callable or mapping).

    Raises:
        DataError: the session has no tick to measure the book in.
    """
    top = books(session) if callable(books) else books[(session.instrument_id, session.date)]
    tick = int(tick_size or infer_tick_size(session.events) or 0)
    if tick <= 0:
        raise DataError(f"<session {session.symbol} {session.date}>", "no tick size for the book context "
                        "(fewer than two distinct add prices); pass tick_size=")
    return {**book_context(me, top, tick), "tick_size": tick, "book_source": str(getattr(top, "source", ""))}


def tier_cuts_from_adv(adv: Sequence[float] | np.ndarray, n_tiers: int = 3) -> tuple[float, ...]:
    """Equal-count cut points (e.g. terciles) of a universe's ADVs, for ``FeatureConfig.tier_cuts``."""
    adv = np.asarray(adv, dtype=np.float64)
    adv = adv[np.isfinite(adv)]
    if len(adv) < n_tiers:
        raise ValueError(f"need at least {n_tiers} ADV values, got {len(adv)}")
    cuts = np.quantile(adv, np.arange(1, n_tiers) / n_tiers)
    return tuple(float(c) for c in np.maximum.accumulate(cuts))


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
            adv = estimate_session_volume(volumes[i], *_session_span(s))[0]
        elif config.adv_fallback == "raw":
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
    books=None,
    tick_size: int | None = None,
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
        books: the book each record meets, for the book context (module docstring): a callable
            ``Session → book.TopOfBook`` (e.g. ``book.BookSource(events, orderbook)``) or a mapping
            ``(instrument_id, date) → TopOfBook``; ``None`` (default): no book context.
        tick_size: the tick (1e-9 units) of the book context; default each session's
            ``ticks.infer_tick_size``.

    Returns:
        One :class:`SessionFeatures` per session, sorted by ``(instrument_id, date)``.
    """
    config = config or FeatureConfig()
    sessions = _as_sessions(events_or_sessions, config)
    scans = _scan_all(sessions, config, progress, num_threads)
    tiers, advs = _tiers(sessions, [me.daily_volume for me in scans], config, adv_history)

    out = []
    for s, me, tier, adv in zip(sessions, scans, tiers, advs, strict=True):
        price_depth, log_volume, dt, price_level, p_open = _kernels.derive_features(
            me.ts_recv, me.price, me.size, me.mid_before, me.mid_after, _kernels.LOG1P_TABLE
        )
        book = {} if books is None else _session_book(s, me, books, tick_size)
        out.append(
            SessionFeatures(
                instrument_id=s.instrument_id,
                symbol=s.symbol,
                date=s.date,
                ts_recv=me.ts_recv,
                action=me.action,
                side=me.side,
                price=me.price,
                size=me.size.astype(np.uint32),
                price_depth=price_depth,
                log_volume=log_volume,
                dt=dt,
                mid=me.mid_before,
                price_level=price_level,
                tier=np.full(len(me), tier, dtype=np.int64),
                participant=me.participant,
                source_row=me.source_row,
                p_open=float(p_open),
                adv=adv,
                daily_volume=me.daily_volume,
                records=me.records,
                used=me.used,
                skipped=me.skipped,
                **book,
            )
        )
    return out


__all__ = [
    "FeatureConfig",
    "ModeledEvents",
    "Session",
    "SessionFeatures",
    "MIN_PROFILE_FRACTION",
    "US_EQUITY_PROFILE",
    "VolumeProfile",
    "build_features",
    "counted_executions",
    "estimate_session_volume",
    "ewvwap",
    "modeled_events",
    "split_sessions",
    "tier_cuts_from_adv",
    "tier_of_adv",
    "trading_day",
]
