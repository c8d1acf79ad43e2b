# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""Training a TradeFM causal model with the HF Trainer: arguments, data, model, the training run.

The library behind ``run_clm_tradefm.py`` (the run_clm.py-style example script in the repository)
and ``tradefm train`` (the same flags, from an installed package); the script's docstring is the
user guide, docs/training.md the details. Shape of run_clm.py: three argument dataclasses parsed by
``HfArgumentParser``, logging, ``set_seed``, data under ``main_process_first``, ``Trainer``, metrics,
``save_state``, model card / ``push_to_hub``. Raw files become windows through
:mod:`modeling_tradefm.data` (split plan, frozen calibrated tokenizer, per-session windows); the
Trainer's TradeFM parts (resume, metrics, Hub-complete checkpoints) are in :mod:`modeling_tradefm.trainer`.

Two entry points: :func:`main` (Python: returns the metrics, raises on bad input) and :func:`run`
(command line: a bad flag, config key or data file ends as one ``error: <flag or file>: <problem>``
line and exit status 2, as every ``tradefm`` command).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import datasets
import torch
import transformers
from transformers import (
    HfArgumentParser,
    TrainerCallback,
    TrainingArguments,
    default_data_collator,
    set_seed,
)

from .configuration_tradefm import TradeFMConfig
from .data import (
    SplitPlan,
    adv_history_of,
    calibrate_tokenizer,
    code_hash,
    load_tradefm_mbo,
    plan_splits,
    scan_sessions,
)
from .errors import DataError
from .io import expand_paths
from .modeling_tradefm import TradeFMForCausalLM
from .resources import did_you_mean, load_config_file
from .tokenization_tradefm import TradeFMTokenizer
from .trainer import (
    HubCheckpointCallback,
    TokenMetrics,
    TradeFMTrainer,
    preprocess_logits_for_metrics,
    resolve_resume,
)

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
CONFIG_SUFFIXES = (".json", ".yaml", ".yml")


class UsageError(ValueError):
    """A bad flag, flag value, config key or argument combination; the message starts with the flag."""


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
    tokenizer_options: str | None = field(
        default=None,
        metadata={
            "help": "TradeFMTokenizer arguments for a new calibration, as JSON or a .json file; e.g. a book-aware "
            'model: \'{"book_fields": ["spread", "imbalance"], "price_reference": "best"}\'.'
        },
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
        """``--feature_config`` / ``--read_options`` / ``--tokenizer_options`` as a dict (inline JSON or a .json file)."""
        value = getattr(self, name)
        if value is None or isinstance(value, dict):
            return value
        text = Path(value).read_text() if value.strip().endswith(".json") and Path(value).exists() else value
        try:
            out = json.loads(text)
        except json.JSONDecodeError as exc:
            raise UsageError(f"--{name}: not a JSON object or a .json file: {exc}") from None
        if not isinstance(out, dict):
            raise UsageError(f"--{name}: expected a JSON object, got {type(out).__name__}")
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
    # TrainingArguments' own help says the field is unused by the Trainer; here it is resolved by resolve_resume.
    resume_from_checkpoint: str | None = field(
        default=None,
        metadata={
            "help": "'last': resume from the newest complete checkpoint-N in --output_dir, or start fresh when "
            "there is none (re-run a pre-empted job with the same command); 'true': the same, but fail when "
            "there is none; a folder: resume from that checkpoint. The tokenizer comes from the checkpoint."
        },
    )


DESCRIPTION = (
    "tradefm train / run_clm_tradefm.py [CONFIG.yaml|.json] [FLAGS]: pre-train or continue training a TradeFM "
    "model on Databento MBO or LOBSTER files with the HF Trainer. A config file (keys = flag names) may come "
    "first; flags after it override it. Details: docs/training.md."
)


class _Parser(HfArgumentParser):
    """``HfArgumentParser`` whose errors raise :class:`UsageError` instead of printing the usage and exiting.

    argparse's usage line lists every ``TrainingArguments`` flag (about 150): the entry point
    prints the one-line message instead.
    """

    def error(self, message: str):
        raise UsageError(message.removeprefix("argument "))


def _normalise_keys(d: dict[str, Any]) -> dict[str, Any]:
    """Config-file keys: dashes -> underscores, short flags -> TrainingArguments names."""
    out = {}
    for key, value in d.items():
        k = str(key).lstrip("-").replace("-", "_")
        k = SHORT_FLAGS.get(k, k)
        if k in ("data", "validation_data") and isinstance(value, str):
            value = [value]
        out[k] = value
    return out


def parse_args(
    argv: Sequence[str] | None = None, prog: str | None = None
) -> tuple[ModelArguments, DataTrainingArguments, TradeFMTrainingArguments]:
    """Parse the command line: flags, or a ``.json``/``.yaml`` config file followed by overriding flags.

    The config file's values become the parser's defaults, so flags after it override them and
    every value goes through the same argparse conversion as a flag (PyYAML reads ``lr: 5e-5`` as
    the string "5e-5"; ``HfArgumentParser.parse_yaml_file`` would hand that string to the field, and
    it has no way to apply overrides).

    Args:
        argv: arguments without the program name (default ``sys.argv[1:]``).
        prog: program name in ``--help``.

    Returns:
        ``(model_args, data_args, training_args)``.

    Raises:
        UsageError: an unknown or malformed flag (with the closest known flag), or an invalid
            value or combination.
        DataError: an unreadable config file or an unknown key in it.
    """
    parser = _Parser((ModelArguments, DataTrainingArguments, TradeFMTrainingArguments), prog=prog,
                     description=DESCRIPTION)
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0].endswith(CONFIG_SUFFIXES) and not argv[0].startswith("-"):
        known = {action.dest for action in parser._actions}
        parser.set_defaults(**load_config_file(argv.pop(0), known | set(SHORT_FLAGS), _normalise_keys))
    try:
        *parsed, remaining = parser.parse_args_into_dataclasses(args=argv, return_remaining_strings=True)
    except UsageError:
        raise
    except ValueError as exc:  # a dataclass __post_init__ (ours or TrainingArguments') rejected a value
        raise UsageError(str(exc)) from None
    if remaining:
        raise _unknown_argument(parser, remaining[0])
    return tuple(parsed)


