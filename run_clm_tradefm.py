#!/usr/bin/env python
# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
# /// script
# dependencies = [
#     "tradefm",
#     "transformers>=5.24,<6",
#     "datasets>=5.2,<6",
#     "accelerate>=1.1",
#     "torch>=2.4",
#     "pyyaml>=6",
# ]
# ///
"""Pre-train (or continue training) a TradeFM causal model of Level-3 order flow with the HF Trainer.

The shape follows transformers' ``examples/pytorch/language-modeling/run_clm.py``: three argument
dataclasses parsed by ``HfArgumentParser``, a logging block, ``set_seed``, data preparation under
``main_process_first``, ``Trainer``, metrics, ``save_state``, and ``push_to_hub`` / model card. What
differs: raw MBO / LOBSTER files go through the TradeFM builder (``data_scripts.tradefm_mbo``):
sessions are scanned, a tokenizer is calibrated on the first ``--calib-days`` dates and frozen, and
windows of ``--context-length`` tokens are cut per ``(instrument, date)`` session (no
``group_texts``: windows never mix sessions).

Usage (the paper-like defaults are the defaults)::

    python run_clm_tradefm.py --data "data/**/*.mbo.csv.zst" --model-size 500M --calib-days 30 \\
        --val-days 30 --context-length 1024 --epochs 4 --batch-size 24 --accum-steps 56 --lr 5e-5 \\
        --output-dir checkpoints
    accelerate launch --config_file configs/accelerate/multi_gpu_ddp.yaml run_clm_tradefm.py configs/train/paper_500m.yaml
    python run_clm_tradefm.py configs/train/demo_cpu.yaml --max_steps 20      # config file, then overrides

Short flags map onto ``TrainingArguments`` fields: ``--epochs`` = ``--num_train_epochs``,
``--batch-size`` = ``--per_device_train_batch_size``, ``--accum-steps`` =
``--gradient_accumulation_steps``, ``--lr`` = ``--learning_rate``, ``--output-dir`` =
``--output_dir``. Every other ``TrainingArguments`` flag works as in ``run_clm.py``. A single
``.json`` / ``.yaml`` argument is a config file (keys = field names or the short flags); further
command-line flags after it override the file.

Defaults that differ from ``TrainingArguments`` (the paper gives none of them; see docs/training.md):
AdamW with ``adam_beta2 = 0.95``, 4 epochs, batch 24 x accumulation 56 (1,344 windows = 1.38M
tokens per step at 1,024), lr 5e-5 with linear warm-up over 1 % of the steps then linear decay,
``output_dir = "checkpoints"``. Mixed precision: ``--bf16`` / ``--fp16``.

Resume: ``--resume_from_checkpoint last`` resumes from the newest *complete* checkpoint in
``output_dir`` (one whose ``trainer_state.json`` -- written last -- parses), or starts fresh when
there is none, so a pre-emptible job can be re-run with the same command. ``true`` does the same but
fails when there is no checkpoint; a path resumes from that folder. The tokenizer is then taken from
the checkpoint's ``config.json`` (never re-calibrated).

Every checkpoint is a complete Hub folder: ``model.safetensors``, ``config.json`` (with ``auto_map``
and ``tokenizer_config``), ``generation_config.json``, ``configuration_tradefm.py`` +
``modeling_tradefm.py`` (remote code) and a ``README.md`` model card refreshed with the latest
evaluation metrics on every save.

Metrics (torch, no ``evaluate``): ``eval_loss``, ``eval_perplexity`` (exp of the token-weighted mean
next-token NLL), ``eval_accuracy`` (next-token top-1), counted over label positions != -100.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import datasets
import numpy as np
import torch
import transformers
from transformers import (
    HfArgumentParser,
    Trainer,
    TrainerCallback,
    TrainingArguments,
    default_data_collator,
    set_seed,
)
from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR
from transformers.utils import check_min_version

import modeling_tradefm  # noqa: F401  (registers the Auto classes before any model is built)
from data_scripts.tradefm_mbo import (
    IGNORE_INDEX,
    SplitPlan,
    _code_hash,
    adv_history_of,
    calibrate_tokenizer,
    load_tradefm_mbo,
    plan_splits,
    scan_sessions,
)

check_min_version("5.24.0")

logger = logging.getLogger(__name__)

MODEL_SIZES = ("tiny", "125M", "250M", "500M")
MODEL_INPUTS = ["input_ids", "context_ids", "labels"]
# Short flags of the seed command line -> TrainingArguments fields (also accepted as config-file keys).
SHORT_FLAGS = {
    "epochs": "num_train_epochs",
    "batch_size": "per_device_train_batch_size",
    "accum_steps": "gradient_accumulation_steps",
    "lr": "learning_rate",
}
CHECKPOINT_FILES = ("config.json", "configuration_tradefm.py", "modeling_tradefm.py", "README.md")


# ---------------------------------------------------------------------------------------------
# arguments
# ---------------------------------------------------------------------------------------------
@dataclass
class ModelArguments:
    """Which model to train: a preset or a config file from scratch, or an existing checkpoint."""

    model_size: Literal["tiny", "125M", "250M", "500M"] = field(
        default="500M",
        metadata={"help": "Architecture preset for training from scratch (TradeFMConfig.from_preset)."},
    )
    model_name_or_path: str | None = field(
        default=None,
        metadata={"help": "A TradeFM checkpoint (folder or Hub id) to continue training from, instead of a preset."},
    )
    config_name: str | None = field(
        default=None, metadata={"help": "A TradeFMConfig JSON file (e.g. configs/model/...) instead of a preset."}
    )
    config_overrides: str | None = field(
        default=None,
        metadata={"help": "Override config fields when training from scratch, e.g. 'num_hidden_layers=2,hidden_size=64'."},
    )
    cache_dir: str | None = field(default=None, metadata={"help": "Where to cache models downloaded from the Hub."})
    model_revision: str = field(default="main", metadata={"help": "Hub revision (branch, tag or commit) of the model."})
    token: str | None = field(default=None, metadata={"help": "Hub token (default: the one from `hf auth login`)."})
    dtype: Literal["auto", "bfloat16", "float16", "float32"] | None = field(
        default=None,
        metadata={"help": "dtype to load --model_name_or_path in; mixed precision is --bf16/--fp16 instead."},
    )

    def __post_init__(self):
        if not self.config_overrides:  # "" (e.g. overriding a config file's value) means none
            self.config_overrides = None
        if self.config_overrides is not None and self.model_name_or_path is not None:
            raise ValueError("--config_overrides can't be used with --model_name_or_path")


@dataclass
class DataTrainingArguments:
    """Which data to train and evaluate on, and how it is split, tokenized and windowed."""

    data: list[str] | None = field(
        default=None,
        metadata={"help": "Raw MBO / LOBSTER files: paths, globs (quote them) or several of each."},
    )
    validation_data: list[str] | None = field(
        default=None,
        metadata={"help": "Explicit validation files; replaces the --val-days rule (all --data then trains)."},
    )
    calib_days: int = field(
        default=30, metadata={"help": "Calibrate the tokenizer on the first N trading dates (then frozen)."}
    )
    val_days: int = field(default=30, metadata={"help": "Validation = the trailing N trading dates."})
    val_mode: Literal["auto", "days", "tail", "none"] = field(
        default="auto",
        metadata={
            "help": "'days': trailing --val-days dates; 'tail': the last --val-fraction of every session; "
            "'auto': 'days' if there are more than --val-days dates, else 'tail' (tiny data); 'none'."
        },
    )
    val_fraction: float = field(default=0.1, metadata={"help": "Held-out tail of each session in 'tail' mode."})
    context_length: int = field(default=1024, metadata={"help": "Window length in events (tokens)."})
    stride: int | None = field(
        default=None, metadata={"help": "Step between windows of a session (default: --context-length, no overlap)."}
    )
    last_window: Literal["pad", "drop"] = field(
        default="pad", metadata={"help": "Last partial window of a session: right-pad (labels -100) or drop."}
    )
    tokenizer_name_or_path: str | None = field(
        default=None,
        metadata={"help": "A calibrated tokenizer (its folder, or a checkpoint whose config.json holds one)."},
    )
    feature_config: str | None = field(
        default=None, metadata={"help": "FeatureConfig fields as a JSON object or a .json file path."}
    )
    read_options: str | None = field(
        default=None, metadata={"help": "Keyword arguments for modeling_tradefm.io.read_file, as JSON."}
    )
    streaming: bool = field(
        default=False,
        metadata={"help": "Stream windows straight from the raw files (needs --max_steps) instead of preparing Arrow."},
    )
    shuffle_buffer_size: int = field(default=1000, metadata={"help": "Shuffle buffer (windows) when streaming."})
    preprocessing_num_workers: int | None = field(
        default=None, metadata={"help": "Processes preparing the Arrow dataset (capped at the number of files)."}
    )
    dataset_cache_dir: str | None = field(
        default=None, metadata={"help": "datasets cache folder for the prepared windows (default: HF cache)."}
    )
    max_train_samples: int | None = field(default=None, metadata={"help": "Truncate training to N windows."})
    max_eval_samples: int | None = field(default=None, metadata={"help": "Truncate evaluation to N windows."})

    def __post_init__(self):
        if self.context_length < 2:
            raise ValueError(f"--context-length must be >= 2, got {self.context_length}")
        if self.calib_days < 1:
            raise ValueError(f"--calib-days must be >= 1, got {self.calib_days}")
        if self.val_days < 0:
            raise ValueError(f"--val-days must be >= 0, got {self.val_days}")

    def json_option(self, name: str) -> dict | None:
        value = getattr(self, name)
        if value is None or isinstance(value, dict):
            return value
        text = Path(value).read_text() if value.strip().endswith(".json") and Path(value).exists() else value
        try:
            out = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"--{name} must be a JSON object or a .json file: {exc}") from None
        if not isinstance(out, dict):
            raise ValueError(f"--{name} must be a JSON object, got {type(out).__name__}")
        return out


@dataclass
class TradeFMTrainingArguments(TrainingArguments):
    """``TrainingArguments`` with the seed's short flags as aliases and TradeFM's defaults."""

    output_dir: str | None = field(
        default="checkpoints", metadata={"help": "Where checkpoints and the final model are written."}
    )
    num_train_epochs: float = field(default=4.0, metadata={"help": "Training epochs.", "aliases": ["--epochs"]})
    per_device_train_batch_size: int = field(
        default=24, metadata={"help": "Windows per device per micro-batch.", "aliases": ["--batch-size"]}
    )
    gradient_accumulation_steps: int = field(
        default=56, metadata={"help": "Micro-batches accumulated per optimizer step.", "aliases": ["--accum-steps"]}
    )
    learning_rate: float = field(default=5e-5, metadata={"help": "Peak AdamW learning rate.", "aliases": ["--lr"]})
    adam_beta2: float = field(default=0.95, metadata={"help": "AdamW beta2 (0.95: the usual LLM pre-training value)."})
    warmup_steps: float = field(
        default=0.01, metadata={"help": "Linear warm-up: steps (>= 1) or a fraction of the total steps (< 1)."}
    )


def _normalise_keys(d: dict[str, Any]) -> dict[str, Any]:
    """Config-file keys: dashes -> underscores, short flags -> TrainingArguments names."""
    out = {}
    for key, value in d.items():
        k = key.lstrip("-").replace("-", "_")
        k = SHORT_FLAGS.get(k, k)
        if k in ("data", "validation_data") and isinstance(value, str):
            value = [value]
        out[k] = value
    return out


def parse_args(
    argv: Sequence[str] | None = None,
) -> tuple[ModelArguments, DataTrainingArguments, TradeFMTrainingArguments]:
    """Parse the command line: flags, or a ``.json``/``.yaml`` config file followed by overriding flags.

    Args:
        argv: arguments without the program name (default ``sys.argv[1:]``).

    Returns:
        ``(model_args, data_args, training_args)``.
    """
    parser = HfArgumentParser((ModelArguments, DataTrainingArguments, TradeFMTrainingArguments))
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0].endswith((".json", ".yaml", ".yml")) and not argv[0].startswith("-"):
        path = Path(argv.pop(0))
        if path.suffix == ".json":
            values = json.loads(path.read_text())
        else:
            import yaml

            values = yaml.safe_load(path.read_text()) or {}
        values = _normalise_keys(values)
        known = {action.dest for action in parser._actions}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"{path}: unknown keys {unknown}")
        # File values become argparse defaults, so flags given after the file override them.
        parser.set_defaults(**values)
    return parser.parse_args_into_dataclasses(args=argv)


# ---------------------------------------------------------------------------------------------
# resume
# ---------------------------------------------------------------------------------------------
def last_complete_checkpoint(output_dir: str | os.PathLike) -> str | None:
    """The newest ``checkpoint-N`` in ``output_dir`` whose ``trainer_state.json`` parses.

    The Trainer writes ``trainer_state.json`` after the weights, optimizer, scheduler and RNG
    states, so a checkpoint interrupted mid-write (SIGKILL, pre-emption) has none or a truncated one
    and is passed over.
    """
    root = Path(output_dir)
    if not root.is_dir():
        return None
    candidates = []
    for p in root.iterdir():
        name = p.name
        if p.is_dir() and name.startswith(PREFIX_CHECKPOINT_DIR + "-") and name.rsplit("-", 1)[1].isdigit():
            candidates.append((int(name.rsplit("-", 1)[1]), p))
    for _, path in sorted(candidates, reverse=True):
        try:
            json.loads((path / "trainer_state.json").read_text())
        except (OSError, ValueError):
            logger.warning("skipping incomplete checkpoint %s", path)
            continue
        return str(path)
    return None


def resolve_resume(value: str | bool | None, output_dir: str) -> str | None:
    """Map ``--resume_from_checkpoint`` (``last`` / ``true`` / a path / None) to a folder or None."""
    if value is None or value is False or str(value).lower() in ("", "false", "none", "no"):
        return None
    if value is True or str(value).lower() in ("last", "true", "yes", "latest"):
        found = last_complete_checkpoint(output_dir)
        if found is None:
            if str(value).lower() in ("last", "latest"):
                logger.warning("--resume_from_checkpoint %s: no complete checkpoint in %s, starting fresh", value, output_dir)
                return None
            raise ValueError(f"--resume_from_checkpoint {value}: no complete checkpoint in {output_dir}")
        return found
    if not Path(value).is_dir():
        raise ValueError(f"--resume_from_checkpoint {value}: not a folder")
    return str(value)


# ---------------------------------------------------------------------------------------------
# data
# ---------------------------------------------------------------------------------------------
def _files_key(files: Sequence[str], extra: dict) -> str:
    h = hashlib.sha256()
    for f in files:
        st = os.stat(f)
        h.update(f"{os.path.abspath(f)}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    h.update(json.dumps(extra, sort_keys=True, default=str).encode())
    h.update(_code_hash().encode())
    return h.hexdigest()[:20]


def _tokenizer_from(path: str):
    """A tokenizer from its own folder, or from a checkpoint's ``config.json`` ``tokenizer_config``."""
    from modeling_tradefm.tokenization_tradefm import TradeFMTokenizer

    cfg = Path(path) / "config.json"
    if cfg.exists():
        state = json.loads(cfg.read_text()).get("tokenizer_config")
        if state:
            return TradeFMTokenizer.from_dict(state)
    return TradeFMTokenizer.from_pretrained(path)


