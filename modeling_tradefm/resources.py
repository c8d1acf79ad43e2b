# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""Files shipped with the package (configs, embedded samples) and the reader of YAML/JSON config files.

``tradefm demo`` needs its profiles (``configs/demo``), training configs (``configs/train``) and the
embedded real samples (``data/samples``). The repository keeps ONE copy of them where the design
card puts them; ``setup.py`` maps those folders into the wheel under
``modeling_tradefm/package_data/`` with the repository's layout, so that one relative name such as
``configs/train/demo_cpu.yaml`` or ``data/samples/lobster/...`` means the same file in a clone and
in an installed wheel. :func:`resource_root` is that layout's root: the installed package's
``package_data`` folder (found with ``importlib.resources``), else the source checkout.
"""

from __future__ import annotations

import difflib
import importlib.resources
import os
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any

from .errors import DataError

# The folders shipped as package data, relative to resource_root(): setup.py maps each one to
# modeling_tradefm/package_data/<folder> (tests/test_packaging.py checks that the two agree).
SHIPPED_FOLDERS = ("configs", "data/samples")
PACKAGE_DATA = "package_data"


def resource_root() -> Path:
    """The folder holding ``configs/`` and ``data/samples/``: the wheel's package data, else the checkout."""
    shipped = importlib.resources.files("modeling_tradefm") / PACKAGE_DATA
    # pip installs wheels unpacked, so the package data are plain files (a Path), never a zip member
    if isinstance(shipped, Path) and shipped.is_dir():
        return shipped
    return Path(__file__).resolve().parent.parent


def resource(relative: str | os.PathLike) -> Path:
    """A shipped file by its repository-relative name, e.g. ``resource("configs/demo/quick.yaml")``."""
    return resource_root() / relative


def load_config_file(
    path: str | os.PathLike,
    known: Collection[str],
    normalise: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Read a ``.yaml`` / ``.yml`` / ``.json`` file of ``key: value`` settings and check its keys.

    One reader for every config file (training arguments, demo profiles): PyYAML reads JSON too.

    Args:
        path: the file.
        known: the accepted keys.
        normalise: applied to the mapping before the check (e.g. aliases -> field names).

    Returns:
        The mapping (empty for an empty file).

    Raises:
        DataError: not readable, not a mapping, or a key not in ``known`` (with the closest known
            key as a suggestion).
    """
    import yaml

    try:
        values = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(path, "no such file") from None
    except yaml.YAMLError as exc:
        raise DataError(path, f"not valid YAML/JSON: {exc}".replace("\n", " ")) from None
    if values is None:
        values = {}
    if not isinstance(values, dict):
        raise DataError(path, f"expected a mapping of settings, got {type(values).__name__}")
    if normalise is not None:
        values = normalise(values)
    unknown = [k for k in values if k not in known]
    if unknown:
        raise DataError(path, "unknown setting(s) " + ", ".join(f"{k!r}{did_you_mean(str(k), known)}" for k in unknown))
    return values


def did_you_mean(word: str, known: Collection[str]) -> str:
    """`` (did you mean X?)`` for the closest of ``known`` to ``word``, or ``""`` when none is close."""
    match = difflib.get_close_matches(word, list(known), n=1)
    return f" (did you mean {match[0]}?)" if match else ""


__all__ = ["PACKAGE_DATA", "SHIPPED_FOLDERS", "did_you_mean", "load_config_file", "resource", "resource_root"]
