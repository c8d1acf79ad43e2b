# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""Evaluation: stylized facts, two-sample distances, perplexity, reports and LOB-Bench export.

The statistics (``distances``, ``stylized_facts``) work on plain arrays (numpy and scipy.stats);
``series`` turns any event stream into the evaluated quantities (book mid via the simulator,
EW-VWAP, flow fields); ``report`` writes metrics.json / report.md / report.html / PNGs;
``perplexity`` scores a checkpoint; ``lobbench`` exports LOB-Bench's input layout. Torch and
matplotlib are imported only inside the functions that need them.
"""

from .distances import bootstrap_ci, compare, ks_statistic, normalised_w1, wasserstein1
from .lobbench import export_lobbench
from .perplexity import decompose_nll, perplexity, perplexity_table
from .report import evaluate_streams, write_report
from .series import (
    QUANTITIES,
    EvalConfig,
    StreamSeries,
    infer_tick_size,
    load_generated,
    log_returns,
    source_quantities,
    split_streams,
    stream_series,
)
from .stylized_facts import acf, excess_kurtosis, hill_tail_index, kurtosis_vs_horizon, stylized_facts

__all__ = [
    "EvalConfig",
    "QUANTITIES",
    "StreamSeries",
    "acf",
    "bootstrap_ci",
    "compare",
    "decompose_nll",
    "evaluate_streams",
    "excess_kurtosis",
    "export_lobbench",
    "hill_tail_index",
    "infer_tick_size",
    "ks_statistic",
    "kurtosis_vs_horizon",
    "load_generated",
    "log_returns",
    "normalised_w1",
    "perplexity",
    "perplexity_table",
    "source_quantities",
    "split_streams",
    "stream_series",
    "stylized_facts",
    "wasserstein1",
    "write_report",
]
