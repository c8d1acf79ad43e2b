# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""``datasets`` builder that turns raw MBO / LOBSTER files into tokenized TradeFM training windows.

Pipeline per file (one file = one shard):

    read_file  ->  EventTable  ->  build_features  ->  [SessionFeatures per (instrument, date)]
               ->  tokenizer.encode (frozen, calibrated)  ->  sliding windows of ``context_length``

Rows (one per window; every window lies inside ONE ``(instrument, date)`` session):

    input_ids    int64 [T]      composite trade tokens (mixed radix, < 16,384)
    context_ids  int64 [T, 3]   (tier, price-level bin, participant flag) describing the market right
                                AFTER event t, i.e. what conditions event t + 1 (contracts.md)
    labels       int64 [T]      == input_ids; -100 on right padding (the model's loss shifts)
    instrument_id, symbol, date session key;  window_start: offset of the window's first token in
                                the session's token stream;  n_tokens: real (non-padded) tokens.

Windowing choices (the paper is silent; all configurable):
    * ``stride`` defaults to ``context_length`` (non-overlapping windows; every token is a target
      once, except each window's first token, which has no left context inside the window);
    * the last partial window of a session is **right-padded** (``last_window="pad"``): padded
      positions hold token 0 / context 0 and ``labels == -100``. No attention mask is needed: the
      attention is causal, so real tokens never see the padding to their right, and padded
      positions are never targets. ``last_window="drop"`` drops the tail instead;
    * sessions with fewer than ``min_tokens`` tokens (after the split range) are skipped and
      counted.

Splits. Calibration, training and validation are decided per **date** by :func:`plan_splits`:
the tokenizer is calibrated on the first ``calib_days`` dates, validation is the trailing
``val_days`` dates and training is every other date (calibration dates included: calibration only
fixes the bin edges). **Tiny-data fallback** (``val_mode="auto"``): when the data hold no more than
``val_days`` distinct dates (e.g. the embedded samples: one ES evening and one AMZN/AAPL day), a
date split would leave nothing to train on, so instead the trailing ``val_fraction`` (10 %) of every
session's tokens is held out ("tail" mode): training sees the first 90 % of each session, validation
its last 10 % -- still a strictly later hold-out per instrument, never mixing windows. In tail mode
the tokenizer is calibrated on the training part of the sessions only.

Both access paths yield the same rows in the same order: ``as_streaming_dataset`` (files are the
shards; ``split_dataset_by_node`` hands whole files to ranks) and ``download_and_prepare(num_proc=N)``
+ ``as_dataset`` (memory-mapped Arrow; ``num_proc`` is capped at the number of files).

Cross-file state: features are built one file at a time, but the liquidity tier needs a rolling ADV
over earlier days that may sit in other files. :func:`scan_sessions` records every session's daily
(counted executed) volume, and the builder passes those of earlier dates to ``build_features`` as
``adv_history`` (config field of the same name), so the tier does not depend on how the days are
split into files.
"""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import logging
import os
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import datasets
import numpy as np
import pyarrow as pa
from datasets.builder import Key

logger = logging.getLogger(__name__)

IGNORE_INDEX = -100
NUM_CONTEXT_FIELDS = 3  # (tier, price-level bin, participant flag), contracts.md "Context rule"
VAL_MODES = ("auto", "days", "tail", "none")
LAST_WINDOW_MODES = ("pad", "drop")


# ---------------------------------------------------------------------------------------------
# windows
# ---------------------------------------------------------------------------------------------
def make_windows(
    input_ids: np.ndarray,
    context_ids: np.ndarray,
    context_length: int,
    stride: int | None = None,
    last_window: str = "pad",
    min_tokens: int = 2,
) -> dict[str, np.ndarray]:
    """Cut one session's token stream into fixed-length windows (never across the session).

    Args:
        input_ids: ``int64 [n]`` trade tokens of one session, time order.
        context_ids: ``int64 [n, K]`` context fields aligned with ``input_ids``.
        context_length: window length ``T``.
        stride: step between window starts, ``1 <= stride <= T``; ``None`` means ``T``.
        last_window: ``"pad"`` right-pads the uncovered tail into one more window (labels -100 on
            the padding); ``"drop"`` discards it.
        min_tokens: sessions shorter than this yield no window, and a padded tail shorter than this
            is dropped (a window needs >= 2 tokens to hold one next-token target).

    Returns:
        dict with ``input_ids [W, T]``, ``context_ids [W, T, K]``, ``labels [W, T]`` (int64),
        ``window_start [W]`` (offset of each window in the session) and ``n_tokens [W]``.
    """
    T = int(context_length)
    S = T if stride is None else int(stride)
    if T < 2:
        raise ValueError(f"context_length must be >= 2, got {T}")
    if not 1 <= S <= T:
        raise ValueError(f"stride must be in [1, context_length={T}], got {S}")
    if last_window not in LAST_WINDOW_MODES:
        raise ValueError(f"last_window must be one of {LAST_WINDOW_MODES}, got {last_window!r}")
    ids = np.asarray(input_ids, dtype=np.int64)
    ctx = np.asarray(context_ids, dtype=np.int64)
    n = len(ids)
    K = ctx.shape[1] if ctx.ndim == 2 else NUM_CONTEXT_FIELDS
    if ctx.shape[0] != n:
        raise ValueError(f"context_ids has {ctx.shape[0]} rows, input_ids {n}")
    empty = {
        "input_ids": np.zeros((0, T), np.int64),
        "context_ids": np.zeros((0, T, K), np.int64),
        "labels": np.zeros((0, T), np.int64),
        "window_start": np.zeros(0, np.int64),
        "n_tokens": np.zeros(0, np.int64),
    }
    if n < max(int(min_tokens), 1):
        return empty

    full_starts = np.arange(0, n - T + 1, S, dtype=np.int64) if n >= T else np.zeros(0, np.int64)
    # First position not yet inside a full window; a tail remains when it is before n.
    next_start = int(full_starts[-1]) + S if len(full_starts) else 0
    covered_end = int(full_starts[-1]) + T if len(full_starts) else 0
    tail = last_window == "pad" and covered_end < n and n - next_start >= max(int(min_tokens), 1)
    W = len(full_starts) + int(tail)
    if W == 0:
        return empty

    out_ids = np.zeros((W, T), np.int64)
    out_ctx = np.zeros((W, T, K), np.int64)
    out_lab = np.full((W, T), IGNORE_INDEX, np.int64)
    n_tok = np.full(W, T, np.int64)
    if len(full_starts):
        # Strided views, copied once into the output: no Python loop over windows.
        out_ids[: len(full_starts)] = np.lib.stride_tricks.sliding_window_view(ids, T)[full_starts]
        out_ctx[: len(full_starts)] = np.lib.stride_tricks.sliding_window_view(ctx, T, axis=0)[full_starts].transpose(
            0, 2, 1
        )
        out_lab[: len(full_starts)] = out_ids[: len(full_starts)]
    starts = full_starts
    if tail:
        m = n - next_start
        out_ids[-1, :m] = ids[next_start:]
        out_ctx[-1, :m] = ctx[next_start:]
        out_lab[-1, :m] = ids[next_start:]
        n_tok[-1] = m
        starts = np.append(full_starts, next_start)
    return {"input_ids": out_ids, "context_ids": out_ctx, "labels": out_lab, "window_start": starts, "n_tokens": n_tok}


# ---------------------------------------------------------------------------------------------
# dependency shims (the readers / features / tokenizer live in modeling_tradefm)
# ---------------------------------------------------------------------------------------------
def _expand_paths(paths: str | os.PathLike | Sequence[str | os.PathLike]) -> list[str]:
    from modeling_tradefm.io import expand_paths

    return [str(p) for p in expand_paths(paths)]


def _feature_config(feature_config: dict | None):
    from modeling_tradefm.features import FeatureConfig

    return FeatureConfig(**(feature_config or {}))


def _accepts(fn, name: str) -> bool:
    try:
        return name in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


def _read_events(path: str, read_options: dict | None):
    from modeling_tradefm.io import read_file

    return read_file(path, **(read_options or {})).events


def _split_sessions(events, fcfg):
    from modeling_tradefm.features import split_sessions

    if _accepts(split_sessions, "config"):
        return split_sessions(events, config=fcfg)
    return split_sessions(events)


def _build_features(events, fcfg, adv_history: dict | None = None) -> list:
    from modeling_tradefm.features import build_features

    sessions = _split_sessions(events, fcfg)
    history = None
    if adv_history:
        # build_features appends the file's own sessions to the history itself: leave them out
        # here, or a day present in both would count twice in the mean.
        own = {(int(s.instrument_id), str(s.date)) for s in sessions}
        history = {
            int(k): [(str(d), float(v)) for d, v in rows if (int(k), str(d)) not in own]
            for k, rows in adv_history.items()
        }
    return build_features(sessions, fcfg, adv_history=history, progress=False)


def _slice_session(session, lo: float, hi: float):
    """The ``[lo, hi)`` fraction (in events) of a SessionFeatures, every per-event array sliced alike."""
    if lo <= 0.0 and hi >= 1.0:
        return session
    n = len(session.action)
    a, b = _fraction_bounds(n, lo, hi)
    changes = {
        f.name: getattr(session, f.name)[a:b]
        for f in dataclasses.fields(session)
        if isinstance(getattr(session, f.name), np.ndarray) and getattr(session, f.name).shape[:1] == (n,)
    }
    return dataclasses.replace(session, **changes)


def _fraction_bounds(n: int, lo: float, hi: float) -> tuple[int, int]:
    # Rounding the same way everywhere keeps the train/validation cut of a session disjoint.
    return int(np.floor(lo * n + 0.5)), int(np.floor(hi * n + 0.5))


def _code_hash() -> str:
    """Hash of the sources that determine the rows, so a code change invalidates the Arrow cache."""
    h = hashlib.sha256()
    here = Path(__file__).resolve()
    pkg = here.parents[1] / "modeling_tradefm"
    sources = [here, pkg / "events.py", pkg / "features.py", pkg / "tokenization_tradefm.py"]
    sources += sorted((pkg / "io").glob("*.py"))
    for path in sources:
        if path.exists():
            h.update(path.name.encode())
            h.update(path.read_bytes())
    return h.hexdigest()[:16]


# ---------------------------------------------------------------------------------------------
# scanning, split planning, calibration
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SessionInfo:
    """One ``(instrument, date)`` session found in one file."""

    path: str
    instrument_id: int
    symbol: str
    date: str
    n_events: int
    daily_volume: int = 0


def adv_history_of(sessions: Sequence[SessionInfo]) -> dict[str, list[list]]:
    """Daily volumes per instrument, ``{"instrument_id": [[date, volume], ...]}`` (JSON-able).

    Feed it to :class:`TradeFMMBOConfig` ``adv_history`` so that each file's liquidity tiers see the
    earlier days of the other files (``build_features`` keeps only dates before each session).
    """
    per: dict[tuple[int, str], int] = {}
    for s in sessions:
        per[(s.instrument_id, s.date)] = per.get((s.instrument_id, s.date), 0) + int(s.daily_volume)
    out: dict[str, list[list]] = {}
    for (iid, date), vol in sorted(per.items()):
        out.setdefault(str(iid), []).append([date, vol])
    return out


def scan_sessions(
    files: str | os.PathLike | Sequence[str | os.PathLike],
    read_options: dict | None = None,
    feature_config: dict | None = None,
    progress: bool = True,
) -> list[SessionInfo]:
    """Read every file once and list its sessions (the dates decide the splits).

    Args:
        files: path, glob or list (expanded with ``modeling_tradefm.io.expand_paths``).
        read_options: keyword arguments for ``read_file``.
        feature_config: ``FeatureConfig`` fields (its session rule decides each event's date).
        progress: show a tqdm bar.

    Returns:
        One :class:`SessionInfo` per ``(file, instrument, date)``, files in sorted order, with the
        session's daily volume (executions counted once, as the features count them).
    """
    from tqdm.auto import tqdm

    from modeling_tradefm.features import counted_executions

    paths = _expand_paths(files)
    fcfg = _feature_config(feature_config)
    out: list[SessionInfo] = []
    for path in tqdm(paths, desc="scan sessions", unit="file", disable=not progress):
        events = _read_events(path, read_options)
        for s in _split_sessions(events, fcfg):
            volume = int(s.events.size[counted_executions(s.events)].sum(dtype=np.int64))
            out.append(SessionInfo(path, int(s.instrument_id), str(s.symbol), str(s.date), len(s.events), volume))
    return out


@dataclass
class SplitPlan:
    """Which dates (and which part of each session) go to calibration, training and validation.

    Attributes:
        mode: ``"days"`` (validation = trailing dates), ``"tail"`` (validation = trailing fraction of
            every session) or ``"none"`` (no validation split).
        dates: every distinct date, sorted.
        calib_dates / train_dates / val_dates: the dates of each role.
        train_range / val_range: ``[lo, hi)`` fraction of each session's tokens used by the split.
        calib_files / train_files / val_files: the files holding those dates (the shards).
    """

    mode: str
    dates: list[str]
    calib_dates: list[str]
    train_dates: list[str]
    val_dates: list[str]
    train_range: tuple[float, float] = (0.0, 1.0)
    val_range: tuple[float, float] = (0.0, 1.0)
    calib_files: list[str] = field(default_factory=list)
    train_files: list[str] = field(default_factory=list)
    val_files: list[str] = field(default_factory=list)

    def data_files(self) -> dict[str, list[str]]:
        """``data_files`` for :class:`TradeFMMBO` (a split with no file is left out)."""
        out = {"train": self.train_files}
        if self.mode != "none" and self.val_files:
            out["validation"] = self.val_files
        return out

    def builder_kwargs(self) -> dict[str, Any]:
        """The ``split_dates`` / ``split_ranges`` config fields that realise this plan."""
        return {
            "split_dates": {"train": list(self.train_dates), "validation": list(self.val_dates)},
            "split_ranges": {"train": list(self.train_range), "validation": list(self.val_range)},
        }

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SplitPlan:
        d = dict(d)
        d["train_range"] = tuple(d.get("train_range", (0.0, 1.0)))
        d["val_range"] = tuple(d.get("val_range", (0.0, 1.0)))
        return cls(**d)


def plan_splits(
    sessions: Sequence[SessionInfo],
    calib_days: int = 30,
    val_days: int = 30,
    val_mode: str = "auto",
    val_fraction: float = 0.1,
) -> SplitPlan:
    """Decide the calibration / training / validation dates (see the module docstring).

    Args:
        sessions: from :func:`scan_sessions`.
        calib_days: the tokenizer is calibrated on the first ``calib_days`` training dates.
        val_days: validation = the trailing ``val_days`` dates (``"days"`` mode).
        val_mode: ``"auto"`` (``"days"`` when there are more than ``val_days`` dates, else
            ``"tail"``; ``"none"`` when ``val_days == 0``), ``"days"``, ``"tail"`` or ``"none"``.
        val_fraction: the trailing fraction of each session held out in ``"tail"`` mode.

    Returns:
        A :class:`SplitPlan`.
    """
    if val_mode not in VAL_MODES:
        raise ValueError(f"val_mode must be one of {VAL_MODES}, got {val_mode!r}")
    if calib_days < 1:
        raise ValueError(f"calib_days must be >= 1, got {calib_days}")
    if val_days < 0:
        raise ValueError(f"val_days must be >= 0, got {val_days}")
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction}")
    dates = sorted({s.date for s in sessions})
    if not dates:
        raise ValueError("no sessions found in the data files")
    mode = val_mode
    if mode == "auto":
        mode = "none" if val_days == 0 else ("days" if len(dates) > val_days else "tail")
    if mode == "days":
        if not 0 < val_days < len(dates):
            raise ValueError(
                f"val_mode='days' needs 0 < val_days < number of dates ({len(dates)}), got val_days={val_days}; "
                "use val_mode='tail' (or 'auto') for small data"
            )
        train_dates, val_dates = dates[:-val_days], dates[-val_days:]
        train_range, val_range = (0.0, 1.0), (0.0, 1.0)
    elif mode == "tail":
        train_dates, val_dates = dates, dates
        cut = 1.0 - float(val_fraction)
        train_range, val_range = (0.0, cut), (cut, 1.0)
    else:  # none
        train_dates, val_dates = dates, []
        train_range, val_range = (0.0, 1.0), (0.0, 1.0)
    calib_dates = train_dates[:calib_days]

    def files_of(ds: Sequence[str]) -> list[str]:
        wanted = set(ds)
        return sorted({s.path for s in sessions if s.date in wanted})

    plan = SplitPlan(
        mode=mode,
        dates=dates,
        calib_dates=calib_dates,
        train_dates=train_dates,
        val_dates=val_dates,
        train_range=train_range,
        val_range=val_range,
        calib_files=files_of(calib_dates),
        train_files=files_of(train_dates),
        val_files=files_of(val_dates),
    )
    logger.info(
        "split plan: mode=%s, %d dates (%s .. %s), calibration %d dates, training %d dates %s, validation %d dates %s",
        mode, len(dates), dates[0], dates[-1], len(calib_dates), len(train_dates), train_range, len(val_dates), val_range,
    )  # fmt: skip
    return plan


def calibrate_tokenizer(
    files: str | os.PathLike | Sequence[str | os.PathLike],
    calib_days: int = 30,
    *,
    dates: Sequence[str] | None = None,
    token_range: tuple[float, float] = (0.0, 1.0),
    tokenizer_kwargs: dict | None = None,
    feature_config: dict | None = None,
    read_options: dict | None = None,
    adv_history: dict | None = None,
    progress: bool = True,
):
    """Calibrate a ``TradeFMTokenizer`` on the first ``calib_days`` dates of ``files`` (then frozen).

    Args:
        files: path, glob or list.
        calib_days: number of leading distinct dates to calibrate on (ignored when ``dates`` is
            given; pass ``SplitPlan.calib_dates`` to avoid holding sessions of later dates).
        dates: explicit calibration dates.
        token_range: ``[lo, hi)`` fraction of each session to use (``SplitPlan.train_range``, so
            that tail-mode validation events never shape the bins).
        tokenizer_kwargs: ``TradeFMTokenizer`` constructor arguments.
        feature_config: ``FeatureConfig`` fields.
        read_options: keyword arguments for ``read_file``.
        adv_history: daily volumes from :func:`adv_history_of` (tiers across files).
        progress: show a tqdm bar.

    Returns:
        The calibrated tokenizer.
    """
    from tqdm.auto import tqdm

    from modeling_tradefm.tokenization_tradefm import TradeFMTokenizer

    fcfg = _feature_config(feature_config)
    wanted = set(dates) if dates is not None else None
    sessions = []
    for path in tqdm(_expand_paths(files), desc="calibration features", unit="file", disable=not progress):
        for sf in _build_features(_read_events(path, read_options), fcfg, adv_history):
            if wanted is None or sf.date in wanted:
                sessions.append(_slice_session(sf, *token_range))
    if wanted is None:
        keep = set(sorted({s.date for s in sessions})[:calib_days])
        sessions = [s for s in sessions if s.date in keep]
    if not sessions:
        raise ValueError("no session to calibrate the tokenizer on")
    n_dates = len({s.date for s in sessions})
    tok = TradeFMTokenizer(**(tokenizer_kwargs or {}))
    tok.calibrate(sessions, calib_days=n_dates)
    logger.info("tokenizer calibrated on %d sessions over %d dates", len(sessions), n_dates)
    return tok


# ---------------------------------------------------------------------------------------------
# the builder
# ---------------------------------------------------------------------------------------------
@dataclass
class TradeFMMBOConfig(datasets.BuilderConfig):
    """Configuration of :class:`TradeFMMBO`.

    Attributes:
        tokenizer_config: ``TradeFMTokenizer.to_dict()`` of a calibrated tokenizer (JSON-able; it is
            part of the cache key, so another calibration gives another cache).
        feature_config: ``FeatureConfig`` fields (``None`` = defaults).
        read_options: keyword arguments for ``modeling_tradefm.io.read_file``.
        adv_history: ``{"instrument_id": [[date, daily_volume], ...]}`` from :func:`adv_history_of`;
            earlier days for the rolling ADV behind the liquidity tier.
        context_length: window length ``T`` (the paper: 1,024 events).
        stride: step between windows; ``None`` = ``context_length`` (no overlap).
        last_window: ``"pad"`` (right-pad the tail, labels -100) or ``"drop"``.
        min_tokens: sessions shorter than this (after the split range) are skipped and counted.
        split_dates: split name -> the dates it keeps (absent split or ``None``: every date).
        split_ranges: split name -> ``[lo, hi)`` fraction of each session's tokens it keeps.
        max_windows_per_table: rows per yielded Arrow table (bounds memory for long sessions).
    """

    tokenizer_config: dict | None = None
    feature_config: dict | None = None
    read_options: dict | None = None
    adv_history: dict | None = None
    context_length: int = 1024
    stride: int | None = None
    last_window: str = "pad"
    min_tokens: int = 2
    split_dates: dict | None = None
    split_ranges: dict | None = None
    max_windows_per_table: int = 1024

    def __post_init__(self):
        super().__post_init__()
        if self.context_length < 2:
            raise ValueError(f"context_length must be >= 2, got {self.context_length}")
        if self.stride is not None and not 1 <= self.stride <= self.context_length:
            raise ValueError(f"stride must be in [1, context_length], got {self.stride}")
        if self.last_window not in LAST_WINDOW_MODES:
            raise ValueError(f"last_window must be one of {LAST_WINDOW_MODES}, got {self.last_window!r}")
        for name, (lo, hi) in (self.split_ranges or {}).items():
            if not 0.0 <= lo < hi <= 1.0:
                raise ValueError(f"split_ranges[{name!r}] must satisfy 0 <= lo < hi <= 1, got {[lo, hi]}")


class TradeFMMBO(datasets.ArrowBasedBuilder):
    """Tokenized TradeFM windows from raw Databento MBO / LOBSTER files (one shard per file).

    Instantiate it directly (datasets 5.x has no loading scripts)::

        builder = TradeFMMBO(data_files={"train": files}, tokenizer_config=tok.to_dict(), context_length=1024)
        ds = builder.as_streaming_dataset(split="train")          # IterableDataset, num_shards == len(files)
        builder.download_and_prepare(num_proc=4); ds = builder.as_dataset(split="train")   # Arrow

    Rows: see the module docstring. Skips (too-short sessions, sessions outside the split's
    dates) are counted in ``self.stats[split]`` of the process that generated them.
    """

    BUILDER_CONFIG_CLASS = TradeFMMBOConfig
    VERSION = datasets.Version("1.0.0")

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("hash", _code_hash())
        super().__init__(*args, **kwargs)
        self.stats: dict[str, Counter] = {}
        self._tokenizer_obj = None

    def _info(self) -> datasets.DatasetInfo:
        T = self.config.context_length
        return datasets.DatasetInfo(
            description="TradeFM tokenized order-flow windows, one (instrument, date) session per window.",
            features=datasets.Features(
                {
                    "input_ids": datasets.List(datasets.Value("int64"), length=T),
                    "context_ids": datasets.Array2D(shape=(T, NUM_CONTEXT_FIELDS), dtype="int64"),
                    "labels": datasets.List(datasets.Value("int64"), length=T),
                    "instrument_id": datasets.Value("int64"),
                    "symbol": datasets.Value("string"),
                    "date": datasets.Value("string"),
                    "window_start": datasets.Value("int64"),
                    "n_tokens": datasets.Value("int64"),
                }
            ),
        )

    def _split_generators(self, dl_manager):
        if not self.config.data_files:
            raise ValueError("TradeFMMBO needs data_files, e.g. {'train': [...], 'validation': [...]}")
        if self.config.tokenizer_config is None:
            raise ValueError("TradeFMMBO needs tokenizer_config (a calibrated TradeFMTokenizer.to_dict())")
        data_files = dl_manager.download(self.config.data_files)
        return [
            # gen_kwargs holds exactly one list, the files: that list is what gets sharded.
            datasets.SplitGenerator(name=split, gen_kwargs={"files": list(files), "split": str(split)})
            for split, files in data_files.items()
        ]

    def _generate_shards(self, files, split):
        yield from files

    @property
    def tokenizer(self):
        """The frozen tokenizer rebuilt from ``config.tokenizer_config`` (once per process)."""
        if self._tokenizer_obj is None:
            from modeling_tradefm.tokenization_tradefm import TradeFMTokenizer

            self._tokenizer_obj = TradeFMTokenizer.from_dict(self.config.tokenizer_config)
        return self._tokenizer_obj

    def _generate_tables(self, files, split) -> Iterator[tuple[Key, pa.Table]]:
        cfg = self.config
        fcfg = _feature_config(cfg.feature_config)
        dates = (cfg.split_dates or {}).get(split)
        dates = set(dates) if dates is not None else None
        lo, hi = (cfg.split_ranges or {}).get(split, (0.0, 1.0))
        stats = self.stats.setdefault(split, Counter())
        for file_idx, path in enumerate(files):
            batch_idx = 0
            for sf in _build_features(_read_events(path, cfg.read_options), fcfg, cfg.adv_history):
                stats["sessions_in"] += 1
                if dates is not None and sf.date not in dates:
                    stats["skipped_date_not_in_split"] += 1
                    continue
                for table in self._session_tables(sf, lo, hi, stats):
                    yield Key(file_idx, batch_idx), table
                    batch_idx += 1

    def _session_tables(self, sf, lo: float, hi: float, stats: Counter) -> Iterator[pa.Table]:
        cfg = self.config
        enc = self.tokenizer.encode(sf)
        ids = np.asarray(enc["input_ids"], np.int64)
        ctx = np.asarray(enc["context_ids"], np.int64)
        a, b = _fraction_bounds(len(ids), lo, hi)
        w = make_windows(ids[a:b], ctx[a:b], cfg.context_length, cfg.stride, cfg.last_window, cfg.min_tokens)
        W = len(w["window_start"])
        if W == 0:
            stats["skipped_too_short"] += 1
            return
        stats["sessions_used"] += 1
        stats["windows"] += W
        stats["tokens"] += int(b - a)
        stats["padded_positions"] += int(W * cfg.context_length - w["n_tokens"].sum())
        T, K = cfg.context_length, NUM_CONTEXT_FIELDS
        features = self.info.features
        for s in range(0, W, cfg.max_windows_per_table):
            e = min(W, s + cfg.max_windows_per_table)
            m = e - s
            fixed = lambda x, n: pa.FixedSizeListArray.from_arrays(pa.array(x.reshape(-1)), n)  # noqa: E731
            # Array2D's storage is list<list<int64>>; build it from offsets without Python loops.
            inner = pa.ListArray.from_arrays(
                pa.array(np.arange(0, m * T * K + 1, K, dtype=np.int32)), pa.array(w["context_ids"][s:e].reshape(-1))
            )
            outer = pa.ListArray.from_arrays(pa.array(np.arange(0, m * T + 1, T, dtype=np.int32)), inner)
            ctx_arr = pa.ExtensionArray.from_storage(features["context_ids"](), outer)
            yield pa.table(
                {
                    "input_ids": fixed(w["input_ids"][s:e], T),
                    "context_ids": ctx_arr,
                    "labels": fixed(w["labels"][s:e], T),
                    "instrument_id": pa.array(np.full(m, int(sf.instrument_id), np.int64)),
                    "symbol": pa.array([str(sf.symbol)] * m, pa.string()),
                    "date": pa.array([str(sf.date)] * m, pa.string()),
                    "window_start": pa.array(w["window_start"][s:e] + a),
                    "n_tokens": pa.array(w["n_tokens"][s:e]),
                },
                schema=features.arrow_schema,
            )


# ---------------------------------------------------------------------------------------------
# convenience entry point
# ---------------------------------------------------------------------------------------------
def load_tradefm_mbo(
    data_files: str | os.PathLike | Sequence[str | os.PathLike] | dict[str, Any],
    streaming: bool = False,
    num_proc: int | None = None,
    cache_dir: str | None = None,
    split: str | None = None,
    **cfg: Any,
):
    """Instantiate :class:`TradeFMMBO` and return a streaming or a prepared (Arrow) dataset.

    Args:
        data_files: path, glob or list (-> ``{"train": files}``) or a dict split -> path/glob/list.
        streaming: ``True`` -> ``as_streaming_dataset`` (an ``IterableDataset`` per split, one shard
            per file); ``False`` -> ``download_and_prepare(num_proc)`` + ``as_dataset``.
        num_proc: processes for ``download_and_prepare`` (capped at the number of files).
        cache_dir: datasets cache folder (default: the HF datasets cache).
        split: one split name, or ``None`` for a dict of all splits.
        **cfg: :class:`TradeFMMBOConfig` fields (``tokenizer_config`` is required).

    Returns:
        ``IterableDataset`` / ``Dataset``, or a dict of them when ``split`` is ``None``.
    """
    if isinstance(data_files, dict):
        files = {k: _expand_paths(v) for k, v in data_files.items() if v}
    else:
        files = {"train": _expand_paths(data_files)}
    builder = TradeFMMBO(data_files=files, cache_dir=cache_dir, **cfg)
    if streaming:
        return builder.as_streaming_dataset(split=split)
    if num_proc is not None:
        num_proc = max(1, min(int(num_proc), max(len(v) for v in files.values())))
        if num_proc == 1:
            num_proc = None
    builder.download_and_prepare(num_proc=num_proc)
    return builder.as_dataset(split=split)


__all__ = [
    "IGNORE_INDEX",
    "SessionInfo",
    "SplitPlan",
    "TradeFMMBO",
    "TradeFMMBOConfig",
    "adv_history_of",
    "calibrate_tokenizer",
    "load_tradefm_mbo",
    "make_windows",
    "plan_splits",
    "scan_sessions",
]
