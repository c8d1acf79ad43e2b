# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""Training a TradeFM causal model with the HF Trainer: data, model, the training run.

The library behind ``run_clm_tradefm.py`` (the run_clm.py-style example script in the repository)
and ``tradefm train`` (the same flags, from an installed package); the script's docstring is the
user guide, docs/training.md the details. Shape of run_clm.py: three argument dataclasses parsed by
``HfArgumentParser`` (:mod:`modeling_tradefm.training_args`, re-exported here), logging, ``set_seed``, data under ``main_process_first``, ``Trainer``, metrics,
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
from dataclasses import replace
from pathlib import Path
from typing import Any

import datasets
import torch
import transformers
from transformers import (
    TrainerCallback,
    TrainingArguments,
    default_data_collator,
    set_seed,
)

from .configuration_tradefm import TradeFMConfig
from .data import (
    RankStream,
    ShareError,
    SplitPlan,
    StreamShares,
    adv_history_of,
    calibrate_tokenizer,
    code_hash,
    load_tradefm_mbo,
    per_rank_streaming,
    plan_splits,
    plan_stream_shares,
    scan_sessions,
    session_tokens_of,
)
from .errors import DataError
from .hub import resolve_folder
from .io import expand_paths
from .modeling_tradefm import TradeFMForCausalLM
from .tokenization_tradefm import TradeFMTokenizer
from .trainer import (
    HubCheckpointCallback,
    TokenMetrics,
    TradeFMTrainer,
    preprocess_logits_for_metrics,
    resolve_resume,
)
from .training_args import (
    DataTrainingArguments,
    ModelArguments,
    TradeFMTrainingArguments,
    UsageError,
    parse_args,
)

logger = logging.getLogger(__name__)

