# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""Training learns, and learns from the context: an overfit run, and what the model is actually fed.

``tradefm train`` / ``run_clm_tradefm.py`` on two real windows for 60 steps must drive the loss far
down (a pipeline that scrambled labels, froze the weights or fed the wrong tokens cannot), and every
training forward must receive the ``context_ids`` the data builder wrote for the window it trains
on: a trainer that dropped them would still train (the model falls back to a default context) and
pass every loss-is-finite check.
"""

from __future__ import annotations

import pytest
import torch
from conftest import real_path
from transformers import TrainerCallback

from modeling_tradefm import training as rc

STEPS, WINDOWS, T = 40, 2, 32
# a narrower "tiny": the test is about the pipeline, and most of a step's cost is the optimizer's
SMALL = "num_hidden_layers=2,hidden_size=64,intermediate_size=128,num_attention_heads=2,num_key_value_heads=1"


class Spy(TrainerCallback):
    """Records the training loss of every step and the keyword inputs of every forward of the model."""

    def __init__(self):
        self.losses: list[float] = []
        self.inputs: list[dict[str, torch.Tensor | None]] = []

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        def hook(module, args_, kwargs_):
            if module.training:
                self.inputs.append({k: (v.detach().cpu().clone() if torch.is_tensor(v) else v)
                                    for k, v in kwargs_.items()})

        model.register_forward_pre_hook(hook, with_kwargs=True)

    def on_log(self, args, state, control, logs=None, **kwargs):
        if logs and "loss" in logs:
            self.losses.append(float(logs["loss"]))


@pytest.fixture(scope="module")
def overfit(tmp_path_factory):
    out = tmp_path_factory.mktemp("overfit")
    argv = [
        "--data", str(real_path("lobster", "AMZN_2012-06-21_34200000_57600000_message_1.csv")),
        "--model-size", "tiny", "--config_overrides", SMALL, "--context-length", str(T), "--max_train_samples", str(WINDOWS),
        "--batch-size", str(WINDOWS), "--accum-steps", "1", "--lr", "5e-3", "--warmup_steps", "0", "--lr_scheduler_type", "constant",
        "--max_steps", str(STEPS), "--val_mode", "none", "--eval_strategy", "no", "--save_strategy", "no", "--logging_steps", "1",
        "--output-dir", str(out / "run"), "--use_cpu", "--seed", "3", "--dataset_cache_dir", str(out / "cache"),
        "--disable_tqdm", "true", "--log_level", "warning", "--dataloader_num_workers", "0", "--report_to", "none",
    ]  # fmt: skip
    spy = Spy()
    rc.main(argv, callbacks=[spy])
    # the windows the builder wrote for this run (same arguments, same cache: the prepared dataset)
    _, data_args, training_args = rc.parse_args(argv)
    train = rc.prepare_data(data_args, training_args)["train"]
    return spy, train, out / "run"


def test_two_windows_are_overfit(overfit):
    spy, _, _ = overfit
    assert len(spy.losses) == STEPS
    # a fresh model starts near log(16384) = 9.7 nats per token
    assert 8.0 < spy.losses[0] < 11.0
    assert spy.losses[-1] < 0.3 * spy.losses[0], spy.losses[::10]


def test_every_training_forward_gets_the_builders_context_ids(overfit):
    spy, train, _ = overfit
    assert len(spy.inputs) == STEPS
    windows = {tuple(train[i]["input_ids"].tolist()): train[i]["context_ids"] for i in range(len(train))}
    assert len(windows) == WINDOWS
    seen = set()
    for inputs in spy.inputs:
        ctx, ids = inputs.get("context_ids"), inputs["input_ids"]
        assert ctx is not None, "the model was trained without context_ids"
        assert ctx.shape == (WINDOWS, T, 3) and ctx.dtype == torch.long
        for row in range(WINDOWS):
            key = tuple(ids[row].tolist())
            assert torch.equal(ctx[row], windows[key])
            seen.add(key)
        assert torch.equal(inputs["labels"], ids)  # the model shifts the labels itself
    assert seen == set(windows)
    # and the context is informative here (not a constant the model's default could stand in for): the
    # Δp bin moves within the windows
    all_ctx = torch.stack(list(windows.values()))
    assert len(torch.unique(all_ctx[..., 1])) > 1


def test_the_trained_model_reads_the_context(overfit):
    from modeling_tradefm.modeling_tradefm import TradeFMForCausalLM

    _, train, folder = overfit
    model = TradeFMForCausalLM.from_pretrained(folder).eval()
    ids, ctx = train[0]["input_ids"][None], train[0]["context_ids"][None]
    other = ctx.clone()
    other[..., 1] = (other[..., 1] + 8) % 32  # another Δp bin everywhere
    with torch.no_grad():
        a = model(input_ids=ids, context_ids=ctx).logits
        b = model(input_ids=ids, context_ids=other).logits
        again = model(input_ids=ids, context_ids=ctx).logits
    assert torch.equal(a, again)
    assert (a - b).abs().mean() > 0.05
    # the prediction of the trained window is its own next token, with its own context
    labels = ids[0, 1:]
    acc = (a[0, :-1].argmax(-1) == labels).float().mean().item()
    assert acc > 0.8, acc
