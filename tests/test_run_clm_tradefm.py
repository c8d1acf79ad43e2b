# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""Tests of training (run_clm_tradefm.py, ``tradefm train``): arguments, errors, 2-step CPU training on real data,
resume, metrics."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import REPO_ROOT, real_path
from safetensors.numpy import load_file
from transformers import EvalPrediction, TrainerCallback

from modeling_tradefm import training as rc
from modeling_tradefm.trainer import (
    TokenMetrics,
    TradeFMTrainer,
    last_complete_checkpoint,
    preprocess_logits_for_metrics,
    resolve_resume,
)


# ---------------------------------------------------------------------------------------------
# arguments
# ---------------------------------------------------------------------------------------------
def test_seed_short_flags_map_onto_training_arguments():
    m, d, t = rc.parse_args(
        ["--data", "a.csv.zst", "b/*.dbn.zst", "--model-size", "125M", "--calib-days", "30", "--val-days", "30",
         "--context-length", "1024", "--epochs", "4", "--batch-size", "24", "--accum-steps", "56", "--lr", "5e-5",
         "--output-dir", "ckpt"]
    )  # fmt: skip
    assert m.model_size == "125M" and d.data == ["a.csv.zst", "b/*.dbn.zst"]
    assert (d.calib_days, d.val_days, d.context_length) == (30, 30, 1024)
    assert (t.num_train_epochs, t.per_device_train_batch_size, t.gradient_accumulation_steps) == (4, 24, 56)
    assert t.learning_rate == 5e-5 and t.output_dir == "ckpt"
    # every TrainingArguments flag still works, under its own name
    _, _, t = rc.parse_args(["--num_train_epochs", "2", "--per_device_train_batch_size", "3", "--warmup_steps", "7",
                             "--lr_scheduler_type", "cosine", "--save_total_limit", "1"])  # fmt: skip
    assert (t.num_train_epochs, t.per_device_train_batch_size, t.warmup_steps, t.save_total_limit) == (2, 3, 7, 1)


def test_defaults_are_the_paper_like_run():
    m, d, t = rc.parse_args([])
    assert m.model_size == "500M" and d.context_length == 1024 and (d.calib_days, d.val_days) == (30, 30)
    assert (t.num_train_epochs, t.per_device_train_batch_size, t.gradient_accumulation_steps) == (4, 24, 56)
    assert (t.learning_rate, t.adam_beta1, t.adam_beta2, t.lr_scheduler_type.value) == (5e-5, 0.9, 0.95, "linear")
    assert t.output_dir == "checkpoints"


@pytest.mark.parametrize("name", ["demo_cpu.yaml", "demo_cpu_long.yaml", "demo_gpu.yaml", "paper_500m.yaml",
                                  "paper_500m.json"])
def test_config_files_parse_and_flags_override_them(name):
    path = str(REPO_ROOT / "configs" / "train" / name)
    # bf16 / tf32 need a GPU: switch them off so the paper configs also parse on a CPU runner
    m, d, t = rc.parse_args([path, "--bf16", "false", "--tf32", "false", "--lr", "1e-4"])
    assert t.learning_rate == 1e-4 and d.data
    if name.startswith("paper"):
        assert m.model_size == "500M" and d.context_length == 1024
        assert (t.num_train_epochs, t.per_device_train_batch_size, t.gradient_accumulation_steps) == (4, 24, 56)
        assert t.adam_beta2 == 0.95 and t.lr_scheduler_type.value == "linear"
    elif name == "demo_gpu.yaml":
        assert not t.use_cpu and t.max_steps > 0 and m.config_overrides
    else:
        assert m.model_size == "tiny" and t.use_cpu and t.max_steps > 0


