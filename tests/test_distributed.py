# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""Training on two processes (CPU, gloo) through torchrun, as docs/training.md launches it.

One launch runs, in the same two processes: prepared data, streaming dispatched from rank 0,
per-rank streaming (``dispatch_batches=false``) with every rank's batches recorded, per-rank
streaming on files that cannot be split (an error), an FSDP2 sharded checkpoint, and a prepared run
killed with SIGKILL after its first checkpoint. A second launch resumes it; its weights must equal
the uninterrupted prepared run's. Why torchrun and not ``accelerate launch --cpu``: accelerate
starts several CPU processes only through MPI (``mpirun``); without it, it starts one.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import textwrap
from collections import Counter
from contextlib import nullcontext
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import yaml
from conftest import REPO_ROOT, real_path
from safetensors.numpy import load_file

from modeling_tradefm import training as rc
from modeling_tradefm.data import StreamShares, adv_history_of, load_tradefm_mbo, plan_splits, scan_sessions
from modeling_tradefm.tokenization_tradefm import TradeFMTokenizer

LAUNCH_TIMEOUT = 900  # seconds; the tests' own runs take about a minute, more on a busy 2-core box
TORCHRUN = "torchrun --standalone --nproc_per_node 2"  # the launch line of docs/training.md
TESTED_LAUNCHES = (f"{TORCHRUN} run_clm_tradefm.py",)


def window_key(input_ids, context_ids) -> str:
    """A window's identity: its tokens and context (the model's inputs)."""
    return hashlib.sha1(np.ascontiguousarray(input_ids).tobytes() + np.ascontiguousarray(context_ids).tobytes()).hexdigest()


def fsdp_plugin():
    """accelerate's FSDP plugin with configs/accelerate/fsdp.yaml's settings (what ``accelerate launch`` builds)."""
    from accelerate.utils import FullyShardedDataParallelPlugin

    cfg = yaml.safe_load((REPO_ROOT / "configs" / "accelerate" / "fsdp.yaml").read_text())["fsdp_config"]
    return FullyShardedDataParallelPlugin(
        fsdp_version=cfg["fsdp_version"],
        auto_wrap_policy=cfg["fsdp_auto_wrap_policy"].lower(),
        transformer_cls_names_to_wrap=[cfg["fsdp_transformer_layer_cls_to_wrap"]],
        reshard_after_forward=cfg["fsdp_reshard_after_forward"],
        state_dict_type=cfg["fsdp_state_dict_type"],
        activation_checkpointing=cfg["fsdp_activation_checkpointing"],
    )


_DRIVER = textwrap.dedent(
    """
    import json, os, runpy, signal, sys
    sys.path[:0] = [{root!r}, {tests!r}]
    import torch
    import torch.distributed as dist
    from modeling_tradefm.trainer import HubCheckpointCallback, TradeFMTrainer
    from test_distributed import fsdp_scenario, window_key

    rank, scenarios = int(os.environ["RANK"]), json.load(open(sys.argv[1]))
    state = {{"kill_after": None, "crash_after": None, "record": None}}
    train_step, on_save = TradeFMTrainer.training_step, HubCheckpointCallback.on_save

    def recording_step(self, model, inputs, *args, **kwargs):
        if state["record"] is not None:
            state["record"].append([window_key(i.numpy(), c.numpy())
                                    for i, c in zip(inputs["input_ids"], inputs["context_ids"])])
        return train_step(self, model, inputs, *args, **kwargs)

    def killing_save(self, args, st, control, **kwargs):
        on_save(self, args, st, control, **kwargs)
        if st.global_step == state["kill_after"]:
            dist.barrier()  # every rank has written its part of the checkpoint
            os.kill(os.getpid(), signal.SIGKILL)  # no clean-up of any kind, like a pre-emption
        if st.global_step == state["crash_after"]:
            dist.barrier()
            raise KeyboardInterrupt("crash after the checkpoint, on every rank")

    TradeFMTrainer.training_step, HubCheckpointCallback.on_save = recording_step, killing_save
    for sc in scenarios:
        out = sc["out"]
        if sc.get("fsdp"):
            fsdp_scenario(out)
            continue
        state["kill_after"], state["crash_after"] = sc.get("kill_after"), sc.get("crash_after")
        state["record"] = [] if sc.get("record") else None
        sys.argv = ["run_clm_tradefm.py", *sc["argv"]]
        try:
            runpy.run_path({script!r}, run_name="__main__")
            code = 0
        except SystemExit as exc:
            code = exc.code
        except KeyboardInterrupt:
            from accelerate.state import GradientState
            GradientState._reset_state()  # the interrupted run's dataloader is still registered there
            code = "crashed"
        os.makedirs(out, exist_ok=True)
        with open(os.path.join(out, f"rank{{rank}}.json"), "w") as fh:
            json.dump({{"exit": code, "batches": state["record"]}}, fh)
    """
)