def _unknown_argument(parser: HfArgumentParser, token: str) -> UsageError:
    if not token.startswith("-"):
        if token.endswith(CONFIG_SUFFIXES):
            return UsageError(f"{token}: a config file must be the first argument")
        return UsageError(f"{token}: unexpected argument")
    flag = token.split("=", 1)[0]
    return UsageError(f"{flag}: unknown flag{did_you_mean(flag, parser._option_string_actions)}")


# ---------------------------------------------------------------------------------------------
# data
# ---------------------------------------------------------------------------------------------
def _files_key(files: Sequence[str], extra: dict) -> str:
    h = hashlib.sha256()
    for f in files:
        st = os.stat(f)
        h.update(f"{os.path.abspath(f)}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    h.update(json.dumps(extra, sort_keys=True, default=str).encode())
    h.update(code_hash().encode())
    return h.hexdigest()[:20]


def _tokenizer_from(path: str):
    """A tokenizer from its own folder, or from a checkpoint's ``config.json`` ``tokenizer_config``."""
    cfg = Path(path) / "config.json"
    if cfg.exists():
        state = json.loads(cfg.read_text()).get("tokenizer_config")
        if state:
            return TradeFMTokenizer.from_dict(state)
    return TradeFMTokenizer.from_pretrained(path)


def _data_files(data_args: DataTrainingArguments) -> tuple[list[str], list[str]]:
    """The ``--data`` and ``--validation_data`` files, globs expanded (DataError names a pattern matching nothing)."""
    if not data_args.data:
        raise UsageError("--data: required (paths, globs or a list of MBO / LOBSTER files)")
    files = [str(p) for p in expand_paths(data_args.data)]
    val_files = [str(p) for p in expand_paths(data_args.validation_data)] if data_args.validation_data else []
    return files, val_files


def plan_and_calibrate(
    data_args: DataTrainingArguments,
    training_args: TrainingArguments,
    files: list[str],
    val_files: list[str],
    tokenizer: TradeFMTokenizer | None = None,
) -> tuple[SplitPlan, dict, TradeFMTokenizer]:
    """Scan the sessions, plan the splits and calibrate the tokenizer (unless one is given), once for all ranks.

    The plan and the calibrated tokenizer are cached under the datasets cache, keyed by the files
    (path, size, mtime), the split/feature options and the code, so that other ranks (and re-runs)
    load them instead of re-reading every file.

    Returns:
        ``(plan, adv_history, tokenizer)``.
    """
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
    tokenizer_options = data_args.json_option("tokenizer_options")
    if tokenizer_options:  # only then: the cache key of a paper-mode run stays what it was
        options["tokenizer_options"] = tokenizer_options
    cache_root = Path(data_args.dataset_cache_dir or datasets.config.HF_DATASETS_CACHE) / "tradefm_plans"
    cache_file = cache_root / f"{_files_key(files + val_files, options)}.json"

    with training_args.main_process_first(desc="scan sessions, plan splits, calibrate the tokenizer"):
        cached = json.loads(cache_file.read_text()) if cache_file.exists() else None
        if cached is not None:
            plan = SplitPlan.from_dict(cached["plan"])
            adv_history = cached["adv_history"]
            logger.info("loaded split plan and tokenizer calibration from %s", cache_file)
        else:
            plan, adv_history = _plan(data_args, files, val_files, read_options, feature_config)
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
                    tokenizer_kwargs=tokenizer_options,
                )
                cached["tokenizer"] = tokenizer.to_dict()
        if training_args.should_save and not cache_file.exists():
            cache_root.mkdir(parents=True, exist_ok=True)
            tmp = cache_file.with_suffix(f".tmp{os.getpid()}")
            tmp.write_text(json.dumps(cached, default=str))
            os.replace(tmp, cache_file)  # atomic: another rank never reads half a file
    return plan, adv_history, tokenizer