def test_config_file_short_keys_and_unknown_keys(tmp_path):
    good = tmp_path / "run.yaml"
    good.write_text("data: x.csv\nepochs: 2\nbatch-size: 3\naccum_steps: 5\nlr: 0.01\nmodel-size: tiny\n")
    m, d, t = rc.parse_args([str(good)])
    assert d.data == ["x.csv"] and m.model_size == "tiny"
    assert (t.num_train_epochs, t.per_device_train_batch_size, t.gradient_accumulation_steps, t.learning_rate) == (
        2, 3, 5, 0.01,
    )  # fmt: skip
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"data": "x", "epochz": 3}))
    with pytest.raises(ValueError, match="epochz"):
        rc.parse_args([str(bad)])


def test_config_file_values_convert_like_flags(tmp_path):
    # PyYAML reads 5e-5 as the string "5e-5": the file's values go through argparse, as a flag's would
    cfg = tmp_path / "run.yaml"
    cfg.write_text("lr: 5e-5\nmax_steps: '7'\nval_mode: tail\n")
    _, d, t = rc.parse_args([str(cfg)])
    assert t.learning_rate == 5e-5 and t.max_steps == 7 and d.val_mode == "tail"
    _, _, t = rc.parse_args([str(cfg), "--max_steps", "9"])
    assert t.max_steps == 9 and t.learning_rate == 5e-5


# ---------------------------------------------------------------------------------------------
# errors: one line, exit status 2 (the contract of every tradefm command)
# ---------------------------------------------------------------------------------------------
def test_script_reports_a_pattern_matching_no_file_in_one_line(tmp_path):
    """The issue's command: no traceback, no argument dump, the pattern named."""
    proc = subprocess.run(
        [sys.executable, str(REPO_ROOT / "run_clm_tradefm.py"), "--data", "data/mbo/**/*.mbo.dbn.zst",
         "--output_dir", str(tmp_path / "out")],
        cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(REPO_ROOT)}, stdin=subprocess.DEVNULL,
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert proc.stderr.splitlines() == ["error: data/mbo/**/*.mbo.dbn.zst: pattern matches no file"]
    assert proc.stdout == ""


def test_mistyped_flag_is_one_line_with_the_closest_flag(capsys):
    from modeling_tradefm.cli import main as tradefm

    assert tradefm(["train", "--max-stesp", "3"]) == 2
    assert capsys.readouterr().err == "error: --max-stesp: unknown flag (did you mean --max-steps?)\n"
    assert rc.run(["--data", "x.csv", "--lerning_rate", "1e-3"]) == 2
    assert capsys.readouterr().err == "error: --lerning_rate: unknown flag (did you mean --learning_rate?)\n"
    assert rc.run(["--max_steps", "many"]) == 2
    assert capsys.readouterr().err == "error: --max_steps/--max-steps: invalid int value: 'many'\n"


def test_bad_config_key_and_misplaced_config_are_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("data: x.csv\nbatch_sise: 3\n")
    assert rc.run([str(bad)]) == 2
    assert capsys.readouterr().err == f"error: {bad}: unknown setting(s) 'batch_sise' (did you mean batch_size?)\n"
    good = tmp_path / "good.yaml"
    good.write_text("data: x.csv\n")
    assert rc.run(["--lr", "1e-3", str(good)]) == 2
    assert capsys.readouterr().err == f"error: {good}: a config file must be the first argument\n"


def test_train_command_help_is_the_training_parser_with_our_resume_help(capsys):
    from modeling_tradefm.cli import main as tradefm

    with pytest.raises(SystemExit) as exit_:
        tradefm(["train", "--help"])
    assert exit_.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert text.startswith("usage: tradefm train ") and "--per_device_train_batch_size" in text
    assert "'last': resume from the newest complete checkpoint-N in --output_dir, or start fresh" in text


@pytest.mark.parametrize("name", ["cpu", "single_gpu", "multi_gpu_ddp", "fsdp", "multi_node"])
def test_accelerate_configs_load(name):
    from accelerate.commands.config.config_args import ClusterConfig

    cfg = ClusterConfig.from_yaml_file(str(REPO_ROOT / "configs" / "accelerate" / f"{name}.yaml"))
    assert cfg.num_processes >= 1
    if name == "fsdp":
        assert cfg.fsdp_config["fsdp_transformer_layer_cls_to_wrap"] == "TradeFMDecoderLayer"
    if name == "multi_node":
        assert cfg.num_machines == 2 and cfg.main_process_ip
    doc = (REPO_ROOT / "docs" / "training.md").read_text()
    assert f"configs/accelerate/{name}.yaml" in doc


