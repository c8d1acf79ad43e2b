# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""Hugging Face ``datasets`` builders for tokenized TradeFM order-flow sessions.

datasets 5.x has no loading scripts: the builder is a class in this importable package, instantiated
directly (``TradeFMMBO(data_files=..., tokenizer_config=...)``) or through :func:`load_tradefm_mbo`.
The code is :mod:`modeling_tradefm.data`; this folder is the repository's entry point to it.
"""

from __future__ import annotations

from .tradefm_mbo import (
    SessionInfo,
    SplitPlan,
    TradeFMMBO,
    TradeFMMBOConfig,
    adv_history_of,
    calibrate_tokenizer,
    load_tradefm_mbo,
    make_windows,
    plan_splits,
    scan_sessions,
)

__all__ = [
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
