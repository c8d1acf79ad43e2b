# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""Per-rank streaming: which files each process reads, and how many windows every process takes.

With ``--streaming`` and ``dispatch_batches=False`` every process reads its own files instead of
rank 0 reading all of them and broadcasting batches. Data-parallel training needs every process to
run the same number of forward/backward passes per epoch (each optimizer step is one all-reduce;
under FSDP each forward is an all-gather), so the files are split *before* any is tokenized, from
the window counts of the split plan (:meth:`SplitPlan.windows_per_file`):

* whole files go to processes, largest first to the process with the fewest windows so far
  (greedy longest-processing-time: deterministic, within one file's windows of the best split);
* every process takes ``quota = min(windows of each process)`` windows per epoch, after its
  shuffle buffer; a process with more windows leaves ``windows - quota`` of them out of that epoch
  (which ones changes with the epoch's shuffle). The counts are logged and put in the model card;
* no window is read by two processes, and fewer files holding windows than processes is an error
  (a process with nothing to read would leave the others waiting in their first all-reduce).

Since every process's epoch has a known length, :class:`RankStream` gives the stream a ``len``:
the Trainer then counts epochs (``--num_train_epochs`` works without ``--max_steps``) and a resumed
run skips to the right batch of the right epoch, as with prepared data.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import torch

from .windows import MIN_TOKENS

logger = logging.getLogger(__name__)
FLAG = "--accelerator_config dispatch_batches=false"


class ShareError(ValueError):
    """The training files cannot be split between the processes as asked."""


@dataclass(frozen=True)
class RankShare:
    """The files one process reads and the windows they hold (before the per-epoch quota)."""

    rank: int
    files: tuple[str, ...]
    windows: int


def plan_rank_shares(windows_per_file: dict[str, int], world_size: int) -> list[RankShare]:
    """Split whole files between ``world_size`` processes, balancing their window counts.

    Args:
        windows_per_file: ``{path: windows}`` of the training split (files without a window are
            left out: nothing to read).
        world_size: number of processes.

    Returns:
        One :class:`RankShare` per rank, files in sorted order.

    Raises:
        ShareError: fewer files holding windows than processes.
    """
    if world_size < 1:
        raise ValueError(f"world_size must be >= 1, got {world_size}")
    files = [(n, path) for path, n in windows_per_file.items() if n > 0]
    if len(files) < world_size:
        raise ShareError(
            f"{FLAG}: {len(files)} training file(s) hold windows, fewer than the {world_size} processes: per-rank "
            "streaming gives each process whole files. Use at least as many files as processes, or "
            "drop dispatch_batches=false (rank 0 then reads every file and dispatches the batches)"
        )
    load = [0] * world_size
    owned: list[list[str]] = [[] for _ in range(world_size)]
    for n, path in sorted(files, key=lambda t: (-t[0], t[1])):
        r = min(range(world_size), key=lambda i: (load[i], i))
        load[r] += n
        owned[r].append(path)
    return [RankShare(r, tuple(sorted(owned[r])), load[r]) for r in range(world_size)]


@dataclass(frozen=True)
class StreamShares:
    """Every process's files and the windows each takes per epoch (``quota``, the same for all)."""

    shares: tuple[RankShare, ...]
    quota: int

    @classmethod
    def plan(cls, windows_per_file: dict[str, int], world_size: int, max_windows: int | None = None) -> StreamShares:
        """Split the files (:func:`plan_rank_shares`); quota = the smallest share, at most ``max_windows // world_size``.

        Raises:
            ShareError: fewer files holding windows than processes, or ``max_windows`` below one
                window per process.
        """
        shares = plan_rank_shares(windows_per_file, world_size)
        quota = min(s.windows for s in shares)
        if max_windows is not None:
            quota = min(quota, int(max_windows) // world_size)
            if quota < 1:
                raise ShareError(f"--max_train_samples: {max_windows} is fewer than one window per process ({world_size})")
        return cls(tuple(shares), quota)

    @property
    def left_out(self) -> int:
        """Windows left out of each epoch, all processes together."""
        return sum(s.windows for s in self.shares) - self.quota * len(self.shares)

    def describe(self) -> list[str]:
        """One log line per rank (its files, windows, and those it leaves out of each epoch), then the total."""
        n = len(self.shares)
        lines = [
            f"rank {s.rank}/{n}: {len(s.files)} file(s), {s.windows} windows, takes {self.quota} per epoch "
            f"({s.windows - self.quota} left out of each epoch)"
            for s in self.shares
        ]
        total = sum(s.windows for s in self.shares)
        lines.append(f"per-rank streaming: {self.quota * n} of {total} training windows per epoch, {self.left_out} left out")
        return lines

    def card(self) -> dict:
        """The model card's summary of the shares."""
        return {
            "per_rank_files": [len(s.files) for s in self.shares],
            "per_rank_windows": [s.windows for s in self.shares],
            "windows_per_rank_per_epoch": self.quota,
        }


class RankStream(torch.utils.data.IterableDataset):
    """One process's share: a stream of exactly ``quota`` windows per epoch, with that length.

    Args:
        dataset: the process's ``datasets.IterableDataset`` (shuffled, ``take(quota)``).
        quota: windows per epoch (:attr:`StreamShares.quota`).
    """

    def __init__(self, dataset, quota: int):
        self.dataset, self.quota = dataset, int(quota)

    def __len__(self) -> int:
        return self.quota

    def set_epoch(self, epoch: int) -> None:
        self.dataset.set_epoch(epoch)

    def __iter__(self):
        n = 0
        for row in self.dataset:
            n += 1
            yield row
        if n != self.quota:
            # The ranks would then disagree on the number of steps: stop here rather than hang in an all-reduce.
            raise RuntimeError(f"per-rank streaming: this rank's files gave {n} windows, the split plan counted {self.quota}")


def per_rank_streaming(data_args, training_args) -> bool:
    """Whether every process streams its own files: ``--streaming`` + ``dispatch_batches=false`` on several ranks."""
    return bool(
        data_args.streaming
        and training_args.world_size > 1
        and training_args.accelerator_config.dispatch_batches is False
    )


def plan_stream_shares(data_args, training_args, plan) -> StreamShares:
    """This run's :class:`StreamShares` (from the training arguments and the split plan), logged.

    Each rank logs its own share (info); the main process logs them all, as a warning when
    windows are left out of each epoch.

    Raises:
        ShareError: the files cannot be split as asked, or dataloader workers were asked for.
    """
    if training_args.dataloader_num_workers:
        # Workers would split the rank's files among themselves by file count, not by windows,
        # and each would batch its own tail: the ranks' batch counts would differ.
        raise ShareError(f"{FLAG}: per-rank streaming reads in the training process; use --dataloader_num_workers 0")
    counts = plan.windows_per_file("train", data_args.context_length, data_args.stride, data_args.last_window, MIN_TOKENS)
    shares = StreamShares.plan(counts, training_args.world_size, data_args.max_train_samples)
    lines = shares.describe()
    logger.info(lines[training_args.process_index])
    if training_args.should_log:
        (logger.warning if shares.left_out else logger.info)("; ".join(lines[-1:] + lines[:-1]))
    return shares


__all__ = [
    "RankShare",
    "RankStream",
    "ShareError",
    "StreamShares",
    "per_rank_streaming",
    "plan_rank_shares",
    "plan_stream_shares",
]
