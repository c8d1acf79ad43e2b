# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""The "something that proposes the next order" interface: the one interface the closed-loop rollout drives.

TradeFM (``proposer_tradefm.TradeFMProposer``), the Compound Hawkes baseline and the
zero-intelligence baseline all implement ``OrderProposer``, so ``tradefm generate --model DIR``
runs any of them through the same simulator loop (``generation_tradefm.rollout``):

    proposer.start(prefix, books, seed, rollout_ids)   # once: real prefix + one simulator per rollout
    for step in range(n_events):
        batch = proposer.propose(books)                # one order per rollout
        ...driver overrides rows with due user-injected orders (participant = 1)...
        ...driver submits each row to its simulator...
        proposer.observe(applied, books)               # what was actually applied, per rollout

Every step appends exactly one order per rollout, which is what keeps a batched KV cache aligned.
This module knows none of its implementations; ``registry.load_proposer`` finds the right one for
a folder.
"""

from __future__ import annotations

import json
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from .errors import DataError
from .hub import resolve_folder

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


BASELINE_FILE = "baseline.json"


def resolve_rollout_ids(rollout_ids: Sequence[int] | None, n: int) -> list[int]:
    """The global ids of a batch of ``n`` rollouts: ``rollout_ids`` checked, or ``0..n-1``.

    Raises:
        ValueError: not ``n`` ids, a repeated id, or a negative one.
    """
    ids = list(range(n)) if rollout_ids is None else [int(r) for r in rollout_ids]
    if len(ids) != n:
        raise ValueError(f"{len(ids)} rollout_ids for {n} rollouts")
    if len(set(ids)) != len(ids):
        raise ValueError(f"rollout_ids must be distinct, got {ids}")
    if any(r < 0 for r in ids):
        raise ValueError(f"rollout_ids must be >= 0, got {ids}")
    return ids


class OrderProposer(ABC):
    """Proposes the next order of each of a batch of independent rollouts.

    The contract: rollout ``i``'s random draws depend only on ``(seed, i)`` — not on the batch size
    nor on the other rollouts of the batch — so the same seed, prefix and books give byte-identical
    rollouts, and rollout ``i`` run alone (``rollout_ids=[i]``) equals rollout ``i`` of any batch.
    Implementations draw from ``sampling.rollout_seed_sequence(seed, i)``.

    Persistence: a fitted proposer saved as ``baseline.json`` gives ``kind`` (the file's
    ``"kind"``), ``to_dict`` and ``from_dict``; ``save_pretrained`` / ``from_pretrained`` are
    implemented here once for all of them.
    """

    #: written into each rollout's metadata and the report legend
    name: str = "proposer"
    #: the ``"kind"`` of its ``baseline.json`` (None: not saved that way)
    kind: ClassVar[str | None] = None

    @abstractmethod
    def start(self, prefix: EventTable, books: Sequence, seed: int, rollout_ids: Sequence[int] | None = None) -> None:
        """Prepare ``len(books)`` rollouts that continue the real ``prefix``.

        Args:
            prefix: the real events before the rollout start (one session), e.g. for a model's
                context or a Hawkes process's history.
            books: one ``simulator.Simulator`` per rollout, already holding the book at the start.
            seed: seeds every random draw of the rollouts.
            rollout_ids: the global id of each rollout (one per book, distinct; default
                ``0..len(books)-1``); rollout ``i``'s draws depend only on ``(seed, i)``.
        """

    @abstractmethod
    def propose(self, books: Sequence) -> OrderBatch:
        """The next order of each rollout (``len(books)`` rows)."""

    @abstractmethod
    def observe(self, applied: OrderBatch, books: Sequence) -> None:
        """Told what each rollout actually applied this step (a proposal or an injected order)."""

    # -- persistence (baseline.json) ----------------------------------------------------------------
    def to_dict(self) -> dict:
        """The fitted state as a JSON-able dict with ``"kind": self.kind`` (what ``save_pretrained`` writes)."""
        raise NotImplementedError(f"{type(self).__name__} cannot be saved as {BASELINE_FILE}")

    @classmethod
    def from_dict(cls, d: dict, **kwargs) -> OrderProposer:
        """The proposer ``to_dict`` described; ``kwargs`` are load-time options of the class."""
        raise NotImplementedError(f"{cls.__name__} cannot be loaded from {BASELINE_FILE}")

    def save_pretrained(self, path: str | Path) -> None:
        """Write ``path/baseline.json`` (the folder is created)."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        (path / BASELINE_FILE).write_text(json.dumps(self.to_dict(), indent=1) + "\n")

    @classmethod
    def from_pretrained(
        cls,
        path: str | Path,
        *,
        revision: str | None = None,
        cache_dir: str | Path | None = None,
        token: bool | str | None = None,
        **kwargs,
    ) -> OrderProposer:
        """Load ``baseline.json`` of this class's ``kind`` from a folder, the file itself, or a Hub repo id.

        Args:
            path: a folder holding ``baseline.json``, the file, or a Hub repo id (``org/name``,
                fetched with ``hub.resolve_folder``; offline, from the cache).
            revision, cache_dir, token: for a Hub repo id, as ``huggingface_hub.snapshot_download``.
            **kwargs: load-time options of the class (``from_dict``).

        Raises:
            FileNotFoundError: no baseline.json there.
            DataError: the file's ``"kind"`` is not this class's; a Hub id that cannot be resolved.
        """
        path = resolve_folder(path, revision=revision, cache_dir=cache_dir, token=token)
        file = path if path.is_file() else path / BASELINE_FILE
        if not file.is_file():
            raise FileNotFoundError(2, "no such file", str(file))
        d = json.loads(file.read_text())
        if d.get("kind") != cls.kind:
            raise DataError(file, f"baseline kind is {d.get('kind')!r}, expected {cls.kind!r}")
        return cls.from_dict(d, **kwargs)

    def push_to_hub(
        self,
        repo_id: str,
        *,
        private: bool | None = None,
        token: bool | str | None = None,
        revision: str | None = None,
        commit_message: str | None = None,
        create_pr: bool = False,
    ):
        """Upload the fitted proposer to the Hub: ``baseline.json`` and a ``README.md`` card.

        The repo is created when missing (``HfApi.create_repo(exist_ok=True)``), then the folder
        ``save_pretrained`` writes is uploaded as one commit (``HfApi.upload_folder``). The repo
        loads back with ``load_proposer(repo_id)`` or ``type(self).from_pretrained(repo_id)``.

        Args:
            repo_id: ``org/name``.
            private: create the repo private (default: the Hub's default); an existing repo keeps its visibility.
            token: Hub token (default: the logged-in one).
            revision: branch to commit to (default: the main branch).
            commit_message: default ``"Upload <kind> baseline"``.
            create_pr: open a pull request instead of committing.

        Returns:
            huggingface_hub's ``CommitInfo`` (``.commit_url``, ``.oid``).
        """
        from huggingface_hub import HfApi

        api = HfApi(token=token)
        with tempfile.TemporaryDirectory(prefix="tradefm-baseline-") as folder:
            self.save_pretrained(folder)
            (Path(folder) / "README.md").write_text(baseline_card(self, repo_id), encoding="utf-8")
            api.create_repo(repo_id, private=private, exist_ok=True)
            return api.upload_folder(repo_id=repo_id, folder_path=folder, revision=revision, create_pr=create_pr,
                                     commit_message=commit_message or f"Upload {self.kind} baseline")


