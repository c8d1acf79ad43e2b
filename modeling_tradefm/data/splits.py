# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""Which dates calibrate, train and validate: session scan, split plan, tokenizer calibration.

:func:`scan_sessions` reads every file once and lists its ``(instrument, date)`` sessions with their
daily volume; :func:`plan_splits` turns the dates into a :class:`SplitPlan` (the rules are in
:mod:`modeling_tradefm.data`); :func:`calibrate_tokenizer` fits the tokenizer's bins on the plan's
calibration dates. :func:`session_features` is the one place a file's events become
``SessionFeatures`` with the ADV history of the other files, for calibration and the builder alike;
:func:`file_session_features` reads the file first, with its LOBSTER orderbook where a book-aware
tokenizer needs the book and the file has one (``book.BookSource``: the orderbook, else replay).
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from ..book import BookSource
from ..features import FeatureConfig, build_features, counted_executions, modeled_events, split_sessions
from ..io import expand_paths, read_file
from ..tokenization_tradefm import TradeFMTokenizer
from .windows import MIN_TOKENS, count_windows, fraction_bounds, slice_session

logger = logging.getLogger(__name__)

VAL_MODES = ("auto", "days", "tail", "none")


def session_features(events, feature_config: FeatureConfig, adv_history: dict | None = None,
                     books=None) -> list:
    """``build_features`` of one file's sessions, the liquidity tier seeing the other files' earlier days.

    Args:
        events: the file's ``EventTable``.
        feature_config: the features' configuration (its session rule splits the sessions).
        adv_history: ``{"instrument_id": [[date, daily_volume], ...]}`` from :func:`adv_history_of`
            over all the files (this file's own days included or not).
        books: ``book.BookSource`` of ``events`` for the book context, or ``None`` (none).

    Returns:
        One ``SessionFeatures`` per session of the file.
    """
    sessions = split_sessions(events, config=feature_config)
    history = None
    if adv_history:
        # build_features appends the file's own sessions to the history itself: leave them out
        # here, or a day present in both would count twice in the mean.
        own = {(int(s.instrument_id), str(s.date)) for s in sessions}
        history = {
            int(k): [(str(d), float(v)) for d, v in rows if (int(k), str(d)) not in own]
            for k, rows in adv_history.items()
        }
    return build_features(sessions, feature_config, adv_history=history, progress=False, books=books)


def file_session_features(path, feature_config: FeatureConfig, adv_history: dict | None = None,
                          read_options: dict | None = None, book: bool = False) -> list:
    """Read one file and return :func:`session_features` of it.

    Args:
        path: the file.
        feature_config, adv_history: as in :func:`session_features`.
        read_options: keyword arguments for ``read_file``.
        book: compute the book context (``tokenizer.needs_book``): from the LOBSTER orderbook file
            next to a message file when there is one (exact; a level-1 message file does not
            determine its book), else by replaying the file through the simulator.
    """
    options = dict(read_options or {})
    if book:
        options.setdefault("orderbook", "auto")  # the sibling orderbook file when there is one (LOBSTER)
    result = read_file(path, **options)
    books = BookSource(result.events, result.orderbook, orderbook_path=path) if book else None
    return session_features(result.events, feature_config, adv_history, books=books)


