# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""Estimated training speed, memory and duration of the TradeFM presets on H100s (docs/training.md's table).

An estimate from the model configuration, not a measurement:

* **FLOPs per token** (training: forward + backward) = 6 · N_matmul + 12 · L · d_attn · T (PaLM,
  appendix B), N_matmul = parameters inside a matmul (decoder, embedding projection, output head;
  ``bench_model.matmul_params``), d_attn = heads x head_dim, T = 1,024.
* **tokens/s** = MFU x peak / FLOPs per token, at 40 % MFU of an H100 SXM's 989 TFLOP/s dense bf16;
  8 GPUs = 8x one (data parallel, communication assumed hidden behind the backward pass).
* **days** for the paper's training tokens x 4 epochs. PAPER.md: "over 19 billion tokens" is the whole
  data set, of which 10.7B train (Feb-Dec 2024) and 8.7B are the temporal hold-out (Jan 2025 on),
  never trained on; so 10.7B x 4 = 42.8B tokens (19B x 4 would be 1.78x longer).
* **memory per GPU** at our paper-like micro-batch (24 windows x 1,024 tokens; the paper gives no
  batch size): bf16 autocast over fp32 weights with AdamW = 16 bytes per parameter (weights 4, grads
  4, two moments 8), + 4 for DDP's gradient buckets; FSDP (full shard over the GPUs) divides the 16 by
  the GPU count and adds two all-gathered bf16 layers. Activations saved for the backward, per token
  and layer, in bf16 (SDPA / flash attention: no T x T scores): the attention block's input, normed
  input, q, k, v and attention output, and the SwiGLU block's input, normed input, gate, up,
  SiLU(gate) and product; plus the concatenated field embeddings, and the head's logits (bf16), their
  fp32 copy for the loss and its gradient (10 bytes x 16,384 per token). No activation checkpointing;
  add 10-20 % for the allocator and the CUDA context.

Run ``python benchmarks/estimate_training.py`` to print the markdown table (docs/training.md holds its
output; tests/test_distributed.py checks that the two agree).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_model import matmul_params  # noqa: E402

from modeling_tradefm.configuration_tradefm import TradeFMConfig  # noqa: E402

SIZES = ("125M", "250M", "500M")
H100_BF16_TFLOPS = 989.0  # H100 SXM, dense bf16 tensor cores
MFU = 0.40
TRAIN_TOKENS = 10.7e9  # PAPER.md: training split (the 19B include the 8.7B temporal hold-out)
EPOCHS = 4
MICRO_BATCH = 24  # windows per GPU per micro-batch (our paper-like default)
CONTEXT = 1024
GIB = 2**30


@dataclass
class Estimate:
    size: str
    params: int
    flops_per_token: float
    gpus: int
    tokens_per_s: float
    days: float
    ddp_gib: float
    fsdp_gib: float


def load_config(size: str) -> TradeFMConfig:
    """The shipped ``configs/model/tradefm-{size}.json``, checked against the preset of the same name."""
    config = TradeFMConfig.from_json_file(str(ROOT / "configs" / "model" / f"tradefm-{size}.json"))
    preset = TradeFMConfig.from_preset(size)
    for key in ("num_hidden_layers", "hidden_size", "num_attention_heads", "num_key_value_heads", "intermediate_size",
                "vocab_size", "field_embed_dims"):  # fmt: skip
        if getattr(config, key) != getattr(preset, key):
            raise ValueError(f"configs/model/tradefm-{size}.json: {key} differs from the {size} preset")
    return config


def count_params(config: TradeFMConfig) -> int:
    """Parameters of the model, counted on the meta device (no memory)."""
    import torch

    from modeling_tradefm.modeling_tradefm import TradeFMForCausalLM

    with torch.device("meta"):
        model = TradeFMForCausalLM(config)
    return sum(p.numel() for p in model.parameters())


def flops_per_token(config: TradeFMConfig, context: int = CONTEXT) -> float:
    """Training FLOPs per token: 6 N_matmul + 12 L d_attn T."""
    d_attn = config.num_attention_heads * config.head_dim
    return 6.0 * matmul_params(config) + 12.0 * config.num_hidden_layers * d_attn * context


def activation_bytes_per_token(config: TradeFMConfig) -> float:
    """Bytes saved for the backward pass per token (see the module docstring), no checkpointing."""
    h, i = config.hidden_size, config.intermediate_size
    q = config.num_attention_heads * config.head_dim
    kv = config.num_key_value_heads * config.head_dim
    per_layer = 2 * (2 * h + q + 2 * kv + q + 2 * h + 4 * i)  # bf16: attention block, then the MLP block
    embed = 2 * sum(config.field_embed_dims)  # concatenated field embeddings feeding the projection
    head = 10 * config.vocab_size  # bf16 logits + fp32 copy + fp32 gradient
    return config.num_hidden_layers * per_layer + embed + head


def memory_gib(config: TradeFMConfig, params: int, gpus: int, fsdp: bool, micro_batch: int = MICRO_BATCH) -> float:
    """Estimated peak memory per GPU (GiB) under DDP or FSDP full sharding."""
    activations = activation_bytes_per_token(config) * micro_batch * CONTEXT
    if fsdp:
        layer = params / config.num_hidden_layers
        states = 16 * params / gpus + 2 * 2 * layer  # shards + two gathered bf16 layers (current, prefetched)
    else:
        states = (16 + 4) * params  # + DDP's gradient buckets
    return (states + activations) / GIB


def estimate(size: str, gpus: int) -> Estimate:
    config = load_config(size)
    params = count_params(config)
    fpt = flops_per_token(config)
    tps = gpus * MFU * H100_BF16_TFLOPS * 1e12 / fpt
    return Estimate(
        size=size, params=params, flops_per_token=fpt, gpus=gpus, tokens_per_s=tps,
        days=TRAIN_TOKENS * EPOCHS / tps / 86400,
        ddp_gib=memory_gib(config, params, gpus, fsdp=False), fsdp_gib=memory_gib(config, params, gpus, fsdp=True),
    )  # fmt: skip


def table() -> str:
    """The markdown table of docs/training.md (estimate)."""
    lines = [
        "| model | parameters | GFLOP / token | H100s | tokens/s at 40 % MFU | days, 10.7B x 4 epochs | GiB / GPU, DDP | GiB / GPU, FSDP |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for size in SIZES:
        for gpus in (1, 8):
            e = estimate(size, gpus)
            lines.append(
                f"| {e.size} | {e.params / 1e6:,.1f}M | {e.flops_per_token / 1e9:.2f} | {e.gpus} | {e.tokens_per_s:,.0f} "
                f"| {e.days:.1f} | {e.ddp_gib:.1f} | {e.fsdp_gib:.1f} |"
            )
    return "\n".join(lines)


def main(argv=None) -> int:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args(argv)
    print(table())
    return 0


if __name__ == "__main__":
    sys.exit(main())
