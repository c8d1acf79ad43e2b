# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""Per-rank streaming: which files each process (and each of its dataloader workers) reads, and how many windows.

With ``--streaming`` and ``dispatch_batches=False`` every process reads its own files instead of
rank 0 reading all of them and broadcasting batches. Data-parallel training needs every process to
run the same number of forward/backward passes per epoch (each optimizer step is one all-reduce;
under FSDP each forward is an all-gather), so the files are split *before* any is tokenized, from
the window counts of the split plan (:meth:`SplitPlan.windows_per_file`):

* whole files go to *parts*, one part per dataloader worker of every process (one per process
  without workers), largest file first to the part with the fewest windows so far (greedy
  longest-processing-time: deterministic, within one file's windows of the best split);
* every part yields ``quota = min(windows of each part)`` windows per epoch, after its shuffle
  buffer (with several workers, rounded down to whole batches, since each worker batches its own
  windows); a part with more windows leaves the rest out of that epoch, a different part of them
  each epoch. The counts are logged and put in the model card;
* no window is read by two processes or workers, and fewer files holding windows than parts is
  an error (a process with nothing to read would leave the others waiting in their first all-reduce).

Every process's epoch thus has a known length: :class:`RankStream` gives the stream a ``len``, so
the Trainer counts epochs (``--num_train_epochs`` works without ``--max_steps``) and a resumed run
skips to the right batch of the right epoch, as with prepared data.
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
    """What one process reads: one group of files per dataloader worker (one group without workers)."""

    rank: int
    parts: tuple[tuple[str, ...], ...]
    part_windows: tuple[int, ...]

    @property
    def files(self) -> tuple[str, ...]:
        return tuple(sorted(f for part in self.parts for f in part))

    @property
    def windows(self) -> int:
        return sum(self.part_windows)


def plan_rank_shares(windows_per_file: dict[str, int], world_size: int, workers: int = 1) -> list[RankShare]:
    """Split whole files into ``world_size x workers`` parts, balancing their window counts.

    Args:
        windows_per_file: ``{path: windows}`` of the training split (files without a window are
            left out: nothing to read).
        world_size: number of processes.
        workers: parts per process (its dataloader workers; 1 without workers).

    Returns:
        One :class:`RankShare` per rank (rank ``r`` holds parts ``r * workers`` to
        ``(r + 1) * workers - 1``), files of each part in sorted order.

    Raises:
        ShareError: fewer files holding windows than parts.
    """
    if world_size < 1 or workers < 1:
        raise ValueError(f"world_size and workers must be >= 1, got {world_size}, {workers}")
    n_parts = world_size * workers
    files = [(n, path) for path, n in windows_per_file.items() if n > 0]
    if len(files) < n_parts:
        per = f"{world_size} processes" + (f" x {workers} dataloader workers" if workers > 1 else "")
        raise ShareError(
            f"{FLAG}: {len(files)} training file(s) hold windows, fewer than the {per}: per-rank streaming gives "
            "each process (and each of its workers) whole files. Use at least as many files, fewer workers, or drop "
            "dispatch_batches=false (rank 0 then reads every file and dispatches the batches)"
        )
    load = [0] * n_parts
    owned: list[list[str]] = [[] for _ in range(n_parts)]
    for n, path in sorted(files, key=lambda t: (-t[0], t[1])):
        p = min(range(n_parts), key=lambda i: (load[i], i))
        load[p] += n
        owned[p].append(path)
    return [
        RankShare(r, tuple(tuple(sorted(owned[p])) for p in range(r * workers, (r + 1) * workers)),
                  tuple(load[r * workers : (r + 1) * workers]))  # fmt: skip
        for r in range(world_size)
    ]


@dataclass(frozen=True)
class StreamShares:
    """Every process's parts, and the windows each part yields per epoch (``quota``, the same for all)."""

    shares: tuple[RankShare, ...]
    quota: int

    @classmethod
    def plan(
        cls,
        windows_per_file: dict[str, int],
        world_size: int,
        max_windows: int | None = None,
        workers: int = 0,
        batch_size: int = 1,
    ) -> StreamShares:
        """Split the files (:func:`plan_rank_shares`) and fix the quota of every part.

        Args:
            windows_per_file: ``{path: windows}`` of the training split.
            world_size: number of processes.
            max_windows: at most this many windows per epoch, all processes together.
            workers: dataloader workers per process (0: the process reads itself).
            batch_size: windows per batch; with several workers the quota is whole batches.

        Raises:
            ShareError: fewer files holding windows than parts, or fewer windows per part than
                one (one batch with several workers).
        """
        parts = max(1, int(workers))
        shares = plan_rank_shares(windows_per_file, world_size, parts)
        smallest = min(min(s.part_windows) for s in shares)
        cap = None if max_windows is None else int(max_windows) // (world_size * parts)
        quota = smallest if cap is None else min(smallest, cap)
        if parts > 1:
            quota -= quota % batch_size
        if quota < 1:
            unit = "window per process" if parts == 1 else f"batch ({batch_size}) per process and worker"
            if cap is not None and cap < smallest:
                raise ShareError(f"--max_train_samples: {max_windows} is fewer than one {unit}")
            raise ShareError(f"{FLAG}: the smallest file group holds {smallest} windows, fewer than one {unit}")
        return cls(tuple(shares), quota)

    @property
    def per_rank(self) -> int:
        """Windows each process takes per epoch."""
        return self.quota * len(self.shares[0].parts)

    @property
    def left_out(self) -> int:
        """Windows left out of each epoch, all processes together."""
        return sum(s.windows for s in self.shares) - self.per_rank * len(self.shares)

    def describe(self) -> list[str]:
        """One log line per rank (its files, windows and those it leaves out of each epoch), then the total."""
        n, parts = len(self.shares), len(self.shares[0].parts)
        workers = f" over {parts} dataloader workers" if parts > 1 else ""
        lines = [
            f"rank {s.rank}/{n}: {len(s.files)} file(s), {s.windows} windows, takes {self.per_rank} per epoch{workers} "
            f"({s.windows - self.per_rank} left out of each epoch)"
            for s in self.shares
        ]
        total = sum(s.windows for s in self.shares)
        lines.append(f"per-rank streaming: {self.per_rank * n} of {total} training windows per epoch, {self.left_out} left out")
        return lines

    def card(self) -> dict:
        """The model card's summary of the shares."""
        return {
            "per_rank_files": [len(s.files) for s in self.shares],
            "per_rank_windows": [s.windows for s in self.shares],
            "windows_per_rank_per_epoch": self.per_rank,
        }


class RankStream(torch.utils.data.IterableDataset):
    """One process's share: ``quota`` windows per part per epoch, with that length.

    Without dataloader workers the parts are read one after the other (there is one); in worker
    ``i`` of a DataLoader only part ``i`` is read. A part is read with ``IterableDataset.iter``,
    which, unlike ``__iter__``, does not split the part again between the workers.

    Args:
        parts: one ``datasets.IterableDataset`` per part (shuffled, ``take(quota)``, torch format).
        quota: windows per part per epoch (:attr:`StreamShares.quota`).
    """

    def __init__(self, parts, quota: int):
        self.parts, self.quota = list(parts), int(quota)

    def __len__(self) -> int:
        return self.quota * len(self.parts)

    def set_epoch(self, epoch: int) -> None:
        for part in self.parts:
            part.set_epoch(epoch)

    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        if info is None:
            parts = self.parts
        elif info.num_workers == len(self.parts):
            parts = [self.parts[info.id]]
        else:
            raise RuntimeError(f"RankStream has {len(self.parts)} parts for {info.num_workers} dataloader workers")
        for part in parts:
            n = 0
            for batch in part.iter(batch_size=64):
                for i in range(len(next(iter(batch.values())))):
                    n += 1
                    yield {k: v[i] for k, v in batch.items()}
            if n != self.quota:
                # The ranks would then disagree on the number of steps: stop here rather than hang in an all-reduce.
                raise RuntimeError(f"per-rank streaming: a part gave {n} windows, the split plan counted {self.quota}")


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
        ShareError: the files cannot be split as asked, or persistent dataloader workers were asked for.
    """
    workers = int(training_args.dataloader_num_workers or 0)
    if workers and getattr(training_args, "dataloader_persistent_workers", False):
        # A persistent worker keeps the shuffle of its first epoch: every epoch would read the same windows.
        raise ShareError(f"{FLAG}: per-rank streaming re-shuffles every epoch; drop --dataloader_persistent_workers")
    counts = plan.windows_per_file("train", data_args.context_length, data_args.stride, data_args.last_window, MIN_TOKENS)
    shares = StreamShares.plan(counts, training_args.world_size, data_args.max_train_samples, workers,
                               training_args.per_device_train_batch_size)  # fmt: skip
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