def fsdp_scenario(out: str) -> None:
    """In a 2-process group: FSDP2 (fsdp.yaml's wrapping), one AdamW step, accelerate's sharded save, Hub folder."""
    import torch.distributed as dist
    from accelerate import PartialState
    from accelerate.utils.fsdp_utils import fsdp2_prepare_auto_wrap_policy, save_fsdp_model
    from safetensors.torch import save_file
    from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict
    from torch.distributed.fsdp import fully_shard

    from modeling_tradefm.configuration_tradefm import TradeFMConfig
    from modeling_tradefm.modeling_tradefm import TradeFMForCausalLM
    from modeling_tradefm.trainer import complete_sharded_checkpoint

    torch.manual_seed(0)
    model = TradeFMForCausalLM(TradeFMConfig.from_preset("tiny"))
    plugin = fsdp_plugin()
    policy = fsdp2_prepare_auto_wrap_policy(plugin, model)
    for module in [m for m in model.modules() if policy(m)]:
        fully_shard(module, reshard_after_forward=plugin.reshard_after_forward)
    fully_shard(model, reshard_after_forward=plugin.reshard_after_forward)
    optim = torch.optim.AdamW(model.parameters(), lr=1e-2)
    g = torch.Generator().manual_seed(dist.get_rank())
    ids = torch.randint(0, model.config.vocab_size, (2, 16), generator=g)
    model(input_ids=ids, context_ids=torch.zeros(2, 16, 3, dtype=torch.long), labels=ids).loss.backward()
    optim.step()
    save_fsdp_model(plugin, PartialState(), model, out)
    full = get_model_state_dict(model, options=StateDictOptions(full_state_dict=True, cpu_offload=True))
    if dist.get_rank() == 0:
        save_file({k: v.contiguous() for k, v in full.items()}, os.path.join(out, "reference.safetensors"))
        complete_sharded_checkpoint(out, model.config)
    dist.barrier()


# ---------------------------------------------------------------------------------------------
# fixtures: the two LOBSTER samples, one launch of every scenario
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def files():
    return [
        str(real_path("lobster", "AAPL_2012-06-21_34200000_37800000_message_50.csv")),
        str(real_path("lobster", "AMZN_2012-06-21_34200000_57600000_message_1.csv")),
    ]


def _argv(files, out, cache, *extra):
    return [
        "--data", *files, "--model-size", "tiny", "--context-length", "32", "--batch-size", "2",
        "--accum-steps", "1", "--lr", "1e-3", "--output-dir", str(out), "--use_cpu", "--max_steps", "4",
        "--save_steps", "2", "--max_eval_samples", "4", "--per_device_eval_batch_size", "2",
        "--dataset_cache_dir", cache, "--disable_tqdm", "true", "--log_level", "info",
        "--log_level_replica", "info", "--dataloader_num_workers", "0", "--seed", "5", "--report_to", "none", *extra,
    ]  # fmt: skip


PER_RANK = ["--streaming", "--accelerator_config", '{"dispatch_batches": false}', "--shuffle_buffer_size", "16"]


def _torchrun(driver: Path, scenarios: list[dict], tmp: Path, name: str) -> subprocess.CompletedProcess:
    plan = tmp / f"{name}.json"
    plan.write_text(json.dumps(scenarios))
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "OMP_NUM_THREADS": "1"}
    return subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", *TORCHRUN.split()[1:], str(driver), str(plan)],
        env=env, cwd=str(REPO_ROOT), stdin=subprocess.DEVNULL, capture_output=True, text=True,
        timeout=LAUNCH_TIMEOUT,
    )  # fmt: skip


