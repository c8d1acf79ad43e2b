# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""TradeFMTokenizer: the paper's universal tokenization of order-flow events (TradeFM §6).

One event → one composite token, a mixed-radix number, most significant digit first::

    token = a·(n_s·n_dp·n_v·n_dt) + s·(n_dp·n_v·n_dt) + δp·(n_v·n_dt) + v·n_dt + Δt
          = a·8192 + s·4096 + δp·256 + v·16 + Δt            (defaults: 2·2·16·16·16 = 16,384)

with ``a`` 0 add / 1 cancel, ``s`` 0 buy / 1 sell and the bins of the scale-invariant features of
:mod:`modeling_tradefm.features`. The paper's worked example (App. A.4): Δt = 11, δp = 7, v = 7,
a = 0, s = 1 → 6011. Conditioning fields (not predicted) go into ``context_ids`` with the column
order ``(tier, price_level_bin, participant)``; ``context_ids[t]`` describes the market right after
event ``t`` (see the context rule in the docs), which the features already provide.

Bins (calibrated once, then frozen; shared by every asset):

* ``δp`` (16) and ``Δp`` (32), two-sided, **equal-frequency** (quantile): bin 0 holds values below the
  ``lower_pct`` (1st) percentile, the last bin values at or above the ``upper_pct`` (99th)
  percentile, the bins in between are quantiles of the calibration values between those cuts.
* ``v = log(1 + size)`` (16), one-sided, **equal width on v** (already a log value): bins
  0..n−2 split ``[min v, 99th pct of v]`` evenly (anything below the minimum goes to bin 0); the
  last bin is the high-outlier bin.
* ``Δt`` (16), **equal width on log Δt**. ``Δt = 0`` (events in the same packet / same
  timestamp, very common) has no logarithm, so with ``dt_zero_bin=True`` (default) bin 0 is
  reserved for ``Δt = 0`` exactly, bins 1..n−2 split ``[log q1, log q99]`` of the *positive* Δt
  evenly (positive values below ``q1`` go to bin 1), the last bin is the high-outlier bin. With
  ``dt_zero_bin=False`` zeros share bin 0 with the smallest positive values.

Edges of the log fields are stored in the raw domain of the encoded value (``v`` resp. seconds),
so encoding is a ``searchsorted`` with no ``log`` at all.

Decoding samples inside the bin with the caller's ``numpy.random.Generator``, one uniform draw
``u`` per field and token (``rng.random(n)`` three times: δp, size, Δt, in that order). Two rules,
chosen by ``in_bin``:

* ``"empirical"`` (default for new calibrations): each field is drawn from the *calibration data
  inside the chosen bin*, kept in the state by ``calibrate`` and frozen with the edges.

  - **size** — per volume bin, the ``in_bin_values`` (32) most frequent integer sizes with their
    counts (``fields["volume"]["values"|"counts"]``) and the bin's sample count (``"n"``). With
    ``c`` = the listed sizes' share of the bin, ``u < c`` picks a listed size by inverse CDF
    (real sizes are point masses: 100, 200, 500 shares; 1, 2, 5 contracts); ``u ≥ c`` — the
    mass of sizes beyond the cap — falls to the uniform rule below with ``u' = (u − c)/(1 − c)``,
    so every integer of the bin stays reachable. A bin with no calibration sizes (``c = 0``)
    decodes exactly as the uniform rule.
  - **δp** and **Δt** — per bin, ``in_bin_quantiles`` (33) quantiles (probabilities
    ``0, 1/32, …, 1``) of the calibration values in the bin (``fields[...]["quantiles"]``), sampled
    by inverse CDF with linear interpolation between them. A bin without calibration values
    (empty list) uses the uniform rule. The Δt zero bin still decodes to exactly 0.

  Stored quantiles are rounded to 9 significant digits (where that keeps them in their bin) to
  keep the JSON small; every decoded value lies in its bin, so ``encode(decode(token))`` returns
  the token's δp, volume and Δt digits.

* ``"uniform"``: uniformly for ``δp``, uniformly on ``v`` for sizes (then rounded to an integer of
  that bin, ≥ 1), and log-uniformly for ``Δt`` (bin 0 of the zero bin decodes to exactly 0).
  Outlier bins are sampled between their cut and the most extreme calibration value on that side
  (both kept in the state).

A state without the tables (``format_version`` 1, written before they existed) loads and decodes
with the uniform rule whatever ``in_bin`` says, bit for bit as before for the same ``rng``. The
context ``Δp`` (``decode_price_level``) is always uniform in its bin.

**Calibration window.** ``calibrate(sessions, calib_days=30)`` uses the sessions of the first
``calib_days`` distinct trading dates. When fewer dates exist it uses *all* dates and warns (so a
one-day sample can still be tokenized; keep held-out days out of ``sessions`` yourself). Values
are subsampled to ``max_calib_samples`` with a fixed seed. After calibration the tokenizer is
frozen: calling ``calibrate`` again raises unless ``force=True``.

**Book-aware mode** (beyond the paper; :mod:`modeling_tradefm.book_bins` has the bins and why).
``book_fields`` appends context columns after the paper's three, in the given order: ``"spread"``
(``spread_bin``, the spread in ticks after the event) and ``"imbalance"`` (``imbalance_bin``, level-1
queue imbalance after the event); both have bin 0 reserved for "no two-sided book". Their values
come from ``build_features(..., books=...)`` (:mod:`modeling_tradefm.book_context`).
``price_reference`` says what the δp digit of the token measures: ``"vwap"`` (the paper:
``(price − mid)/mid`` with the EW-VWAP mid) or ``"best"`` (the order's aggressiveness in ticks from
its own side's best quote before it, ``SessionFeatures.price_depth_best``; fixed log-spaced bins,
calibrated in-bin tables). The token layout and vocabulary are unchanged; ``decode`` then returns
``price_depth`` in that unit (ticks for ``"best"``), and the caller turns it into a price from the
book (``proposer_tradefm``). A paper-mode tokenizer (``book_fields=()``, ``"vwap"``) writes exactly
the state it wrote before the option existed (``format_version`` 2); a book-aware one writes
``format_version`` 3, which older packages refuse instead of misreading.