@dataclass(frozen=True)
class SessionInfo:
    """One ``(instrument, date)`` session found in one file.

    ``n_events`` counts the file's records of the session, ``n_tokens`` its modeled orders (one
    token each): the windows a split cuts from it follow from ``n_tokens`` alone.
    """

    path: str
    instrument_id: int
    symbol: str
    date: str
    n_events: int
    daily_volume: int = 0
    n_tokens: int = 0


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
        session's daily volume (executions counted once, as the features count them) and its number
        of tokens (modeled orders).
    """
    paths = expand_paths(files)
    fcfg = FeatureConfig(**(feature_config or {}))
    out: list[SessionInfo] = []
    for path in tqdm(paths, desc="scan sessions", unit="file", disable=not progress):
        events = read_file(path, **(read_options or {})).events
        sessions = split_sessions(events, fcfg)
        # The modeled-order scan is a small part of build_features' cost; it gives exact window counts.
        for s, me in zip(sessions, modeled_events(sessions, fcfg), strict=True):
            volume = int(s.events.size[counted_executions(s.events)].sum(dtype=np.int64))
            out.append(SessionInfo(str(path), int(s.instrument_id), str(s.symbol), str(s.date), len(s.events), volume,
                                   len(me.ts_recv)))  # fmt: skip
    return out


def session_tokens_of(sessions: Sequence[SessionInfo]) -> dict[str, list[list]]:
    """Tokens per session of every file, ``{path: [[date, n_tokens], ...]}`` (JSON-able, for :class:`SplitPlan`)."""
    out: dict[str, list[list]] = {}
    for s in sessions:
        out.setdefault(s.path, []).append([s.date, int(s.n_tokens)])
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
        session_tokens: ``{path: [[date, n_tokens], ...]}``, every session's number of tokens, from
            which :meth:`windows_per_file` counts the windows without tokenizing.
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
    session_tokens: dict[str, list[list]] = field(default_factory=dict)

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

    def windows_per_file(
        self,
        split: str,
        context_length: int,
        stride: int | None = None,
        last_window: str = "pad",
        min_tokens: int = MIN_TOKENS,
    ) -> dict[str, int]:
        """How many windows the builder cuts from each file of ``split`` ("train" / "validation").

        The same rules as :class:`~modeling_tradefm.data.TradeFMMBO` with :meth:`builder_kwargs`:
        the split's dates, its ``[lo, hi)`` range of every session, then :func:`count_windows`.
        """
        if split == "train":
            files, dates, (lo, hi) = self.train_files, self.train_dates, self.train_range
        elif split == "validation":
            files, dates, (lo, hi) = self.val_files, self.val_dates, self.val_range
        else:
            raise ValueError(f"split must be 'train' or 'validation', got {split!r}")
        missing = [f for f in files if f not in self.session_tokens]
        if missing:
            raise ValueError(f"the split plan has no session counts for {missing[0]} (a plan made before they were kept)")
        wanted = set(dates)
        out = {}
        for path in files:
            total = 0
            for date, n in self.session_tokens[path]:
                if date in wanted:
                    a, b = fraction_bounds(int(n), lo, hi)
                    total += count_windows(b - a, context_length, stride, last_window, min_tokens)
            out[path] = total
        return out

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
        session_tokens=session_tokens_of(sessions),
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
    fcfg = FeatureConfig(**(feature_config or {}))
    tok = TradeFMTokenizer(**(tokenizer_kwargs or {}))
    wanted = set(dates) if dates is not None else None
    sessions = []
    for path in tqdm(expand_paths(files), desc="calibration features", unit="file", disable=not progress):
        for sf in file_session_features(path, fcfg, adv_history, read_options, book=tok.needs_book):
            if wanted is None or sf.date in wanted:
                sessions.append(slice_session(sf, *token_range))
    if wanted is None:
        keep = set(sorted({s.date for s in sessions})[:calib_days])
        sessions = [s for s in sessions if s.date in keep]
    if not sessions:
        raise ValueError("no session to calibrate the tokenizer on")
    n_dates = len({s.date for s in sessions})
    tok.calibrate(sessions, calib_days=n_dates)
    logger.info("tokenizer calibrated on %d sessions over %d dates", len(sessions), n_dates)
    return tok


__all__ = [
    "SessionInfo",
    "SplitPlan",
    "VAL_MODES",
    "adv_history_of",
    "calibrate_tokenizer",
    "file_session_features",
    "plan_splits",
    "scan_sessions",
    "session_features",
    "session_tokens_of",
]
