# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""Model throughput: TradeFM vs transformers' LlamaForCausalLM with the same shapes, measured in the same run.

Two measurements per case, each as a ratio TradeFM / Llama (targets from DESIGN.md §4):

* train step (forward + backward + AdamW step) tokens/s — target >= 1.0x;
* cached decoding tokens/s: prefill, then one event per step for a batch of sequences with a ``DynamicCache``
  (the closed-loop rollout's call pattern: ``forward`` with ``cache``, ``use_cache=True``) — target
  >= 0.9x.

"Same shapes": the Llama twin has the same layers, width, heads, KV heads, FFN and vocabulary; it differs only
in its input embedding (one ``vocab x hidden`` table instead of TradeFM's four tables + projection), which is the
cost TradeFM has to absorb. Repeats are interleaved (TradeFM, Llama, TradeFM, ...) and the median is reported,
to fight noise on shared machines.

On CUDA, ``--mfu`` also reports bf16 model-FLOPs utilisation of the training step (6·N_matmul + 12·L·d·T FLOPs per
token, PaLM appendix B) against ``--peak-tflops`` (default: 989 for H100 SXM dense bf16).

Examples::

    python benchmarks/bench_model.py                          # CPU: tiny + short 125M case
    python benchmarks/bench_model.py --device cuda --dtype bf16 --cases 125M --batch 8 --seq 1024 --mfu
"""

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from transformers import DynamicCache, LlamaConfig, LlamaForCausalLM  # noqa: E402

from modeling_tradefm.configuration_tradefm import TradeFMConfig  # noqa: E402
from modeling_tradefm.modeling_tradefm import TradeFMForCausalLM  # noqa: E402

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16}


def llama_twin(config: TradeFMConfig) -> LlamaConfig:
    """A LlamaConfig with the same decoder and vocabulary as ``config``."""
    return LlamaConfig(
        vocab_size=config.vocab_size,
        hidden_size=config.hidden_size,
        intermediate_size=config.intermediate_size,
        num_hidden_layers=config.num_hidden_layers,
        num_attention_heads=config.num_attention_heads,
        num_key_value_heads=config.num_key_value_heads,
        head_dim=config.head_dim,
        max_position_embeddings=config.max_position_embeddings,
        rms_norm_eps=config.rms_norm_eps,
        rope_parameters=dict(config.rope_parameters),
        tie_word_embeddings=False,
        bos_token_id=None,
        eos_token_id=None,
    )


def make_inputs(config: TradeFMConfig, batch: int, seq: int, device: str, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(0, config.vocab_size, (batch, seq), generator=g)
    ctx = torch.stack([torch.randint(0, n, (batch, seq), generator=g) for n in config.field_vocab_sizes[1:]], -1)
    return ids.to(device), ctx.to(device)


def sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def train_runner(model, kind: str, ids, ctx, lr: float = 1e-4):
    """A closure doing ``steps`` optimizer steps; returns seconds."""
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    device = ids.device.type

    def run(steps: int) -> float:
        sync(device)
        start = time.perf_counter()
        for _ in range(steps):
            if kind == "tradefm":
                loss = model(input_ids=ids, context_ids=ctx, labels=ids, use_cache=False).loss
            else:
                loss = model(input_ids=ids, labels=ids, use_cache=False).loss
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
        sync(device)
        return time.perf_counter() - start

    return run


def decode_runner(model, kind: str, ids, ctx, prefill: int):
    """A closure: prefill ``prefill`` positions, then ``steps`` single-position cached forwards; returns seconds
    of the decoding steps only."""
    model.eval()
    device = ids.device.type

    @torch.no_grad()
    def run(steps: int) -> float:
        cache = DynamicCache(config=model.config)
        extra = {"context_ids": ctx[:, :prefill]} if kind == "tradefm" else {}
        out = model(input_ids=ids[:, :prefill], cache=cache, use_cache=True, logits_to_keep=1, **extra)
        sync(device)
        start = time.perf_counter()
        for t in range(prefill, prefill + steps):
            extra = {"context_ids": ctx[:, t : t + 1]} if kind == "tradefm" else {}
            out = model(input_ids=ids[:, t : t + 1], cache=out.cache, use_cache=True, **extra)
            # the rollout samples from the last logits every step; argmax keeps the data dependency
            out.logits[:, -1].argmax(-1)
        sync(device)
        return time.perf_counter() - start

    return run


def interleaved(runners: dict, steps: int, repeats: int, warmup: int) -> dict:
    """Median seconds per call of each runner, alternating runners on every repeat."""
    for run in runners.values():
        run(warmup)
    times = {name: [] for name in runners}
    for _ in range(repeats):
        for name, run in runners.items():
            times[name].append(run(steps))
    return {name: statistics.median(ts) for name, ts in times.items()}


def matmul_params(config: TradeFMConfig) -> int:
    """Parameters that take part in a matmul per token (decoder + head + embedding projection; no lookups)."""
    h, hd = config.hidden_size, config.head_dim
    q, kv = config.num_attention_heads * hd, config.num_key_value_heads * hd
    per_layer = h * q + 2 * h * kv + q * h + 3 * h * config.intermediate_size
    return config.num_hidden_layers * per_layer + h * config.vocab_size + sum(config.field_embed_dims) * h


def bench_case(name: str, args) -> dict:
    overrides = {"max_position_embeddings": max(args.seq, args.prefill + args.decode_steps)}
    config = TradeFMConfig.from_preset(name, **overrides)
    dtype = DTYPES[args.dtype]
    torch.manual_seed(0)
    ours = TradeFMForCausalLM(config).to(args.device, dtype)
    llama = LlamaForCausalLM(llama_twin(config)).to(args.device, dtype)
    for model in (ours, llama):
        model.config._attn_implementation = args.attn
    batch, seq = (args.batch, args.seq) if name != "tiny" else (args.tiny_batch, args.tiny_seq)
    ids, ctx = make_inputs(config, batch, seq, args.device)
    train = interleaved(
        {"tradefm": train_runner(ours, "tradefm", ids, ctx), "llama": train_runner(llama, "llama", ids, None)},
        steps=args.train_steps if name != "tiny" else args.train_steps * 4,
        repeats=args.repeats,
        warmup=1,
    )
    n_train = (args.train_steps if name != "tiny" else args.train_steps * 4) * batch * seq
    dec_ids, dec_ctx = make_inputs(config, args.decode_batch, args.prefill + args.decode_steps, args.device, seed=1)
    decode = interleaved(
        {
            "tradefm": decode_runner(ours, "tradefm", dec_ids, dec_ctx, args.prefill),
            "llama": decode_runner(llama, "llama", dec_ids, None, args.prefill),
        },
        steps=args.decode_steps,
        repeats=args.repeats,
        warmup=4,
    )
    n_dec = args.decode_steps * args.decode_batch
    result = {
        "case": name,
        "params_tradefm": sum(p.numel() for p in ours.parameters()),
        "params_llama": sum(p.numel() for p in llama.parameters()),
        "train_shape": [batch, seq],
        "train_tok_s": {k: n_train / v for k, v in train.items()},
        "train_ratio": train["llama"] / train["tradefm"],
        "decode_shape": {"batch": args.decode_batch, "prefill": args.prefill, "steps": args.decode_steps},
        "decode_tok_s": {k: n_dec / v for k, v in decode.items()},
        "decode_ratio": decode["llama"] / decode["tradefm"],
    }
    if args.mfu:
        flops_per_token = 6 * matmul_params(config) + 12 * config.num_hidden_layers * config.hidden_size * seq
        achieved = result["train_tok_s"]["tradefm"] * flops_per_token
        result["mfu"] = achieved / (args.peak_tflops * 1e12)
        result["mfu_llama"] = result["train_tok_s"]["llama"] * flops_per_token / (args.peak_tflops * 1e12)
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--dtype", default="fp32", choices=sorted(DTYPES))
    parser.add_argument("--attn", default="sdpa", choices=["sdpa", "eager"])
    parser.add_argument("--cases", default="tiny,125M", help="comma-separated presets")
    parser.add_argument("--batch", type=int, default=1, help="train batch of the non-tiny cases")
    parser.add_argument("--seq", type=int, default=256, help="train sequence length of the non-tiny cases")
    parser.add_argument("--tiny-batch", type=int, default=4)
    parser.add_argument("--tiny-seq", type=int, default=256)
    parser.add_argument("--train-steps", type=int, default=2, help="steps per timed repeat (x4 for tiny)")
    parser.add_argument("--decode-batch", type=int, default=8)
    parser.add_argument("--prefill", type=int, default=64)
    parser.add_argument("--decode-steps", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = leave as is)")
    parser.add_argument("--mfu", action="store_true", help="report training MFU (meaningful on CUDA bf16)")
    parser.add_argument("--peak-tflops", type=float, default=989.0, help="accelerator dense peak for --dtype")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda but CUDA is not available")
    device_name = torch.cuda.get_device_name() if args.device == "cuda" else f"cpu x{torch.get_num_threads()} threads"
    print(f"device={device_name} dtype={args.dtype} attn={args.attn} torch={torch.__version__}")
    results = []
    for name in args.cases.split(","):
        r = bench_case(name.strip(), args)
        results.append(r)
        t, d = r["train_tok_s"], r["decode_tok_s"]
        print(
            f"[{r['case']}] params tradefm={r['params_tradefm']:,} llama={r['params_llama']:,}\n"
            f"  train  {r['train_shape']}: tradefm {t['tradefm']:.0f} tok/s, llama {t['llama']:.0f} tok/s, "
            f"ratio {r['train_ratio']:.3f}x (target >= 1.0x)\n"
            f"  decode {r['decode_shape']}: tradefm {d['tradefm']:.0f} tok/s, llama {d['llama']:.0f} tok/s, "
            f"ratio {r['decode_ratio']:.3f}x (target >= 0.9x)"
        )
        if "mfu" in r:
            mfu, mfu_llama = 100 * r["mfu"], 100 * r["mfu_llama"]
            print(f"  MFU tradefm {mfu:.1f}%  llama {mfu_llama:.1f}% (peak {args.peak_tflops} TFLOP/s)")
    if args.json:
        args.json.write_text(json.dumps({"device": device_name, "dtype": args.dtype, "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