@pytest.fixture(scope="module")
def runs(files, tmp_path_factory):
    """One torchrun launch of every scenario (the kill last), then the resuming launch."""
    tmp = tmp_path_factory.mktemp("distributed")
    cache = str(tmp / "hf-datasets")
    driver = tmp / "driver.py"
    driver.write_text(_DRIVER.format(root=str(REPO_ROOT), tests=str(Path(__file__).parent),
                                     script=str(REPO_ROOT / "run_clm_tradefm.py")))  # fmt: skip
    out = {k: tmp / k for k in ("prepared", "streaming", "per_rank", "per_rank_worker", "per_rank_crashed",
                                "unsplittable", "fsdp", "killed")}  # fmt: skip
    per_rank = (*PER_RANK, "--max_train_samples", "8")
    no_save = ("--save_strategy", "no")  # only the killed run needs its checkpoints
    scenarios = [
        {"out": str(out["prepared"]), "argv": _argv(files, out["prepared"], cache, *no_save)},
        {"out": str(out["streaming"]),
         "argv": _argv(files, out["streaming"], cache, *no_save, "--streaming", "--max_steps", "2")},
        {"out": str(out["per_rank"]), "record": True, "argv": _argv(files, out["per_rank"], cache, *no_save, *per_rank)},
        {"out": str(out["per_rank_worker"]), "record": True,
         "argv": _argv(files, out["per_rank_worker"], cache, *no_save, *per_rank, "--dataloader_num_workers", "1")},
        # 2 batches per epoch: a crash after step 3, in the second epoch, then the resume
        {"out": str(out["per_rank_crashed"]), "crash_after": 3,
         "argv": _argv(files, out["per_rank_crashed"], cache, *per_rank, "--save_steps", "3")},
        {"out": str(out["per_rank_crashed"]) + "-resumed", "record": True,
         "argv": _argv(files, out["per_rank_crashed"], cache, *per_rank, "--save_steps", "3",
                       "--resume_from_checkpoint", "last")},
        {"out": str(out["unsplittable"]), "argv": _argv(files[:1], out["unsplittable"], cache, *PER_RANK)},
        {"out": str(out["fsdp"]), "fsdp": True},
        {"out": str(out["killed"]), "kill_after": 2, "argv": _argv(files, out["killed"], cache, "--eval_strategy", "no")},
    ]  # fmt: skip
    first = _torchrun(driver, scenarios, tmp, "first")
    left = sorted(p.name for p in out["killed"].glob("checkpoint-*"))  # what the kill left, before resuming
    resumed = None
    if (out["killed"] / "checkpoint-2" / "trainer_state.json").exists():
        argv = _argv(files, out["killed"], cache, "--eval_strategy", "no", "--resume_from_checkpoint", "last")
        resumed = _torchrun(driver, [{"out": str(out["killed"]), "argv": argv}], tmp, "resumed")
    return {"first": first, "resumed": resumed, "out": out, "cache": cache, "left_by_kill": left}


def _ranks(folder: Path) -> list[dict]:
    return [json.loads((folder / f"rank{r}.json").read_text()) for r in range(2)]


def _log(run) -> str:
    return run.stdout + run.stderr


def _weights(folder: Path) -> dict[str, np.ndarray]:
    return load_file(str(folder / "model.safetensors"))


def _assert_same_weights(a: dict, b: dict, rtol=1e-5, atol=1e-6):
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_allclose(a[k], b[k], rtol=rtol, atol=atol, err_msg=k)


# ---------------------------------------------------------------------------------------------
# the runs
# ---------------------------------------------------------------------------------------------
def test_prepared_data_on_two_processes(runs):
    folder = runs["out"]["prepared"]
    assert [r["exit"] for r in _ranks(folder)] == [0, 0], _log(runs["first"])[-4000:]
    assert "world_size=2" in _log(runs["first"]) or "distributed training: True" in _log(runs["first"])
    state = json.loads((folder / "trainer_state.json").read_text())
    assert state["global_step"] == 4
    results = json.loads((folder / "all_results.json").read_text())
    # 4 validation windows of 32 tokens, next-token targets counted once over both ranks
    assert 0 < results["eval_tokens"] <= 4 * 31 and np.isfinite(results["eval_loss"])


