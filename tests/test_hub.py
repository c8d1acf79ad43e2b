# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""Hub repo ids wherever a model folder is taken: load_proposer, the proposers, generate, perplexity, training.

Offline against a pre-populated Hugging Face cache (``hub_cache.FakeHub``): what a repo id loads
must be what its folder loads, at the revision asked for, and an id that resolves to nothing is a
one-line error.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from hub_cache import FakeHub
from test_generation_tradefm import (
    _checkpoint,
    _clock,
    _small_day,
    _transformers_default_generation_config,
    tiny_model,
    tiny_tokenizer,
)

from modeling_tradefm.cli import main
from modeling_tradefm.errors import DataError
from modeling_tradefm.hub import resolve_folder
from modeling_tradefm.proposer_tradefm import TradeFMProposer
from modeling_tradefm.registry import load_proposer
from modeling_tradefm.sampling import SamplingConfig

REPO = "tradefm/tiny"


@pytest.fixture
def hub(tmp_path, monkeypatch):
    """``tradefm/tiny`` on main (the package's sampling settings) and on ``v2`` (temperature 0.5)."""
    fake = FakeHub(tmp_path)
    fake.main_commit = fake.add(REPO, _checkpoint(tmp_path / "ckpt"))
    fake.add(REPO, _checkpoint(tmp_path / "ckpt_v2", SamplingConfig(temperature=0.5).to_generation_config()),
             revision="v2")
    fake.use(monkeypatch)
    return fake


def test_load_proposer_resolves_a_repo_id_at_its_revision(hub, tmp_path):
    proposer = load_proposer(REPO)
    assert isinstance(proposer, TradeFMProposer) and proposer.tokenizer == tiny_tokenizer()
    loaded, local = proposer.model.state_dict(), tiny_model(128).state_dict()
    assert loaded.keys() == local.keys() and all(torch.equal(loaded[k], local[k]) for k in local)
    assert proposer.sampling == SamplingConfig()
    assert load_proposer(REPO, revision="v2").sampling == SamplingConfig(temperature=0.5)
    assert TradeFMProposer.from_pretrained(REPO, revision="v2", top_p=0.8).sampling == SamplingConfig(
        temperature=0.5, top_p=0.8)
    assert resolve_folder(REPO).name == hub.main_commit
    # a local folder is never looked up on the Hub, whatever its name
    assert resolve_folder(tmp_path / "ckpt") == tmp_path / "ckpt"


def test_generate_cli_runs_a_repo_id_like_its_folder(hub, tmp_path):
    data = _small_day(tmp_path)
    common = ["generate", "--data", str(data), "--start", _clock(data), "--events", "6", "--seed", "2"]
    assert main([*common, "--model", REPO, "-o", str(tmp_path / "hub")]) == 0
    assert main([*common, "--model", str(tmp_path / "ckpt"), "-o", str(tmp_path / "local")]) == 0
    name = "rollout_000.mbo.csv.zst"
    assert (tmp_path / "hub" / name).read_bytes() == (tmp_path / "local" / name).read_bytes()
    meta = json.loads((tmp_path / "hub" / "meta.json").read_text())
    assert meta["model"] == REPO and meta["model_commit"] == hub.main_commit
    assert json.loads((tmp_path / "local" / "meta.json").read_text())["model_commit"] is None
    assert main([*common, "--model", REPO, "--revision", "v2", "-o", str(tmp_path / "v2")]) == 0
    assert json.loads((tmp_path / "v2" / "meta.json").read_text())["sampling"]["temperature"] == 0.5


def test_perplexity_cli_scores_a_repo_id_like_its_folder(hub, tmp_path, capsys):
    data = str(_small_day(tmp_path))
    args = ["perplexity", "--data", data, "--context-length", "32", "--max-tokens", "64", "--json", "--device", "cpu"]
    results = []
    for model in (REPO, str(tmp_path / "ckpt")):
        capsys.readouterr()
        assert main([*args, "--model", model]) == 0
        results.append(json.loads(capsys.readouterr().out))
    assert results[0] == results[1]
    assert np.isfinite(results[0]["in-distribution"]["overall"]["perplexity"])


@pytest.mark.parametrize("command", ["generate", "perplexity"])
def test_an_id_neither_local_nor_cached_is_one_line(hub, tmp_path, capsys, command):
    # --data does not exist either: the model is resolved first, so the message is about the model
    extra = ["--start", "10:00", "-o", str(tmp_path / "o")] if command == "generate" else []
    for model, revision, message in (
        ("org/missing", [], "error: org/missing: no such local folder, and not in the Hugging Face cache "
                            "(offline, HF_HUB_OFFLINE=1)"),
        (REPO, ["--revision", "v9"], f"error: {REPO}: no such local folder, and not in the Hugging Face cache "
                                     "at revision v9 (offline, HF_HUB_OFFLINE=1)"),
        (str(tmp_path / "nowhere" / "ckpt"), [], f"error: {tmp_path / 'nowhere' / 'ckpt'}: no such file"),
    ):
        capsys.readouterr()
        assert main([command, "--model", model, *revision, "--data", str(tmp_path / "none.csv"), *extra]) == 2
        assert capsys.readouterr().err.strip().splitlines() == [message]


def test_a_repo_holding_neither_a_checkpoint_nor_a_baseline(hub, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    (other / "config.json").write_text(json.dumps({"model_type": "gpt2"}))
    hub.add("org/gpt2", other)
    with pytest.raises(FileNotFoundError, match="org/gpt2: neither a TradeFM checkpoint"):
        load_proposer("org/gpt2")
    with pytest.raises(DataError, match="org/missing: no such local folder"):
        load_proposer("org/missing")


def test_training_from_a_repo_id_keeps_its_tokenizer_and_writes_sampling_settings(tmp_path, monkeypatch):
    """--model_name_or_path org/name continues the checkpoint with its frozen tokenizer (not a recalibrated one)."""
    from modeling_tradefm import training

    old = _transformers_default_generation_config(_checkpoint(tmp_path / "ckpt"))  # saved before the settings
    fake = FakeHub(tmp_path)
    fake.add(REPO, old)
    fake.use(monkeypatch)
    out = tmp_path / "run"
    training.main([
        "--data", str(_small_day(tmp_path, n_live=1500)), "--model_name_or_path", REPO, "--context-length", "32",
        "--batch-size", "2", "--accum-steps", "1", "--output-dir", str(out), "--use_cpu", "--max_steps", "1",
        "--save_steps", "1", "--dataset_cache_dir", str(tmp_path / "ds"), "--disable_tqdm", "true",
        "--log_level", "warning", "--dataloader_num_workers", "0", "--report_to", "none",
    ])  # fmt: skip
    for folder in (out, out / "checkpoint-1"):
        config = json.loads((folder / "config.json").read_text())
        assert config["tokenizer_config"] == tiny_tokenizer().to_dict(), folder
        gc = json.loads((folder / "generation_config.json").read_text())
        assert (gc["do_sample"], gc["repetition_penalty"]) == (True, 1.2), folder
    # a recalibration on this file would have given other bins: the check above can fail
    from modeling_tradefm.features import build_features
    from modeling_tradefm.io import read_events
    from modeling_tradefm.tokenization_tradefm import TradeFMTokenizer

    recalibrated = TradeFMTokenizer().calibrate(build_features(read_events(_small_day(tmp_path))), calib_days=1)
    assert recalibrated.to_dict() != tiny_tokenizer().to_dict()
