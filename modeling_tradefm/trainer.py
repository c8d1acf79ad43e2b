# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""TradeFM's parts of the HF ``Trainer``: resume, token metrics, Hub-complete checkpoints, model card.

What the library lacks and :mod:`modeling_tradefm.training` plugs in: ``--resume_from_checkpoint
last`` that passes over a checkpoint torn by a kill, next-token accuracy and perplexity reduced on
the fly (full ``[B, T, 16384]`` logits are never accumulated), and checkpoints that are complete
Hub folders with TradeFM's model card.
"""

from __future__ import annotations

import json
import logging
import math
import os
import tempfile
from pathlib import Path

import numpy as np
import torch
import transformers
from accelerate.data_loader import prepare_data_loader
from torch.utils.data import DataLoader
from transformers import Trainer, TrainerCallback
from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

from .data import IGNORE_INDEX
from .model_card import write_model_card

logger = logging.getLogger(__name__)

CHECKPOINT_FILES = ("config.json", "configuration_tradefm.py", "modeling_tradefm.py", "README.md")
FSDP_SHARDS = "pytorch_model_fsdp_0"  # accelerate's folder of a SHARDED_STATE_DICT model checkpoint (DCP)


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
def complete_sharded_checkpoint(folder: str | os.PathLike, config) -> bool:
    """Add the Hub files to an FSDP ``SHARDED_STATE_DICT`` checkpoint (call on one process).

    Under FSDP with sharded state dicts the Trainer writes the weights only as
    ``pytorch_model_fsdp_0/`` (torch.distributed.checkpoint, one file per rank: what resuming
    needs) and no ``model.safetensors`` or ``config.json``. This merges the shards into one state
    dict and saves it with ``TradeFMForCausalLM.save_pretrained`` next to them (weights, config,
    remote code, generation config), so the checkpoint loads with ``from_pretrained`` too.

    Returns:
        True if the folder was completed, False if it holds no shards or already has its weights.
    """
    from torch.distributed.checkpoint.format_utils import dcp_to_torch_save

    from .modeling_tradefm import TradeFMForCausalLM

    folder = Path(folder)
    if not (folder / FSDP_SHARDS).is_dir() or (folder / "model.safetensors").exists():
        return False
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        dcp_to_torch_save(folder / FSDP_SHARDS, Path(tmp) / "model.pt")
        state = torch.load(Path(tmp) / "model.pt", weights_only=True)
    state = state.get("model", state)  # accelerate saves {"model": state_dict}
    with torch.device("meta"):
        model = TradeFMForCausalLM(config)
    model.load_state_dict(state, strict=True, assign=True)
    model.save_pretrained(folder)
    return True


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
        config = getattr(model, "config", None)
        if config is None:
            config = transformers.AutoConfig.from_pretrained(folder)
        complete_sharded_checkpoint(folder, config)
        write_model_card(folder, config, metrics=_latest_eval_metrics(state.log_history), data=self.data_card)
        missing = [f for f in CHECKPOINT_FILES if not (folder / f).exists()]
        if not any((folder / w).exists() for w in ("model.safetensors", "model.safetensors.index.json")):
            missing.append("model.safetensors")
        if missing:
            logger.warning("checkpoint %s is missing %s: it is not a complete Hub folder", folder, missing)


class TradeFMTrainer(Trainer):
    """``Trainer`` with TradeFM's model card (``push_to_hub`` would otherwise overwrite it) and rank-local training data.

    ``train_dataset_is_rank_local``: the training dataset already holds this process's share only
    (per-rank streaming, :mod:`modeling_tradefm.data.shards`), so the dataloader must not split it
    again. ``accelerator.prepare`` would: a ``datasets.IterableDataset`` with fewer shards than
    processes is wrapped in an ``IterableDatasetShard`` that keeps 1 batch in N of the share (the
    rest silently dropped) and pads the last one with repeats, and one with more shards is
    re-sharded by file.
    """

    data_card: dict | None = None
    train_dataset_is_rank_local: bool = False

    def get_train_dataloader(self) -> DataLoader:
        if not self.train_dataset_is_rank_local or self.args.world_size == 1:
            return super().get_train_dataloader()
        workers = self.args.dataloader_num_workers
        loader = DataLoader(
            self.train_dataset,  # a RankStream: worker i reads part i of this process's share
            batch_size=self._train_batch_size,
            collate_fn=self._get_collator_with_removed_columns(self.data_collator, description="Training"),
            num_workers=workers,
            pin_memory=self.args.dataloader_pin_memory,
            prefetch_factor=self.args.dataloader_prefetch_factor if workers else None,
            multiprocessing_context=self.args.dataloader_multiprocessing_context if workers else None,
        )
        # accelerate's own preparation (device placement, end-of-dataloader tracking for gradient
        # accumulation), as for one process: the share is not split again.
        prepared = prepare_data_loader(
            loader, self.accelerator.device, num_processes=1, process_index=0, put_on_device=True,
            dispatch_batches=False, non_blocking=self.accelerator.non_blocking,
        )  # fmt: skip
        self.accelerator._dataloaders.append(prepared)  # as Accelerator.prepare_data_loader records it
        return prepared

    def create_model_card(self, *args, **kwargs) -> None:
        if not self.is_world_process_zero():
            return
        write_model_card(
            self.args.output_dir,
            self.model.config,
            metrics=_latest_eval_metrics(self.state.log_history),
            data=self.data_card,
        )


__all__ = [
    "CHECKPOINT_FILES",
    "complete_sharded_checkpoint",
    "HubCheckpointCallback",
    "TokenMetrics",
    "TradeFMTrainer",
    "last_complete_checkpoint",
    "preprocess_logits_for_metrics",
    "resolve_resume",
]