def test_streaming_dispatched_from_rank0_on_two_processes(runs):
    folder = runs["out"]["streaming"]
    assert [r["exit"] for r in _ranks(folder)] == [0, 0], _log(runs["first"])[-4000:]
    assert json.loads((folder / "trainer_state.json").read_text())["global_step"] == 2
    prepared = json.loads((runs["out"]["prepared"] / "all_results.json").read_text())
    # the same first 4 validation windows, streamed from rank 0 and dispatched
    assert json.loads((folder / "all_results.json").read_text())["eval_tokens"] == prepared["eval_tokens"]


@pytest.fixture(scope="module")
def scanned(files):
    """The split plan and ADV history run_clm_tradefm makes of the files."""
    sessions = scan_sessions(files, progress=False)
    return plan_splits(sessions, calib_days=30, val_days=30), adv_history_of(sessions)


_WINDOWS: dict[str, dict[str, Counter]] = {}


def _file_windows(scanned, tokenizer, cache) -> dict[str, Counter]:
    """Every training window of each file, as the builder cuts it alone (memoised per tokenizer)."""
    plan, adv = scanned
    key = json.dumps(tokenizer.to_dict(), sort_keys=True, default=str)
    if key in _WINDOWS:
        return _WINDOWS[key]
    out = _WINDOWS[key] = {}
    for path in plan.train_files:
        rows = load_tradefm_mbo({"train": [path]}, streaming=True, split="train", cache_dir=cache, context_length=32,
                                tokenizer_config=tokenizer.to_dict(), adv_history=adv, **plan.builder_kwargs())  # fmt: skip
        out[path] = Counter(window_key(r["input_ids"], r["context_ids"]) for r in rows.with_format("numpy"))
    return out


def _rank_stream(scanned, tokenizer, cache, files, seed, quota, epoch) -> list[str]:
    """The windows a rank reading ``files`` takes in ``epoch`` (build_datasets' shuffle and quota)."""
    plan, adv = scanned
    ds = load_tradefm_mbo({"train": list(files)}, streaming=True, split="train", cache_dir=cache, context_length=32,
                          tokenizer_config=tokenizer.to_dict(), adv_history=adv, **plan.builder_kwargs())  # fmt: skip
    ds = ds.shuffle(seed=seed, buffer_size=16).take(quota).with_format("numpy")
    ds.set_epoch(epoch)  # after with_format, which starts a copy at epoch 0
    return [window_key(r["input_ids"], r["context_ids"]) for r in ds]


def test_per_rank_streaming_reads_each_window_once_per_epoch(runs, scanned):
    """Each rank trains on its own file only, the same number of windows, none twice in an epoch."""
    folder = runs["out"]["per_rank"]
    ranks = _ranks(folder)
    assert [r["exit"] for r in ranks] == [0, 0], _log(runs["first"])[-4000:]
    shares = StreamShares.plan(scanned[0].windows_per_file("train", 32), 2, max_windows=8)
    assert shares.quota == 4  # --max_train_samples 8 over 2 ranks
    for line in shares.describe():
        assert line in _log(runs["first"])  # every rank's share is logged
    tokenizer = TradeFMTokenizer.from_dict(json.loads((folder / "config.json").read_text())["tokenizer_config"])
    own = _file_windows(scanned, tokenizer, runs["cache"])
    for r, share in enumerate(shares.shares):
        batches = ranks[r]["batches"]
        assert [len(b) for b in batches] == [2, 2, 2, 2]  # 4 steps x batch 2: nothing split again, nothing padded
        allowed = sum((own[f] for f in share.files), Counter())
        for epoch, steps in enumerate((batches[:2], batches[2:])):  # quota 4 = 2 batches per epoch
            seen = [k for b in steps for k in b]
            assert len(set(seen)) == 4 and not Counter(seen) - allowed  # from this rank's files, none twice
            # exactly the first 4 windows of this rank's shuffled stream in that epoch, in order
            assert seen == _rank_stream(scanned, tokenizer, runs["cache"], share.files, seed=5, quota=4, epoch=epoch)
    assert set(shares.shares[0].files).isdisjoint(shares.shares[1].files)
    results = json.loads((folder / "all_results.json").read_text())
    prepared = json.loads((runs["out"]["prepared"] / "all_results.json").read_text())
    assert results["eval_tokens"] == prepared["eval_tokens"]  # validation: the prepared windows, exactly
    card = (folder / "README.md").read_text()
    assert "windows_per_rank_per_epoch" in card


