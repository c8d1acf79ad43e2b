# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""Which ``OrderProposer`` a folder holds: the one place that knows every implementation.

Kept apart from ``proposer`` (the interface) so that the interface imports none of its
implementations, and the implementations import the interface without a cycle.
"""

from __future__ import annotations

import json
from pathlib import Path

from .baselines import load_baseline
from .proposer import BASELINE_FILE, OrderProposer
from .proposer_tradefm import TradeFMProposer


def load_proposer(path: str | Path, **kwargs) -> OrderProposer:
    """Load whatever proposes orders from a folder: a TradeFM checkpoint or a fitted baseline.

    A folder with ``baseline.json`` holds a baseline (its ``"kind"`` names which); a folder with
    a ``config.json`` of ``model_type == "tradefm"`` holds a TradeFM checkpoint.

    Args:
        path: the folder.
        **kwargs: passed to the class's ``from_pretrained`` (sampling settings, ``device``, ...
            for TradeFM; e.g. ``warmup_s`` for Hawkes).

    Raises:
        FileNotFoundError: the folder holds neither.
    """
    path = Path(path)
    if (path / BASELINE_FILE).is_file():
        return load_baseline(path, **kwargs)
    config = path / "config.json"
    if config.is_file() and json.loads(config.read_text()).get("model_type") == "tradefm":
        return TradeFMProposer.from_pretrained(path, **kwargs)
    raise FileNotFoundError(
        f"{path}: neither a TradeFM checkpoint (config.json with model_type 'tradefm') nor a fitted baseline "
        f"({BASELINE_FILE})"
    )


__all__ = ["load_proposer"]
