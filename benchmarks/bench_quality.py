# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""Held-out quality protocol (issue 13): leave one instrument out, many rollout starts, replicates, floors.

    python benchmarks/bench_quality.py [--out quality_out] [--write] [--cancel-rule newest|fit]
                                       [--heldout ES,AMZN,AAPL] [--variants book-best] ...

**Instruments** (the embedded real samples): the CME ES day (live 23:00–24:00 UTC after a crossed
pre-open), the NASDAQ AMZN day (LOBSTER level 1 with its orderbook file, 09:30–16:00 New York) and
the NASDAQ AAPL hour (LOBSTER level 50, 09:30–10:30). For each held-out instrument, TradeFM is
pre-trained on the OTHER TWO with the demo's quick training (``configs/train/demo_cpu.yaml``, 300
steps of 8 × 256 events; the tokenizer is calibrated on them and frozen).

**Rollout starts.** ``n_starts`` starts per instrument, ``every_s`` apart from ``first_start``
(:data:`INSTRUMENTS`). After start k every source is rolled out from the same real prefix (the
session before the start) and the same starting book (``book.starting_book``: the prefix replayed,
and for AMZN reconciled with the venue's orderbook), and compared with the real flow over the same
span: the window ``[t0, t0 + H)`` with ``t0`` the prefix's last event (where a rollout's clock
starts) and ``H`` the instrument's horizon. A rollout stops at the first step that takes it past
``t0 + H`` (``rollout(..., until_ns=...)``), with a step cap of ``2 × (real modeled events in the
window) + 100``; a rollout that hits the cap first **ends early**: its window is cut at its last
event (nothing is padded — a mid carried past a rollout's end would add zero returns), and the
source's coverage (mean share of ``H`` covered, rollouts cut short) is reported. The last AAPL
and ES windows are cut at the data's end (the real and every generated window alike).

**Sources.** ``TradeFM-paper`` (zero-shot, the paper's features), ``TradeFM-book`` (zero-shot,
book-aware: ``book_fields=("spread", "imbalance")``, ``price_reference="vwap"``),
``TradeFM-book-adapted`` (the book-aware model fine-tuned ONCE on the held-out session before the
FIRST start — the demo's 150 steps — and used for every start: no look-ahead, and later starts do
not see the data between the first start and theirs), ``Hawkes`` and ``ZI`` (refitted before EVERY
start on the trailing ``fit_window_s`` of the held-out session: a classical model does not
transfer, so it gets the instrument's own recent flow; the book it measures placements against is
the session's — the orderbook file for AMZN, else the replay from the session's start).
``--variants book-best`` adds a zero-shot TradeFM with ``price_reference="best"``.

Two **simulator-only** sources, not generators: ``real-resubmitted`` re-submits the real held-out
orders of each window (the modeled adds, cancels and marketable adds, at their real times, prices
and sizes, without order ids) through the same simulator from the same starting book — what the
simulator alone does to real flow, a floor no generator can be expected to beat; and
``real-resubmitted-nohidden``, the same without the marketable adds that stand for hidden
executions (LOBSTER type 5: an execution against an order the book never showed, inside the spread;
re-submitted, the simulator finds nothing to execute against and rests it as a visible quote).

**Replicates.** Replicate r is rollout id r of one run (``seed`` 0) at every start: by the
proposer contract its draws depend only on (seed, r), so replicates are independent samples, as
separate run seeds would be. A replicate of a source pools its rollouts of all starts.

**Distances** (the package's evaluation, ``evaluation.series.stream_series`` → ``StreamSeries.window``
→ ``evaluation.report.evaluate_streams``): K-S and real-normalised W1 with percentile-bootstrap
intervals for every quantity of ``series.QUANTITIES`` (1/10/60 s returns, spread, top depth,
inter-arrival, order size, price depth, time to cancel); kurtosis by horizon and the ACF of 1 s
|returns|. **Noise floors**, two constructions: ``floor`` (the evaluation's own) is the first half
vs the second half of every real window (split at its median modeled event), pooled over windows;
``floor_interleaved`` is the windows of even starts vs those of odd starts. Both compare samples of
about half the size a source is compared at, so both are on the generous side (K-S noise grows as
``1/sqrt(n)``). **Perplexity** per token field (``evaluation.perplexity``) of the TradeFM models on
the held-out session from the first start on.

**Targets** (:func:`verdicts`), per held-out instrument and replicate: book-aware TradeFM zero-shot
has a lower K-S than both baselines on 10 s returns AND on spreads, and its spread K-S is within
2× the noise floor (``floor``); issue 12's criterion on the AMZN-held-out rows: zero-shot order-size
and price-depth K-S within 2× the floor.

**Caching.** Everything trained, fitted or rolled out is kept under ``--out``; a re-run with the same
folder only evaluates (``--cancel-rule fit`` re-uses the models and fits and rolls out again).
Output: ``--json`` (default ``benchmarks/results/quality.json``, the run of one cancel rule merged
into the file's ``runs``) and ``benchmarks/results/quality.md``; ``--write`` also replaces the
marked part of ``benchmarks/RESULTS.md``. Decoding uses one torch thread.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import platform
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from modeling_tradefm.demo import BOOK_AWARE  # noqa: E402
from modeling_tradefm.errors import DataError  # noqa: E402
from modeling_tradefm.events import ACTION_ADD, ACTION_CANCEL, ACTION_TRADE, F_LAST, SIDE_ASK, SIDE_BID  # noqa: E402
from modeling_tradefm.proposer import OrderBatch, OrderProposer  # noqa: E402

sys.path.insert(0, str(ROOT / "benchmarks"))
from quality_tables import (  # noqa: E402
    BASELINES,
    TARGET_SOURCE,
    _f,
    _mark,
    _num,
    issue12_verdicts,
    markdown,
    verdicts,
    write_results_section,
)

RESULTS_JSON = ROOT / "benchmarks" / "results" / "quality.json"


@dataclass(frozen=True)
class Heldout:
    """One instrument of the protocol and its rollout schedule.

    Attributes:
        file: the session's file (repository-relative); its first session is used.
        tz: time zone of ``first_start``.
        first_start: the first rollout start (HH:MM:SS in ``tz``).
        every_s: seconds between starts.
        horizon_s: H, the compared span after each start.
        n_starts: starts.
        fit_window_s: trailing span the baselines are fitted on before each start.
    """

    file: str
    tz: str
    first_start: str
    every_s: float
    horizon_s: float
    n_starts: int = 9
    fit_window_s: float = 900.0


INSTRUMENTS = {
    # live trading 23:00-24:00 UTC; the first 15 minutes (the reopen) are the adaptation prefix
    "ES": Heldout("data/samples/databento/esh4-glbx-mdp3-20231225.mbo.csv.zst", "UTC", "23:15:00", 300, 300),
    # 2.5 modeled events/s: 10-minute windows spread over the day; the first hour adapts the model
    "AMZN": Heldout("data/samples/lobster/AMZN_2012-06-21_34200000_57600000_message_1.csv.zst", "America/New_York",
                    "10:30:00", 2100, 600),
    # the demo's start (09:45) first, then back-to-back 5-minute windows to the end of the hour
    "AAPL": Heldout("data/samples/lobster/AAPL_2012-06-21_34200000_37800000_message_50.csv.zst", "America/New_York",
                    "09:45:00", 300, 300),
}
VARIANTS = {"paper": None, "book": dict(BOOK_AWARE), "book-best": {**BOOK_AWARE, "price_reference": "best"}}
SIMULATOR_ONLY = ("real-resubmitted", "real-resubmitted-nohidden")
PPL_TOKENS = 32_768  # scored tokens per model and instrument (the whole AAPL continuation is 69k)



@dataclass
class Settings:
    """One run of the protocol (the command line)."""

    out: Path
    heldout: tuple[str, ...] = tuple(INSTRUMENTS)
    variants: tuple[str, ...] = ()
    sources: tuple[str, ...] | None = None
    cancel_rule: str = "newest"
    replicates: int = 3
    starts: int | None = None
    horizon_s: float | None = None
    n_boot: int = 100
    train_overrides: dict = field(default_factory=dict)
    adapt_steps: int | None = None
    hawkes_maxiter: int = 5000
    json_path: Path = RESULTS_JSON
    label: str | None = None

    def tradefm_sources(self) -> list[str]:
        return ["TradeFM-paper", "TradeFM-book", "TradeFM-book-adapted", *[f"TradeFM-{v}" for v in self.variants]]

    def all_sources(self) -> list[str]:
        every = [*self.tradefm_sources(), *BASELINES, *SIMULATOR_ONLY]
        return every if self.sources is None else [s for s in every if s in self.sources]


@dataclass
class Start:
    """Rollout start k of an instrument: prefix rows, clock origin, window end, real events in it."""

    k: int
    start_ns: int
    n_prefix: int
    t0: int
    end: int
    n_real: int


@dataclass
class Instrument:
    """A held-out session, its orderbook (AMZN) and its starts."""

    name: str
    spec: Heldout
    path: Path
    session: object
    orderbook: np.ndarray | None
    orderbook_path: str | None
    starts: list[Start]
    tick: int
    features: object
    _books: dict = field(default_factory=dict)

    @property
    def events(self):
        return self.session.events

    def prefix(self, st: Start):
        return self.events[: st.n_prefix]

    def starting_book(self, st: Start, rule: str):
        """The book every source starts from at ``st`` (``book.starting_book``; cached, copy before use)."""
        from modeling_tradefm.book import starting_book

        key = (st.k, rule)
        if key not in self._books:
            self._books[key] = starting_book(self.prefix(st), self.orderbook, self.orderbook_path,
                                             cancel_priority=rule)
        return self._books[key]


class Timer:
    """Wall-clock seconds per phase (accumulated), for the profile in quality.json."""

    def __init__(self):
        self.seconds: dict[str, float] = {}
        self._t0 = time.perf_counter()

    def phase(self, name: str):
        timer = self

        class _Phase:
            def __enter__(self):
                self.t = time.perf_counter()

            def __exit__(self, *exc):
                timer.seconds[name] = round(timer.seconds.get(name, 0.0) + time.perf_counter() - self.t, 1)

        return _Phase()

    def total(self) -> float:
        return round(time.perf_counter() - self._t0, 1)


# ---- the held-out sessions -----------------------------------------------------------------------
def load_instrument(name: str, settings: Settings) -> Instrument:
    """Read the instrument's session (with its orderbook) and lay out its starts and windows."""
    from modeling_tradefm.demo import DemoConfig
    from modeling_tradefm.features import build_features
    from modeling_tradefm.prefix import clock_to_ns, parse_clock, read_sessions
    from modeling_tradefm.ticks import infer_tick_size

    spec = INSTRUMENTS[name]
    path = DemoConfig().resolve(spec.file)
    booked = read_sessions(str(path))[0]
    ev = booked.session.events
    horizon = int((settings.horizon_s or spec.horizon_s) * 1e9)
    first = clock_to_ns(parse_clock(spec.first_start), int(ev.ts_recv[0]), spec.tz)
    sf = build_features(ev, progress=False)[0]
    data_end = int(ev.ts_recv[-1]) + 1
    starts = []
    for k in range(settings.starts or spec.n_starts):
        start_ns = first + int(k * spec.every_s * 1e9)
        n = int(np.searchsorted(ev.ts_recv, start_ns, side="left"))
        if n == 0 or n >= len(ev):
            raise DataError(path, f"start {k} ({start_ns} ns) is outside the session")
        t0 = int(ev.ts_recv[n - 1])
        end = min(t0 + horizon, data_end)
        n_real = int(np.count_nonzero((sf.source_row >= n) & (sf.ts_recv < end)))
        starts.append(Start(k, start_ns, n, t0, end, n_real))
    return Instrument(name, spec, path, booked.session, booked.orderbook, booked.orderbook_path, starts,
                      int(infer_tick_size(ev)), sf)


def write_adaptation_prefix(inst: Instrument, folder: Path) -> Path:
    """The held-out session before the FIRST start as a file ``tradefm train`` reads (the adaptation data).

    LOBSTER: the message file's first rows (and the orderbook's, so a level-1 file keeps its book
    truth), under a LOBSTER name; Databento: an MBO CSV of the events.
    """
    from modeling_tradefm.io import write_mbo_csv
    from modeling_tradefm.io.lobster import parse_lobster_name
    from modeling_tradefm.io.paths import read_bytes

    folder.mkdir(parents=True, exist_ok=True)
    first = inst.starts[0]
    prefix = inst.prefix(first)
    name = parse_lobster_name(inst.path)
    if not name:
        target = folder / f"{inst.name}_prefix_until_{inst.spec.first_start.replace(':', '')}.mbo.csv.zst"
        if not target.exists():
            write_mbo_csv(prefix, target)
        return target
    rows = int(prefix.sequence[-1])  # LOBSTER: sequence = 1-based message row
    end_ms = int(round((first.start_ns - _midnight_ns(name["date"], inst.spec.tz)) / 1e6))
    stem = f"{name['symbol']}_{name['date']}_{name['start_ms']}_{end_ms}"
    target = folder / f"{stem}_message_{name['levels']}.csv"
    sources = [(inst.path, target)]
    if inst.orderbook_path:
        sources.append((Path(inst.orderbook_path), folder / f"{stem}_orderbook_{name['levels']}.csv"))
    for src, dst in sources:
        if not dst.exists():
            lines = read_bytes(src).split(b"\n")[:rows]
            dst.write_bytes(b"\n".join(lines) + b"\n")
    return target


def _midnight_ns(date: str, tz: str) -> int:
    """ns UTC of midnight of ``date`` in ``tz`` (LOBSTER times are seconds after that midnight)."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    d = dt.date.fromisoformat(date)
    return int(dt.datetime(d.year, d.month, d.day, tzinfo=ZoneInfo(tz)).timestamp() * 1e9)


# ---- models and fits -------------------------------------------------------------------------------
def train_models(inst: Instrument, settings: Settings, timer: Timer) -> dict[str, Path]:
    """Pre-train every variant on the other instruments and adapt the book-aware one; cached in ``--out``."""
    import torch

    from modeling_tradefm.demo import DemoConfig, _train, adapt_argv, pretrain_argv

    root = settings.out / "models" / inst.name
    others = [INSTRUMENTS[n].file for n in INSTRUMENTS if n != inst.name]
    wanted = {s.removeprefix("TradeFM-") for s in settings.all_sources() if s.startswith("TradeFM-")}
    variants = sorted({v.removesuffix("-adapted") for v in wanted})
    dirs, commands = {}, []
    torch.set_num_threads(os.cpu_count() or 1)  # training: every core (decoding sets one thread)
    for variant in variants:
        cfg = DemoConfig.load("quick", train_files=others)
        cfg.train_overrides = {"dataset_cache_dir": str(settings.out / "cache"), **settings.train_overrides}
        folder = root / variant
        if not (folder / "config.json").exists():
            with timer.phase(f"pretrain {inst.name} {variant}"):
                _train(pretrain_argv(cfg, folder, False, VARIANTS[variant]), commands)
        dirs[f"TradeFM-{variant}"] = folder
        if f"{variant}-adapted" in wanted:
            adapted = root / f"{variant}-adapted"
            if not (adapted / "config.json").exists():
                prefix_file = write_adaptation_prefix(inst, settings.out / "data" / inst.name)
                if settings.adapt_steps is not None:
                    cfg.adapt_steps = settings.adapt_steps
                with timer.phase(f"adapt {inst.name} {variant}"):
                    argv = adapt_argv(cfg, folder, prefix_file, adapted, cuda=False)
                    argv += ["--dataset_cache_dir", str(settings.out / "cache")]
                    _train(argv, commands)
            dirs[f"TradeFM-{variant}-adapted"] = adapted
    return dirs


def session_touch(inst: Instrument) -> tuple[np.ndarray, np.ndarray]:
    """Best bid/ask just before every record of the session (orderbook file, else replay), ``NO_PRICE`` if empty."""
    from modeling_tradefm.baselines.common import NO_PRICE
    from modeling_tradefm.book import top_of_book

    top = top_of_book(inst.events, inst.orderbook, orderbook_path=inst.orderbook_path)
    as_int = lambda x: np.where(np.isfinite(x), np.nan_to_num(x), NO_PRICE).astype(np.int64)  # noqa: E731
    return as_int(top.bid_before), as_int(top.ask_before)


def fit_baselines(inst: Instrument, settings: Settings, timer: Timer) -> dict[tuple[str, int], Path]:
    """Hawkes and ZI fitted on the trailing window before every start; ``{(source, k): folder}``, cached."""
    from modeling_tradefm.baselines import fit_hawkes, fit_zi

    wanted = [b for b in BASELINES if b in settings.all_sources()]
    out, touch = {}, None
    for st in inst.starts:
        lo = int(np.searchsorted(inst.events.ts_recv, st.start_ns - int(inst.spec.fit_window_s * 1e9)))
        for name in wanted:
            folder = settings.out / "baselines" / inst.name / f"start{st.k:02d}" / name.lower()
            out[(name, st.k)] = folder
            if (folder / "baseline.json").exists():
                continue
            if touch is None:
                touch = session_touch(inst)
            window = inst.events[lo: st.n_prefix]
            kw = {"touch": (touch[0][lo: st.n_prefix], touch[1][lo: st.n_prefix]), "files": [str(inst.path)]}
            with timer.phase(f"fit {name}"):
                model = (fit_hawkes(window, maxiter=settings.hawkes_maxiter, **kw) if name == "Hawkes"
                         else fit_zi(window, **kw))
            model.save_pretrained(folder)
    return out


class RealFlowProposer(OrderProposer):
    """Re-submits the real modeled orders after the prefix, at their real times, without order ids.

    Every rollout of the batch gets the same orders (there is nothing random). With
    ``drop_hidden`` the marketable adds that stand for hidden executions (a ``T`` that is the
    whole message: LOBSTER type 5, no visible resting order) are left out.
    """

    name = "real re-submitted"

    def __init__(self, features, session_events, drop_hidden: bool = False):
        self.sf, self.events, self.drop_hidden = features, session_events, drop_hidden

    def start(self, prefix, books, seed, rollout_ids=None) -> None:
        sf, ev = self.sf, self.events
        keep = sf.source_row >= len(prefix)
        if self.drop_hidden:
            row = sf.source_row
            keep &= ~((ev.action[row] == ACTION_TRADE) & ((ev.flags[row] & F_LAST) != 0))
        self.rows = np.flatnonzero(keep)
        self.j, self.clock, self.n = 0, int(prefix.ts_recv[-1]), len(books)

    def propose(self, books) -> OrderBatch:
        j = self.rows[min(self.j, len(self.rows) - 1)]
        ts = int(self.sf.ts_recv[j])
        action = ACTION_ADD if self.sf.action[j] == 0 else ACTION_CANCEL
        side = SIDE_BID if self.sf.side[j] == 0 else SIDE_ASK
        full = lambda v: np.full(self.n, v)  # noqa: E731
        return OrderBatch(full(max(0, ts - self.clock)), full(action), full(side), full(int(self.sf.price[j])),
                          full(int(self.sf.size[j])), full(0))

    def observe(self, applied, books) -> None:
        self.clock += int(applied.dt_ns[0])
        self.j += 1

    def n_orders(self, prefix_rows: int, end_ns: int) -> int:
        """Orders it re-submits after ``prefix_rows`` before ``end_ns`` (the step count of its rollout)."""
        self.start(self.events[:prefix_rows], [None], 0)
        return int(np.count_nonzero(self.sf.ts_recv[self.rows] < end_ns))


# ---- rollouts ----------------------------------------------------------------------------------------
def rollout_dir(settings: Settings, inst: Instrument, source: str) -> Path:
    return settings.out / "rollouts" / settings.cancel_rule / inst.name / source


def roll_out(inst: Instrument, settings: Settings, models: dict, fits: dict, timer: Timer) -> None:
    """Every source from every start (replicates = rollout ids 0..R-1 of seed 0); cached per start."""
    import torch

    from modeling_tradefm.generation_tradefm import rollout
    from modeling_tradefm.io import write_mbo_csv
    from modeling_tradefm.registry import load_proposer

    torch.set_num_threads(1)  # tiny matrices: one thread decodes fastest (benchmarks/RESULTS.md)
    for source in settings.all_sources():
        folder = rollout_dir(settings, inst, source)
        folder.mkdir(parents=True, exist_ok=True)
        proposer = None
        for st in inst.starts:
            meta_path = folder / f"start{st.k:02d}.json"
            if meta_path.exists():
                continue
            if source in SIMULATOR_ONLY:
                proposer = RealFlowProposer(inst.features, inst.events, drop_hidden=source.endswith("nohidden"))
                n_rep, cap = 1, proposer.n_orders(st.n_prefix, st.end)
            else:
                if source in BASELINES:
                    proposer = load_proposer(fits[(source, st.k)])
                elif proposer is None:
                    proposer = load_proposer(models[source], prefix_orderbook=inst.orderbook, device="cpu")
                n_rep, cap = settings.replicates, 2 * st.n_real + 100
            books = [inst.starting_book(st, settings.cancel_rule).copy() for _ in range(n_rep)]
            t = time.perf_counter()
            with timer.phase(f"rollouts {source}"):
                results = rollout(proposer, inst.prefix(st), cap, seed=0, rollout_ids=list(range(n_rep)),
                                  books=books, until_ns=st.end)
            for r, res in enumerate(results):
                write_mbo_csv(res.events, folder / f"start{st.k:02d}_r{r}.mbo.csv.zst")
            meta = {"steps": results[0].meta["steps"], "cap": cap, "wall_s": round(time.perf_counter() - t, 2),
                    "end_ts_ns": [int(res.meta["end_ts_ns"]) for res in results],
                    "void": [int(res.meta["void"]) for res in results], "t0": st.t0, "window_end": st.end}
            meta_path.write_text(json.dumps(meta) + "\n")


# ---- evaluation --------------------------------------------------------------------------------------
def eval_config(settings: Settings):
    from modeling_tradefm.evaluation.series import EvalConfig

    # windows of 5-10 minutes: 300 s returns would be one per window at most
    return EvalConfig(horizons_s=(1.0, 10.0, 60.0), kurtosis_horizons_s=(1.0, 5.0, 10.0, 30.0, 60.0),
                      n_boot=settings.n_boot)


def generated_streams(inst: Instrument, settings: Settings, cfg) -> tuple[dict, dict]:
    """``{"SOURCE/rR": [one StreamSeries per start]}`` cut to the windows, and each source's coverage."""
    from modeling_tradefm.evaluation.series import stream_series
    from modeling_tradefm.io import read_file

    streams, coverage = {}, {}
    for source in settings.all_sources():
        folder = rollout_dir(settings, inst, source)
        metas = [json.loads((folder / f"start{st.k:02d}.json").read_text()) for st in inst.starts]
        covered, steps = [], []
        for r in range(len(metas[0]["end_ts_ns"])):
            out = []
            for st, meta in zip(inst.starts, metas, strict=True):
                # a rollout that ran out of steps before t0 + H is cut at its last event, never padded;
                # a re-submission ends with the window's last real order, and the window is its span
                early = source not in SIMULATOR_ONLY and int(meta["end_ts_ns"][r]) < st.end
                end = int(meta["end_ts_ns"][r]) + 1 if early else st.end
                covered.append((end - st.t0) / (st.end - st.t0))
                steps.append(meta["steps"])
                events = read_file(folder / f"start{st.k:02d}_r{r}.mbo.csv.zst").events
                if len(events):
                    s = stream_series(events, inst.prefix(st), cfg, f"{source} start {st.k} r{r}",
                                      start_book=inst.starting_book(st, settings.cancel_rule))
                    out.append(s.window(st.t0, end))
            streams[f"{source}/r{r}"] = out
        coverage[source] = {"mean": float(np.mean(covered)), "cut_short": int(np.sum(np.asarray(covered) < 0.999)),
                            "rollouts": len(covered), "steps_mean": float(np.mean(steps)),
                            "wall_s": float(sum(m["wall_s"] for m in metas))}
    return streams, coverage


def evaluate_instrument(inst: Instrument, settings: Settings, timer: Timer) -> dict:
    """Distances, floors, stylized facts and coverage of every source on the instrument's windows."""
    from modeling_tradefm.evaluation.distances import compare
    from modeling_tradefm.evaluation.report import evaluate_streams, to_jsonable
    from modeling_tradefm.evaluation.series import QUANTITIES, source_quantities, stream_series

    cfg = eval_config(settings)
    first, ev = inst.starts[0], inst.events
    with timer.phase("evaluate: series"):
        whole = stream_series(ev[first.n_prefix:], ev[:first.n_prefix], cfg, f"{inst.name} real",
                              orderbook=inst.orderbook)
        # from the start on: the prefix's last event (at t0) is the previous window's, not this one's
        real = [whole.window(st.start_ns, st.end, f"{inst.name} start {st.k}") for st in inst.starts]
        gen, coverage = generated_streams(inst, settings, cfg)
    with timer.phase("evaluate: distances"):
        metrics, quantities = evaluate_streams(real, gen, cfg, inst.tick, progress=False)
        even, odd = (source_quantities(real[i::2], cfg, inst.tick) for i in (0, 1))
        interleaved = {q: compare(even.samples[q], odd.samples[q], cfg.n_boot, cfg.alpha, cfg.seed + 10_000 + i)
                       for i, q in enumerate(QUANTITIES)}
    with timer.phase("evaluate: report"):
        write_replicate_report(inst, settings, metrics, quantities, cfg)
    m = to_jsonable(metrics)
    res = {"floor": {q: _dist(m["noise_floor"][q]) for q in QUANTITIES},
           "floor_interleaved": {q: _dist(to_jsonable(d)) for q, d in interleaved.items()},
           "sources": {}, "stylized": {}, "coverage": coverage,
           "windows": [{"k": st.k, "start_ns": st.start_ns, "t0": st.t0, "end": st.end, "real_events": st.n_real}
                       for st in inst.starts]}
    for key, d in m["distances"].items():
        src, rep = key.rsplit("/r", 1)
        res["sources"].setdefault(src, {})[rep] = {q: _dist(d[q]) for q in QUANTITIES}
    for key, f in m["stylized_facts"].items():
        acf = f["acf_abs_returns"]
        res["stylized"][key] = {"kurtosis": f["kurtosis"], "acf_abs_1s": {str(k): acf[k - 1] for k in (1, 2, 5, 10, 20)
                                                                           if k <= len(acf)},
                                "samples": f["info"]["samples"]}
    return res


def _dist(d: dict) -> dict:
    keep = ("ks", "ks_ci", "w1", "w1_ci", "n_real", "n_gen", "unavailable")
    return {k: d[k] for k in keep if k in d}


def write_replicate_report(inst: Instrument, settings: Settings, metrics: dict, quantities: dict, cfg) -> None:
    """report.md/html and plots of replicate 0 of every source (the evaluation's own report writer)."""
    from modeling_tradefm.evaluation.report import REAL, write_report

    keep = [k for k in metrics["distances"] if k.endswith("/r0")]
    sub = {"distances": {k.removesuffix("/r0"): metrics["distances"][k] for k in keep},
           "noise_floor": metrics["noise_floor"],
           "stylized_facts": {k.removesuffix("/r0"): metrics["stylized_facts"][k] for k in [REAL, *keep]}}
    q = {k.removesuffix("/r0"): quantities[k] for k in [REAL, *keep]}
    write_report(settings.out / "reports" / settings.cancel_rule / inst.name, sub, q, cfg,
                 title=f"bench_quality: {inst.name} held out, replicate 0, cancel rule {settings.cancel_rule}")


# ---- perplexity and the training data's placements ------------------------------------------------
def perplexities(inst: Instrument, models: dict[str, Path], max_tokens: int = PPL_TOKENS) -> dict:
    """Per-field perplexity of each TradeFM model on the held-out session's first ``max_tokens`` after the first start."""
    import torch

    from modeling_tradefm.book import BookSource
    from modeling_tradefm.evaluation.perplexity import perplexity
    from modeling_tradefm.features import FeatureConfig, build_features
    from modeling_tradefm.modeling_tradefm import TradeFMForCausalLM
    from modeling_tradefm.tokenization_tradefm import TradeFMTokenizer

    torch.set_num_threads(2)
    out = {}
    for name, folder in models.items():
        model = TradeFMForCausalLM.from_pretrained(folder)
        tok = TradeFMTokenizer.from_pretrained(folder)
        fc = tok.feature_config if isinstance(getattr(tok, "feature_config", None), FeatureConfig) else None
        books = BookSource(inst.events, inst.orderbook, orderbook_path=inst.orderbook_path) if tok.needs_book else None
        sf = build_features(inst.events, fc, books=books, progress=False)[0]
        res = perplexity(model, tok, [_rows_from(sf, inst.starts[0].start_ns)], max_tokens=max_tokens,
                         progress=False)["overall"]
        out[name] = {k: float(v) for k, v in res.items()}
    return out


def _rows_from(sf, ts_ns: int):
    """The session's features from ``ts_ns`` on (every per-event array cut alike)."""
    keep = sf.ts_recv >= ts_ns
    names = [n for n in (*sf.ARRAYS, *sf.BOOK_ARRAYS) if getattr(sf, n, None) is not None]
    return dataclasses.replace(sf, **{n: getattr(sf, n)[keep] for n in names})


def placement_census(name: str) -> dict:
    """Where the instrument's limit adds sit against its own best quote, its spreads, its hidden executions.

    From the book-aware features (``price_depth_best`` in ticks: > 0 improves the own best, i.e.
    inside the spread; 0 joins it; < 0 rests behind it), the book from the orderbook file when
    there is one (AMZN), else the replay.
    """
    from modeling_tradefm.book import BookSource
    from modeling_tradefm.demo import DemoConfig
    from modeling_tradefm.features import build_features
    from modeling_tradefm.io import read_file

    r = read_file(DemoConfig().resolve(INSTRUMENTS[name].file), orderbook="auto")
    sf = build_features(r.events, books=BookSource(r.events, r.orderbook), progress=False)[0]
    from modeling_tradefm.features import split_sessions

    ev = split_sessions(r.events)[0].events
    trade = ev.action[sf.source_row] == ACTION_TRADE
    hidden = trade & ((ev.flags[sf.source_row] & F_LAST) != 0)
    limit = (sf.action == 0) & ~trade
    d = sf.price_depth_best[limit]
    d = d[np.isfinite(d)]
    s = sf.spread_ticks[np.isfinite(sf.spread_ticks)]
    return {"modeled_events": len(sf), "limit_adds": int(limit.sum()),
            "inside_spread": float(np.mean(d > 0)), "at_best": float(np.mean(d == 0)),
            "behind_best": float(np.mean(d < 0)), "behind_best_median_ticks": float(np.median(-d[d < 0]))
            if (d < 0).any() else None,
            "spread_ticks_p10_p50_p90": [float(x) for x in np.percentile(s, [10, 50, 90])] if len(s) else None,
            "marketable_adds": int(trade.sum()), "hidden_execution_adds": int(hidden.sum()),
            "book_source": sf.book_source}


# ---- the run -------------------------------------------------------------------------------------------
def run_protocol(settings: Settings, done_ppl: dict | None = None) -> dict:
    """Train/fit/roll out what is not cached, evaluate everything; returns the run's record (timings too).

    ``done_ppl``: perplexities already in the results file (``{instrument: {model: ...}}``), not recomputed.
    """
    timer = Timer()
    results, ppl = {}, {}
    for name in settings.heldout:
        print(f"\n== {name} held out ==", flush=True)
        with timer.phase("read"):
            inst = load_instrument(name, settings)
        print(f"{len(inst.starts)} starts, windows of {(inst.starts[0].end - inst.starts[0].t0) / 1e9:.0f} s, "
              f"{sum(st.n_real for st in inst.starts):,} real modeled events in them", flush=True)
        models = train_models(inst, settings, timer)
        fits = fit_baselines(inst, settings, timer)
        roll_out(inst, settings, models, fits, timer)
        results[name] = evaluate_instrument(inst, settings, timer)
        todo = {m: d for m, d in models.items() if m not in (done_ppl or {}).get(name, {})}
        if todo:
            with timer.phase("perplexity"):
                ppl[name] = perplexities(inst, todo)
        print_summary(name, results[name])
    return {"instruments": results, "perplexity": ppl, "timings": timer.seconds, "total_s": timer.total()}


def print_summary(name: str, res: dict) -> None:
    """Ratios to the baselines and to the floor, and the verdicts, on stdout."""
    floor = res["floor"]
    for rep, v in verdicts(res).items():
        r, s = v["ks"]["log_return_10s"], v["ks"]["spread"]
        ratio = lambda d, b: _f(_num(d[TARGET_SOURCE]) / _num(d[b]) if _num(d.get(b)) else None, 2)  # noqa: E731
        print(f"{name} r{rep}: 10 s K-S {_f(r[TARGET_SOURCE])} (x{ratio(r, 'ZI')} ZI, x{ratio(r, 'Hawkes')} Hawkes); "
              f"spread K-S {_f(s[TARGET_SOURCE])} (x{ratio(s, 'ZI')} ZI, x{ratio(s, 'Hawkes')} Hawkes, "
              f"x{_f(_num(s[TARGET_SOURCE]) / _num(floor['spread']['ks']) if _num(floor['spread']['ks']) else None, 2)}"
              f" floor) -> target {'MET' if v['met'] else 'NOT MET' if v['met'] is False else 'n/a'}")
    if name == "AMZN":
        for src, reps in issue12_verdicts(res).items():
            for rep, v in reps.items():
                print(f"issue 12 {src} r{rep}: size {_f(v['order_size']['ks'])} (2x floor "
                      f"{_f(2 * (v['order_size']['floor'] or math.nan))}), depth {_f(v['price_depth']['ks'])} (2x "
                      f"floor {_f(2 * (v['price_depth']['floor'] or math.nan))}) -> {_mark(v['met'])}")


def parse_args(argv=None) -> tuple[Settings, argparse.Namespace]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="quality_out", help="working folder: models, fits, rollouts, reports (cache)")
    ap.add_argument("--heldout", default=",".join(INSTRUMENTS), help="instruments held out, comma-separated")
    ap.add_argument("--variants", default="", help="extra zero-shot TradeFM variants (book-best)")
    ap.add_argument("--sources", default=None, help="only these sources (comma-separated; default all)")
    ap.add_argument("--cancel-rule", default="newest", choices=("newest", "oldest", "size", "fit"))
    ap.add_argument("--replicates", type=int, default=3)
    ap.add_argument("--starts", type=int, default=None, help="first N starts of each schedule (default all)")
    ap.add_argument("--horizon", type=float, default=None, help="override every instrument's H (s)")
    ap.add_argument("--n-boot", type=int, default=100)
    ap.add_argument("--train-overrides", default="{}", help="JSON of extra `tradefm train` flags (tests)")
    ap.add_argument("--adapt-steps", type=int, default=None, help="override the demo's adaptation steps (tests)")
    ap.add_argument("--hawkes-maxiter", type=int, default=5000)
    ap.add_argument("--json", default=str(RESULTS_JSON), help="results file (runs of other labels are kept)")
    ap.add_argument("--label", default=None, help="the run's key in the results file (default: the cancel rule)")
    ap.add_argument("--no-census", action="store_true", help="skip the placement census of the data")
    ap.add_argument("--write", action="store_true", help="also update the marked section of benchmarks/RESULTS.md")
    args = ap.parse_args(argv)
    unknown = [v for v in filter(None, args.variants.split(",")) if v not in VARIANTS]
    if unknown:
        ap.error(f"unknown variant(s) {unknown} (known: {sorted(VARIANTS)})")
    s = Settings(Path(args.out), tuple(args.heldout.split(",")), tuple(filter(None, args.variants.split(","))),
                 tuple(args.sources.split(",")) if args.sources else None, args.cancel_rule, args.replicates,
                 args.starts, args.horizon, args.n_boot, json.loads(args.train_overrides), args.adapt_steps,
                 args.hawkes_maxiter, Path(args.json), args.label)
    bad = [h for h in s.heldout if h not in INSTRUMENTS]
    if bad:
        ap.error(f"unknown instrument(s) {bad} (known: {sorted(INSTRUMENTS)})")
    return s, args


def main(argv=None) -> dict:
    import torch

    settings, args = parse_args(argv)
    settings.out.mkdir(parents=True, exist_ok=True)
    doc = json.loads(settings.json_path.read_text()) if settings.json_path.exists() else {}
    run = run_protocol(settings, doc.get("perplexity"))
    doc["machine"] = (f"{platform.machine()}, {os.cpu_count()} CPU cores (shared with other jobs: timings are "
                      f"noisy), torch {torch.__version__}, python {platform.python_version()}")
    doc["protocol"] = {"instruments": {k: dataclasses.asdict(v) for k, v in INSTRUMENTS.items()},
                       "variants": VARIANTS, "target_source": TARGET_SOURCE, "replicates": "rollout ids of seed 0"}
    for name, models in run.pop("perplexity").items():
        doc.setdefault("perplexity", {}).setdefault(name, {}).update(models)
    run["command"] = "python benchmarks/bench_quality.py " + " ".join(sys.argv[1:] if argv is None else argv)
    run["settings"] = {k: (str(v) if isinstance(v, Path) else v) for k, v in dataclasses.asdict(settings).items()}
    run["cancel_rule"] = settings.cancel_rule
    label = settings.label or settings.cancel_rule
    # a re-run evaluates what is cached: keep every invocation's timings (the first one trained)
    earlier = doc.get("runs", {}).get(label, {}).get("history", [])
    run["history"] = [*earlier, {"command": run["command"], "total_s": run["total_s"], "timings": run["timings"],
                                 "date": time.strftime("%Y-%m-%d %H:%M")}][-6:]
    doc.setdefault("runs", {})[label] = run
    if not args.no_census:
        doc["census"] = {name: placement_census(name) for name in INSTRUMENTS}
    from modeling_tradefm.evaluation.report import to_jsonable

    doc = to_jsonable(doc)
    settings.json_path.parent.mkdir(parents=True, exist_ok=True)
    settings.json_path.write_text(json.dumps(doc, indent=1) + "\n")
    md = markdown(doc)
    settings.json_path.with_suffix(".md").write_text(md + "\n")
    print(f"\nwrote {settings.json_path} and {settings.json_path.with_suffix('.md')}; "
          f"{run['total_s'] / 60:.1f} min: " + ", ".join(f"{k} {v:.0f} s" for k, v in run["timings"].items()))
    if args.write:
        write_results_section(md.split("\n", 2)[2])
    return doc


if __name__ == "__main__":
    main()
