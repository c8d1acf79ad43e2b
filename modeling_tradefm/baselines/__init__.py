# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""Classical order-flow baselines run through the same simulator loop as TradeFM.

* ``hawkes``: Compound Hawkes (multivariate exponential-kernel Hawkes over order types, MLE, with
  empirical price-depth and size marks) — ``fit_hawkes``.
* ``zero_intelligence``: Poisson order flow placed uniformly around the mid — ``fit_zi``.

Both are ``OrderProposer``s saved as ``baseline.json`` (JSON only, ``OrderProposer.save_pretrained``)
and loaded by ``load_baseline`` or ``registry.load_proposer``.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import DataError
from ..proposer import BASELINE_FILE, OrderProposer
from .hawkes import HawkesParams, HawkesProposer, fit_hawkes, fit_hawkes_mle, simulate_hawkes
from .zero_intelligence import ZIProposer, fit_zi

#: ``baseline.json`` "kind" -> class
KINDS = {cls.kind: cls for cls in (HawkesProposer, ZIProposer)}


def load_baseline(path: str | Path, kind: str | None = None, **kwargs) -> OrderProposer:
    """Load a fitted baseline from a folder holding ``baseline.json`` (or the file itself).

    Args:
        path: the folder (or the ``baseline.json`` path).
        kind: ``"hawkes"`` or ``"zi"``; checked against the file (None = take the file's).
        **kwargs: passed to the class's ``from_dict`` (e.g. ``warmup_s`` for Hawkes).

    Raises:
        FileNotFoundError: no baseline.json there.
        DataError (a ``ValueError``): unknown kind, or ``kind`` disagrees with the file.
    """
    path = Path(path)
    file = path if path.is_file() else path / BASELINE_FILE
    if not file.is_file():
        raise FileNotFoundError(2, "no such file", str(file))
    found = json.loads(file.read_text()).get("kind")
    if kind is not None and kind != found:
        raise DataError(file, f"baseline kind is {found!r}, expected {kind!r}")
    if found not in KINDS:
        raise DataError(file, f"unknown baseline kind {found!r} (known: {sorted(KINDS)})")
    return KINDS[found].from_pretrained(file, **kwargs)


__all__ = [
    "HawkesParams",
    "HawkesProposer",
    "KINDS",
    "ZIProposer",
    "fit_hawkes",
    "fit_hawkes_mle",
    "fit_zi",
    "load_baseline",
    "simulate_hawkes",
]