def baseline_card(proposer: OrderProposer, repo_id: str) -> str:
    """The ``README.md`` of a baseline's Hub repo: what it is, how to load it, its fit summary and data.

    Args:
        proposer: a fitted proposer with ``kind`` (and, when it has them, ``summary()`` and ``fitted_on``).
        repo_id: the repo it is written for (shown in the loading snippet).
    """
    summary = proposer.summary() if callable(getattr(proposer, "summary", None)) else {}
    fitted_on = getattr(proposer, "fitted_on", None) or {}
    lines = [
        "---", "library_name: tradefm", "tags:", "- tradefm", "- order-flow", "- limit-order-book", "- baseline",
        "---", "", f"# {proposer.kind} order-flow baseline ({type(proposer).__name__})", "",
        "A fitted classical baseline of the TradeFM package (arXiv 2602.23784 replication), saved as "
        f"`{BASELINE_FILE}`; it runs through the same closed-loop simulator as a TradeFM checkpoint.", "",
        "```python", "from modeling_tradefm import load_proposer, rollout", "",
        f'proposer = load_proposer("{repo_id}")', "results = rollout(proposer, prefix_events, 1000, num_rollouts=4, seed=0)",
        "```", "", f"or `tradefm generate --model {repo_id} --data FILES --start HH:MM:SS -o DIR`.", "",
    ]
    for title, table in (("Fit", summary), ("Fitted on", fitted_on)):
        rows = {k: v for k, v in table.items() if not isinstance(v, (list, dict))}
        if rows:
            lines += [f"## {title}", "", "| | |", "|---|---|", *(f"| {k} | {v} |" for k, v in rows.items()), ""]
    return "\n".join(lines)


__all__ = [
    "BASELINE_FILE",
    "MARKET_PRICE_ASK",
    "MARKET_PRICE_BID",
    "OrderBatch",
    "OrderProposer",
    "baseline_card",
    "resolve_rollout_ids",
]