MODEL_INPUTS = ["input_ids", "context_ids", "labels"]


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
        plan.session_tokens.update(session_tokens_of(val_sessions))
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
    shares: StreamShares | None = None,
):
    """The train and (possibly ``None``) eval datasets of the plan, holding only the model's inputs.

    Streaming shuffles the training windows with a fixed seed. With ``shares`` (per-rank
    streaming) this process streams only its own files, ``shares.quota`` windows per dataloader
    worker per epoch (:class:`RankStream`), and the validation windows are prepared (Arrow) instead: a map-style dataset is what
    gives every rank an equal, exact share of them (accelerate pads it evenly and drops the
    padding from the gathered metrics), where file shares of a stream would be uneven.
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
    load = dict(num_proc=data_args.preprocessing_num_workers, cache_dir=data_args.dataset_cache_dir, **builder_cfg)
    seed = training_args.data_seed if training_args.data_seed is not None else training_args.seed
    if shares is not None:
        parts = [
            load_tradefm_mbo({"train": list(files)}, streaming=True, split="train", **load)
            .shuffle(seed=seed, buffer_size=data_args.shuffle_buffer_size)
            .take(shares.quota)
            .select_columns(MODEL_INPUTS)
            .with_format("torch")
            for files in shares.shares[training_args.process_index].parts
        ]
        train = RankStream(parts, shares.quota)  # a known epoch length: epochs and resume as with prepared data
        evald = None
        if data_files.get("validation"):
            with training_args.main_process_first(desc="tokenize and window the validation sessions"):
                evald = load_tradefm_mbo({"validation": data_files["validation"]}, split="validation", **load)
    else:
        with training_args.main_process_first(desc="tokenize and window the sessions"):
            dsets = load_tradefm_mbo(data_files, streaming=data_args.streaming, **load)
        train, evald = dsets["train"], dsets.get("validation")
        if data_args.streaming:
            # Several ranks: accelerate dispatches the batches from rank 0 (dispatch_batches, its default).
            train = train.shuffle(seed=seed, buffer_size=data_args.shuffle_buffer_size)
        train = _truncate(train, data_args.max_train_samples, data_args.streaming)
    if evald is not None:
        evald = _truncate(evald, data_args.max_eval_samples, isinstance(evald, datasets.IterableDataset))
    # Only the forward() inputs reach the collator; torch format skips Python lists entirely.
    if shares is None:
        train = train.select_columns(MODEL_INPUTS).with_format("torch")
    if evald is not None:
        evald = evald.select_columns(MODEL_INPUTS).with_format("torch")
    return train, evald


def _truncate(ds, n: int | None, streaming: bool):
    if n is None:
        return ds
    return ds.take(n) if streaming else ds.select(range(min(n, len(ds))))


def data_card(
    data_args: DataTrainingArguments, plan: SplitPlan, n_files: int, train, evald, shares: StreamShares | None = None
) -> dict[str, Any]:
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
    if evald is not None and not isinstance(evald, datasets.IterableDataset):
        card["validation_windows"] = len(evald)
    if shares is not None:
        card.update(shares.card())
    return card


def prepare_data(
    data_args: DataTrainingArguments,
    training_args: TrainingArguments,
    tokenizer: TradeFMTokenizer | None = None,
) -> dict[str, Any]:
    """Expand the files, plan the splits, calibrate (unless given a tokenizer), and build the datasets.

    Returns:
        dict with ``tokenizer``, ``plan`` (:class:`SplitPlan`), ``train`` and ``eval`` datasets
        (``eval`` may be None), ``data_card`` (a summary for the model card) and ``shares``
        (:class:`StreamShares` under per-rank streaming, else None).
    """
    files, val_files = _data_files(data_args)
    plan, adv_history, tokenizer = plan_and_calibrate(data_args, training_args, files, val_files, tokenizer)
    shares = None
    if per_rank_streaming(data_args, training_args):
        try:
            shares = plan_stream_shares(data_args, training_args, plan)
        except ShareError as exc:
            raise UsageError(str(exc)) from None
    train, evald = build_datasets(data_args, training_args, plan, adv_history, tokenizer, val_files, shares)
    card = data_card(data_args, plan, len(files) + len(val_files), train, evald, shares)
    return {"tokenizer": tokenizer, "plan": plan, "train": train, "eval": evald, "data_card": card, "shares": shares}


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
    if data_args.streaming and training_args.max_steps <= 0 and not per_rank_streaming(data_args, training_args):
        raise UsageError(
            "--streaming needs --max_steps > 0 (a streamed dataset has no length to count epochs by; per-rank "
            "streaming, dispatch_batches=false, has one)"
        )
    try:
        resume = resolve_resume(training_args.resume_from_checkpoint, training_args.output_dir)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    training_args.resume_from_checkpoint = resume

    # The tokenizer is frozen for the life of a model: a resumed or continued run reuses it. A Hub id
    # is fetched into the cache first, so that its tokenizer is found as a local folder's is (not
    # silently recalibrated), and the model is loaded from that same snapshot.
    hub = dict(cache_dir=model_args.cache_dir, token=model_args.token)
    tokenizer_source = data_args.tokenizer_name_or_path and resolve_folder(data_args.tokenizer_name_or_path, **hub)
    model_source = model_args.model_name_or_path and resolve_folder(
        model_args.model_name_or_path, revision=model_args.model_revision, **hub)
    tokenizer = None
    for source in (tokenizer_source, resume, model_source):
        if source and Path(source).exists():
            tokenizer = _tokenizer_from(source)
            logger.info("tokenizer taken from %s", source)
            break

    set_seed(training_args.seed)
    data = prepare_data(data_args, training_args, tokenizer)
    tokenizer = data["tokenizer"]
    model = build_model(replace(model_args, model_name_or_path=str(model_source)) if model_source else model_args,
                        data_args, tokenizer)

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
    trainer.train_dataset_is_rank_local = data["shares"] is not None

    train_result = trainer.train(resume_from_checkpoint=resume)
    if trainer.is_fsdp_enabled:
        # A sharded state dict would leave output_dir without model.safetensors: gather the final one.
        trainer.accelerator.state.fsdp_plugin.set_state_dict_type("FULL_STATE_DICT")
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
