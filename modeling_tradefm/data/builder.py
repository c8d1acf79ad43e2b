# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""The ``datasets`` builder of tokenized TradeFM windows (:class:`TradeFMMBO`) and its entry point.

datasets 5.x has no loading scripts: the builder is a class, instantiated directly or through
:func:`load_tradefm_mbo`. Rows and splits are described in :mod:`modeling_tradefm.data`.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import datasets
import numpy as np
import pyarrow as pa
from datasets.builder import Key

from ..features import FeatureConfig
from ..io import expand_paths
from ..tokenization_tradefm import TradeFMTokenizer
from .splits import file_session_features
from .windows import LAST_WINDOW_MODES, MIN_TOKENS, NUM_CONTEXT_FIELDS, fraction_bounds, make_windows

_PACKAGE = Path(__file__).resolve().parents[1]


def code_hash() -> str:
    """Hash of the sources that determine the rows, so a code change invalidates the Arrow cache."""
    h = hashlib.sha256()
    sources = sorted(Path(__file__).parent.glob("*.py"))
    sources += [_PACKAGE / name for name in ("events.py", "features.py", "_kernels.py", "tokenization_tradefm.py",
                                             "book.py", "book_context.py", "book_bins.py")]
    sources += sorted((_PACKAGE / "io").glob("*.py"))
    for path in sources:
        if path.exists():
            h.update(path.name.encode())
            h.update(path.read_bytes())
    return h.hexdigest()[:16]


@dataclass
class TradeFMMBOConfig(datasets.BuilderConfig):
    """Configuration of :class:`TradeFMMBO`.

    Attributes:
        tokenizer_config: ``TradeFMTokenizer.to_dict()`` of a calibrated tokenizer (JSON-able; it is
            part of the cache key, so another calibration gives another cache).
        feature_config: ``FeatureConfig`` fields (``None`` = defaults).
        read_options: keyword arguments for ``modeling_tradefm.io.read_file``.
        adv_history: ``{"instrument_id": [[date, daily_volume], ...]}`` from :func:`adv_history_of`;
            earlier days for the rolling ADV behind the liquidity tier.
        context_length: window length ``T`` (the paper: 1,024 events).
        stride: step between windows; ``None`` = ``context_length`` (no overlap).
        last_window: ``"pad"`` (right-pad the tail, labels -100) or ``"drop"``.
        min_tokens: sessions shorter than this (after the split range) are skipped and counted.
        split_dates: split name -> the dates it keeps (absent split or ``None``: every date).
        split_ranges: split name -> ``[lo, hi)`` fraction of each session's tokens it keeps.
        max_windows_per_table: rows per yielded Arrow table (bounds memory for long sessions).
    """

    tokenizer_config: dict | None = None
    feature_config: dict | None = None
    read_options: dict | None = None
    adv_history: dict | None = None
    context_length: int = 1024
    stride: int | None = None
    last_window: str = "pad"
    min_tokens: int = MIN_TOKENS
    split_dates: dict | None = None
    split_ranges: dict | None = None
    max_windows_per_table: int = 1024

    def __post_init__(self):
        super().__post_init__()
        if self.context_length < 2:
            raise ValueError(f"context_length must be >= 2, got {self.context_length}")
        if self.stride is not None and not 1 <= self.stride <= self.context_length:
            raise ValueError(f"stride must be in [1, context_length], got {self.stride}")
        if self.last_window not in LAST_WINDOW_MODES:
            raise ValueError(f"last_window must be one of {LAST_WINDOW_MODES}, got {self.last_window!r}")
        for name, (lo, hi) in (self.split_ranges or {}).items():
            if not 0.0 <= lo < hi <= 1.0:
                raise ValueError(f"split_ranges[{name!r}] must satisfy 0 <= lo < hi <= 1, got {[lo, hi]}")


