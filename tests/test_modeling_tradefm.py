# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""TradeFMModel / TradeFMForCausalLM on a tiny CPU config: shapes, loss, context rule, cache, generate, backends,
gradient checkpointing, GQA, and parity with transformers' LlamaModel."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from transformers import DynamicCache, LlamaConfig, LlamaForCausalLM, LlamaModel

from modeling_tradefm.configuration_tradefm import TradeFMConfig
from modeling_tradefm.modeling_tradefm import TradeFMForCausalLM, TradeFMModel, TradeFMTabularEmbedding

VOCAB = 64


def tiny_config(**overrides) -> TradeFMConfig:
    kwargs = dict(
        vocab_size=VOCAB,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
    )
    kwargs.update(overrides)
    return TradeFMConfig(**kwargs)


def make_model(cls=TradeFMForCausalLM, seed: int = 0, **overrides):
    torch.manual_seed(seed)
    return cls(tiny_config(**overrides)).eval()


def make_inputs(batch: int = 3, seq: int = 12, seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """Random trade tokens [B, T] and context [B, T, 3] = (tier, Δp bin, flag)."""
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(0, VOCAB, (batch, seq), generator=g)
    ctx = torch.stack(
        [
            torch.randint(0, 3, (batch, seq), generator=g),
            torch.randint(0, 32, (batch, seq), generator=g),
            torch.randint(0, 2, (batch, seq), generator=g),
        ],
        dim=-1,
    )
    return ids, ctx


def test_output_shapes():
    ids, ctx = make_inputs(batch=3, seq=12)
    base = make_model(TradeFMModel)
    out = base(ids, ctx, output_hidden_states=True)
    assert out.last_hidden_state.shape == (3, 12, 32)
    assert len(out.hidden_states) == 3  # input of each of 2 layers + final
    lm = make_model()
    out = lm(ids, ctx, use_cache=True)
    assert out.logits.shape == (3, 12, VOCAB)
    assert isinstance(out.cache, DynamicCache) and out.cache.get_seq_length() == 12
    assert lm(ids, ctx, logits_to_keep=1).logits.shape == (3, 1, VOCAB)
    kept = lm(ids, ctx, logits_to_keep=torch.tensor([0, 5])).logits
    torch.testing.assert_close(kept, out.logits[:, [0, 5]])
    assert lm(ids, ctx, use_cache=False).cache is None
    as_tuple = lm(ids, ctx, labels=ids, return_dict=False)
    assert isinstance(as_tuple, tuple) and as_tuple[1].shape == (3, 12, VOCAB)


def test_context_shape_is_checked():
    ids, ctx = make_inputs()
    with pytest.raises(ValueError, match="context_ids must have shape"):
        make_model()(ids, ctx[..., :2])
    with pytest.raises(ValueError, match="exactly one of"):
        make_model()(input_ids=None)


def test_loss_equals_manual_shifted_cross_entropy():
    ids, ctx = make_inputs()
    labels = ids.clone()
    labels[0, 3] = -100
    model = make_model()
    out = model(ids, ctx, labels=labels)
    manual = F.cross_entropy(
        out.logits[:, :-1].reshape(-1, VOCAB).float(), labels[:, 1:].reshape(-1), ignore_index=-100
    )
    torch.testing.assert_close(out.loss, manual)
    # Trainer's gradient accumulation passes num_items_in_batch through **kwargs: sum / n.
    n = int((labels[:, 1:] != -100).sum())
    summed = F.cross_entropy(
        out.logits[:, :-1].reshape(-1, VOCAB).float(), labels[:, 1:].reshape(-1), ignore_index=-100, reduction="sum"
    )
    out2 = model(ids, ctx, labels=labels, num_items_in_batch=torch.tensor(2 * n))
    torch.testing.assert_close(out2.loss, summed / (2 * n))


def test_context_rule_is_causal():
    """context_ids[t] conditions the outputs at t and later (predictions of t+1, ...), never earlier ones."""
    ids, ctx = make_inputs(batch=1, seq=10)
    model = make_model()
    base = model(ids, ctx).logits
    t = 4
    ctx2 = ctx.clone()
    ctx2[0, t] = torch.tensor([(ctx[0, t, 0] + 1) % 3, (ctx[0, t, 1] + 7) % 32, 1 - ctx[0, t, 2]])
    changed = model(ids, ctx2).logits
    torch.testing.assert_close(changed[:, :t], base[:, :t], rtol=0, atol=0)
    assert (changed[:, t] - base[:, t]).abs().max() > 1e-4
    # every context field matters on its own
    for field in range(3):
        ctx3 = ctx.clone()
        ctx3[0, t, field] = (ctx[0, t, field] + 1) % model.config.field_vocab_sizes[field + 1]
        assert (model(ids, ctx3).logits[:, t] - base[:, t]).abs().max() > 1e-5


def test_missing_context_uses_configured_default():
    ids, _ = make_inputs()
    model = make_model(default_context_ids=[2, 7, 1])
    default = torch.tensor([2, 7, 1]).expand(*ids.shape, 3)
    torch.testing.assert_close(model(ids).logits, model(ids, default).logits, rtol=0, atol=0)


@pytest.mark.parametrize("n_tokens", [1, 40])  # 1 token: gather path; 40 tokens: projected-table path
def test_tabular_embedding_is_concat_then_linear(n_tokens):
    config = tiny_config(field_embed_dims=[16, 4, 8, 2])
    torch.manual_seed(0)
    emb = TradeFMTabularEmbedding(config)
    for table in emb.tables:
        torch.nn.init.normal_(table.weight)
    ids, ctx = make_inputs(batch=1, seq=n_tokens)
    rows = [emb.tables[0](ids)] + [emb.tables[i + 1](ctx[..., i]) for i in range(3)]
    expected = torch.cat(rows, dim=-1) @ emb.proj.weight.T
    got = emb(ids, ctx)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)
    # gradients reach every table and the projection
    got.square().sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in emb.parameters())