def prepare_data(
    data_args: DataTrainingArguments,
    training_args: TrainingArguments,
    tokenizer=None,
) -> dict[str, Any]:
    """Scan the files, plan the splits, calibrate (unless given a tokenizer), and build the datasets.

    The plan and the calibrated tokenizer are cached under the datasets cache, keyed by the files
    (path, size, mtime), the split/feature options and the code, so that other ranks (and re-runs)
    load them instead of re-reading every file.

    Returns:
        dict with ``tokenizer``, ``plan`` (:class:`SplitPlan`), ``train`` and ``eval`` datasets
        (``eval`` may be None) and ``data_card`` (a summary for the model card).
    """
    from modeling_tradefm.io import expand_paths
    from modeling_tradefm.tokenization_tradefm import TradeFMTokenizer

    if not data_args.data:
        raise ValueError("--data is required (paths, globs or a list of MBO / LOBSTER files)")
    files = [str(p) for p in expand_paths(data_args.data)]
    val_files = [str(p) for p in expand_paths(data_args.validation_data)] if data_args.validation_data else []
    feature_config = data_args.json_option("feature_config")
    read_options = data_args.json_option("read_options")
    options = {
        "calib_days": data_args.calib_days,
        "val_days": data_args.val_days,
        "val_mode": data_args.val_mode,
        "val_fraction": data_args.val_fraction,
        "feature_config": feature_config,
        "read_options": read_options,
        "val_files": val_files,
    }
    cache_root = Path(data_args.dataset_cache_dir or datasets.config.HF_DATASETS_CACHE) / "tradefm_plans"
    cache_file = cache_root / f"{_files_key(files + val_files, options)}.json"

    with training_args.main_process_first(desc="scan sessions, plan splits, calibrate the tokenizer"):
        cached = json.loads(cache_file.read_text()) if cache_file.exists() else None
        if cached is not None:
            plan = SplitPlan.from_dict(cached["plan"])
            adv_history = cached["adv_history"]
            logger.info("loaded split plan and tokenizer calibration from %s", cache_file)
        else:
            sessions = scan_sessions(files, read_options, feature_config)
            if val_files:
                val_sessions = scan_sessions(val_files, read_options, feature_config)
                plan = plan_splits(sessions, data_args.calib_days, 0, "none")
                plan.mode = "explicit"
                plan.val_dates = sorted({s.date for s in val_sessions})
                plan.val_files = val_files
                sessions = sessions + val_sessions
            else:
                plan = plan_splits(
                    sessions, data_args.calib_days, data_args.val_days, data_args.val_mode, data_args.val_fraction
                )
            adv_history = adv_history_of(sessions)
            cached = {"plan": plan.to_dict(), "adv_history": adv_history, "tokenizer": None}
        if tokenizer is None:
            if cached.get("tokenizer"):
                tokenizer = TradeFMTokenizer.from_dict(cached["tokenizer"])
            else:
                tokenizer = calibrate_tokenizer(
                    plan.calib_files,
                    dates=plan.calib_dates,
                    token_range=plan.train_range,
                    feature_config=feature_config,
                    read_options=read_options,
                    adv_history=adv_history,
                )
                cached["tokenizer"] = tokenizer.to_dict()
        if training_args.should_save and not cache_file.exists():
            cache_root.mkdir(parents=True, exist_ok=True)
            tmp = cache_file.with_suffix(f".tmp{os.getpid()}")
            tmp.write_text(json.dumps(cached, default=str))
            os.replace(tmp, cache_file)  # atomic: another rank never reads half a file

        builder_cfg = dict(
            tokenizer_config=tokenizer.to_dict(),
            feature_config=feature_config,
            read_options=read_options,
            adv_history=adv_history,
            context_length=data_args.context_length,
            stride=data_args.stride,
            last_window=data_args.last_window,
            **plan.builder_kwargs(),
        )
        if plan.mode == "explicit":
            builder_cfg["split_dates"] = {"train": plan.train_dates, "validation": plan.val_dates}
        data_files = plan.data_files() if plan.mode != "explicit" else {"train": plan.train_files, "validation": val_files}
        dsets = load_tradefm_mbo(
            data_files,
            streaming=data_args.streaming,
            num_proc=data_args.preprocessing_num_workers,
            cache_dir=data_args.dataset_cache_dir,
            **builder_cfg,
        )

    train, evald = dsets["train"], dsets.get("validation")
    seed = training_args.data_seed if training_args.data_seed is not None else training_args.seed
    if data_args.streaming:
        train = train.shuffle(seed=seed, buffer_size=data_args.shuffle_buffer_size)
        if training_args.world_size > 1 and training_args.accelerator_config.dispatch_batches is False:
            # Each rank reads its own files; with the default dispatch_batches rank 0 reads all and broadcasts.
            from datasets.distributed import split_dataset_by_node

            train = split_dataset_by_node(train, rank=training_args.process_index, world_size=training_args.world_size)
    if data_args.max_train_samples is not None:
        train = train.take(data_args.max_train_samples) if data_args.streaming else train.select(
            range(min(data_args.max_train_samples, len(train)))
        )
    if evald is not None and data_args.max_eval_samples is not None:
        evald = evald.take(data_args.max_eval_samples) if data_args.streaming else evald.select(
            range(min(data_args.max_eval_samples, len(evald)))
        )
    # Only the forward() inputs reach the collator; torch format skips Python lists entirely.
    train = train.select_columns(MODEL_INPUTS).with_format("torch")
    if evald is not None:
        evald = evald.select_columns(MODEL_INPUTS).with_format("torch")

    data_card = {
        "files": len(files) + len(val_files),
        "dates": f"{plan.dates[0]} .. {plan.dates[-1]} ({len(plan.dates)})" if plan.dates else "",
        "split_mode": plan.mode,
        "calibration_dates": len(plan.calib_dates),
        "train_dates": len(plan.train_dates),
        "validation_dates": len(plan.val_dates),
        "train_range": list(plan.train_range),
        "validation_range": list(plan.val_range),
        "context_length": data_args.context_length,
        "stride": data_args.stride or data_args.context_length,
    }
    if not data_args.streaming:
        data_card["train_windows"] = len(train)
        if evald is not None:
            data_card["validation_windows"] = len(evald)
    return {"tokenizer": tokenizer, "plan": plan, "train": train, "eval": evald, "data_card": data_card}