**Persistence and the Hub.** State is JSON (``to_dict`` / ``from_dict``). ``save_pretrained(dir)``
writes the Hub files of a tokenizer: ``tradefm_tokenizer.json`` (the state), ``tokenizer_config.json``
(``auto_map`` → ``tokenization_tradefm.TradeFMTokenizer``) and a copy of this file, so that
``AutoTokenizer.from_pretrained(dir_or_repo_id, trust_remote_code=True)`` works without this package.
This file is therefore self-contained (numpy and the standard library; ``huggingface_hub`` for Hub
ids), like ``configuration_tradefm.py`` and ``modeling_tradefm.py``. A model checkpoint also keeps
the state in ``config.json`` as ``tokenizer_config``; ``from_pretrained`` reads either, from a folder,
a JSON file or a Hub repo id. ``__call__(features)`` and ``decode_fields(ids, seed=...)`` are the
Hugging Face-style entry points to ``encode`` and ``decode``.
"""

from __future__ import annotations

import importlib
import json
import math
import os
import re
import shutil
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

# The one relative import: ``book_bins.py`` is a Hub file too (numpy only), copied beside this one.
from .book_bins import (
    BOOK_FIELDS,
    DEFAULT_BEST_BOUNDS,
    DEFAULT_SPREAD_BOUNDS,
    IMBALANCE_BINNINGS,
    PRICE_REFERENCES,
    book_bin,
    check_bounds,
    fit_best,
    fit_imbalance,
    fit_spread,
)

# No relative imports: this file is also a Hub file, loaded by ``AutoTokenizer`` on its own.
TOKENIZER_FILE = "tradefm_tokenizer.json"
TOKENIZER_CONFIG_FILE = "tokenizer_config.json"
_MODULE = Path(__file__).stem  # "tokenization_tradefm", the auto_map module name
_CONFIG_FILE = "config.json"
_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")
# what AutoTokenizer.from_pretrained passes on besides the hub arguments (private ones start with "_")
_IGNORED_KWARGS = frozenset({"trust_remote_code", "proxies", "user_agent"})
# the feature columns ``encode`` reads (a subset of ``SessionFeatures.columns()``)
FEATURE_COLUMNS = ("action", "side", "price_depth", "log_volume", "dt", "price_level", "tier", "participant")
# 3: book-aware (``book_fields`` / ``price_reference``); 2: in-bin decode tables (``in_bin``);
# 1: edges only (decodes uniformly). A paper-mode state is still written as 2.
FORMAT_VERSION = 3
_PAPER_FORMAT_VERSION = 2
_FIELDS = ("price_depth", "volume", "dt", "price_level")
PAPER_CONTEXT_FIELDS = ("liquidity_tier", "price_level_bin", "participant_flag")
_BOOK_KEYS = ("book_fields", "price_reference", "spread_bounds", "n_imbalance", "imbalance_binning", "best_bounds")
_IN_BIN = ("empirical", "uniform")
_QUANTILE_FIELDS = ("price_depth", "dt")  # fields with per-bin quantile tables (volume: value tables)


class TradeFMTokenizer:
    """Bins, composite tokens and context ids of TradeFM (see the module docstring).

    Not a ``PreTrainedTokenizerBase``: there is no text, vocabulary file or padding; what
    ``AutoTokenizer`` needs (``from_pretrained``, ``register_for_auto_class``) is implemented here.

    Args:
        n_price_depth: bins of ``δp`` (paper: 16).
        n_volume: bins of ``v`` (16).
        n_dt: bins of ``Δt`` (16).
        n_price_level: bins of the context ``Δp`` (32).
        n_tiers: liquidity tiers (3).
        n_actions: 2 (add, cancel). n_sides: 2 (buy, sell). n_participant: 2 (I_MP flag).
        lower_pct / upper_pct: outlier cuts in percent (1 / 99).
        dt_zero_bin: reserve Δt bin 0 for Δt = 0.
        max_calib_samples: subsample size per field for calibration.
        seed: seed of that subsampling.
        in_bin: decode rule inside a bin, ``"empirical"`` (calibration data in the bin; falls back
            to uniform where the state has no table) or ``"uniform"`` (the rule of format 1).
        in_bin_values: most frequent sizes kept per volume bin for empirical decoding (32).
        in_bin_quantiles: quantiles kept per δp / Δt bin for empirical decoding (33).
        book_fields: book context columns appended after the paper's three, a subset of
            ``("spread", "imbalance")`` in the wanted order (default none: the paper).
        price_reference: ``"vwap"`` (the paper's δp) or ``"best"`` (ticks from the own best).
        spread_bounds: lower bounds (ticks) of the spread bins 1.. (bin 0: no two-sided book).
        n_imbalance: imbalance value bins (1..n; bin 0: no two-sided book).
        imbalance_binning: ``"uniform"`` (equal width on [−1, 1]) or ``"quantile"`` (calibrated).
        best_bounds: lower bounds (ticks) of the δp bins 1.. under ``price_reference="best"``
            (``n_price_depth − 1`` of them; default ``book_bins.DEFAULT_BEST_BOUNDS`` for 16 bins).
    """

    model_input_names = ["input_ids", "context_ids"]  # the model's inputs, in ``__call__``'s output
    _auto_class: str | None = None  # set by ``register_for_auto_class``

    def __init__(
        self,
        n_price_depth: int = 16,
        n_volume: int = 16,
        n_dt: int = 16,
        n_price_level: int = 32,
        n_tiers: int = 3,
        n_actions: int = 2,
        n_sides: int = 2,
        n_participant: int = 2,
        lower_pct: float = 1.0,
        upper_pct: float = 99.0,
        dt_zero_bin: bool = True,
        max_calib_samples: int = 5_000_000,
        seed: int = 0,
        in_bin: str = "empirical",
        in_bin_values: int = 32,
        in_bin_quantiles: int = 33,
        book_fields: Sequence[str] = (),
        price_reference: str = "vwap",
        spread_bounds: Sequence[float] = DEFAULT_SPREAD_BOUNDS,
        n_imbalance: int = 8,
        imbalance_binning: str = "uniform",
        best_bounds: Sequence[float] | None = None,
    ):
        for name, n, least in (
            ("n_price_depth", n_price_depth, 3), ("n_volume", n_volume, 2), ("n_dt", n_dt, 3 if dt_zero_bin else 2),
            ("n_price_level", n_price_level, 3), ("n_tiers", n_tiers, 1), ("n_actions", n_actions, 2),
            ("n_sides", n_sides, 2), ("n_participant", n_participant, 1),
        ):
            if int(n) < least:
                raise ValueError(f"{name} must be ≥ {least}, got {n}")
        if in_bin not in _IN_BIN:
            raise ValueError(f"in_bin must be one of {_IN_BIN}, got {in_bin!r}")
        if int(in_bin_values) < 1 or int(in_bin_quantiles) < 2:
            raise ValueError(f"need in_bin_values ≥ 1 and in_bin_quantiles ≥ 2, got {in_bin_values}, {in_bin_quantiles}")
        if not 0 <= lower_pct < upper_pct <= 100:
            raise ValueError(f"need 0 ≤ lower_pct < upper_pct ≤ 100, got {lower_pct}, {upper_pct}")
        self.n_price_depth = int(n_price_depth)
        self.n_volume = int(n_volume)
        self.n_dt = int(n_dt)
        self.n_price_level = int(n_price_level)
        self.n_tiers = int(n_tiers)
        self.n_actions = int(n_actions)
        self.n_sides = int(n_sides)
        self.n_participant = int(n_participant)
        self.lower_pct = float(lower_pct)
        self.upper_pct = float(upper_pct)
        self.dt_zero_bin = bool(dt_zero_bin)
        self.max_calib_samples = int(max_calib_samples)
        self.seed = int(seed)
        self.in_bin = in_bin
        self.in_bin_values = int(in_bin_values)
        self.in_bin_quantiles = int(in_bin_quantiles)
        self._init_book(book_fields, price_reference, spread_bounds, n_imbalance, imbalance_binning, best_bounds)
        # per field: edges (len n−1, increasing; bin = searchsorted(edges, x, "right")), low/high
        # (decode range of the outermost bins = calibration extremes)
        self.fields: dict[str, dict[str, Any]] = {}
        self.calibration: dict[str, Any] = {}
        self._arrays: dict[str, tuple[np.ndarray, float, float]] = {}
        # in-bin decode tables as arrays (from ``fields``; empty when the state has none)
        self._tables: dict[str, tuple] = {}

    def _init_book(self, book_fields, price_reference, spread_bounds, n_imbalance, imbalance_binning, best_bounds):
        fields_ = tuple(str(f) for f in book_fields)
        if len(set(fields_)) != len(fields_) or not set(fields_) <= set(BOOK_FIELDS):
            raise ValueError(f"book_fields must be distinct names from {BOOK_FIELDS}, got {list(book_fields)}")
        if price_reference not in PRICE_REFERENCES:
            raise ValueError(f"price_reference must be one of {PRICE_REFERENCES}, got {price_reference!r}")
        if imbalance_binning not in IMBALANCE_BINNINGS:
            raise ValueError(f"imbalance_binning must be one of {IMBALANCE_BINNINGS}, got {imbalance_binning!r}")
        if int(n_imbalance) < 2:
            raise ValueError(f"n_imbalance must be ≥ 2, got {n_imbalance}")
        self.book_fields = fields_
        self.price_reference = price_reference
        self.spread_bounds = check_bounds("spread_bounds", spread_bounds)
        self.n_imbalance = int(n_imbalance)
        self.imbalance_binning = imbalance_binning
        if best_bounds is None and price_reference == "best":
            if self.n_price_depth != len(DEFAULT_BEST_BOUNDS) + 1:
                raise ValueError(f"price_reference='best' with n_price_depth={self.n_price_depth} needs best_bounds "
                                 f"({self.n_price_depth - 1} lower bounds in ticks)")
            best_bounds = DEFAULT_BEST_BOUNDS
        self.best_bounds = None if best_bounds is None else check_bounds("best_bounds", best_bounds, self.n_price_depth)

    # ------------------------------------------------------------------------------ sizes
    @property
    def vocab_size(self) -> int:
        return self.n_actions * self.n_sides * self.n_price_depth * self.n_volume * self.n_dt

    @property
    def field_vocab_sizes(self) -> list[int]:
        """``[trade token, tier, price-level bin, participant, *book fields]``: the model's input tables."""
        book = {"spread": self.n_spread_bins, "imbalance": self.n_imbalance_bins}
        return [self.vocab_size, self.n_tiers, self.n_price_level, self.n_participant, *(book[f] for f in self.book_fields)]

    @property
    def context_fields(self) -> list[str]:
        """Names of the ``context_ids`` columns (``TradeFMConfig.context_fields``)."""
        return [*PAPER_CONTEXT_FIELDS, *(f"{f}_bin" for f in self.book_fields)]

    @property
    def n_spread_bins(self) -> int:
        return len(self.spread_bounds) + 1  # + the reserved "no two-sided book" bin

    @property
    def n_imbalance_bins(self) -> int:
        return self.n_imbalance + 1

    @property
    def is_paper(self) -> bool:
        """The paper's tokenization: no book context field and δp from the EW-VWAP mid."""
        return not self.book_fields and self.price_reference == "vwap"

    @property
    def needs_book(self) -> bool:
        """Whether encoding needs the book context of the features (``build_features(..., books=...)``)."""
        return not self.is_paper

    @property
    def feature_columns(self) -> tuple[str, ...]:
        """The feature columns :meth:`encode` reads: ``FEATURE_COLUMNS`` plus the book context it needs."""
        extra = ("price_depth_best",) if self.price_reference == "best" else ()
        extra += ("spread_ticks", "imbalance") if self.book_fields else ()
        return FEATURE_COLUMNS + extra

    @property
    def is_calibrated(self) -> bool:
        return bool(self.fields)

    def _n(self, name: str) -> int:
        return {"price_depth": self.n_price_depth, "volume": self.n_volume, "dt": self.n_dt, "price_level": self.n_price_level}[name]

    # ------------------------------------------------------------------------------ mixed radix
    def compose(self, action, side, price_depth_bin, volume_bin, dt_bin) -> np.ndarray:
        """Composite token ids from field digits (arrays or scalars) → int64."""
        a, s, p, v, d = (np.asarray(x, dtype=np.int64) for x in (action, side, price_depth_bin, volume_bin, dt_bin))
        for name, x, n in (("action", a, self.n_actions), ("side", s, self.n_sides), ("price_depth_bin", p, self.n_price_depth),
                           ("volume_bin", v, self.n_volume), ("dt_bin", d, self.n_dt)):
            if x.size and (x.min() < 0 or x.max() >= n):
                raise ValueError(f"{name} out of range [0, {n}): min {x.min()}, max {x.max()}")
        return (((a * self.n_sides + s) * self.n_price_depth + p) * self.n_volume + v) * self.n_dt + d

    def decompose(self, input_ids) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Inverse of :meth:`compose`: ``(action, side, price_depth_bin, volume_bin, dt_bin)``."""
        ids = np.asarray(input_ids, dtype=np.int64)
        if ids.size and (ids.min() < 0 or ids.max() >= self.vocab_size):
            raise ValueError(f"token ids must be in [0, {self.vocab_size}), got min {ids.min()}, max {ids.max()}")
        ids, d = np.divmod(ids, self.n_dt)
        ids, v = np.divmod(ids, self.n_volume)
        ids, p = np.divmod(ids, self.n_price_depth)
        a, s = np.divmod(ids, self.n_sides)
        return a, s, p, v, d

    # ------------------------------------------------------------------------------ calibration
    def calibrate(self, sessions: Sequence, calib_days: int = 30, force: bool = False) -> TradeFMTokenizer:
        """Fit the bins on the first ``calib_days`` trading dates of ``sessions``; then frozen.

        Args:
            sessions: ``SessionFeatures`` (anything with ``date``, ``price_depth``, ``log_volume``,
                ``dt``, ``price_level`` arrays; book-aware: built with ``books``, see :attr:`needs_book`).
            calib_days: number of distinct dates (earliest first) to calibrate on.
            force: re-calibrate a calibrated tokenizer (changes every token id: only for a new model).

        Returns:
            self.

        Raises:
            RuntimeError: already calibrated and ``force`` is false.
            ValueError: no events in the calibration window.
        """
        if self.is_calibrated and not force:
            raise RuntimeError("TradeFMTokenizer is already calibrated (frozen); pass force=True to re-calibrate")
        sessions = list(sessions)
        dates = sorted({s.date for s in sessions})
        if not dates:
            raise ValueError("calibrate() got no sessions")
        fallback = len(dates) < calib_days
        if fallback:
            warnings.warn(
                f"calibrate(): only {len(dates)} trading date(s) available, fewer than calib_days={calib_days}; "
                "calibrating on all of them", stacklevel=2,
            )
        chosen = set(dates[:calib_days])
        window = [s for s in sessions if s.date in chosen and len(s.price_depth)]
        n_events = sum(len(s.price_depth) for s in window)
        if n_events == 0:
            raise ValueError("calibrate(): no modeled events in the calibration window")
        for s in window:
            self._check_book(s)
        rng = np.random.default_rng(self.seed)

        def gather(attr: str) -> np.ndarray:
            x = np.concatenate([np.asarray(getattr(s, attr), dtype=np.float64) for s in window])
            if not np.isfinite(x).all():
                raise ValueError(f"calibrate(): {attr} has non-finite values")
            if len(x) > self.max_calib_samples:
                x = x[rng.choice(len(x), self.max_calib_samples, replace=False)]
            return x

        depth = "price_depth_best" if self.price_reference == "best" else "price_depth"
        x_dp, x_pl, x_v, x_dt = (gather(a) for a in (depth, "price_level", "log_volume", "dt"))
        fields = {
            "price_depth": (fit_best(x_dp, self.best_bounds) if self.price_reference == "best"
                            else self._fit_quantile(x_dp, self.n_price_depth)),
            "price_level": self._fit_quantile(x_pl, self.n_price_level),
            "volume": self._fit_volume(x_v),
            "dt": self._fit_dt(x_dt),
        }
        # in-bin decode tables from the same (subsampled) values the edges came from
        fields["price_depth"]["quantiles"] = self._fit_in_bin_quantiles(x_dp, fields["price_depth"]["edges"])
        fields["dt"]["quantiles"] = self._fit_in_bin_quantiles(x_dt, fields["dt"]["edges"], skip_bin0=self.dt_zero_bin)
        fields["volume"].update(self._fit_in_bin_values(x_v, fields["volume"]["edges"]))
        if "spread" in self.book_fields:
            fields["spread"] = fit_spread(self.spread_bounds)
        if "imbalance" in self.book_fields:
            # NaN (no two-sided book) is the reserved bin, not a calibration value: no gather()
            x_imb = np.concatenate([np.asarray(s.imbalance, dtype=np.float64) for s in window])
            fields["imbalance"] = fit_imbalance(x_imb, self.n_imbalance, self.imbalance_binning)
        self.fields = fields
        self.calibration = {
            "calib_days": int(calib_days),
            "dates": sorted(chosen),
            "fallback_all_dates": bool(fallback),
            "sessions": len(window),
            "events": int(n_events),
        }
        self._cache_arrays()
        return self

    def _fit_quantile(self, x: np.ndarray, n: int) -> dict:
        probs = np.linspace(self.lower_pct, self.upper_pct, n - 1) / 100.0
        edges = _strictly_increasing(np.quantile(x, probs))
        return {"kind": "quantile", "edges": edges.tolist(), "low": float(x.min()), "high": float(x.max())}

    def _fit_volume(self, v: np.ndarray) -> dict:
        lo = float(v.min())
        hi = float(np.percentile(v, self.upper_pct))
        if hi <= lo:  # a single size in the whole window
            hi = lo + 1.0
        edges = np.linspace(lo, hi, self.n_volume)[1:]  # n−2 interior boundaries + the outlier cut
        return {"kind": "log_equal_width", "edges": _strictly_increasing(edges).tolist(), "low": lo, "high": max(float(v.max()), hi)}

    def _fit_dt(self, dt: np.ndarray) -> dict:
        if (dt < 0).any():
            raise ValueError("calibrate(): dt has negative values")
        pos = dt[dt > 0]
        if len(pos) == 0:
            pos = np.array([1e-6, 1.0])
        lo = math.log(float(np.percentile(pos, self.lower_pct)))
        hi = math.log(float(np.percentile(pos, self.upper_pct)))
        if hi <= lo:
            hi = lo + 1.0
        if self.dt_zero_bin:
            # bin 0 = exactly 0; bins 1..n−2 equal width on log; n−1 high outliers
            interior = np.exp(np.linspace(lo, hi, self.n_dt - 1))[1:]
            edges = np.concatenate([[np.nextafter(0.0, 1.0)], interior])
        else:
            edges = np.exp(np.linspace(lo, hi, self.n_dt))[1:]
        return {
            "kind": "log_equal_width_dt", "edges": _strictly_increasing(edges).tolist(),
            "low": float(math.exp(lo)), "high": max(float(pos.max()), float(math.exp(hi))),
        }

    def _fit_in_bin_quantiles(self, x: np.ndarray, edges: list[float], skip_bin0: bool = False) -> list[list[float]]:
        """Per bin, ``in_bin_quantiles`` quantiles of the values ``x`` that fall in it ([] if none)."""
        e = np.asarray(edges, dtype=np.float64)
        b = _bin_values(np.asarray(x, dtype=np.float64), e)
        order = np.lexsort((x, b))
        xs, bs = x[order], b[order]
        bins = np.arange(len(e) + 1)
        starts, ends = np.searchsorted(bs, bins, "left"), np.searchsorted(bs, bins, "right")
        probs = np.linspace(0.0, 1.0, self.in_bin_quantiles)
        out: list[list[float]] = []
        for k in bins:
            seg = xs[starts[k]:ends[k]]
            if not len(seg) or (skip_bin0 and k == 0):
                out.append([])
                continue
            q = np.quantile(seg, probs)
            # 9 significant digits where the rounded value stays in the bin (a compact JSON)
            r = np.array([float(f"{v:.9g}") for v in q])
            q = np.where(_bin_values(r, e) == k, r, q)
            out.append([float(v) for v in np.maximum.accumulate(q)])
        return out

    def _fit_in_bin_values(self, v: np.ndarray, edges: list[float]) -> dict[str, list]:
        """Per volume bin: the ``in_bin_values`` most frequent sizes (ascending) and their counts, and ``n``.

        ``n`` counts every calibration value of the bin, so ``sum(counts) / n`` is the share the
        listed sizes cover. Sizes below 1 are never listed (decoded sizes are ≥ 1).
        """
        e = np.asarray(edges, dtype=np.float64)
        size = np.rint(np.expm1(v)).astype(np.int64)
        b = _bin_values(np.log1p(size.astype(np.float64)), e)  # the bin encode() gives that size
        n = np.bincount(b, minlength=len(e) + 1)
        keep = size >= 1
        keys, counts = np.unique((b[keep] << 40) | size[keep], return_counts=True)
        kb, ks = keys >> 40, keys & ((1 << 40) - 1)
        values, table_counts = [], []
        for k in range(len(e) + 1):
            sel = kb == k
            sv, sc = ks[sel], counts[sel]
            top = np.lexsort((sv, -sc))[: self.in_bin_values]  # most frequent first, ties: smaller size
            top = top[np.argsort(sv[top])]
            values.append([int(x) for x in sv[top]])
            table_counts.append([int(x) for x in sc[top]])
        return {"values": values, "counts": table_counts, "n": [int(x) for x in n]}

    def _cache_arrays(self) -> None:
        self._arrays = {
            name: (np.asarray(f["edges"], dtype=np.float64), float(f["low"]), float(f["high"]))
            for name, f in self.fields.items() if name in _FIELDS
        }
        self._book_edges = {name: np.asarray(self.fields[name]["edges"], dtype=np.float64) for name in self.book_fields}
        # decode ranges of every bin: [ext[b], ext[b + 1])
        self._ext = {
            name: np.concatenate([[min(low, edges[0])], edges, [max(high, edges[-1])]]) for name, (edges, low, high) in self._arrays.items()
        }
        self._tables = {}
        vol = self.fields["volume"]
        if "values" in vol:
            width = max(1, max(len(r) for r in vol["values"]))
            vals = np.ones((self.n_volume, width), dtype=np.int64)
            cum = np.zeros((self.n_volume, width), dtype=np.float64)
            for k, (r, c, n) in enumerate(zip(vol["values"], vol["counts"], vol["n"], strict=True)):
                if r:
                    vals[k, :len(r)], vals[k, len(r):] = r, r[-1]
                    cs = np.cumsum(np.asarray(c, dtype=np.float64)) / float(n)
                    cum[k, :len(r)], cum[k, len(r):] = cs, cs[-1]
            self._tables["volume"] = (vals, cum, cum[:, -1].copy())
        for name in _QUANTILE_FIELDS:
            rows = self.fields[name].get("quantiles")
            if rows is None:
                continue
            m = max([len(r) for r in rows] + [2])
            table = np.zeros((len(rows), m), dtype=np.float64)
            has = np.array([bool(r) for r in rows])
            for k, r in enumerate(rows):
                if r:
                    table[k] = r
            if name == "dt" and self.dt_zero_bin:
                has[0] = True  # the zero bin: a row of zeros decodes to exactly 0
                table[0] = 0.0
            self._tables[name] = (table, has, bool(has.all()))

    def _require(self) -> None:
        if not self.is_calibrated:
            raise RuntimeError("TradeFMTokenizer is not calibrated: call calibrate(sessions) or from_pretrained(dir)")

    # ------------------------------------------------------------------------------ encoding
    def _bin(self, name: str, x) -> np.ndarray:
        self._require()
        x = np.asarray(x, dtype=np.float64)
        shape = x.shape
        out = _bin_values(x.reshape(-1), self._arrays[name][0])
        if out.size and out.min() < 0:
            raise ValueError(f"{name}: NaN values cannot be tokenized")
        return out.reshape(shape)

    def price_depth_bin(self, price_depth) -> np.ndarray:
        return self._bin("price_depth", price_depth)

    def volume_bin(self, size) -> np.ndarray:
        """Bins of sizes (shares/contracts), via ``v = log(1 + size)``."""
        return self._bin("volume", np.log1p(np.asarray(size, dtype=np.float64)))

    def dt_bin(self, dt) -> np.ndarray:
        dt = np.asarray(dt, dtype=np.float64)
        if dt.size and (dt < 0).any():
            raise ValueError("dt must be ≥ 0")
        return self._bin("dt", dt)

    def price_level_bin(self, price_level) -> np.ndarray:
        """Context bins of ``Δp = (mid − p_open)/p_open`` (float array → int64 in [0, n_price_level))."""
        return self._bin("price_level", price_level)

    def spread_bin(self, spread_ticks) -> np.ndarray:
        """Context bins of the spread in ticks (NaN = no two-sided book → bin 0) → int64."""
        self._require_book("spread")
        return book_bin(self._book_edges["spread"], spread_ticks)

    def imbalance_bin(self, imbalance) -> np.ndarray:
        """Context bins of the level-1 queue imbalance in [−1, 1] (NaN = no two-sided book → bin 0) → int64."""
        self._require_book("imbalance")
        return book_bin(self._book_edges["imbalance"], imbalance)

    def book_context_ids(self, spread_ticks, imbalance) -> np.ndarray:
        """int64 [n, len(book_fields)]: the book context columns of 1-D values, in ``book_fields`` order."""
        if not self.book_fields:
            raise ValueError("this tokenizer has no book fields (paper mode)")
        values = {"spread": spread_ticks, "imbalance": imbalance}
        bins = {"spread": self.spread_bin, "imbalance": self.imbalance_bin}
        return np.stack([bins[f](np.atleast_1d(values[f])) for f in self.book_fields], axis=-1)

    def _require_book(self, name: str) -> None:
        self._require()
        if name not in self.book_fields:
            raise ValueError(f"this tokenizer has no {name!r} book field (book_fields={list(self.book_fields)})")

    def _check_book(self, session) -> None:
        """Raise ``ValueError`` when a book-aware tokenizer gets a session without the book context."""
        if not self.needs_book:
            return
        try:
            _feature(session, "price_depth_best" if self.price_reference == "best" else "spread_ticks")
        except KeyError:
            raise ValueError(
                f"session {getattr(session, 'symbol', '?')} {getattr(session, 'date', '?')} has no book context, "
                f"which this tokenizer needs (book_fields={list(self.book_fields)}, price_reference="
                f"{self.price_reference!r}): build it with build_features(..., books=book.BookSource(events, orderbook))"
            ) from None

    def encode_orders(self, action, side, price_depth, size, dt) -> np.ndarray:
        """Token ids of orders given as 1-D arrays (action 0/1, side 0/1, δp, size, Δt seconds) → int64.

        ``price_depth`` is in the unit of ``price_reference``: the fraction ``(price − mid)/mid``
        (``"vwap"``) or the aggressiveness in ticks from the own best (``"best"``).
        """
        return self._encode(action, side, price_depth, np.log1p(np.asarray(size, dtype=np.float64)), dt)

    def _encode(self, action, side, price_depth, log_volume, dt) -> np.ndarray:
        self._require()
        cols = [np.atleast_1d(np.asarray(action)), np.atleast_1d(np.asarray(side))]
        if cols[0].dtype.kind not in "iu" or cols[1].dtype.kind not in "iu":
            raise ValueError(f"action and side must be integer arrays, got {cols[0].dtype}, {cols[1].dtype}")
        cols += [np.atleast_1d(np.asarray(x, dtype=np.float64)) for x in (price_depth, log_volume, dt)]
        if len({len(c) for c in cols}) != 1:
            raise ValueError(f"encode: arrays of different lengths {[len(c) for c in cols]}")
        ids = _encode_tokens(
            *cols, self._arrays["price_depth"][0], self._arrays["volume"][0], self._arrays["dt"][0], self.n_actions, self.n_sides,
        )
        if len(ids) and ids.min() < 0:
            bad = int(np.flatnonzero(ids < 0)[0])
            raise ValueError(
                f"encode: row {bad} cannot be tokenized (NaN, dt < 0, or action/side out of range): "
                f"action={cols[0][bad]}, side={cols[1][bad]}, price_depth={cols[2][bad]}, log_volume={cols[3][bad]}, dt={cols[4][bad]}"
            )
        return ids

    def encode(self, session) -> dict[str, np.ndarray]:
        """Tokens of one session.

        Args:
            session: ``SessionFeatures`` (with the book context when :attr:`needs_book`), or a
                mapping of its arrays (``SessionFeatures.columns()``, a ``datasets`` row, the
                ``pyarrow.Table`` of ``to_arrow()``) with at least the columns :meth:`feature_columns`.

        Returns:
            ``{"input_ids": int64 [n], "context_ids": int64 [n, 3 + len(book_fields)]}``, context
            columns :attr:`context_fields` = ``(tier, price_level_bin, participant, *book bins)``.

        Raises:
            KeyError: a needed column is missing.
            ValueError: NaN features, negative Δt, codes/tier/participant out of range, or no book
                context where the tokenizer needs one.
        """
        self._check_book(session)
        col = {name: _feature(session, name, self.feature_columns) for name in self.feature_columns}
        depth = col["price_depth_best"] if self.price_reference == "best" else col["price_depth"]
        tokens = self._encode(col["action"], col["side"], depth, col["log_volume"], col["dt"])
        n = len(tokens)
        ctx = np.empty((n, 3 + len(self.book_fields)), dtype=np.int64)
        ctx[:, 0] = col["tier"]
        ctx[:, 1] = self.price_level_bin(col["price_level"])
        ctx[:, 2] = col["participant"]
        if self.book_fields:
            ctx[:, 3:] = self.book_context_ids(col["spread_ticks"], col["imbalance"])
        for j, name, lim in ((0, "tier", self.n_tiers), (2, "participant", self.n_participant)):
            if n and (ctx[:, j].min() < 0 or ctx[:, j].max() >= lim):
                where = f" in session {session.symbol} {session.date}" if hasattr(session, "symbol") else ""
                raise ValueError(f"{name} out of range [0, {lim}){where}")
        return {"input_ids": tokens, "context_ids": ctx}

    def __call__(self, features, return_tensors: str | None = None) -> dict:
        """``encode`` as a Hugging Face tokenizer call: ``model(**tokenizer(features, return_tensors="pt"))``.

        Args:
            features: one session's feature columns, as ``encode`` takes them.
            return_tensors: None for ``encode``'s arrays (``[n]``, ``[n, 3]``); ``"np"`` or ``"pt"``
                for numpy arrays or torch tensors with a batch axis (``[1, n]``, ``[1, n, 3]``).

        Returns:
            ``{"input_ids", "context_ids"}``.
        """
        out = self.encode(features)
        if return_tensors is None:
            return out
        if return_tensors == "np":
            return {k: v[None] for k, v in out.items()}
        if return_tensors == "pt":
            torch = importlib.import_module("torch")  # only here: the tokenizer itself needs numpy alone
            return {k: torch.from_numpy(v[None]) for k, v in out.items()}
        raise ValueError(f"return_tensors must be None, 'np' or 'pt', got {return_tensors!r}")

    # ------------------------------------------------------------------------------ decoding
    def _bounds(self, name: str, bins: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        ext = self._ext[name]
        return ext[bins], ext[bins + 1]

    def bin_bounds(self, name: str, bins) -> tuple[np.ndarray, np.ndarray]:
        """``(lower, upper)`` decode range of ``bins`` of field ``name`` (in the encoded domain)."""
        self._require()
        return self._bounds(name, np.asarray(bins, dtype=np.int64))

    @property
    def in_bin_tables(self) -> tuple[str, ...]:
        """Fields whose state has empirical in-bin tables (decoded empirically when ``in_bin="empirical"``)."""
        return tuple(name for name in ("price_depth", "volume", "dt") if name in self._tables)

    def decode(self, input_ids, rng: np.random.Generator | Sequence[np.random.Generator]) -> dict[str, np.ndarray]:
        """Orders from token ids, each field sampled inside its bin (rule: ``in_bin``, module docstring).

        Args:
            input_ids: int array [...] of token ids.
            rng: the caller's seeded generator (the only source of randomness), or one generator
                per token (``input_ids`` flattened in C order). One uniform per token and field,
                drawn field by field (δp, size, Δt), whatever the rule: one generator gives three
                ``rng.random(n)`` calls; per-token generators give token ``i`` one ``random()`` of
                its own generator per field, so the result for token ``i`` equals decoding it
                alone with its generator, whatever the other tokens are.

        Returns:
            dict of arrays shaped like ``input_ids``: ``action`` uint8 (0 add / 1 cancel), ``side``
            uint8 (0 buy / 1 sell), ``price_depth`` float64, ``size`` int64 (≥ 1), ``dt`` float64
            (seconds, ≥ 0).
        """
        self._require()
        a, s, p, v, d = self.decompose(input_ids)
        shape = np.shape(a)
        a, s, p, v, d = (x.reshape(-1) for x in (a, s, p, v, d))
        tables = self._tables if self.in_bin == "empirical" else {}
        if not hasattr(rng, "random") and len(rng) != len(p):
            raise ValueError(f"decode got {len(rng)} generators for {len(p)} tokens")
        u = _uniforms(rng, len(p))
        if "price_depth" in tables:
            price_depth = self._inverse_cdf("price_depth", p, u, self._uniform_price_depth)
        else:
            price_depth = self._uniform_price_depth(p, u)
        u = _uniforms(rng, len(v))
        size = self._empirical_size(v, u) if "volume" in tables else self._uniform_size(v, u)
        u = _uniforms(rng, len(d))
        dt = self._inverse_cdf("dt", d, u, self._uniform_dt) if "dt" in tables else self._uniform_dt(d, u)
        return {
            "action": a.astype(np.uint8).reshape(shape),
            "side": s.astype(np.uint8).reshape(shape),
            "price_depth": price_depth.reshape(shape),
            "size": size.reshape(shape),
            "dt": dt.reshape(shape),
        }

    def decode_fields(self, input_ids, seed: int | None = None, *, rng=None) -> dict[str, np.ndarray]:
        """``decode`` with a seed: the order fields of token ids (numpy array, list or torch tensor).

        Args:
            input_ids: token ids [...].
            seed: seed of a fresh ``numpy.random.default_rng(seed)``; same seed, same orders.
            rng: the generator(s) to pass to ``decode`` instead of a seed.

        Returns:
            ``decode``'s fields: ``action``, ``side``, ``price_depth``, ``size``, ``dt``.

        Raises:
            TypeError: neither or both of ``seed`` and ``rng`` given (decoding draws random
                numbers, so the source is never implicit).
        """
        if (seed is None) == (rng is None):
            raise TypeError("decode_fields() needs exactly one of seed= or rng=")
        if hasattr(input_ids, "detach"):  # torch tensor, on any device
            input_ids = input_ids.detach().cpu().numpy()
        return self.decode(np.asarray(input_ids), np.random.default_rng(seed) if rng is None else rng)

    # uniform rule (format 1; also the fallback of bins without a table)
    def _uniform_price_depth(self, p: np.ndarray, u: np.ndarray) -> np.ndarray:
        # uniform in the bin (outlier bins: between the cut and the calibration extreme)
        lo, hi = self._bounds("price_depth", p)
        return lo + (hi - lo) * u

    def _uniform_size(self, v: np.ndarray, u: np.ndarray) -> np.ndarray:
        # uniform on v = log(1+size) in the bin, then the nearest integer of that bin
        lo, hi = self._bounds("volume", v)
        vv = lo + (hi - lo) * u
        size = np.rint(np.expm1(vv))
        smin = np.ceil(np.expm1(lo) - 1e-9)  # smallest integer whose v ≥ lo
        smax = np.ceil(np.expm1(hi) - 1e-9) - 1  # largest integer whose v < hi
        last = v == self.n_volume - 1
        smax[last] = np.floor(np.expm1(hi[last]) + 1e-9)
        smax = np.maximum(smax, smin)  # a bin with no integer decodes to the next integer up
        size = np.clip(size, smin, smax)
        return np.maximum(size, 1).astype(np.int64)

    def _uniform_dt(self, d: np.ndarray, u: np.ndarray) -> np.ndarray:
        # log-uniform inside the bin; the zero bin is exactly 0
        lo, hi = self._bounds("dt", d)
        zero = (d == 0) & self.dt_zero_bin
        lo = np.where(zero, 1.0, np.maximum(lo, self._arrays["dt"][1]))  # bin 1 starts at the calibrated q1
        hi = np.where(zero, 1.0, np.maximum(hi, lo))
        dt = np.exp(np.log(lo) + (np.log(hi) - np.log(lo)) * u)
        dt[zero] = 0.0
        return dt

    # empirical rule
    def _inverse_cdf(self, name: str, bins: np.ndarray, u: np.ndarray, fallback) -> np.ndarray:
        """Linear interpolation between the bin's stored quantiles at probability ``u``."""
        table, has, all_has = self._tables[name]
        pos = u * (table.shape[1] - 1)
        i = pos.astype(np.int64)  # floor: pos ≥ 0
        np.minimum(i, table.shape[1] - 2, out=i)
        q0, q1 = table[bins, i], table[bins, i + 1]
        x = np.minimum(q0 + (pos - i) * (q1 - q0), q1)  # in [q0, q1]: both in the bin
        if not all_has:
            miss = ~has[bins]
            if miss.any():
                x[miss] = fallback(bins[miss], u[miss])
        return x

    def _empirical_size(self, v: np.ndarray, u: np.ndarray) -> np.ndarray:
        """A listed size of the bin by inverse CDF when ``u`` < its share, else the uniform rule on the rest."""
        vals, cum, cover = self._tables["volume"]
        idx = np.count_nonzero(cum[v] <= u[:, None], axis=1)
        hit = idx < vals.shape[1]
        size = vals[v, np.minimum(idx, vals.shape[1] - 1)]
        if not hit.all():
            miss = ~hit
            c = cover[v[miss]]
            size[miss] = self._uniform_size(v[miss], (u[miss] - c) / (1.0 - c))
        return size

    def decode_price_level(self, bins, rng: np.random.Generator) -> np.ndarray:
        """``Δp`` values sampled inside context bins (for analysis and synthetic contexts)."""
        self._require()
        lo, hi = self._bounds("price_level", np.asarray(bins, dtype=np.int64))
        return lo + (hi - lo) * rng.random(np.shape(lo))

    # ------------------------------------------------------------------------------ model config
    def check_compatible(self, config) -> None:
        """Raise ``ValueError`` when a model config's vocabularies do not match this tokenizer.

        Duck-typed: reads ``config.vocab_size`` and ``config.field_vocab_sizes``; a
        ``config.tokenizer_config`` dict, when present, must agree on the field sizes too.
        """
        problems = []
        vocab = getattr(config, "vocab_size", None)
        if vocab != self.vocab_size:
            problems.append(f"vocab_size {vocab} != tokenizer vocab_size {self.vocab_size}")
        fvs = getattr(config, "field_vocab_sizes", None)
        if fvs is None or [int(x) for x in fvs] != self.field_vocab_sizes:
            problems.append(
                f"field_vocab_sizes {None if fvs is None else list(fvs)} != tokenizer's {self.field_vocab_sizes} "
                "(trade token, tier, price-level bin, participant)"
            )
        names = getattr(config, "context_fields", None)
        if names is not None and list(names) != self.context_fields:
            problems.append(f"context_fields {list(names)} != tokenizer's {self.context_fields}")
        tc = getattr(config, "tokenizer_config", None)
        if isinstance(tc, dict) and tc:
            for key in ("n_price_depth", "n_volume", "n_dt", "n_price_level", "n_tiers", "n_actions", "n_sides", "n_participant"):
                if key in tc and int(tc[key]) != getattr(self, key):
                    problems.append(f"config.tokenizer_config[{key!r}] = {tc[key]} != tokenizer's {getattr(self, key)}")
            theirs = (list(tc.get("book_fields", [])), tc.get("price_reference", "vwap"))
            if theirs != (list(self.book_fields), self.price_reference):
                problems.append(f"config.tokenizer_config book_fields/price_reference {theirs} != tokenizer's "
                                f"{(list(self.book_fields), self.price_reference)}")
        if problems:
            raise ValueError("tokenizer does not match the model config: " + "; ".join(problems))

    # ------------------------------------------------------------------------------ persistence
    def to_dict(self) -> dict[str, Any]:
        """The JSON-able state (a paper-mode tokenizer's is exactly format 2's: no book keys)."""
        d = {
            "tokenizer_class": "TradeFMTokenizer",
            "format_version": _PAPER_FORMAT_VERSION if self.is_paper else FORMAT_VERSION,
            "n_price_depth": self.n_price_depth,
            "n_volume": self.n_volume,
            "n_dt": self.n_dt,
            "n_price_level": self.n_price_level,
            "n_tiers": self.n_tiers,
            "n_actions": self.n_actions,
            "n_sides": self.n_sides,
            "n_participant": self.n_participant,
            "lower_pct": self.lower_pct,
            "upper_pct": self.upper_pct,
            "dt_zero_bin": self.dt_zero_bin,
            "max_calib_samples": self.max_calib_samples,
            "seed": self.seed,
            "in_bin": self.in_bin,
            "in_bin_values": self.in_bin_values,
            "in_bin_quantiles": self.in_bin_quantiles,
            "vocab_size": self.vocab_size,
            "fields": json.loads(json.dumps(self.fields)),
            "calibration": json.loads(json.dumps(self.calibration)),
        }
        if not self.is_paper:
            d.update(book_fields=list(self.book_fields), price_reference=self.price_reference,
                     spread_bounds=list(self.spread_bounds), n_imbalance=self.n_imbalance,
                     imbalance_binning=self.imbalance_binning,
                     best_bounds=None if self.best_bounds is None else list(self.best_bounds))
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TradeFMTokenizer:
        d = dict(d)
        if d.get("tokenizer_class", "TradeFMTokenizer") != "TradeFMTokenizer":
            raise ValueError(f"not a TradeFMTokenizer state: tokenizer_class={d.get('tokenizer_class')!r}")
        if int(d.get("format_version", FORMAT_VERSION)) > FORMAT_VERSION:
            raise ValueError(f"tokenizer format_version {d['format_version']} is newer than this package ({FORMAT_VERSION})")
        keys = ("n_price_depth", "n_volume", "n_dt", "n_price_level", "n_tiers", "n_actions", "n_sides", "n_participant",
                "lower_pct", "upper_pct", "dt_zero_bin", "max_calib_samples", "seed", "in_bin", "in_bin_values", "in_bin_quantiles",
                *_BOOK_KEYS)
        tok = cls(**{k: d[k] for k in keys if k in d})
        fields = d.get("fields") or {}
        if fields:
            missing = (set(_FIELDS) | set(tok.book_fields)) - set(fields)
            if missing:
                raise ValueError(f"tokenizer state lacks fields {sorted(missing)}")
            for name in _FIELDS:
                if len(fields[name]["edges"]) != tok._n(name) - 1:
                    raise ValueError(f"tokenizer state: {name} has {len(fields[name]['edges'])} edges, expected {tok._n(name) - 1}")
            for name, n in (("spread", tok.n_spread_bins), ("imbalance", tok.n_imbalance_bins)):
                if name in tok.book_fields and len(fields[name]["edges"]) != n - 2:
                    raise ValueError(f"tokenizer state: {name} has {len(fields[name]['edges'])} edges, expected {n - 2}")
            _check_in_bin_tables(fields, tok)
            tok.fields = {k: dict(v) for k, v in fields.items()}
            tok._cache_arrays()
        tok.calibration = dict(d.get("calibration") or {})
        if "vocab_size" in d and int(d["vocab_size"]) != tok.vocab_size:
            raise ValueError(f"tokenizer state: vocab_size {d['vocab_size']} != {tok.vocab_size} from its field sizes")
        return tok

    def save_pretrained(self, save_directory: str | os.PathLike) -> Path:
        """Write the tokenizer's Hub files into ``save_directory`` (created); returns the state file's path.

        Files: ``tradefm_tokenizer.json`` (``to_dict()``), ``tokenizer_config.json`` (``auto_map``
        for ``AutoTokenizer``) and ``tokenization_tradefm.py`` (this file, so that the folder
        loads with ``trust_remote_code=True`` where this package is not installed).
        """
        path = Path(save_directory)
        path.mkdir(parents=True, exist_ok=True)
        out = path / TOKENIZER_FILE
        out.write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")
        hub_config = {
            "tokenizer_class": type(self).__name__,
            "auto_map": {"AutoTokenizer": [f"{_MODULE}.{type(self).__name__}", None]},
            "model_input_names": list(self.model_input_names),
            "vocab_size": self.vocab_size,
        }
        (path / TOKENIZER_CONFIG_FILE).write_text(json.dumps(hub_config, indent=2) + "\n", encoding="utf-8")
        # this file and the Hub file it imports (AutoTokenizer's loader fetches relative imports from the folder)
        for source in (Path(__file__), Path(__file__).with_name("book_bins.py")):
            code = path / source.name
            if not (code.exists() and code.samefile(source)):
                shutil.copyfile(source, code)
        return out

    @classmethod
    def register_for_auto_class(cls, auto_class: str = "AutoTokenizer") -> None:
        """Record the Auto class (``AutoTokenizer.from_pretrained`` calls this on remote code).

        ``save_pretrained`` writes the ``AutoTokenizer`` entry of ``auto_map`` in any case.
        """
        if auto_class != "AutoTokenizer":
            raise ValueError(f"TradeFMTokenizer registers for AutoTokenizer only, got {auto_class!r}")
        cls._auto_class = auto_class

    @classmethod
    def from_pretrained(
        cls,
        pretrained_model_name_or_path: str | os.PathLike,
        *args,
        revision: str | None = None,
        subfolder: str = "",
        cache_dir: str | os.PathLike | None = None,
        token: bool | str | None = None,
        local_files_only: bool = False,
        force_download: bool = False,
        **kwargs,
    ) -> TradeFMTokenizer:
        """Load a saved tokenizer from a folder, a JSON file or a Hub repo id (``org/name``).

        A folder is read as ``tradefm_tokenizer.json``, else ``config.json``'s ``tokenizer_config``
        (model checkpoints written before tokenizers had their own files). A repo id that is not a
        local path is fetched with ``huggingface_hub.snapshot_download`` (those two files only; the
        cache is used offline, ``HF_HUB_OFFLINE=1``). The signature is ``AutoTokenizer``'s: its
        private keyword arguments (``_commit_hash``, ``_from_auto``) and ``trust_remote_code`` are
        ignored.

        Args:
            pretrained_model_name_or_path: folder, JSON file, or Hub repo id.
            revision: Hub branch, tag or commit (default: the main branch).
            subfolder: folder inside the repo or folder.
            cache_dir, token, local_files_only, force_download: as ``huggingface_hub``.

        Raises:
            FileNotFoundError: a local path without the files.
            OSError: a repo id that cannot be fetched (nor found in the cache when offline).
            TypeError: positional or unknown keyword arguments.
            ValueError: a file that holds no valid tokenizer state.
        """
        unknown = sorted(k for k in kwargs if not k.startswith("_") and k not in _IGNORED_KWARGS)
        if args or unknown:
            raise TypeError(f"TradeFMTokenizer.from_pretrained() got unexpected arguments {list(args) + unknown}")
        name = os.fspath(pretrained_model_name_or_path)
        p = Path(name)
        if not p.exists() and _REPO_ID.match(name):
            p = _snapshot(name, revision, subfolder, cache_dir=cache_dir, token=token, local_files_only=local_files_only,
                          force_download=force_download)
        p = p / subfolder if subfolder else p
        if p.is_dir():
            if (p / TOKENIZER_FILE).is_file():
                p = p / TOKENIZER_FILE
            elif (p / _CONFIG_FILE).is_file():
                cfg = json.loads((p / _CONFIG_FILE).read_text(encoding="utf-8"))
                if not cfg.get("tokenizer_config"):
                    raise ValueError(f"{p}: config.json has no tokenizer_config and there is no {TOKENIZER_FILE}")
                return cls.from_dict(cfg["tokenizer_config"])
            else:
                raise FileNotFoundError(f"{p}: neither {TOKENIZER_FILE} nor config.json found")
        elif not p.is_file():
            raise FileNotFoundError(f"{p}: no such tokenizer folder or file")
        d = json.loads(p.read_text(encoding="utf-8"))
        return cls.from_dict(d.get("tokenizer_config", d) if "tokenizer_class" not in d else d)

    def __repr__(self) -> str:
        state = f"calibrated on {len(self.calibration.get('dates', []))} day(s)" if self.is_calibrated else "not calibrated"
        book = "" if self.is_paper else f", book={list(self.book_fields)}, price_reference={self.price_reference!r}"
        return (f"TradeFMTokenizer(vocab_size={self.vocab_size}, δp={self.n_price_depth}, v={self.n_volume}, "
                f"Δt={self.n_dt}, Δp={self.n_price_level}, tiers={self.n_tiers}{book}; {state})")

    def __eq__(self, other) -> bool:
        # by name and state, so that the Hub copy of this class (``transformers_modules...``) loaded by
        # AutoTokenizer compares equal to the package's class with the same state
        return type(other).__name__ == type(self).__name__ and hasattr(other, "to_dict") and self.to_dict() == other.to_dict()


def _uniforms(rng: np.random.Generator | Sequence[np.random.Generator], n: int) -> np.ndarray:
    """``n`` float64 uniforms: ``rng.random(n)``, or one ``random()`` from each of ``n`` per-token generators."""
    if hasattr(rng, "random"):  # one generator (or a stand-in with the same ``random``)
        return rng.random(n)
    return np.fromiter((g.random() for g in rng), dtype=np.float64, count=n)


def _check_in_bin_tables(fields: dict, tok: TradeFMTokenizer) -> None:
    """Raise ``ValueError`` on malformed in-bin decode tables (absent tables are fine: uniform decoding)."""
    vol = fields["volume"]
    keys = [k for k in ("values", "counts", "n") if k in vol]
    if keys:
        if len(keys) != 3:
            raise ValueError(f"tokenizer state: volume has {keys} of the in-bin table keys values, counts, n")
        if not len(vol["values"]) == len(vol["counts"]) == len(vol["n"]) == tok.n_volume:
            raise ValueError(f"tokenizer state: volume in-bin tables must have {tok.n_volume} rows")
        for k, (r, c, n) in enumerate(zip(vol["values"], vol["counts"], vol["n"], strict=True)):
            if len(r) != len(c) or any(int(x) < 1 for x in r) or any(int(x) < 1 for x in c) or sum(c) > int(n):
                raise ValueError(f"tokenizer state: volume in-bin table of bin {k} is malformed")
    for name in _QUANTILE_FIELDS:
        rows = fields[name].get("quantiles")
        if rows is None:
            continue
        lengths = {len(r) for r in rows if r}
        if len(rows) != tok._n(name) or len(lengths) > 1 or (lengths and min(lengths) < 2):
            raise ValueError(f"tokenizer state: {name} quantiles must be {tok._n(name)} rows of one length ≥ 2 (or empty)")


def _snapshot(repo_id: str, revision: str | None, subfolder: str, **hub) -> Path:
    """The cached snapshot folder of ``repo_id`` holding (at most) the tokenizer's state files."""
    from huggingface_hub import snapshot_download  # only for repo ids: local use needs numpy alone

    prefix = f"{subfolder.strip('/')}/" if subfolder else ""
    try:
        folder = snapshot_download(
            repo_id, revision=revision, allow_patterns=[prefix + TOKENIZER_FILE, prefix + _CONFIG_FILE], **hub
        )
    except (OSError, ValueError) as exc:  # HTTP / offline-cache / repo-id errors of huggingface_hub
        raise OSError(
            f"{repo_id}: not a local folder, and no TradeFM tokenizer could be fetched from the Hub "
            f"(revision {revision or 'main'}; offline, only the cache is searched): {exc}"
        ) from exc
    return Path(folder)


def _feature(features, name: str, needed=FEATURE_COLUMNS) -> np.ndarray:
    """Column ``name`` of a mapping / table of feature arrays, or attribute of a ``SessionFeatures``."""
    try:
        if isinstance(features, Mapping) or hasattr(features, "column_names"):  # dict, datasets row, pyarrow.Table
            return np.asarray(features[name])
        value = getattr(features, name)
    except (KeyError, AttributeError):
        value = None
    if value is None:
        raise KeyError(f"features have no column {name!r}; the tokenizer needs {list(needed)}")
    return np.asarray(value)


def _bin_values(x: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Bins of ``x`` for increasing ``edges``: the number of edges ≤ x (``searchsorted`` right); −1 marks NaN.

    A count over the few (≤ ~32) edges, one vectorised comparison each: several times faster
    than ``np.searchsorted``, whose binary search branches unpredictably on unsorted values.
    """
    x = np.asarray(x, dtype=np.float64)
    count = np.zeros(x.shape, dtype=np.uint8 if len(edges) < 256 else np.int64)
    hit = np.empty(x.shape, dtype=bool)
    for edge in edges:
        np.greater_equal(x, edge, out=hit)
        count += hit
    out = count.astype(np.int64)
    out[np.isnan(x)] = -1
    return out


def _encode_tokens(action, side, price_depth, log_volume, dt, e_dp, e_v, e_dt, n_a: int, n_s: int) -> np.ndarray:
    """Composite token ids of 1-D columns; −1 marks a row with a NaN, ``dt < 0`` or action/side out of range."""
    a, s = action.astype(np.int64), side.astype(np.int64)
    p, v, d = _bin_values(price_depth, e_dp), _bin_values(log_volume, e_v), _bin_values(dt, e_dt)
    ids = (((a * n_s + s) * (len(e_dp) + 1) + p) * (len(e_v) + 1) + v) * (len(e_dt) + 1) + d
    ids[(p < 0) | (v < 0) | (d < 0) | (dt < 0) | (a < 0) | (a >= n_a) | (s < 0) | (s >= n_s)] = -1
    return ids


def _strictly_increasing(edges: np.ndarray) -> np.ndarray:
    """Make cut points strictly increasing (point masses in the data give equal quantiles).

    A tie is broken by moving the later cut up by one ulp, so no value is lost; the bin between
    two tied cuts is then (nearly) empty, which is honest about a point mass.
    """
    out = np.array(edges, dtype=np.float64)
    for i in range(1, len(out)):
        if out[i] <= out[i - 1]:
            out[i] = np.nextafter(out[i - 1], np.inf)
    return out


__all__ = ["FEATURE_COLUMNS", "PAPER_CONTEXT_FIELDS", "TOKENIZER_CONFIG_FILE", "TOKENIZER_FILE", "TradeFMTokenizer"]
