# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""Which ``OrderProposer`` a folder holds: the one place that knows every implementation.

Kept apart from ``proposer`` (the interface) so that the interface imports none of its
implementations, and the implementations import the interface without a cycle.
"""

from __future__ import annotations

import json
from pathlib import Path

from .baselines import load_baseline
from .hub import resolve_folder
from .proposer import BASELINE_FILE, OrderProposer
from .proposer_tradefm import TradeFMProposer


def load_proposer(
    path: str | Path,
    *,
    revision: str | None = None,
    cache_dir: str | Path | None = None,
    token: bool | str | None = None,
    **kwargs,
) -> OrderProposer:
    """Load whatever proposes orders from a folder or a Hub repo: a TradeFM checkpoint or a fitted baseline.

    A Hub repo id (``org/name``) is fetched into the local cache first (``hub.resolve_folder``;
    offline, only the cache), and what it holds is decided from the files of that folder, as for
    a local one: a folder with ``baseline.json`` holds a baseline (its ``"kind"`` names which); a
    folder with a ``config.json`` of ``model_type == "tradefm"`` holds a TradeFM checkpoint.

    Args:
        path: the folder, or a Hub repo id.
        revision, cache_dir, token: for a Hub repo id, as ``huggingface_hub.snapshot_download``.
        **kwargs: passed to the class's ``from_pretrained`` (sampling settings, which override the
            checkpoint's ``generation_config.json``, ``device``, ``threads`` (torch CPU threads
            while decoding; default ``cpu_threads.decode_threads``' rule), ... for TradeFM; e.g.
            ``warmup_s`` for Hawkes).

    Raises:
        FileNotFoundError: the folder holds neither.
        DataError: a Hub id that is neither a local folder nor in the cache (offline) or on the Hub.
    """
    name = str(path)
    path = resolve_folder(path, revision=revision, cache_dir=cache_dir, token=token)
    if (path / BASELINE_FILE).is_file():
        return load_baseline(path, **kwargs)
    config = path / "config.json"
    if config.is_file() and json.loads(config.read_text()).get("model_type") == "tradefm":
        return TradeFMProposer.from_pretrained(path, **kwargs)
    raise FileNotFoundError(
        f"{name}: neither a TradeFM checkpoint (config.json with model_type 'tradefm') nor a fitted baseline "
        f"({BASELINE_FILE})"
    )


__all__ = ["load_proposer"]
