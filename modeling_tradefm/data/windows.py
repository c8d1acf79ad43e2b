# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""Cutting one session's token stream into fixed-length training windows, and sessions into fractions.

Pure numpy: no reader, feature or tokenizer code. The windowing rules (stride, right-padded last
window, ``min_tokens``) are described in :mod:`modeling_tradefm.data`.
"""

from __future__ import annotations

import dataclasses

import numpy as np

IGNORE_INDEX = -100
# (tier, price-level bin, participant flag), contracts.md "Context rule"; a book-aware tokenizer has
# more (``TradeFMTokenizer.context_fields``), and the windows take whatever width they are given
NUM_CONTEXT_FIELDS = 3
LAST_WINDOW_MODES = ("pad", "drop")
MIN_TOKENS = 2  # a window needs >= 2 tokens to hold one next-token target


def make_windows(
    input_ids: np.ndarray,
    context_ids: np.ndarray,
    context_length: int,
    stride: int | None = None,
    last_window: str = "pad",
    min_tokens: int = MIN_TOKENS,
) -> dict[str, np.ndarray]:
    """Cut one session's token stream into fixed-length windows (never across the session).

    Args:
        input_ids: ``int64 [n]`` trade tokens of one session, time order.
        context_ids: ``int64 [n, K]`` context fields aligned with ``input_ids``.
        context_length: window length ``T``.
        stride: step between window starts, ``1 <= stride <= T``; ``None`` means ``T``.
        last_window: ``"pad"`` right-pads the uncovered tail into one more window (labels -100 on
            the padding); ``"drop"`` discards it.
        min_tokens: sessions shorter than this yield no window, and a padded tail shorter than this
            is dropped (a window needs >= 2 tokens to hold one next-token target).

    Returns:
        dict with ``input_ids [W, T]``, ``context_ids [W, T, K]``, ``labels [W, T]`` (int64),
        ``window_start [W]`` (offset of each window in the session) and ``n_tokens [W]``.
    """
    T = int(context_length)
    ids = np.asarray(input_ids, dtype=np.int64)
    ctx = np.asarray(context_ids, dtype=np.int64)
    n = len(ids)
    K = ctx.shape[1] if ctx.ndim == 2 else NUM_CONTEXT_FIELDS
    if ctx.shape[0] != n:
        raise ValueError(f"context_ids has {ctx.shape[0]} rows, input_ids {n}")
    full_starts, tail_start = _window_starts(n, T, stride, last_window, min_tokens)
    W = len(full_starts) + int(tail_start is not None)
    if W == 0:
        return {
            "input_ids": np.zeros((0, T), np.int64),
            "context_ids": np.zeros((0, T, K), np.int64),
            "labels": np.zeros((0, T), np.int64),
            "window_start": np.zeros(0, np.int64),
            "n_tokens": np.zeros(0, np.int64),
        }

    out_ids = np.zeros((W, T), np.int64)
    out_ctx = np.zeros((W, T, K), np.int64)
    out_lab = np.full((W, T), IGNORE_INDEX, np.int64)
    n_tok = np.full(W, T, np.int64)
    if len(full_starts):
        # Strided views, copied once into the output: no Python loop over windows.
        out_ids[: len(full_starts)] = np.lib.stride_tricks.sliding_window_view(ids, T)[full_starts]
        out_ctx[: len(full_starts)] = np.lib.stride_tricks.sliding_window_view(ctx, T, axis=0)[full_starts].transpose(
            0, 2, 1
        )
        out_lab[: len(full_starts)] = out_ids[: len(full_starts)]
    starts = full_starts
    if tail_start is not None:
        m = n - tail_start
        out_ids[-1, :m] = ids[tail_start:]
        out_ctx[-1, :m] = ctx[tail_start:]
        out_lab[-1, :m] = ids[tail_start:]
        n_tok[-1] = m
        starts = np.append(full_starts, tail_start)
    return {"input_ids": out_ids, "context_ids": out_ctx, "labels": out_lab, "window_start": starts, "n_tokens": n_tok}


def count_windows(
    n: int, context_length: int, stride: int | None = None, last_window: str = "pad", min_tokens: int = MIN_TOKENS
) -> int:
    """How many windows :func:`make_windows` cuts from a session of ``n`` tokens, without the tokens.

    Per-rank streaming splits the files between processes by these counts before any file is
    tokenized (every rank must take the same number of windows per epoch).
    """
    full_starts, tail_start = _window_starts(int(n), int(context_length), stride, last_window, min_tokens)
    return len(full_starts) + int(tail_start is not None)


def _window_starts(n: int, T: int, stride: int | None, last_window: str, min_tokens: int) -> tuple[np.ndarray, int | None]:
    """The starts of the full windows of ``n`` tokens, and the padded tail's start (None: no tail)."""
    S = T if stride is None else int(stride)
    if T < 2:
        raise ValueError(f"context_length must be >= 2, got {T}")
    if not 1 <= S <= T:
        raise ValueError(f"stride must be in [1, context_length={T}], got {S}")
    if last_window not in LAST_WINDOW_MODES:
        raise ValueError(f"last_window must be one of {LAST_WINDOW_MODES}, got {last_window!r}")
    least = max(int(min_tokens), 1)
    if n < least:
        return np.zeros(0, np.int64), None
    full_starts = np.arange(0, n - T + 1, S, dtype=np.int64) if n >= T else np.zeros(0, np.int64)
    # First position not yet inside a full window; a tail remains when it is before n.
    next_start = int(full_starts[-1]) + S if len(full_starts) else 0
    covered_end = int(full_starts[-1]) + T if len(full_starts) else 0
    tail = last_window == "pad" and covered_end < n and n - next_start >= least
    return full_starts, (next_start if tail else None)


def slice_session(session, lo: float, hi: float):
    """The ``[lo, hi)`` fraction (in events) of a ``SessionFeatures``, every per-event array sliced alike."""
    if lo <= 0.0 and hi >= 1.0:
        return session
    n = len(session.action)
    a, b = fraction_bounds(n, lo, hi)
    changes = {
        f.name: getattr(session, f.name)[a:b]
        for f in dataclasses.fields(session)
        if isinstance(getattr(session, f.name), np.ndarray) and getattr(session, f.name).shape[:1] == (n,)
    }
    return dataclasses.replace(session, **changes)


def fraction_bounds(n: int, lo: float, hi: float) -> tuple[int, int]:
    """Row bounds ``[a, b)`` of the ``[lo, hi)`` fraction of ``n`` rows."""
    # Rounding the same way everywhere keeps the train/validation cut of a session disjoint.
    return int(np.floor(lo * n + 0.5)), int(np.floor(hi * n + 0.5))


__all__ = [
    "IGNORE_INDEX",
    "LAST_WINDOW_MODES",
    "MIN_TOKENS",
    "NUM_CONTEXT_FIELDS",
    "count_windows",
    "fraction_bounds",
    "make_windows",
    "slice_session",
]