class TradeFMMBO(datasets.ArrowBasedBuilder):
    """Tokenized TradeFM windows from raw Databento MBO / LOBSTER files (one shard per file).

    Instantiate it directly (datasets 5.x has no loading scripts)::

        builder = TradeFMMBO(data_files={"train": files}, tokenizer_config=tok.to_dict(), context_length=1024)
        ds = builder.as_streaming_dataset(split="train")          # IterableDataset, num_shards == len(files)
        builder.download_and_prepare(num_proc=4); ds = builder.as_dataset(split="train")   # Arrow

    Rows: see the module docstring. Skips (too-short sessions, sessions outside the split's
    dates) are counted in ``self.stats[split]`` of the process that generated them.
    """

    BUILDER_CONFIG_CLASS = TradeFMMBOConfig
    VERSION = datasets.Version("1.0.0")

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("hash", code_hash())
        # datasets names the cache folder after the defining module; keep the builder's own name
        kwargs.setdefault("dataset_name", "tradefm_mbo")
        self._tokenizer_obj = None  # before super().__init__, whose _info() may build it
        super().__init__(*args, **kwargs)
        self.stats: dict[str, Counter] = {}

    @property
    def num_context_fields(self) -> int:
        """Columns of ``context_ids``: the tokenizer's, so that a tokenizer with more context fields needs no change here."""
        if self.config.tokenizer_config is None:
            return NUM_CONTEXT_FIELDS
        # a book-aware tokenizer has more context columns than the paper's three
        return len(self.tokenizer.context_fields)

    def _info(self) -> datasets.DatasetInfo:
        T, K = self.config.context_length, self.num_context_fields
        return datasets.DatasetInfo(
            description="TradeFM tokenized order-flow windows, one (instrument, date) session per window.",
            features=datasets.Features(
                {
                    "input_ids": datasets.List(datasets.Value("int64"), length=T),
                    "context_ids": datasets.Array2D(shape=(T, K), dtype="int64"),
                    "labels": datasets.List(datasets.Value("int64"), length=T),
                    "instrument_id": datasets.Value("int64"),
                    "symbol": datasets.Value("string"),
                    "date": datasets.Value("string"),
                    "window_start": datasets.Value("int64"),
                    "n_tokens": datasets.Value("int64"),
                }
            ),
        )

    def _split_generators(self, dl_manager):
        if not self.config.data_files:
            raise ValueError("TradeFMMBO needs data_files, e.g. {'train': [...], 'validation': [...]}")
        if self.config.tokenizer_config is None:
            raise ValueError("TradeFMMBO needs tokenizer_config (a calibrated TradeFMTokenizer.to_dict())")
        data_files = dl_manager.download(self.config.data_files)
        return [
            # gen_kwargs holds exactly one list, the files: that list is what gets sharded.
            datasets.SplitGenerator(name=split, gen_kwargs={"files": list(files), "split": str(split)})
            for split, files in data_files.items()
        ]

    def _generate_shards(self, files, split):
        yield from files

    @property
    def tokenizer(self):
        """The frozen tokenizer rebuilt from ``config.tokenizer_config`` (once per process)."""
        if getattr(self, "_tokenizer_obj", None) is None:  # _info() asks during __init__
            self._tokenizer_obj = TradeFMTokenizer.from_dict(self.config.tokenizer_config)
        return self._tokenizer_obj

    def _generate_tables(self, files, split) -> Iterator[tuple[Key, pa.Table]]:
        cfg = self.config
        fcfg = FeatureConfig(**(cfg.feature_config or {}))
        dates = (cfg.split_dates or {}).get(split)
        dates = set(dates) if dates is not None else None
        lo, hi = (cfg.split_ranges or {}).get(split, (0.0, 1.0))
        stats = self.stats.setdefault(split, Counter())
        for file_idx, path in enumerate(files):
            batch_idx = 0
            sessions = file_session_features(path, fcfg, cfg.adv_history, cfg.read_options, book=self.tokenizer.needs_book)
            for sf in sessions:
                stats["sessions_in"] += 1
                if dates is not None and sf.date not in dates:
                    stats["skipped_date_not_in_split"] += 1
                    continue
                for table in self._session_tables(sf, lo, hi, stats):
                    yield Key(file_idx, batch_idx), table
                    batch_idx += 1

    def _session_tables(self, sf, lo: float, hi: float, stats: Counter) -> Iterator[pa.Table]:
        cfg = self.config
        enc = self.tokenizer.encode(sf)
        ids = np.asarray(enc["input_ids"], np.int64)
        ctx = np.asarray(enc["context_ids"], np.int64)
        T, K = cfg.context_length, self.num_context_fields
        if ctx.ndim != 2 or ctx.shape[1] != K:
            raise ValueError(f"session {sf.symbol} {sf.date}: the tokenizer gave context_ids of shape {ctx.shape}, expected [n, {K}]")
        a, b = fraction_bounds(len(ids), lo, hi)
        w = make_windows(ids[a:b], ctx[a:b], cfg.context_length, cfg.stride, cfg.last_window, cfg.min_tokens)
        W = len(w["window_start"])
        if W == 0:
            stats["skipped_too_short"] += 1
            return
        stats["sessions_used"] += 1
        stats["windows"] += W
        stats["tokens"] += int(b - a)
        stats["padded_positions"] += int(W * cfg.context_length - w["n_tokens"].sum())
        features = self.info.features
        for s in range(0, W, cfg.max_windows_per_table):
            e = min(W, s + cfg.max_windows_per_table)
            m = e - s
            fixed = lambda x, n: pa.FixedSizeListArray.from_arrays(pa.array(x.reshape(-1)), n)  # noqa: E731
            # Array2D's storage is list<list<int64>>; build it from offsets without Python loops.
            inner = pa.ListArray.from_arrays(
                pa.array(np.arange(0, m * T * K + 1, K, dtype=np.int32)), pa.array(w["context_ids"][s:e].reshape(-1))
            )
            outer = pa.ListArray.from_arrays(pa.array(np.arange(0, m * T + 1, T, dtype=np.int32)), inner)
            ctx_arr = pa.ExtensionArray.from_storage(features["context_ids"](), outer)
            yield pa.table(
                {
                    "input_ids": fixed(w["input_ids"][s:e], T),
                    "context_ids": ctx_arr,
                    "labels": fixed(w["labels"][s:e], T),
                    "instrument_id": pa.array(np.full(m, int(sf.instrument_id), np.int64)),
                    "symbol": pa.array([str(sf.symbol)] * m, pa.string()),
                    "date": pa.array([str(sf.date)] * m, pa.string()),
                    "window_start": pa.array(w["window_start"][s:e] + a),
                    "n_tokens": pa.array(w["n_tokens"][s:e]),
                },
                schema=features.arrow_schema,
            )