def test_save_load_identical_logits(tmp_path):
    ids, ctx = make_inputs()
    model = make_model()
    model.save_pretrained(tmp_path)
    loaded = TradeFMForCausalLM.from_pretrained(tmp_path).eval()
    # RoPE buffers are rebuilt (v5 meta-device init): the classic pitfall gives garbage frequencies here.
    torch.testing.assert_close(loaded.model.rotary_emb.inv_freq, model.model.rotary_emb.inv_freq, rtol=0, atol=0)
    torch.testing.assert_close(loaded(ids, ctx).logits, model(ids, ctx).logits, rtol=0, atol=0)


def test_incremental_decoding_matches_full_forward():
    ids, ctx = make_inputs(batch=3, seq=12)
    model = make_model()
    full = model(ids, ctx).logits
    cache = DynamicCache(config=model.config)
    out = model(ids[:, :5], ctx[:, :5], cache=cache, use_cache=True)
    steps = [out.logits]
    for t in range(5, 12):  # one event at a time, batch 3: the closed-loop rollout's call pattern
        out = model(ids[:, t : t + 1], ctx[:, t : t + 1], cache=out.cache, use_cache=True)
        steps.append(out.logits)
    assert out.cache is cache and cache.get_seq_length() == 12
    torch.testing.assert_close(torch.cat(steps, dim=1), full, rtol=1e-5, atol=1e-5)


def test_generate_with_and_without_cache_agree():
    ids, ctx = make_inputs(batch=2, seq=6)
    model = make_model()
    kw = dict(context_ids=ctx, max_new_tokens=8, do_sample=False)
    with_cache = model.generate(ids, use_cache=True, **kw)
    without = model.generate(ids, use_cache=False, **kw)
    assert with_cache.shape == (2, 14)
    torch.testing.assert_close(with_cache, without, rtol=0, atol=0)


def _greedy_reference(model, ids, ctx_rows, n_new):
    """Greedy loop over full forwards with an explicit context for every position."""
    seq = ids
    for _ in range(n_new):
        length = seq.shape[1]
        index = torch.arange(length).clamp(max=ctx_rows.shape[1] - 1)
        nxt = model(seq, ctx_rows[:, index]).logits[:, -1].argmax(-1, keepdim=True)
        seq = torch.cat([seq, nxt], dim=1)
    return seq


