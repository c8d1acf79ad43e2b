# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""The command line of ``run_clm_tradefm.py`` / ``tradefm train``: three argument dataclasses and their parser.

As in run_clm.py: :class:`ModelArguments`, :class:`DataTrainingArguments` and
``TrainingArguments`` (here :class:`TradeFMTrainingArguments`, with the seed's short flags as
aliases and TradeFM's defaults), parsed by ``HfArgumentParser``; a ``.json`` / ``.yaml`` config file
may come first, flags after it override it. Re-exported by :mod:`modeling_tradefm.training`.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from transformers import HfArgumentParser, TrainingArguments

from .resources import did_you_mean, load_config_file

MODEL_SIZES = ("tiny", "125M", "250M", "500M")
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
        metadata={
            "help": "Stream windows straight from the raw files instead of preparing Arrow (needs --max_steps, "
            "except per-rank streaming: --accelerator_config '{\"dispatch_batches\": false}' on several processes)."
        },
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


__all__ = [
    "CONFIG_SUFFIXES",
    "DESCRIPTION",
    "MODEL_SIZES",
    "SHORT_FLAGS",
    "DataTrainingArguments",
    "ModelArguments",
    "TradeFMTrainingArguments",
    "UsageError",
    "parse_args",
]
