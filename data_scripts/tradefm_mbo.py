# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""``datasets`` builder of tokenized TradeFM training windows from raw MBO / LOBSTER files.

The design card's builder module. datasets 5.x has no loading scripts, so this file is not run by
``load_dataset``: instantiate the class, e.g. in a clone of the repository::

    from data_scripts.tradefm_mbo import TradeFMMBO, load_tradefm_mbo

    builder = TradeFMMBO(data_files={"train": files}, tokenizer_config=tok.to_dict(), context_length=1024)
    ds = builder.as_streaming_dataset(split="train")

The code lives in the library, :mod:`modeling_tradefm.data` (rows, windowing and split rules are
documented there), so that the training code in the package never imports this folder; an
installed ``tradefm`` has the same names under ``modeling_tradefm.data``.
"""

from __future__ import annotations

from modeling_tradefm.data import (
    IGNORE_INDEX,
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
    session_features,
)

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
    "session_features",
]