def test_per_rank_streaming_through_a_dataloader_worker_reads_the_same(runs):
    """A worker process reading each rank's part gives the same batches and weights as the rank reading itself."""
    worker, alone = _ranks(runs["out"]["per_rank_worker"]), _ranks(runs["out"]["per_rank"])
    assert [r["exit"] for r in worker] == [0, 0], _log(runs["first"])[-4000:]
    assert [r["batches"] for r in worker] == [r["batches"] for r in alone]
    _assert_same_weights(_weights(runs["out"]["per_rank"]), _weights(runs["out"]["per_rank_worker"]))


def test_per_rank_streaming_resumes_mid_epoch_like_an_uninterrupted_run(runs):
    """The share's known length lets the Trainer count epochs: a resume skips to the right batch of the right epoch."""
    crashed = runs["out"]["per_rank_crashed"]
    assert [r["exit"] for r in _ranks(crashed)] == ["crashed", "crashed"], _log(runs["first"])[-4000:]
    resumed = _ranks(Path(str(crashed) + "-resumed"))
    assert [r["exit"] for r in resumed] == [0, 0], _log(runs["first"])[-4000:]
    state = json.loads((crashed / "trainer_state.json").read_text())
    assert state["global_step"] == 4 and state["epoch"] == 2.0
    straight = _ranks(runs["out"]["per_rank"])
    for r in range(2):
        assert resumed[r]["batches"] == straight[r]["batches"][3:]  # only step 4 left: the same windows
    _assert_same_weights(_weights(runs["out"]["per_rank"]), _weights(crashed))


def test_per_rank_streaming_refuses_fewer_files_than_processes(runs):
    ranks = _ranks(runs["out"]["unsplittable"])
    assert [r["exit"] for r in ranks] == [2, 2]
    expected = ("error: --accelerator_config dispatch_batches=false: 1 training file(s) hold windows, fewer than "
                "the 2 processes")  # fmt: skip
    assert _log(runs["first"]).count(expected) == 2  # one line per rank, no traceback, no hang


def test_fsdp_sharded_checkpoint_is_a_hub_folder(runs):
    from transformers import AutoModelForCausalLM

    folder = runs["out"]["fsdp"]
    shards = sorted(p.name for p in (folder / "pytorch_model_fsdp_0").glob("*.distcp"))
    assert shards == ["__0_0.distcp", "__1_0.distcp"], _log(runs["first"])[-4000:]  # one shard per rank
    for name in ("model.safetensors", "config.json", "configuration_tradefm.py", "modeling_tradefm.py"):
        assert (folder / name).exists(), name
    model = AutoModelForCausalLM.from_pretrained(folder, trust_remote_code=True)
    reference = load_file(str(folder / "reference.safetensors"))
    _assert_same_weights({k: v.detach().numpy() for k, v in model.state_dict().items() if k in reference}, reference,
                         rtol=0, atol=0)  # fmt: skip
    assert set(reference) <= set(model.state_dict())


def test_resume_after_sigkill_on_two_processes_matches_uninterrupted_run(runs):
    killed = runs["out"]["killed"]
    first = runs["first"]
    assert first.returncode != 0 and "SIGKILL" in _log(first), _log(first)[-4000:]
    assert runs["left_by_kill"] == ["checkpoint-2"]
    assert sorted(p.name for p in (killed / "checkpoint-2").glob("rng_state_*.pth")) == ["rng_state_0.pth",
                                                                                          "rng_state_1.pth"]
    resumed = runs["resumed"]
    assert resumed is not None and resumed.returncode == 0, _log(resumed)[-4000:]
    assert json.loads((killed / "trainer_state.json").read_text())["global_step"] == 4
    straight = _weights(runs["out"]["prepared"])
    _assert_same_weights(straight, _weights(killed))
    # the weights did move after the checkpoint, so the comparison can fail
    w2 = _weights(killed / "checkpoint-2")
    assert any(not np.allclose(w2[k], straight[k]) for k in w2)