# ---------------------------------------------------------------------------------------------
# resume resolution, metrics
# ---------------------------------------------------------------------------------------------
def test_last_complete_checkpoint_skips_torn_ones(tmp_path):
    assert last_complete_checkpoint(tmp_path / "missing") is None
    for step, state in ((2, '{"global_step": 2}'), (4, '{"global_step": 4}'), (6, '{"global_st')):
        (tmp_path / f"checkpoint-{step}").mkdir()
        (tmp_path / f"checkpoint-{step}" / "trainer_state.json").write_text(state)
    (tmp_path / "checkpoint-8").mkdir()  # killed before trainer_state.json
    assert last_complete_checkpoint(tmp_path) == str(tmp_path / "checkpoint-4")
    assert resolve_resume("last", str(tmp_path)) == str(tmp_path / "checkpoint-4")
    assert resolve_resume("true", str(tmp_path)) == str(tmp_path / "checkpoint-4")
    assert resolve_resume(None, str(tmp_path)) is None
    empty = tmp_path / "empty"
    assert resolve_resume("last", str(empty)) is None  # fresh start
    with pytest.raises(ValueError):
        resolve_resume("true", str(empty))


def test_token_metrics_match_a_direct_computation():
    g = torch.Generator().manual_seed(0)
    B, L, V = 3, 7, 11
    logits = torch.randn(B, L, V, generator=g)
    labels = torch.randint(0, V, (B, L), generator=g)
    labels[2, 4:] = -100  # a padded window
    pred, nll = preprocess_logits_for_metrics(logits, labels)
    assert pred.shape == nll.shape == (B, L - 1)
    target = labels[:, 1:]
    mask = target != -100
    ref_nll = torch.nn.functional.cross_entropy(logits[:, :-1][mask], target[mask])
    ref_acc = (logits[:, :-1].argmax(-1)[mask] == target[mask]).float().mean()
    whole = TokenMetrics()(EvalPrediction(predictions=(pred.numpy(), nll.numpy()), label_ids=labels.numpy()))
    assert whole["tokens"] == mask.sum().item()
    assert math.isclose(whole["nll"], ref_nll.item(), rel_tol=1e-6)
    assert math.isclose(whole["perplexity"], math.exp(ref_nll.item()), rel_tol=1e-6)
    assert math.isclose(whole["accuracy"], ref_acc.item(), rel_tol=1e-6)
    # batch_eval_metrics: per-batch calls accumulate to the same result
    m = TokenMetrics()
    for b in range(B):
        out = m(EvalPrediction(predictions=(pred[b : b + 1], nll[b : b + 1]), label_ids=labels[b : b + 1]),
                compute_result=b == B - 1)  # fmt: skip
    assert out == pytest.approx(whole)


# ---------------------------------------------------------------------------------------------
# training on real sample data
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def data_files():
    return [
        str(real_path("databento", "glbx-esh4", "esh4-glbx-mdp3-20231225.mbo.csv.zst")),
        str(real_path("lobster", "AMZN_2012-06-21_34200000_57600000_message_1.csv")),
    ]


@pytest.fixture(scope="module")
def dataset_cache(tmp_path_factory):
    # shared by the module's runs: the split plan, calibration and Arrow windows are computed once
    return str(tmp_path_factory.mktemp("hf-datasets"))


