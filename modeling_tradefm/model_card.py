# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""Model card (``README.md``) for a TradeFM checkpoint folder.

Not a Hub file: ``register_tradefm()`` installs ``checkpoint_files.write_checkpoint_files`` (which calls
``write_model_card``) as ``TradeFMPreTrainedModel.model_card_writer`` so that every ``save_pretrained`` (including
the Trainer's checkpoints) refreshes the card. The training and
evaluation scripts call ``write_model_card(dir, config, metrics=..., data=...)`` to add what they know; metrics and
data are kept in a machine-readable JSON block, so a later save without them keeps the earlier ones.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from .sampling import SamplingConfig

_BLOCK_RE = re.compile(r"<!-- tradefm-card-data\n(.*?)\n-->", re.DOTALL)


def _count_parameters(config: Any) -> int:
    """Parameter count implied by ``config`` (closed form; mirrors ``modeling_tradefm.py``)."""
    h, inter, n_layers = config.hidden_size, config.intermediate_size, config.num_hidden_layers
    hd = config.head_dim
    q, kv = config.num_attention_heads * hd, config.num_key_value_heads * hd
    attn = h * q + 2 * h * kv + q * h + (q + 2 * kv + h if config.attention_bias else 0)
    mlp = 3 * h * inter + (2 * inter + h if config.mlp_bias else 0)
    per_layer = attn + mlp + 2 * h
    embed = sum(n * d for n, d in zip(config.field_vocab_sizes, config.field_embed_dims, strict=True))
    embed += sum(config.field_embed_dims) * h
    return embed + n_layers * per_layer + h + h * config.vocab_size


def _read_block(readme: Path) -> dict:
    if not readme.exists():
        return {}
    match = _BLOCK_RE.search(readme.read_text(encoding="utf-8"))
    if not match:
        return {}
    try:
        return json.loads(match.group(1))
    except json.JSONDecodeError:
        return {}


def _table(rows: dict) -> list[str]:
    lines = ["| key | value |", "|---|---|"]
    for key, value in rows.items():
        if isinstance(value, float):
            value = f"{value:.6g}"
        elif isinstance(value, (dict, list)):
            value = json.dumps(value)
        lines.append(f"| {key} | {value} |")
    return lines


def render_model_card(config: Any, metrics: dict | None = None, data: dict | None = None) -> str:
    """Markdown text of the model card.

    Args:
        config: a ``TradeFMConfig``.
        metrics: evaluation figures (e.g. ``{"eval_loss": ..., "perplexity": ...}``), or None.
        data: description of the training data (e.g. ``{"sources": [...], "sessions": ..., "tokens": ...}``).

    Returns:
        The README.md text (YAML front matter, architecture, input convention, tokenizer, data, metrics).
    """
    n_params = _count_parameters(config)
    arch = {
        "parameters": f"{n_params:,}",
        "layers": config.num_hidden_layers,
        "hidden_size": config.hidden_size,
        "heads (query:KV)": f"{config.num_attention_heads}:{config.num_key_value_heads}",
        "head_dim": config.head_dim,
        "FFN (SwiGLU)": config.intermediate_size,
        "vocab_size (trade tokens)": config.vocab_size,
        "field_vocab_sizes": config.field_vocab_sizes,
        "field_embed_dims": config.field_embed_dims,
        "default_context_ids": config.default_context_ids,
        "context length (events)": config.max_position_embeddings,
        "rope_parameters": config.rope_parameters,
    }
    lines = [
        "---",
        "library_name: transformers",
        "license: apache-2.0",
        "pipeline_tag: time-series-forecasting",
        "tags:",
        "- tradefm",
        "- market-microstructure",
        "- order-flow",
        "- limit-order-book",
        "---",
        "",
        "# TradeFM",
        "",
        "A generative decoder-only Transformer of Level-3 order flow (replication of arXiv 2602.23784, "
        "\"TradeFM: A Generative Foundation Model for Trade-flow and Market Microstructure\").",
        "",
        "```python",
        "from transformers import AutoModelForCausalLM",
        "model = AutoModelForCausalLM.from_pretrained(path, trust_remote_code=True)",
        "out = model(input_ids=input_ids, context_ids=context_ids)  # [B, T] and [B, T, 3]",
        "new = model.generate(input_ids, context_ids=context_ids, max_new_tokens=256)  # samples, see below",
        "```",
        "",
        "## Inputs",
        "",
        "- `input_ids [B, T]`: composite trade tokens `a·8192 + s·4096 + δp·256 + v·16 + Δt` "
        "(action add/cancel, side, price-depth bin, volume bin, inter-arrival bin).",
        "- `context_ids [B, T, 3]`: (liquidity tier 0..2, price-level-change Δp bin 0..31, participant flag 0..1).",
        "- Context rule: `context_ids[t]` is the market state right after event `t`; `logits[t]` predicts "
        "`input_ids[t + 1]`.",
        "",
        "## Generating",
        "",
        "`generate()` samples with this folder's `generation_config.json`, the settings the TradeFM package's "
        "rollouts read too (written from its defaults, repetition penalty "
        f"{SamplingConfig().repetition_penalty} and plain temperature-1 sampling, unless set otherwise). It is open "
        "loop: a generated position's context is the last `context_ids` row given (pass `context_ids` longer than "
        "the prompt to set future rows; without `context_ids`, every row is `default_context_ids`), as no book "
        "moves. Closed-loop rollouts, where every order meets a simulated order book that sets the next context, "
        "are the package's `tradefm generate`.",
        "",
        "## Architecture",
        "",
        *_table(arch),
        "",
    ]
    tok = config.tokenizer_config
    lines += ["## Tokenizer", ""]
    if tok:
        summary = {k: v for k, v in tok.items() if not isinstance(v, (list, dict))}
        lines += [
            "The frozen tokenizer is in this folder as Hub files (`tokenizer_config.json`, `tradefm_tokenizer.json`, "
            "`tokenization_tradefm.py`, which needs only numpy) and, as before, in `config.json` under "
            "`tokenizer_config`:",
            "",
            "```python",
            "from transformers import AutoTokenizer",
            "tokenizer = AutoTokenizer.from_pretrained(path, trust_remote_code=True)",
            "enc = tokenizer(features, return_tensors=\"pt\")  # features: one session's SessionFeatures.columns()",
            "orders = tokenizer.decode_fields(enc[\"input_ids\"], seed=0)  # action, side, price_depth, size, dt",
            "```",
            "",
        ]
        if summary:
            lines += [*_table(summary), ""]
    else:
        lines += ["No tokenizer state in this checkpoint (`tokenizer_config` is null): untrained or test model.", ""]
    lines += ["## Training data", ""]
    lines += [*_table(data), ""] if data else ["Not recorded.", ""]
    lines += ["## Metrics", ""]
    lines += [*_table(metrics), ""] if metrics else ["Not evaluated yet.", ""]
    block = json.dumps({"metrics": metrics, "data": data}, sort_keys=True, default=str)
    lines += [f"<!-- tradefm-card-data\n{block}\n-->", ""]
    return "\n".join(lines)


def write_model_card(
    save_directory: str | Path, config: Any, metrics: dict | None = None, data: dict | None = None
) -> Path:
    """Write ``README.md`` into a checkpoint folder.

    Metrics/data not given are taken from the card already in the folder, if any, so routine re-saves (Trainer
    checkpoints) keep what the training or evaluation script recorded.

    Args:
        save_directory: the checkpoint folder.
        config: a ``TradeFMConfig``.
        metrics: evaluation figures, or None to keep the existing ones.
        data: training-data description, or None to keep the existing one.

    Returns:
        Path of the written README.md.
    """
    readme = Path(save_directory) / "README.md"
    previous = _read_block(readme)
    metrics = metrics if metrics is not None else previous.get("metrics")
    data = data if data is not None else previous.get("data")
    readme.parent.mkdir(parents=True, exist_ok=True)
    readme.write_text(render_model_card(config, metrics=metrics, data=data), encoding="utf-8")
    return readme


__all__ = ["render_model_card", "write_model_card"]