# ---------------------------------------------------------------------------------------------
# single process: the per-rank datasets, the FSDP wrapping, the documented launch lines
# ---------------------------------------------------------------------------------------------
def _fake_rank(rank: int, world_size: int = 2, workers: int = 0, persistent: bool = False):
    """The TrainingArguments fields the data code reads, as rank ``rank`` of ``world_size`` sees them."""
    return SimpleNamespace(
        world_size=world_size, process_index=rank, accelerator_config=SimpleNamespace(dispatch_batches=False),
        data_seed=None, seed=3, should_log=rank == 0, dataloader_num_workers=workers,
        dataloader_persistent_workers=persistent, per_device_train_batch_size=2,
        main_process_first=lambda desc=None: nullcontext(),
    )  # fmt: skip


def test_per_rank_datasets_split_the_windows_between_ranks(files, scanned, tmp_path):
    """build_datasets as each of two ranks sees it: own files, equal quota, every epoch a fresh draw of its share."""
    cache = str(tmp_path)
    data_args = rc.DataTrainingArguments(data=files, context_length=32, streaming=True, shuffle_buffer_size=8,
                                         dataset_cache_dir=cache)  # fmt: skip
    plan, adv = scanned
    # the calibration run_clm_tradefm makes of these files (deterministic): the launch's windows are memoised
    tok = rc.calibrate_tokenizer(plan.calib_files, dates=plan.calib_dates, token_range=plan.train_range,
                                 adv_history=adv, progress=False)  # fmt: skip
    own = _file_windows(scanned, tok, cache)
    shares = rc.plan_stream_shares(data_args, _fake_rank(0), plan)
    assert shares.quota == min(sum(own[f].values()) for f in files)
    data_args.max_train_samples = 40  # quota 20 per rank: a short epoch to read twice
    shares = rc.plan_stream_shares(data_args, _fake_rank(0), plan)
    assert shares.quota == 20
    for r in range(2):
        train, evald = rc.build_datasets(data_args, _fake_rank(r), plan, adv, tok, [], shares)
        assert not isinstance(evald, torch.utils.data.IterableDataset)  # validation prepared: exact, equal shares
        assert len(train) == shares.quota
        allowed = sum((own[f] for f in shares.shares[r].files), Counter())
        epochs = []
        for epoch in range(2):
            train.set_epoch(epoch)
            seen = Counter(window_key(x["input_ids"].numpy(), x["context_ids"].numpy()) for x in train)
            assert sum(seen.values()) == shares.quota and not seen - allowed
            epochs.append(seen)
        if sum(allowed.values()) > shares.quota:
            assert epochs[0] != epochs[1]  # the windows left out change with the epoch's shuffle


def test_per_rank_stream_with_dataloader_workers(files, scanned, tmp_path):
    """Worker i of a DataLoader reads part i only; the loader's length is the number of batches it yields."""
    from torch.utils.data import DataLoader
    from transformers import default_data_collator

    plan, adv = scanned
    data_args = rc.DataTrainingArguments(data=files, context_length=32, streaming=True, shuffle_buffer_size=8,
                                         dataset_cache_dir=str(tmp_path), max_train_samples=16)  # fmt: skip
    tok = rc.calibrate_tokenizer(plan.calib_files, dates=plan.calib_dates, token_range=plan.train_range,
                                 adv_history=adv, progress=False)  # fmt: skip
    own = _file_windows(scanned, tok, str(tmp_path))
    args = _fake_rank(0, world_size=1, workers=2)
    shares = rc.plan_stream_shares(data_args, args, plan)
    assert shares.quota == 8 and [len(p) for p in shares.shares[0].parts] == [1, 1]  # one file per worker
    train, _ = rc.build_datasets(data_args, args, plan, adv, tok, [], shares)
    loader = DataLoader(train, batch_size=2, num_workers=2, collate_fn=default_data_collator)
    batches = [[window_key(i.numpy(), c.numpy()) for i, c in zip(b["input_ids"], b["context_ids"], strict=True)]
               for b in loader]  # fmt: skip
    assert len(batches) == len(loader) == 8  # 2 workers x 4 full batches
    for w, part in enumerate(shares.shares[0].parts):  # the loader takes its workers' batches in turn
        seen = Counter(k for b in batches[w::2] for k in b)
        assert sum(seen.values()) == 8 and not seen - own[part[0]]
    with pytest.raises(rc.ShareError, match="dataloader_persistent_workers"):
        rc.plan_stream_shares(data_args, _fake_rank(0, workers=2, persistent=True), plan)