def _argv(data_files, out, cache, *extra):
    return [
        "--data", *data_files, "--model-size", "tiny", "--context-length", "32", "--batch-size", "2",
        "--accum-steps", "1", "--lr", "1e-3", "--output-dir", str(out), "--use_cpu", "--max_steps", "2",
        "--save_steps", "2", "--eval_strategy", "steps", "--eval_steps", "2", "--max_eval_samples", "4",
        "--per_device_eval_batch_size", "2", "--dataset_cache_dir", cache, "--logging_steps", "1",
        "--disable_tqdm", "true", "--log_level", "warning", "--dataloader_num_workers", "0", *extra,
    ]  # fmt: skip


def _check_hub_folder(folder: Path, data_files):
    for name in ("model.safetensors", "config.json", "generation_config.json", "configuration_tradefm.py",
                 "modeling_tradefm.py", "README.md"):  # fmt: skip
        assert (folder / name).exists(), f"{folder} lacks {name}"
    cfg = json.loads((folder / "config.json").read_text())
    assert cfg["model_type"] == "tradefm" and cfg["tokenizer_config"]
    assert {"AutoConfig", "AutoModel", "AutoModelForCausalLM"} <= set(cfg["auto_map"])
    card = (folder / "README.md").read_text()
    assert "eval_perplexity" in card and "split_mode" in card


@pytest.mark.parametrize("streaming", [False, True], ids=["prepared", "streaming"])
def test_two_step_cpu_training_on_real_data(data_files, dataset_cache, tmp_path, streaming):
    from transformers import AutoModelForCausalLM

    from modeling_tradefm.tokenization_tradefm import TradeFMTokenizer

    out = tmp_path / "run"
    extra = ["--streaming", "--shuffle_buffer_size", "16"] if streaming else []
    metrics = rc.main(_argv(data_files, out, dataset_cache, *extra))
    assert metrics["train_loss"] > 0 and math.isfinite(metrics["eval_loss"])
    assert 1.0 < metrics["eval_perplexity"] < 16384 * 4 and 0.0 <= metrics["eval_accuracy"] <= 1.0
    assert metrics["eval_tokens"] > 0
    state = json.loads((out / "trainer_state.json").read_text())
    assert state["global_step"] == 2
    ckpt = out / "checkpoint-2"
    _check_hub_folder(ckpt, data_files)
    _check_hub_folder(out, data_files)
    model = AutoModelForCausalLM.from_pretrained(ckpt)
    tok = TradeFMTokenizer.from_dict(model.config.tokenizer_config)
    tok.check_compatible(model.config)
    ids = torch.zeros(1, 8, dtype=torch.long)
    ctx = torch.zeros(1, 8, 3, dtype=torch.long)
    assert model(input_ids=ids, context_ids=ctx).logits.shape == (1, 8, 16384)


def test_streaming_needs_max_steps(data_files, tmp_path, dataset_cache):
    with pytest.raises(ValueError, match="max_steps"):
        rc.main(_argv(data_files, tmp_path, dataset_cache, "--streaming", "--max_steps", "-1"))


class _CrashAfterSave(TrainerCallback):
    """Simulates a crash right after a checkpoint is on disk (in-process stand-in for SIGKILL)."""

    def __init__(self, step: int):
        self.step = step

    def on_save(self, args, state, control, **kwargs):
        if state.global_step == self.step:
            raise KeyboardInterrupt(f"simulated crash after checkpoint-{self.step}")


def _weights(folder: Path) -> dict[str, np.ndarray]:
    return load_file(str(folder / "model.safetensors"))


def _assert_same_weights(a: Path, b: Path):
    wa, wb = _weights(a), _weights(b)
    assert wa.keys() == wb.keys()
    for k in wa:
        np.testing.assert_allclose(wa[k], wb[k], rtol=1e-5, atol=1e-6, err_msg=k)


