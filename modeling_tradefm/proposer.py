# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""The "something that proposes the next order" interface: the one interface the closed-loop rollout drives.

TradeFM (a checkpoint), the Compound Hawkes baseline and the zero-intelligence baseline all
implement ``OrderProposer``, so ``tradefm generate --model DIR`` runs any of them through the same
simulator loop (``generation_tradefm.rollout``):

    proposer.start(prefix, books, seed)          # once: real prefix + one simulator per rollout
    for step in range(n_events):
        batch = proposer.propose(books)          # one order per rollout
        ...driver overrides rows with due user-injected orders (participant = 1)...
        ...driver submits each row to its simulator...
        proposer.observe(applied, books)         # what was actually applied, per rollout

Every step appends exactly one order per rollout, which is what keeps a batched KV cache aligned.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np

if TYPE_CHECKING:
    from .events import EventTable

MARKET_PRICE_BID = np.iinfo(np.int64).max  # a buy that walks the book without a limit
MARKET_PRICE_ASK = 0  # a sell that walks the book without a limit (prices are positive)


@dataclass
class OrderBatch:
    """One order per rollout; every array has length ``num_rollouts``.

    Attributes:
        dt_ns: int64, delay after the rollout's previous event (ns, ≥ 0).
        action: uint8, ``ACTION_ADD`` or ``ACTION_CANCEL`` (ASCII codes of ``events``).
        side: uint8, ``SIDE_BID`` or ``SIDE_ASK``.
        price: int64, 1e-9 units. A buy add at ``MARKET_PRICE_BID`` or a sell add at
            ``MARKET_PRICE_ASK`` is a market order; an add priced through the opposite best is
            marketable and executes first, like on the venue.
        size: uint32, > 0.
        participant: uint8, the I_MP flag (1 = injected/designated participant).
    """

    dt_ns: np.ndarray
    action: np.ndarray
    side: np.ndarray
    price: np.ndarray
    size: np.ndarray
    participant: np.ndarray

    def __post_init__(self) -> None:
        self.dt_ns = np.asarray(self.dt_ns, dtype=np.int64)
        self.action = np.asarray(self.action, dtype=np.uint8)
        self.side = np.asarray(self.side, dtype=np.uint8)
        self.price = np.asarray(self.price, dtype=np.int64)
        self.size = np.asarray(self.size, dtype=np.uint32)
        self.participant = np.asarray(self.participant, dtype=np.uint8)
        n = len(self.dt_ns)
        for name in ("action", "side", "price", "size", "participant"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"OrderBatch.{name} has {len(getattr(self, name))} rows, expected {n}")

    def __len__(self) -> int:
        return len(self.dt_ns)

    def copy(self) -> OrderBatch:
        return OrderBatch(
            self.dt_ns.copy(), self.action.copy(), self.side.copy(), self.price.copy(), self.size.copy(),
            self.participant.copy(),
        )


class OrderProposer(ABC):
    """Proposes the next order of each of a batch of independent rollouts.

    Implementations must be deterministic given ``seed``: the same seed, prefix and books give
    byte-identical rollouts.
    """

    #: written into each rollout's metadata and the report legend
    name: str = "proposer"

    @abstractmethod
    def start(self, prefix: EventTable, books: Sequence, seed: int) -> None:
        """Prepare ``len(books)`` rollouts that continue the real ``prefix``.

        Args:
            prefix: the real events before the rollout start (one session), e.g. for a model's
                context or a Hawkes process's history.
            books: one ``simulator.Simulator`` per rollout, already holding the book at the start.
            seed: seeds every random draw of the rollouts.
        """

    @abstractmethod
    def propose(self, books: Sequence) -> OrderBatch:
        """The next order of each rollout (``len(books)`` rows)."""

    @abstractmethod
    def observe(self, applied: OrderBatch, books: Sequence) -> None:
        """Told what each rollout actually applied this step (a proposal or an injected order)."""

    def save_pretrained(self, path: str | Path) -> None:  # pragma: no cover - overridden by fitted baselines
        raise NotImplementedError(f"{type(self).__name__} cannot be saved")


BASELINE_FILE = "baseline.json"


def load_proposer(path: str | Path, **kwargs) -> OrderProposer:
    """Load whatever proposes orders from a folder: a TradeFM checkpoint or a fitted baseline.

    A folder with ``baseline.json`` holds a baseline (its ``"kind"`` names which); a folder with
    a ``config.json`` of ``model_type == "tradefm"`` holds a TradeFM checkpoint.
    """
    path = Path(path)
    if (path / BASELINE_FILE).is_file():
        kind = json.loads((path / BASELINE_FILE).read_text())["kind"]
        from .baselines import load_baseline

        return load_baseline(path, kind=kind, **kwargs)
    config = path / "config.json"
    if config.is_file() and json.loads(config.read_text()).get("model_type") == "tradefm":
        from .generation_tradefm import TradeFMProposer

        return TradeFMProposer.from_pretrained(path, **kwargs)
    raise FileNotFoundError(
        f"{path}: neither a TradeFM checkpoint (config.json with model_type 'tradefm') nor a fitted baseline "
        f"({BASELINE_FILE})"
    )


__all__ = ["BASELINE_FILE", "MARKET_PRICE_ASK", "MARKET_PRICE_BID", "OrderBatch", "OrderProposer", "load_proposer"]