def test_fsdp_config_wraps_each_decoder_layer():
    from accelerate.utils.fsdp_utils import fsdp2_prepare_auto_wrap_policy

    from modeling_tradefm.configuration_tradefm import TradeFMConfig
    from modeling_tradefm.modeling_tradefm import TradeFMDecoderLayer, TradeFMForCausalLM

    with torch.device("meta"):
        model = TradeFMForCausalLM(TradeFMConfig.from_preset("tiny"))
    policy = fsdp2_prepare_auto_wrap_policy(fsdp_plugin(), model)
    wrapped = [m for m in model.modules() if policy(m)]
    assert len(wrapped) == model.config.num_hidden_layers
    assert all(type(m) is TradeFMDecoderLayer for m in wrapped)
    assert wrapped == list(model.model.layers)


def _launch_lines(text: str) -> list[str]:
    lines, current = [], ""
    for raw in text.splitlines():
        line = raw.strip().removeprefix("$ ")
        if current:
            current += " " + line.rstrip("\\").strip()
        elif line.startswith(("accelerate launch", "torchrun")):
            current = line.rstrip("\\").strip()
        else:
            continue
        if not raw.rstrip().endswith("\\"):
            lines.append(re.sub(r"\s+", " ", current))
            current = ""
    return lines


def _gpu_only(line: str) -> bool:
    """A launch whose accelerate config puts it on GPUs (``use_cpu: false``), or one asking for bf16."""
    match = re.search(r"--config_file (\S+\.yaml)", line)
    if match:
        return yaml.safe_load((REPO_ROOT / match.group(1)).read_text()).get("use_cpu") is False
    return "--bf16" in line


def test_every_documented_launch_line_is_tested_or_gpu_only():
    readme = (REPO_ROOT / "README.md").read_text()
    scale = readme.split("## Training at scale", 1)[1].split("\n## ", 1)[0]
    docs = (REPO_ROOT / "docs" / "training.md").read_text()
    lines = _launch_lines(docs) + _launch_lines(scale)
    assert len(lines) >= 8
    tested = TESTED_LAUNCHES + ("accelerate launch --config_file configs/accelerate/cpu.yaml run_clm_tradefm.py",)
    untested = [line for line in lines if not _gpu_only(line) and not line.startswith(tested)]
    assert untested == []
    assert any(line.startswith(TESTED_LAUNCHES) for line in _launch_lines(docs))


@pytest.mark.slow
def test_cpu_accelerate_config_launch(files, tmp_path):
    """docs/training.md's one-process CPU launch, as written (the demo config), with fewer steps and tiny data."""
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "OMP_NUM_THREADS": "1"}
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "accelerate.commands.launch", "--config_file", "configs/accelerate/cpu.yaml",
         "run_clm_tradefm.py", "configs/train/demo_cpu.yaml", "--data", *files, "--max_steps", "2", "--save_steps", "2",
         "--eval_steps", "2", "--max_eval_samples", "4", "--context_length", "32", "--output_dir", str(out),
         "--dataset_cache_dir", str(tmp_path / "cache"), "--disable_tqdm", "true"],
        env=env, cwd=str(REPO_ROOT), stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=LAUNCH_TIMEOUT,
    )  # fmt: skip
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    assert json.loads((out / "trainer_state.json").read_text())["global_step"] == 2


def test_estimate_table_in_the_docs_is_the_scripts():
    sys.path.insert(0, str(REPO_ROOT / "benchmarks"))
    from estimate_training import table

    assert table() in (REPO_ROOT / "docs" / "training.md").read_text()