# ---------------------------------------------------------------------------------------------
# metrics
# ---------------------------------------------------------------------------------------------
def preprocess_logits_for_metrics(logits: torch.Tensor | tuple, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Reduce ``[B, T, V]`` logits to what the metrics need, so full logits are never accumulated.

    Returns:
        ``(pred [B, T-1] int64, nll [B, T-1] float32)``: the argmax at position t and the NLL of
        the true token t + 1 (0 where the label is -100), aligned with ``labels[:, 1:]``.
    """
    if isinstance(logits, tuple):
        logits = logits[0]
    logits = logits[:, :-1]
    target = labels[:, 1:]
    valid = target != IGNORE_INDEX
    # log-softmax in fp32 (the logits may be bf16); the gather picks the true token's NLL.
    logp = torch.log_softmax(logits.float(), dim=-1)
    nll = -logp.gather(-1, target.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    return logits.argmax(dim=-1), torch.where(valid, nll, torch.zeros_like(nll))


class TokenMetrics:
    """Next-token accuracy and perplexity over label positions != -100 (works with batch_eval_metrics).

    Called as ``compute_metrics(eval_pred)`` (whole eval set) or, with ``batch_eval_metrics=True``,
    per batch with ``compute_result``; sums are kept in float64 so the result is the same.
    """

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self.correct = 0
        self.count = 0
        self.nll = 0.0

    def __call__(self, eval_pred, compute_result: bool | None = None) -> dict[str, float]:
        (pred, nll), labels = eval_pred.predictions, eval_pred.label_ids
        to_np = lambda x: x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)  # noqa: E731
        pred, nll, labels = to_np(pred), to_np(nll), to_np(labels)
        target = labels[:, 1:]
        valid = target != IGNORE_INDEX
        self.correct += int((pred[valid] == target[valid]).sum())
        self.count += int(valid.sum())
        self.nll += float(nll[valid].astype(np.float64).sum())
        if compute_result is False:
            return {}
        n = max(self.count, 1)
        mean_nll = self.nll / n
        out = {
            "accuracy": self.correct / n,
            "perplexity": math.exp(mean_nll) if mean_nll < 700 else float("inf"),
            "nll": mean_nll,
            "tokens": float(self.count),
        }
        self._reset()
        return out


# ---------------------------------------------------------------------------------------------
# checkpoints
# ---------------------------------------------------------------------------------------------
def _latest_eval_metrics(log_history: list[dict]) -> dict[str, float] | None:
    for entry in reversed(log_history):
        if "eval_loss" in entry:
            return {k: v for k, v in entry.items() if k.startswith("eval_") or k in ("epoch", "step")}
    return None


class HubCheckpointCallback(TrainerCallback):
    """Make every ``checkpoint-N`` a complete Hub folder: model card with the latest eval metrics.

    ``TradeFMForCausalLM.save_pretrained`` already writes the weights, ``config.json`` (``auto_map``,
    ``tokenizer_config``) and the remote-code files; this refreshes ``README.md`` with the metrics and
    the data summary and checks that nothing is missing.
    """

    def __init__(self, data_card: dict | None = None):
        self.data_card = data_card

    def on_save(self, args, state, control, model=None, **kwargs):
        if not state.is_world_process_zero:
            return
        folder = Path(args.output_dir) / f"{PREFIX_CHECKPOINT_DIR}-{state.global_step}"
        if not folder.is_dir():
            return
        from modeling_tradefm.model_card import write_model_card

        config = getattr(model, "config", None)
        if config is None:
            config = transformers.AutoConfig.from_pretrained(folder)
        write_model_card(folder, config, metrics=_latest_eval_metrics(state.log_history), data=self.data_card)
        missing = [f for f in CHECKPOINT_FILES if not (folder / f).exists()]
        if not any((folder / w).exists() for w in ("model.safetensors", "model.safetensors.index.json")):
            missing.append("model.safetensors")
        if missing:
            logger.warning("checkpoint %s is missing %s: it is not a complete Hub folder", folder, missing)


class TradeFMTrainer(Trainer):
    """``Trainer`` whose model card is TradeFM's (``push_to_hub`` would otherwise overwrite it)."""

    data_card: dict | None = None

    def create_model_card(self, *args, **kwargs) -> None:
        if not self.is_world_process_zero():
            return
        from modeling_tradefm.model_card import write_model_card

        write_model_card(
            self.args.output_dir,
            self.model.config,
            metrics=_latest_eval_metrics(self.state.log_history),
            data=self.data_card,
        )


# ---------------------------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------------------------
def build_model(model_args: ModelArguments, data_args: DataTrainingArguments, tokenizer):
    """A TradeFM model from a preset / config file (from scratch) or a checkpoint, tokenizer attached."""
    from modeling_tradefm.configuration_tradefm import TradeFMConfig
    from modeling_tradefm.modeling_tradefm import TradeFMForCausalLM

    if model_args.model_name_or_path:
        kwargs = dict(cache_dir=model_args.cache_dir, revision=model_args.model_revision, token=model_args.token)
        if model_args.dtype not in (None, "auto"):
            kwargs["dtype"] = getattr(torch, model_args.dtype)
        model = TradeFMForCausalLM.from_pretrained(model_args.model_name_or_path, **kwargs)
        config = model.config
    else:
        if model_args.config_name:
            config = TradeFMConfig.from_json_file(model_args.config_name)
        else:
            config = TradeFMConfig.from_preset(model_args.model_size)
        if model_args.config_overrides:
            logger.info("overriding config: %s", model_args.config_overrides)
            config.update_from_string(model_args.config_overrides)
        model = None
    if data_args.context_length > config.max_position_embeddings:
        # RoPE has no learned positions; raising the limit only records the longer windows.
        logger.warning(
            "context_length %d > max_position_embeddings %d: raising the latter",
            data_args.context_length, config.max_position_embeddings,
        )  # fmt: skip
        config.max_position_embeddings = data_args.context_length
    config.tokenizer_config = tokenizer.to_dict()
    tokenizer.check_compatible(config)
    if model is None:
        model = TradeFMForCausalLM(config)
    n_params = sum({p.data_ptr(): p.numel() for p in model.parameters()}.values())
    logger.info("TradeFM model: %.2fM parameters (%s)", n_params / 1e6, model_args.model_name_or_path or model_args.model_size)
    return model


def main(argv: Sequence[str] | None = None, callbacks: Sequence[TrainerCallback] | None = None) -> dict[str, float]:
    """Run training (+ evaluation) as configured by ``argv``; returns the final metrics.

    Args:
        argv: command-line arguments (default ``sys.argv[1:]``).
        callbacks: extra ``TrainerCallback``s (run after the checkpoint callback).
    """
    model_args, data_args, training_args = parse_args(argv)

    logging.basicConfig(
        format="%(asctime)s - %(levelname)s - %(name)s - %(message)s",
        datefmt="%m/%d/%Y %H:%M:%S",
        handlers=[logging.StreamHandler(sys.stdout)],
    )
    if training_args.should_log:
        transformers.utils.logging.set_verbosity_info()
    log_level = training_args.get_process_log_level()
    logger.setLevel(log_level)
    logging.getLogger("data_scripts").setLevel(log_level)
    datasets.utils.logging.set_verbosity(log_level)
    transformers.utils.logging.set_verbosity(log_level)
    transformers.utils.logging.enable_default_handler()
    transformers.utils.logging.enable_explicit_format()
    logger.warning(
        "Process rank: %s, device: %s, n_gpu: %s, distributed training: %s, bf16: %s, fp16: %s",
        training_args.local_process_index, training_args.device, training_args.n_gpu,
        training_args.parallel_mode.value == "distributed", training_args.bf16, training_args.fp16,
    )  # fmt: skip
    logger.info("Training/evaluation parameters %s", training_args)

    if data_args.streaming and training_args.max_steps <= 0:
        raise ValueError("--streaming needs --max_steps > 0 (a streamed dataset has no length to count epochs by)")
    resume = resolve_resume(training_args.resume_from_checkpoint, training_args.output_dir)
    training_args.resume_from_checkpoint = resume

    # The tokenizer is frozen for the life of a model: a resumed or continued run reuses it.
    tokenizer = None
    for source in (data_args.tokenizer_name_or_path, resume, model_args.model_name_or_path):
        if source and Path(source).exists():
            tokenizer = _tokenizer_from(source)
            logger.info("tokenizer taken from %s", source)
            break

    set_seed(training_args.seed)
    data = prepare_data(data_args, training_args, tokenizer)
    tokenizer = data["tokenizer"]
    model = build_model(model_args, data_args, tokenizer)

    has_eval = data["eval"] is not None
    trainer = TradeFMTrainer(
        model=model,
        args=training_args,
        train_dataset=data["train"],
        eval_dataset=data["eval"],
        data_collator=default_data_collator,
        compute_metrics=TokenMetrics() if has_eval else None,
        preprocess_logits_for_metrics=preprocess_logits_for_metrics if has_eval else None,
        callbacks=[HubCheckpointCallback(data["data_card"]), *(callbacks or [])],
    )
    trainer.data_card = data["data_card"]

    train_result = trainer.train(resume_from_checkpoint=resume)
    trainer.save_model()  # final weights + config + remote code into output_dir
    metrics = dict(train_result.metrics)
    if data_args.max_train_samples is not None and not data_args.streaming:
        metrics["train_samples"] = len(data["train"])
    trainer.log_metrics("train", metrics)
    trainer.save_metrics("train", metrics)
    trainer.save_state()

    if has_eval:
        logger.info("*** Evaluate ***")
        eval_metrics = trainer.evaluate()
        trainer.log_metrics("eval", eval_metrics)
        trainer.save_metrics("eval", eval_metrics)
        metrics.update(eval_metrics)

    card_kwargs = {"tasks": "text-generation", "tags": ["tradefm", "order-flow", "limit-order-book"]}
    if model_args.model_name_or_path:
        card_kwargs["finetuned_from"] = model_args.model_name_or_path
    if training_args.push_to_hub:
        trainer.push_to_hub(**card_kwargs)
    else:
        trainer.create_model_card(**card_kwargs)
    return metrics


if __name__ == "__main__":
    main()