@pytest.mark.parametrize("extra_rows", [0, 4])
def test_generate_context_slicing(extra_rows):
    """Open-loop rule: known rows are used position by position (including pre-specified future rows), and
    positions past them repeat the last known row."""
    ids, ctx = make_inputs(batch=2, seq=6 + extra_rows)
    prompt = ids[:, :6]
    model = make_model()
    got = model.generate(prompt, context_ids=ctx, max_new_tokens=8, do_sample=False)
    torch.testing.assert_close(got, _greedy_reference(model, prompt, ctx, 8), rtol=0, atol=0)
    if extra_rows:
        # the future rows really are used: generating with only the prompt rows differs in the logits
        a = model.generate(prompt, context_ids=ctx, max_new_tokens=4, do_sample=False, output_logits=True,
                           return_dict_in_generate=True)
        b = model.generate(prompt, context_ids=ctx[:, :6], max_new_tokens=4, do_sample=False, output_logits=True,
                           return_dict_in_generate=True)
        assert (a.logits[1] - b.logits[1]).abs().max() > 1e-5


@pytest.mark.parametrize("padding", [False, True])
def test_eager_matches_sdpa(padding):
    ids, ctx = make_inputs(batch=3, seq=10)
    mask = torch.ones_like(ids)
    if padding:
        mask[0, :3] = 0  # left padding
        mask[2, :1] = 0
    sdpa = make_model(attn_implementation="sdpa")
    eager = make_model(attn_implementation="eager")
    assert sdpa.config._attn_implementation == "sdpa" and eager.config._attn_implementation == "eager"
    a = sdpa(ids, ctx, attention_mask=mask).logits
    b = eager(ids, ctx, attention_mask=mask).logits
    keep = mask.bool()
    torch.testing.assert_close(a[keep], b[keep], rtol=1e-5, atol=1e-5)


def test_default_attention_is_sdpa():
    assert make_model().config._attn_implementation == "sdpa"


def test_left_padding_matches_unpadded_row():
    ids, ctx = make_inputs(batch=1, seq=8)
    model = make_model()
    ref = model(ids, ctx).logits
    pad = 3
    ids_p = torch.cat([torch.zeros(1, pad, dtype=torch.long), ids], dim=1)
    ctx_p = torch.cat([torch.zeros(1, pad, 3, dtype=torch.long), ctx], dim=1)
    mask = torch.cat([torch.zeros(1, pad, dtype=torch.long), torch.ones(1, 8, dtype=torch.long)], dim=1)
    pos = (mask.cumsum(-1) - 1).clamp(min=0)
    got = model(ids_p, ctx_p, attention_mask=mask, position_ids=pos).logits[:, pad:]
    torch.testing.assert_close(got, ref, rtol=1e-5, atol=1e-5)


def test_batching_equivalence():
    ids, ctx = make_inputs(batch=4, seq=9)
    model = make_model()
    batched = model(ids, ctx).logits
    for i in range(4):
        single = model(ids[i : i + 1], ctx[i : i + 1]).logits
        torch.testing.assert_close(single, batched[i : i + 1], rtol=1e-5, atol=1e-5)


def test_gradient_checkpointing_same_loss_and_gradients():
    ids, ctx = make_inputs()
    ref = make_model().train()
    ckpt = make_model().train()
    # transformers 5.23 deprecates gradient_checkpointing_enable in favour of activation_checkpointing_enable
    if hasattr(ckpt, "activation_checkpointing_enable"):
        ckpt.activation_checkpointing_enable({"use_reentrant": False})
    else:
        ckpt.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    assert all(layer.gradient_checkpointing for layer in ckpt.model.layers)
    loss_a = ref(ids, ctx, labels=ids).loss
    loss_b = ckpt(ids, ctx, labels=ids).loss
    loss_a.backward()
    loss_b.backward()
    torch.testing.assert_close(loss_a, loss_b, rtol=0, atol=0)
    for (name, pa), (_, pb) in zip(ref.named_parameters(), ckpt.named_parameters(), strict=True):
        torch.testing.assert_close(pa.grad, pb.grad, rtol=1e-6, atol=1e-7, msg=name)


@pytest.mark.parametrize("kv_heads", [1, 2, 4])
def test_gqa_equals_mha_with_shared_kv(kv_heads):
    """GQA with g groups == MHA whose K/V heads are copies of the shared ones (checks the head grouping)."""
    ids, ctx = make_inputs(batch=2, seq=7)
    gqa = make_model(num_key_value_heads=kv_heads)
    mha = make_model(num_key_value_heads=4, seed=5)
    state = copy.deepcopy(gqa.state_dict())
    head_dim, rep = gqa.config.head_dim, 4 // kv_heads
    for key in list(state):
        if key.endswith(("k_proj.weight", "v_proj.weight")):
            w = state[key].view(kv_heads, head_dim, -1)
            state[key] = w.repeat_interleave(rep, dim=0).reshape(4 * head_dim, -1)
    mha.load_state_dict(state)
    out_gqa = gqa(ids, ctx).logits
    torch.testing.assert_close(mha(ids, ctx).logits, out_gqa, rtol=1e-5, atol=1e-5)
    # cached decoding with this KV-head count also matches its full forward
    out = gqa(ids[:, :4], ctx[:, :4], use_cache=True)
    step = gqa(ids[:, 4:5], ctx[:, 4:5], cache=out.cache, use_cache=True)
    torch.testing.assert_close(step.logits, out_gqa[:, 4:5], rtol=1e-5, atol=1e-5)


