# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""Evaluation: stylized facts, two-sample distances, perplexity, reports and LOB-Bench export."""

from .distances import bootstrap_ci, compare, ks_statistic, normalised_w1, wasserstein1
from .stylized_facts import acf, excess_kurtosis, hill_tail_index, kurtosis_vs_horizon, stylized_facts

__all__ = [
    "acf",
    "bootstrap_ci",
    "compare",
    "excess_kurtosis",
    "hill_tail_index",
    "ks_statistic",
    "kurtosis_vs_horizon",
    "normalised_w1",
    "stylized_facts",
    "wasserstein1",
]
