# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""Readers and writers: Databento DBN/CSV and LOBSTER files ⇄ ``EventTable``.

Public API::

    expand_paths(paths) -> list[Path]                  # globs, lists, directories
    read_file(path, **options) -> ReadResult           # ReadResult(events, report[, orderbook])
    iter_files(paths, **options) -> Iterator[ReadResult]
    read_events(paths, **options) -> EventTable        # concatenation in file order
    write_mbo_csv(events, path)                        # Databento integer CSV(.zst)
    write_lobster(events, message_path, orderbook_path=None, levels=10)

Formats are chosen by file name (``paths.detect_format``). Options accepted by every reader:
``on_invalid="error"|"skip"`` (see ``_base`` for the validation policy and skip reasons); LOBSTER
also takes ``symbol``, ``date``, ``instrument_id``, ``orderbook``. Every bad input raises
``modeling_tradefm.errors.DataError`` naming the file, the row or byte offset, and the problem.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence

from ..errors import DataError
from ..events import EventTable
from ._base import ReadReport, ReadResult
from .databento_csv import read_databento_csv
from .databento_dbn import read_dbn
from .lobster import read_lobster, read_lobster_orderbook, write_lobster
from .paths import PathLike, detect_format, expand_paths
from .writers import write_mbo_csv

_READERS = {"dbn": read_dbn, "databento-csv": read_databento_csv, "lobster": read_lobster}


def read_file(path: PathLike, **options) -> ReadResult:
    """Read one file of any supported format into a ``ReadResult``.

    Raises:
        DataError: unknown extension, a LOBSTER orderbook given as an event file, or any data problem.
    """
    fmt = detect_format(path)
    if fmt == "lobster-orderbook":
        raise DataError(path, "this is a LOBSTER orderbook file; read the matching _message_ file (orderbook=True)")
    if not os.path.isfile(path):
        raise DataError(path, "no such file")
    return _READERS[fmt](path, **options)


def iter_files(paths: PathLike | Sequence[PathLike], progress: bool = False, **options) -> Iterator[ReadResult]:
    """Read the files of ``expand_paths(paths)`` one at a time (constant memory across files)."""
    files = expand_paths(paths)
    if progress and len(files) > 1:
        from tqdm.auto import tqdm

        files = tqdm(files, desc="reading", unit="file")
    for path in files:
        yield read_file(path, **options)


def read_events(paths: PathLike | Sequence[PathLike], progress: bool = True, **options) -> EventTable:
    """All events of ``expand_paths(paths)`` concatenated in file order (files sorted within a glob)."""
    return EventTable.concat(r.events for r in iter_files(paths, progress=progress, **options))


__all__ = [
    "ReadReport",
    "ReadResult",
    "detect_format",
    "expand_paths",
    "iter_files",
    "read_events",
    "read_file",
    "read_lobster_orderbook",
    "write_lobster",
    "write_mbo_csv",
]
