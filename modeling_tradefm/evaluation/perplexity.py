# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""Per-token perplexity of a TradeFM checkpoint, per instrument, decomposed per token field.

The composite token is a mixed-radix number ``a·8192 + s·4096 + δp·256 + v·16 + Δt`` (action, side,
price depth, volume, inter-arrival; most significant first). From the model's 16,384-way softmax two
per-field decompositions are reported (nats per token):

* **marginal** NLL of field f: ``−log Σ_{other digits} p(token)`` at the true digit of f — how well
  the model predicts that field alone. The marginals do NOT add up to the joint NLL (their sum is
  ≥ it minus the fields' mutual information; fields are dependent).
* **chain** NLL: the chain-rule terms in radix order, ``−log p(a)``, ``−log p(s | a)``,
  ``−log p(δp | a, s)``, …; these add up exactly to the joint NLL.

Scoring: each session's tokens are cut into non-overlapping windows of ``context_length`` tokens
(default: the model's ``max_position_embeddings``); inside a window the model predicts token t+1
from tokens ≤ t (the context rule: ``context_ids[t]`` conditions token t+1), so the first token of
every window is context only and not scored. Perplexity = ``exp(mean NLL)`` over the scored tokens.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

RADIX_FIELDS = ("action", "side", "price_depth", "volume", "dt")
DEFAULT_RADIX = (2, 2, 16, 16, 16)


def decompose_nll(logits, targets, radix: Sequence[int] = DEFAULT_RADIX) -> dict[str, np.ndarray]:
    """Joint, marginal and chain-rule NLL of every token.

    Args:
        logits: float [N, V] (torch tensor or numpy array), V = prod(radix).
        targets: int [N] true token ids.
        radix: digit sizes, most significant first.

    Returns:
        ``{"joint": [N], "marginal_<field>": [N], "chain_<field>": [N]}`` float64 numpy arrays (nats),
        field names from ``RADIX_FIELDS`` when ``len(radix) == 5`` else ``f0, f1, …``.
    """
    import torch

    logits = torch.as_tensor(logits).float()
    targets = torch.as_tensor(targets).long()
    radix = [int(r) for r in radix]
    if logits.ndim != 2 or logits.shape[1] != math.prod(radix):
        raise ValueError(f"logits must be [N, {math.prod(radix)}], got {tuple(logits.shape)}")
    names = RADIX_FIELDS if len(radix) == len(RADIX_FIELDS) else tuple(f"f{i}" for i in range(len(radix)))
    n = logits.shape[0]
    lp = torch.log_softmax(logits, dim=-1)
    out = {"joint": -lp.gather(1, targets[:, None])[:, 0]}
    # digits of the targets, most significant first
    digits, rem = [], targets.clone()
    for r in reversed(radix):
        digits.append(rem % r)
        rem = rem // r
    digits = digits[::-1]
    grid = lp.view(n, *radix)
    rows = torch.arange(n)
    for i, name in enumerate(names):
        other = tuple(d + 1 for d in range(len(radix)) if d != i)
        marg = torch.logsumexp(grid, dim=other) if other else grid
        out[f"marginal_{name}"] = -marg[rows, digits[i]]
    # chain rule: log p(d_0..d_i) − log p(d_0..d_{i−1})
    prev = torch.zeros(n)
    cur = grid
    for i, name in enumerate(names):
        cur = cur[rows, digits[i]]  # fix digit i: shape [n, radix[i+1:]...]
        joint_prefix = torch.logsumexp(cur.reshape(n, -1), dim=1) if cur.ndim > 1 else cur
        out[f"chain_{name}"] = -(joint_prefix - prev)
        prev = joint_prefix
    return {k: v.detach().double().numpy() for k, v in out.items()}


def _summarise(parts: dict[str, list[np.ndarray]]) -> dict:
    n = int(sum(len(x) for x in parts["joint"]))
    res = {"tokens": n}
    for key, xs in parts.items():
        v = float(np.concatenate(xs).mean()) if n else float("nan")
        res["nll" if key == "joint" else f"nll_{key}"] = v
    res["perplexity"] = math.exp(res["nll"]) if n else float("nan")
    return res


def perplexity(model, tokenizer, sessions, context_length: int | None = None, batch_size: int = 8,
               max_tokens: int | None = None, device: str | None = None, progress: bool = True) -> dict:
    """Per-instrument and overall per-token NLL/perplexity with per-field decompositions.

    Args:
        model: a ``TradeFMForCausalLM`` (or anything with ``forward(input_ids, context_ids)`` → ``.logits``).
        tokenizer: a calibrated ``TradeFMTokenizer`` (``encode(session_features)``).
        sessions: ``features.SessionFeatures`` list.
        context_length: window length (default ``model.config.max_position_embeddings``).
        batch_size: windows per forward pass.
        max_tokens: per instrument, no new window once this many tokens are scored (None = all).
        device: torch device (default: the model's).
        progress: tqdm bar over windows.

    Returns:
        ``{"overall": summary, "instruments": {symbol: summary}}`` where summary =
        ``{"tokens", "nll", "perplexity", "nll_marginal_<field>", "nll_chain_<field>"}`` (nats).
    """
    import torch
    from tqdm.auto import tqdm

    radix = (tokenizer.n_actions, tokenizer.n_sides, tokenizer.n_price_depth, tokenizer.n_volume, tokenizer.n_dt)
    T = int(context_length or getattr(model.config, "max_position_embeddings", 1024))
    if T < 2:
        raise ValueError("context_length must be >= 2")
    dev = torch.device(device) if device else next(model.parameters()).device
    windows = []  # (symbol, ids, ctx)
    planned: dict[str, int] = {}  # scored tokens per instrument (max_tokens is checked per window)
    for sf in sessions:
        enc = tokenizer.encode(sf)
        ids, ctx = enc["input_ids"], enc["context_ids"]
        for a in range(0, len(ids) - 1, T):
            if max_tokens is not None and planned.get(sf.symbol, 0) >= max_tokens:
                break
            if len(ids[a:a + T]) >= 2:
                windows.append((sf.symbol, ids[a:a + T], ctx[a:a + T]))
                planned[sf.symbol] = planned.get(sf.symbol, 0) + len(ids[a:a + T]) - 1
    per: dict[str, dict[str, list[np.ndarray]]] = {}
    counts: dict[str, int] = {}
    model.eval()
    todo = [w for w in windows]
    bar = tqdm(total=len(todo), desc="perplexity", unit="window", disable=not progress)
    i = 0
    while i < len(todo):
        # batch windows of equal length (the last window of a session may be shorter)
        L = len(todo[i][1])
        batch = [todo[i]]
        while i + len(batch) < len(todo) and len(batch) < batch_size and len(todo[i + len(batch)][1]) == L:
            batch.append(todo[i + len(batch)])
        i += len(batch)
        bar.update(len(batch))
        ids = torch.as_tensor(np.stack([b[1] for b in batch]), device=dev)
        ctx = torch.as_tensor(np.stack([b[2] for b in batch]), device=dev)
        with torch.no_grad():
            logits = model(input_ids=ids, context_ids=ctx).logits[:, :-1].float().cpu()
        targets = ids[:, 1:].cpu()
        for j, (sym, _, _) in enumerate(batch):
            d = decompose_nll(logits[j], targets[j], radix)
            slot = per.setdefault(sym, {})
            for k, v in d.items():
                slot.setdefault(k, []).append(v)
            counts[sym] = counts.get(sym, 0) + len(d["joint"])
    bar.close()
    if not per:
        raise ValueError("no session has two or more tokens to score")
    overall: dict[str, list[np.ndarray]] = {}
    for slot in per.values():
        for k, v in slot.items():
            overall.setdefault(k, []).extend(v)
    return {"overall": _summarise(overall), "instruments": {s: _summarise(v) for s, v in sorted(per.items())}}


def perplexity_table(results: dict[str, dict]) -> str:
    """Markdown table: rows = (split, instrument), columns = tokens, NLL, perplexity, per-field marginal NLL.

    Args:
        results: ``{split name (e.g. "in-distribution", "zero-shot"): perplexity() result}``.
    """
    fields = RADIX_FIELDS
    head = ["split", "instrument", "tokens", "NLL", "PPL"] + [f"NLL {f} (marg.)" for f in fields]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for split, res in results.items():
        for sym, s in [*res["instruments"].items(), ("(all)", res["overall"])]:
            vals = [f"{s['nll']:.4f}", f"{s['perplexity']:.2f}"] + [f"{s[f'nll_marginal_{f}']:.4f}" for f in fields]
            lines.append("| " + " | ".join([split, sym, str(s["tokens"]), *vals]) + " |")
    return "\n".join(lines)


__all__ = ["DEFAULT_RADIX", "RADIX_FIELDS", "decompose_nll", "perplexity", "perplexity_table"]