def _llama_twin(config: TradeFMConfig) -> LlamaConfig:
    return LlamaConfig(
        vocab_size=config.vocab_size,
        hidden_size=config.hidden_size,
        intermediate_size=config.intermediate_size,
        num_hidden_layers=config.num_hidden_layers,
        num_attention_heads=config.num_attention_heads,
        num_key_value_heads=config.num_key_value_heads,
        max_position_embeddings=config.max_position_embeddings,
        rms_norm_eps=config.rms_norm_eps,
        rope_parameters=dict(config.rope_parameters),
        attention_bias=False,
        mlp_bias=False,
        tie_word_embeddings=False,
    )


@pytest.mark.parametrize("attn", ["sdpa", "eager"])
def test_llama_parity(attn):
    """Identical inputs_embeds + identical decoder weights (copied by name) → identical hidden states."""
    ours = make_model(TradeFMModel, attn_implementation=attn, num_key_value_heads=2)
    torch.manual_seed(3)
    llama = LlamaModel(_llama_twin(ours.config)).eval()
    llama.config._attn_implementation = attn
    llama_state = llama.state_dict()
    copied = 0
    for name, tensor in ours.state_dict().items():
        if name.startswith(("layers.", "norm.")):
            assert llama_state[name].shape == tensor.shape, name
            llama_state[name] = tensor.clone()
            copied += 1
    llama.load_state_dict(llama_state)
    assert copied == sum(1 for n in llama_state if n.startswith(("layers.", "norm.")))
    embeds = torch.randn(2, 11, 32, generator=torch.Generator().manual_seed(7))
    a = ours(inputs_embeds=embeds, output_hidden_states=True)
    b = llama(inputs_embeds=embeds, output_hidden_states=True)
    torch.testing.assert_close(a.last_hidden_state, b.last_hidden_state, rtol=1e-6, atol=1e-6)
    for ha, hb in zip(a.hidden_states, b.hidden_states, strict=True):
        torch.testing.assert_close(ha, hb, rtol=1e-6, atol=1e-6)


def test_llama_parity_causal_lm_head():
    ours = make_model()
    llama = LlamaForCausalLM(_llama_twin(ours.config)).eval()
    state = llama.state_dict()
    for name, tensor in ours.state_dict().items():
        if name in state and not name.startswith("model.embed_tokens"):
            state[name] = tensor.clone()
    llama.load_state_dict(state)
    embeds = torch.randn(2, 6, 32, generator=torch.Generator().manual_seed(8))
    torch.testing.assert_close(ours(inputs_embeds=embeds).logits, llama(inputs_embeds=embeds).logits, rtol=1e-6,
                               atol=1e-6)


def test_output_attentions_eager():
    ids, ctx = make_inputs(batch=2, seq=5)
    out = make_model(attn_implementation="eager")(ids, ctx, output_attentions=True)
    assert len(out.attentions) == 2 and out.attentions[0].shape == (2, 4, 5, 5)
    torch.testing.assert_close(out.attentions[0].sum(-1), torch.ones(2, 4, 5))


def test_generate_expands_context_for_num_return_sequences():
    ids, ctx = make_inputs(batch=2, seq=5)
    model = make_model()
    torch.manual_seed(0)
    out = model.generate(ids, context_ids=ctx, max_new_tokens=3, do_sample=True, top_k=8, num_return_sequences=3)
    assert out.shape == (6, 8)
    torch.testing.assert_close(out[:, :5], ids.repeat_interleave(3, dim=0), rtol=0, atol=0)


def test_context_with_inputs_embeds_is_rejected():
    ids, ctx = make_inputs(batch=1, seq=4)
    with pytest.raises(ValueError, match="inputs_embeds"):
        make_model()(inputs_embeds=torch.zeros(1, 4, 32), context_ids=ctx)