def _plan(data_args, files, val_files, read_options, feature_config) -> tuple[SplitPlan, dict]:
    """The split plan and the daily volumes (ADV history) of every session."""
    sessions = scan_sessions(files, read_options, feature_config)
    if val_files:
        val_sessions = scan_sessions(val_files, read_options, feature_config)
        plan = plan_splits(sessions, data_args.calib_days, 0, "none")
        plan.mode = "explicit"
        plan.val_dates = sorted({s.date for s in val_sessions})
        plan.val_files = val_files
        sessions = sessions + val_sessions
    else:
        plan = plan_splits(sessions, data_args.calib_days, data_args.val_days, data_args.val_mode, data_args.val_fraction)
    return plan, adv_history_of(sessions)


def build_datasets(
    data_args: DataTrainingArguments,
    training_args: TrainingArguments,
    plan: SplitPlan,
    adv_history: dict,
    tokenizer: TradeFMTokenizer,
    val_files: list[str],
):
    """The train and (possibly ``None``) eval datasets of the plan, holding only the model's inputs.

    Streaming shuffles the training windows with a fixed seed and, with ``dispatch_batches=False``
    on several ranks, hands each rank its own files.
    """
    builder_cfg = dict(
        tokenizer_config=tokenizer.to_dict(),
        feature_config=data_args.json_option("feature_config"),
        read_options=data_args.json_option("read_options"),
        adv_history=adv_history,
        context_length=data_args.context_length,
        stride=data_args.stride,
        last_window=data_args.last_window,
        **plan.builder_kwargs(),
    )
    if plan.mode == "explicit":
        builder_cfg["split_dates"] = {"train": plan.train_dates, "validation": plan.val_dates}
    data_files = plan.data_files() if plan.mode != "explicit" else {"train": plan.train_files, "validation": val_files}
    with training_args.main_process_first(desc="tokenize and window the sessions"):
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
    train = _truncate(train, data_args.max_train_samples, data_args.streaming)
    if evald is not None:
        evald = _truncate(evald, data_args.max_eval_samples, data_args.streaming)
    # Only the forward() inputs reach the collator; torch format skips Python lists entirely.
    train = train.select_columns(MODEL_INPUTS).with_format("torch")
    if evald is not None:
        evald = evald.select_columns(MODEL_INPUTS).with_format("torch")
    return train, evald


def _truncate(ds, n: int | None, streaming: bool):
    if n is None:
        return ds
    return ds.take(n) if streaming else ds.select(range(min(n, len(ds))))