def load_tradefm_mbo(
    data_files: str | os.PathLike | Sequence[str | os.PathLike] | dict[str, Any],
    streaming: bool = False,
    num_proc: int | None = None,
    cache_dir: str | None = None,
    split: str | None = None,
    **cfg: Any,
):
    """Instantiate :class:`TradeFMMBO` and return a streaming or a prepared (Arrow) dataset.

    Args:
        data_files: path, glob or list (-> ``{"train": files}``) or a dict split -> path/glob/list.
        streaming: ``True`` -> ``as_streaming_dataset`` (an ``IterableDataset`` per split, one shard
            per file); ``False`` -> ``download_and_prepare(num_proc)`` + ``as_dataset``.
        num_proc: processes for ``download_and_prepare`` (capped at the number of files).
        cache_dir: datasets cache folder (default: the HF datasets cache).
        split: one split name, or ``None`` for a dict of all splits.
        **cfg: :class:`TradeFMMBOConfig` fields (``tokenizer_config`` is required).

    Returns:
        ``IterableDataset`` / ``Dataset``, or a dict of them when ``split`` is ``None``.
    """
    if isinstance(data_files, dict):
        files = {k: [str(p) for p in expand_paths(v)] for k, v in data_files.items() if v}
    else:
        files = {"train": [str(p) for p in expand_paths(data_files)]}
    builder = TradeFMMBO(data_files=files, cache_dir=cache_dir, **cfg)
    if streaming:
        return builder.as_streaming_dataset(split=split)
    if num_proc is not None:
        num_proc = max(1, min(int(num_proc), max(len(v) for v in files.values())))
        if num_proc == 1:
            num_proc = None
    builder.download_and_prepare(num_proc=num_proc)
    return builder.as_dataset(split=split)


__all__ = ["TradeFMMBO", "TradeFMMBOConfig", "code_hash", "load_tradefm_mbo"]