def test_resume_after_crash_matches_uninterrupted_run(data_files, dataset_cache, tmp_path):
    extra = ["--max_steps", "4", "--save_steps", "2", "--eval_strategy", "no", "--seed", "7"]
    rc.main(_argv(data_files, tmp_path / "straight", dataset_cache, *extra))
    crashed = tmp_path / "crashed"
    with pytest.raises(KeyboardInterrupt):
        rc.main(_argv(data_files, crashed, dataset_cache, *extra), callbacks=[_CrashAfterSave(2)])
    assert (crashed / "checkpoint-2").is_dir() and not (crashed / "checkpoint-4").exists()
    rc.main(_argv(data_files, crashed, dataset_cache, *extra, "--resume_from_checkpoint", "last"))
    assert json.loads((crashed / "trainer_state.json").read_text())["global_step"] == 4
    _assert_same_weights(tmp_path / "straight", crashed)
    # sanity: the weights did move between step 2 and step 4, so the comparison can fail
    w2, w4 = _weights(crashed / "checkpoint-2"), _weights(crashed)
    assert any(not np.allclose(w2[k], w4[k]) for k in w2)


_DRIVER = textwrap.dedent(
    """
    import os, signal, sys
    sys.path.insert(0, {root!r})
    from transformers import TrainerCallback
    import run_clm_tradefm

    class KillAfterSave(TrainerCallback):
        def on_save(self, args, state, control, **kwargs):
            if state.global_step == int(os.environ["KILL_AFTER_STEP"]):
                os.kill(os.getpid(), signal.SIGKILL)  # no clean-up of any kind, like a pre-emption

    callbacks = [KillAfterSave()] if os.environ.get("KILL_AFTER_STEP") else []
    run_clm_tradefm.main(sys.argv[1:], callbacks=callbacks)
    """
)


@pytest.mark.slow
def test_resume_after_sigkill_matches_uninterrupted_run(data_files, dataset_cache, tmp_path):
    driver = tmp_path / "driver.py"
    driver.write_text(_DRIVER.format(root=str(REPO_ROOT)))
    extra = ["--max_steps", "6", "--save_steps", "3", "--eval_strategy", "no", "--seed", "11"]
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "OMP_NUM_THREADS": "1"}

    def run(out, *more, kill=None):
        e = dict(env, **({"KILL_AFTER_STEP": str(kill)} if kill else {}))
        return subprocess.run(
            [sys.executable, str(driver), *_argv(data_files, out, dataset_cache, *extra, *more)],
            env=e, cwd=str(REPO_ROOT), stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=600,
        )  # fmt: skip

    straight = run(tmp_path / "straight")
    assert straight.returncode == 0, straight.stderr[-3000:]
    killed = run(tmp_path / "killed", kill=3)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    assert (tmp_path / "killed" / "checkpoint-3").is_dir() and not (tmp_path / "killed" / "checkpoint-6").exists()
    resumed = run(tmp_path / "killed", "--resume_from_checkpoint", "last")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    _assert_same_weights(tmp_path / "straight", tmp_path / "killed")


def test_push_to_hub_is_wired_without_network(data_files, dataset_cache, tmp_path, monkeypatch):
    """--push_to_hub reaches Trainer.push_to_hub with TradeFM's card arguments (the Hub calls are stubbed)."""
    calls = {}
    monkeypatch.setattr(TradeFMTrainer, "init_hf_repo", lambda self, token=None: calls.setdefault("init", True))
    monkeypatch.setattr(TradeFMTrainer, "_push_from_checkpoint", lambda self, folder: calls.setdefault("ckpt", folder))

    def fake_push(self, **kwargs):
        calls["push"] = kwargs
        self.create_model_card(**kwargs)  # what the real push_to_hub does before uploading

    monkeypatch.setattr(TradeFMTrainer, "push_to_hub", fake_push)
    out = tmp_path / "hub"
    rc.main(_argv(data_files, out, dataset_cache, "--push_to_hub", "--hub_model_id", "org/tradefm-test",
                  "--eval_strategy", "no"))  # fmt: skip
    assert calls["init"] and calls["ckpt"].endswith("checkpoint-2")
    assert "tradefm" in calls["push"]["tags"]
    card = (out / "README.md").read_text()
    assert "## Tokenizer" in card and "split_mode" in card  # our card, not the Trainer's generic one