def data_card(data_args: DataTrainingArguments, plan: SplitPlan, n_files: int, train, evald) -> dict[str, Any]:
    """The data summary written into every model card."""
    card = {
        "files": n_files,
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
        card["train_windows"] = len(train)
        if evald is not None:
            card["validation_windows"] = len(evald)
    return card


def prepare_data(
    data_args: DataTrainingArguments,
    training_args: TrainingArguments,
    tokenizer: TradeFMTokenizer | None = None,
) -> dict[str, Any]:
    """Expand the files, plan the splits, calibrate (unless given a tokenizer), and build the datasets.

    Returns:
        dict with ``tokenizer``, ``plan`` (:class:`SplitPlan`), ``train`` and ``eval`` datasets
        (``eval`` may be None) and ``data_card`` (a summary for the model card).
    """
    files, val_files = _data_files(data_args)
    plan, adv_history, tokenizer = plan_and_calibrate(data_args, training_args, files, val_files, tokenizer)
    train, evald = build_datasets(data_args, training_args, plan, adv_history, tokenizer, val_files)
    card = data_card(data_args, plan, len(files) + len(val_files), train, evald)
    return {"tokenizer": tokenizer, "plan": plan, "train": train, "eval": evald, "data_card": card}


# ---------------------------------------------------------------------------------------------
# model
# ---------------------------------------------------------------------------------------------
def build_model(model_args: ModelArguments, data_args: DataTrainingArguments, tokenizer):
    """A TradeFM model from a preset / config file (from scratch) or a checkpoint, tokenizer attached."""
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
        if config.context_fields is None and tokenizer.context_fields != config.context_field_names:
            # a book-aware tokenizer on a paper-layout preset: the model takes the tokenizer's tables
            config.set_context_fields(tokenizer.context_fields, tokenizer.field_vocab_sizes)
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


# ---------------------------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------------------------
def setup_logging(training_args: TrainingArguments) -> None:
    """run_clm.py's logging block, quieter by default: ``--log_level info`` shows the arguments and the Trainer's logs.

    run_clm.py raises transformers to info on the main process, which prints every
    ``TrainingArguments`` field (over 100 lines) before anything happens; here the default
    (``--log_level passive``) keeps transformers' own level, warnings.
    """
    logging.basicConfig(
        format="%(asctime)s - %(levelname)s - %(name)s - %(message)s",
        datefmt="%m/%d/%Y %H:%M:%S",
        handlers=[logging.StreamHandler(sys.stdout)],
    )
    log_level = training_args.get_process_log_level()
    logger.setLevel(log_level)
    logging.getLogger("modeling_tradefm").setLevel(log_level)
    datasets.utils.logging.set_verbosity(log_level)
    transformers.utils.logging.set_verbosity(log_level)
    transformers.utils.logging.enable_default_handler()
    transformers.utils.logging.enable_explicit_format()
    logger.info(
        "Process rank: %s, device: %s, n_gpu: %s, distributed training: %s, bf16: %s, fp16: %s",
        training_args.local_process_index, training_args.device, training_args.n_gpu,
        training_args.parallel_mode.value == "distributed", training_args.bf16, training_args.fp16,
    )  # fmt: skip
    logger.info("Training/evaluation parameters %s", training_args)


def train(
    model_args: ModelArguments,
    data_args: DataTrainingArguments,
    training_args: TradeFMTrainingArguments,
    callbacks: Sequence[TrainerCallback] | None = None,
) -> dict[str, float]:
    """Run training (+ evaluation) with parsed arguments; returns the final metrics.

    Args:
        model_args, data_args, training_args: from :func:`parse_args`.
        callbacks: extra ``TrainerCallback``s (run after the checkpoint callback).
    """
    setup_logging(training_args)
    if data_args.streaming and training_args.max_steps <= 0:
        raise UsageError("--streaming needs --max_steps > 0 (a streamed dataset has no length to count epochs by)")
    try:
        resume = resolve_resume(training_args.resume_from_checkpoint, training_args.output_dir)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
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


def main(argv: Sequence[str] | None = None, callbacks: Sequence[TrainerCallback] | None = None) -> dict[str, float]:
    """Parse ``argv`` and train; returns the final metrics (the Python entry point: errors are raised).

    Args:
        argv: command-line arguments (default ``sys.argv[1:]``).
        callbacks: extra ``TrainerCallback``s (run after the checkpoint callback).
    """
    return train(*parse_args(argv), callbacks=callbacks)


def run(argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    """The command-line entry point (``run_clm_tradefm.py``, ``tradefm train``): exit status 0, or 2 on bad input.

    A bad flag, config key, argument combination or data file ends as one ``error: <flag or file>:
    <problem>`` line on stderr, as every ``tradefm`` command; other failures keep their traceback.
    """
    try:
        train(*parse_args(argv, prog=prog))
    except (UsageError, DataError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except FileNotFoundError as exc:
        print(f"error: {exc.filename or exc}: no such file", file=sys.stderr)
        return 2
    return 0


__all__ = [
    "DataTrainingArguments",
    "HubCheckpointCallback",
    "ModelArguments",
    "TokenMetrics",
    "TradeFMTrainer",
    "TradeFMTrainingArguments",
    "UsageError",
    "build_datasets",
    "build_model",
    "data_card",
    "main",
    "parse_args",
    "plan_and_calibrate",
    "prepare_data",
    "preprocess_logits_for_metrics",
    "resolve_resume",
    "run",
    "setup_logging",
    "train",
]
