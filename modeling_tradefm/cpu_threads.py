# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""How many CPU threads torch decodes a rollout with, and torch's own setting put back afterwards.

A rollout step of a small model multiplies tiny matrices (one new position per rollout through a
few 128-wide layers). Splitting such work over threads costs more than it saves, and on a machine
where another process holds a core it costs far more: the thread that shares a core makes the
others wait at every barrier. So decoding on CPU chooses its own thread count
(:func:`decode_threads`): ONE thread for a model of at most ``SMALL_MODEL_PARAMETERS``
parameters, torch's setting for larger ones; an explicit count (``threads=`` of
``TradeFMProposer`` / ``load_proposer``, ``tradefm generate --threads``) overrides it.

Measured with ``benchmarks/bench_threads.py`` (``docs/generation.md`` has the figures): on a
2-core machine shared with other jobs, one thread gave 4.5-50x the events/s of two for the demo's
5.2M-parameter model (batches of 1 and 8, with and without an extra spinning process), and still
2.4-5.6x for a 125M model. The 125M side of
the rule (torch's setting) is not a measurement: on an idle many-core machine the larger matrix
products of the paper's presets are where threads pay, and a busy machine is the caller's to
know (``--threads 1``).

The rule reads only the model, never the batch size or the machine's load: the same model on the
same machine always decodes with the same thread count, so a rollout does not depend on which
batch it runs in (the ``OrderProposer`` contract) nor on what else ran at the time.

The count is set only while the proposer's torch code runs (:func:`torch_threads`), and torch's
previous setting is restored when it returns: a library must not leave global state changed, and
code between two rollout steps runs with the caller's own setting.
"""

from __future__ import annotations

import contextlib

import torch

#: Parameter count up to which a model decodes on one CPU thread (the demo's tiny preset has 5.2M,
#: the smallest paper preset 125M); see the module docstring for the measurement.
SMALL_MODEL_PARAMETERS = 50_000_000


def decode_threads(requested: int | None, model, device) -> int | None:
    """The torch thread count to decode ``model`` with, or ``None`` to keep torch's setting.

    Args:
        requested: an explicit count (wins), or ``None`` for the rule.
        model: the ``torch.nn.Module`` decoded (its parameter count decides).
        device: where it runs; off CPU the rule keeps torch's setting.

    Returns:
        ``requested`` when given; else 1 on CPU for at most ``SMALL_MODEL_PARAMETERS``
        parameters; else ``None``.

    Raises:
        ValueError: ``requested`` < 1.
    """
    if requested is not None:
        if int(requested) < 1:
            raise ValueError(f"threads must be >= 1, got {requested}")
        return int(requested)
    if torch.device(device).type != "cpu":
        return None
    return 1 if sum(p.numel() for p in model.parameters()) <= SMALL_MODEL_PARAMETERS else None


@contextlib.contextmanager
def torch_threads(n: int | None):
    """Run the block with ``torch.set_num_threads(n)``; torch's previous count is restored after.

    ``None`` (or the count already set) leaves torch alone.
    """
    previous = torch.get_num_threads()
    if n is None or n == previous:
        yield
        return
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


__all__ = ["SMALL_MODEL_PARAMETERS", "decode_threads", "torch_threads"]
