# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""CPU threads of rollout decoding: the rule's choice, an explicit override, and torch's own setting
left as it was (checked inside every forward of the model, and after the call returns)."""

from __future__ import annotations

import json

import pytest
import torch
from test_generation_tradefm import _checkpoint, _clock, _small_day, es_prefix, tiny_model, tiny_proposer

from modeling_tradefm.cpu_threads import SMALL_MODEL_PARAMETERS, decode_threads, torch_threads
from modeling_tradefm.generation_tradefm import rollout


@pytest.fixture
def caller_threads():
    """The caller's own setting during the test: a count neither the rule (1) nor the override (2) uses."""
    before = torch.get_num_threads()
    torch.set_num_threads(3)
    yield 3
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def prefix():
    return es_prefix(1500)


def _forward_threads(model):
    """Record ``torch.get_num_threads()`` at every forward of ``model``; returns (seen, hook handle)."""
    seen = []
    handle = model.register_forward_pre_hook(lambda module, args: seen.append(torch.get_num_threads()))
    return seen, handle


def test_small_model_decodes_on_one_thread_and_restores_the_callers_count(prefix, caller_threads):
    model = tiny_model(128)
    seen, handle = _forward_threads(model)
    try:
        between = []
        proposer = tiny_proposer()
        observe = proposer.observe
        proposer.observe = lambda applied, books: (between.append(torch.get_num_threads()), observe(applied, books))
        rollout(proposer, prefix, 150, num_rollouts=2, seed=0)  # 150 steps slide the 128-position window
    finally:
        handle.remove()
    assert proposer.n_prefills > 1  # the re-prefill of a slid window ran under the rule too
    assert len(seen) == 150 and set(seen) == {1}  # the prefill and one forward per later step
    # between steps (observe runs outside the proposer's torch code) and after: the caller's count
    assert set(between) == {caller_threads} and torch.get_num_threads() == caller_threads
    assert proposer.threads_used == 1


def test_an_explicit_thread_count_is_honoured_and_restored(prefix, caller_threads):
    model = tiny_model(128)
    seen, handle = _forward_threads(model)
    try:
        proposer = tiny_proposer(threads=2)
        rollout(proposer, prefix, 20, num_rollouts=3, seed=1)
        proposer.decode_open_loop([5, 6, 7], [[1, 16, 0]] * 3, 4, num_rollouts=2)
    finally:
        handle.remove()
    assert set(seen) == {2} and len(seen) == 20 + 4
    assert torch.get_num_threads() == caller_threads and proposer.threads_used == 2


def test_the_rule_reads_the_model_size_and_the_device():
    small = tiny_model(128)
    assert sum(p.numel() for p in small.parameters()) <= SMALL_MODEL_PARAMETERS
    large = torch.nn.Linear(8192, 8192, device="meta")  # 67M parameters, no memory
    assert decode_threads(None, small, "cpu") == 1
    assert decode_threads(None, large, "cpu") is None  # torch's setting
    assert decode_threads(None, small, "cuda") is None
    assert decode_threads(4, large, "cpu") == 4
    with pytest.raises(ValueError, match="threads must be >= 1"):
        decode_threads(0, small, "cpu")
    with pytest.raises(ValueError, match="threads must be >= 1"):
        tiny_proposer(threads=0)


def test_torch_threads_restores_after_an_error(caller_threads):
    with pytest.raises(RuntimeError), torch_threads(1):
        assert torch.get_num_threads() == 1
        raise RuntimeError("inside")
    assert torch.get_num_threads() == caller_threads


def test_generate_cli_threads(tmp_path, caller_threads):
    from modeling_tradefm.cli import main

    ckpt = _checkpoint(tmp_path / "ckpt")
    data = _small_day(tmp_path)
    common = ["generate", "--model", str(ckpt), "--data", str(data), "--start", _clock(data), "--events", "3"]
    assert main([*common, "-o", str(tmp_path / "auto")]) == 0
    assert json.loads((tmp_path / "auto" / "meta.json").read_text())["threads"] == 1
    assert main([*common, "--threads", "2", "-o", str(tmp_path / "two")]) == 0
    assert json.loads((tmp_path / "two" / "meta.json").read_text())["threads"] == 2
    assert torch.get_num_threads() == caller_threads  # the command in-process changed nothing global
    with pytest.raises(SystemExit):
        main([*common, "--threads", "0", "-o", str(tmp_path / "zero")])
