# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""Training data: raw MBO / LOBSTER files → tokenized TradeFM windows, through a ``datasets`` builder.

Pipeline per file (one file = one shard):

    read_file  ->  EventTable  ->  build_features  ->  [SessionFeatures per (instrument, date)]
               ->  tokenizer.encode (frozen, calibrated)  ->  sliding windows of ``context_length``

Rows (one per window; every window lies inside ONE ``(instrument, date)`` session):

    input_ids    int64 [T]      composite trade tokens (mixed radix, < 16,384)
    context_ids  int64 [T, 3]   (tier, price-level bin, participant flag) describing the market right
                                AFTER event t, i.e. what conditions event t + 1 (contracts.md); a
                                book-aware tokenizer adds its book columns ([T, 3 + len(book_fields)],
                                the book from the file's LOBSTER orderbook where there is one, else
                                the file replayed through the simulator: ``book.BookSource``)
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
shards; per-rank streaming hands whole files to ranks, :mod:`.shards`) and ``download_and_prepare(num_proc=N)``
+ ``as_dataset`` (memory-mapped Arrow; ``num_proc`` is capped at the number of files).

Cross-file state: features are built one file at a time, but the liquidity tier needs a rolling ADV
over earlier days that may sit in other files. :func:`scan_sessions` records every session's daily
(counted executed) volume, and the builder passes those of earlier dates to ``build_features`` as
``adv_history`` (config field of the same name), so the tier does not depend on how the days are
split into files.

Per-rank streaming (``--streaming`` with ``dispatch_batches=False``): whole files go to processes,
balanced by the window counts the split plan knows before tokenizing, and every process takes the
same number of windows per epoch (:mod:`.shards`).

Modules: :mod:`.windows` (cutting a session's tokens, pure numpy), :mod:`.splits` (session scan,
split plan, calibration), :mod:`.builder` (the ``datasets`` builder), :mod:`.shards` (per-rank
file shares). ``data_scripts/tradefm_mbo.py``
in the repository is the design card's builder module: it re-exports these names.
"""

from __future__ import annotations

from .builder import TradeFMMBO, TradeFMMBOConfig, code_hash, load_tradefm_mbo
from .shards import (
    RankShare,
    RankStream,
    ShareError,
    StreamShares,
    per_rank_streaming,
    plan_rank_shares,
    plan_stream_shares,
)
from .splits import (
    VAL_MODES,
    SessionInfo,
    SplitPlan,
    adv_history_of,
    calibrate_tokenizer,
    plan_splits,
    scan_sessions,
    session_features,
    session_tokens_of,
)
from .windows import IGNORE_INDEX, LAST_WINDOW_MODES, MIN_TOKENS, NUM_CONTEXT_FIELDS, count_windows, make_windows

__all__ = [
    "IGNORE_INDEX",
    "LAST_WINDOW_MODES",
    "MIN_TOKENS",
    "NUM_CONTEXT_FIELDS",
    "VAL_MODES",
    "RankShare",
    "RankStream",
    "SessionInfo",
    "ShareError",
    "SplitPlan",
    "StreamShares",
    "TradeFMMBO",
    "TradeFMMBOConfig",
    "adv_history_of",
    "calibrate_tokenizer",
    "code_hash",
    "count_windows",
    "load_tradefm_mbo",
    "make_windows",
    "per_rank_streaming",
    "plan_rank_shares",
    "plan_stream_shares",
    "plan_splits",
    "scan_sessions",
    "session_features",
    "session_tokens_of",
]
