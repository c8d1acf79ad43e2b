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
differs: raw MBO / LOBSTER files go through the TradeFM builder (``modeling_tradefm.data``):
sessions are scanned, a tokenizer is calibrated on the first ``--calib-days`` dates and frozen, and
windows of ``--context-length`` tokens are cut per ``(instrument, date)`` session (no
``group_texts``: windows never mix sessions).

This file is the example script; the code is the package's (``modeling_tradefm.training``), and an
installed package runs the same with ``tradefm train`` (same flags).

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

Errors: a mistyped flag, a bad value, an unknown config key or a data pattern that matches no file
ends as one line ``error: <flag or file>: <problem>`` (a mistyped flag with the closest one) and
exit status 2. Logging: warnings only by default; ``--log_level info`` also prints the arguments and
the Trainer's progress logs (run_clm.py's default).

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

import sys

from transformers.utils import check_min_version

from modeling_tradefm.training import main, run

check_min_version("5.24.0")

__all__ = ["main", "run"]

if __name__ == "__main__":
    sys.exit(run())
