# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""The one exception type for bad input data.

Every reader raises ``DataError`` for input it cannot turn into events, with the file, the row
(1-based, counting data rows after any header) or the byte offset, and the problem. The CLI turns
it into ``error: <file>: <problem>`` on one line and a non-zero exit status, never a traceback.
Where skipping is the documented policy (e.g. LOBSTER executions of orders submitted before the
file starts), rows are counted by reason instead, and ``records in = used + skipped`` holds.
"""

from __future__ import annotations

import os


class DataError(ValueError):
    """Input data that cannot be read as documented.

    Args:
        path: the file the problem is in.
        problem: what is wrong, in words a user can act on.
        row: 1-based data row (header excluded), when known.
        offset: byte offset in the (decompressed) stream, when a row is not meaningful.
    """

    def __init__(self, path: str | os.PathLike, problem: str, row: int | None = None, offset: int | None = None):
        self.path = os.fspath(path)
        self.problem = problem
        self.row = row
        self.offset = offset
        where = f"row {row}: " if row is not None else (f"byte {offset}: " if offset is not None else "")
        super().__init__(f"{self.path}: {where}{problem}")


__all__ = ["DataError"]
