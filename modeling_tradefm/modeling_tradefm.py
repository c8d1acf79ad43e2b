# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""TradeFM modeling (Hub file): a Llama-style decoder over composite trade tokens with a tabular embedding.

This file and ``configuration_tradefm.py`` are copied flat into every checkpoint folder, so they import only each
other, torch and transformers (public, stable modules). Layout follows transformers 5.x ``modeling_llama.py``:
RMSNorm, one rotary module per model (v5 buffer pattern), GQA attention dispatched through
``ALL_ATTENTION_FUNCTIONS`` (SDPA by default, eager fallback), SwiGLU, pre-norm decoder layers that subclass
``GradientCheckpointingLayer``, ``DynamicCache``, loss through ``self.loss_function``.

Inputs and the context rule (pinned, shared with the tokenizer, dataset builder and rollouts):

* ``input_ids [B, T]`` — composite trade tokens (the predicted field; ``labels == input_ids``, the loss shifts).
* ``context_ids [B, T, 3]`` — ``(liquidity tier 0..2, Δp bin 0..31, participant flag 0..1)``; a book-aware
  model (``config.context_fields``) reads more columns after these (spread bin, imbalance bin), with the same rule.
* At position ``t`` the model reads ``(input_ids[t], context_ids[t])`` and predicts ``input_ids[t + 1]``;
  ``context_ids[t]`` describes the market *right after* event ``t`` (Δp from the mid after event ``t``'s effect,
  the flag of event ``t`` itself), i.e. exactly the state that conditions event ``t + 1``.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn
from transformers import GenerationMixin, GradientCheckpointingLayer, PreTrainedModel
from transformers.activations import ACT2FN
from transformers.cache_utils import Cache, DynamicCache
from transformers.masking_utils import create_causal_mask
from transformers.modeling_outputs import BaseModelOutputWithPast, CausalLMOutputWithPast
from transformers.modeling_rope_utils import ROPE_INIT_FUNCTIONS
from transformers.modeling_utils import ALL_ATTENTION_FUNCTIONS
from transformers.utils.deprecation import deprecate_kwarg

from .configuration_tradefm import TradeFMConfig

# Keys that only the loss consumes; everything else in **kwargs goes down to the attention interface.
_LOSS_KWARGS = ("num_items_in_batch", "ignore_index", "shift_labels")


class TradeFMRMSNorm(nn.Module):
    """Root-mean-square layer norm, computed in fp32 and cast back (identical to ``LlamaRMSNorm``).

    Args:
        hidden_size: normalised width.
        eps: added to the mean square before the reciprocal square root.
    """

    def __init__(self, hidden_size: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(hidden_size))
        self.variance_epsilon = eps

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        """Normalise ``hidden_states [..., hidden]``; returns the same shape and dtype."""
        input_dtype = hidden_states.dtype
        hidden_states = hidden_states.to(torch.float32)
        variance = hidden_states.pow(2).mean(-1, keepdim=True)
        hidden_states = hidden_states * torch.rsqrt(variance + self.variance_epsilon)
        return self.weight * hidden_states.to(input_dtype)

    def extra_repr(self) -> str:
        return f"{tuple(self.weight.shape)}, eps={self.variance_epsilon}"


class TradeFMRotaryEmbedding(nn.Module):
    """Rotary position embedding, built once per model; returns ``(cos, sin)`` for every layer.

    Follows the transformers v5 buffer pattern (``rope_type``, non-persistent ``inv_freq`` and
    ``original_inv_freq``, static ``compute_default_rope_parameters``): ``from_pretrained`` materialises models
    from the meta device and rebuilds exactly these buffers in ``_init_weights``; without them reloaded models get
    garbage frequencies.

    Args:
        config: model config (``rope_parameters``, ``head_dim``).
    """

    inv_freq: torch.Tensor

    def __init__(self, config: TradeFMConfig, device: torch.device | None = None) -> None:
        super().__init__()
        self.max_seq_len_cached = config.max_position_embeddings
        self.original_max_seq_len = config.max_position_embeddings
        self.config = config
        self.rope_type = config.rope_parameters.get("rope_type", "default")
        rope_init_fn: Callable = self.compute_default_rope_parameters
        if self.rope_type != "default":
            rope_init_fn = ROPE_INIT_FUNCTIONS[self.rope_type]
        inv_freq, self.attention_scaling = rope_init_fn(config, device)
        self.register_buffer("inv_freq", inv_freq, persistent=False)
        self.register_buffer("original_inv_freq", inv_freq.clone(), persistent=False)

    @staticmethod
    def compute_default_rope_parameters(
        config: TradeFMConfig, device: torch.device | None = None, **kwargs
    ) -> tuple[torch.Tensor, float]:
        """Inverse frequencies of the original RoPE.

        Args:
            config: model config (``rope_parameters["rope_theta"]``, ``head_dim``).
            device: where to build the tensor.

        Returns:
            ``(inv_freq [head_dim // 2], attention_scaling = 1.0)``.
        """
        base = config.rope_parameters["rope_theta"]
        dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
        inv_freq = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.int64, device=device).float() / dim))
        return inv_freq, 1.0

    @torch.no_grad()
    def forward(self, x: torch.Tensor, position_ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Cos/sin tables for ``position_ids [B or 1, T]``.

        Args:
            x: any activation; gives the output dtype and device.
            position_ids: absolute positions ``[B or 1, T]``.

        Returns:
            ``(cos, sin)``, each ``[B or 1, T, head_dim]`` in ``x.dtype`` (computed in fp32).
        """
        freqs = position_ids[..., None].float() * self.inv_freq.to(device=x.device, dtype=torch.float32)
        emb = torch.cat((freqs, freqs), dim=-1)
        cos = emb.cos() * self.attention_scaling
        sin = emb.sin() * self.attention_scaling
        return cos.to(dtype=x.dtype), sin.to(dtype=x.dtype)


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    """Rotate half the last dimension: ``[x1, x2] -> [-x2, x1]``."""
    x1 = x[..., : x.shape[-1] // 2]
    x2 = x[..., x.shape[-1] // 2 :]
    return torch.cat((-x2, x1), dim=-1)


def apply_rotary_pos_emb(
    q: torch.Tensor, k: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, unsqueeze_dim: int = 1
) -> tuple[torch.Tensor, torch.Tensor]:
    """Apply RoPE to queries and keys.

    Args:
        q: queries ``[B, H, T, D]``.
        k: keys ``[B, H_kv, T, D]``.
        cos: ``[B or 1, T, D]``.
        sin: ``[B or 1, T, D]``.
        unsqueeze_dim: head axis to broadcast cos/sin over (1 for ``[B, H, T, D]``).

    Returns:
        Rotated ``(q, k)`` with unchanged shapes.
    """
    cos = cos.unsqueeze(unsqueeze_dim)
    sin = sin.unsqueeze(unsqueeze_dim)
    q_embed = (q * cos) + (rotate_half(q) * sin)
    k_embed = (k * cos) + (rotate_half(k) * sin)
    return q_embed, k_embed


def repeat_kv(hidden_states: torch.Tensor, n_rep: int) -> torch.Tensor:
    """Expand KV heads to query heads: ``[B, H_kv, S, D] -> [B, H_kv * n_rep, S, D]`` (GQA in eager attention)."""
    batch, num_key_value_heads, slen, head_dim = hidden_states.shape
    if n_rep == 1:
        return hidden_states
    hidden_states = hidden_states[:, :, None, :, :].expand(batch, num_key_value_heads, n_rep, slen, head_dim)
    return hidden_states.reshape(batch, num_key_value_heads * n_rep, slen, head_dim)


def eager_attention_forward(
    module: nn.Module,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    scaling: float,
    dropout: float = 0.0,
    **kwargs,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Reference attention: matmul, additive mask, fp32 softmax, dropout, matmul.

    Args:
        module: the attention module (``num_key_value_groups``, ``training``).
        query: ``[B, H, T, D]``.
        key: ``[B, H_kv, S, D]``.
        value: ``[B, H_kv, S, D]``.
        attention_mask: additive float mask ``[B, 1, T, S]`` or None.
        scaling: multiplier of ``q·k``.
        dropout: attention dropout probability (applied only in training).

    Returns:
        ``(attn_output [B, T, H, D], attn_weights [B, H, T, S])``.
    """
    key_states = repeat_kv(key, module.num_key_value_groups)
    value_states = repeat_kv(value, module.num_key_value_groups)
    attn_weights = torch.matmul(query, key_states.transpose(2, 3)) * scaling
    if attention_mask is not None:
        attn_weights = attn_weights + attention_mask
    attn_weights = nn.functional.softmax(attn_weights, dim=-1, dtype=torch.float32).to(query.dtype)
    attn_weights = nn.functional.dropout(attn_weights, p=dropout, training=module.training)
    attn_output = torch.matmul(attn_weights, value_states)
    attn_output = attn_output.transpose(1, 2).contiguous()
    return attn_output, attn_weights


class TradeFMTabularEmbedding(nn.Module):
    """Tabular input embedding: one table per field, concatenated, linearly projected to ``hidden_size``.

    ``out[b, t] = W · concat(E_0[input_ids[b, t]], E_1[ctx[b, t, 0]], E_2[ctx[b, t, 1]], E_3[ctx[b, t, 2]])``
    with ``W = proj.weight [hidden, sum(field_embed_dims)]`` (no bias).

    Implementation note (exact algebra, not an approximation): ``W · concat(e_i) = Σ_i W_i · e_i``. For the
    small context tables it is cheaper to project the *whole table* once (``E_i W_iᵀ``: ``n_i × hidden``; 37 rows
    in all) and gather from it than to project every token's row, whenever the batch holds more tokens than that
    costs. Both paths are chosen per call by a FLOP count and give the same values and gradients (up to float
    rounding), so the parameters are exactly the "concat → Linear" of the paper.

    Args:
        config: ``field_vocab_sizes``, ``field_embed_dims``, ``hidden_size``.
    """

    def __init__(self, config: TradeFMConfig) -> None:
        super().__init__()
        self.field_vocab_sizes = list(config.field_vocab_sizes)
        self.field_embed_dims = list(config.field_embed_dims)
        self.tables = nn.ModuleList(nn.Embedding(n, d) for n, d in zip(self.field_vocab_sizes, self.field_embed_dims, strict=True))
        self.proj = nn.Linear(sum(self.field_embed_dims), config.hidden_size, bias=False)
        # Cost of projecting whole context tables once (per output column); see class docstring.
        self._table_cost = sum(n * d for n, d in zip(self.field_vocab_sizes[1:], self.field_embed_dims[1:], strict=True))
        self._ctx_width = sum(self.field_embed_dims[1:])

    def forward(self, input_ids: torch.LongTensor, context_ids: torch.LongTensor) -> torch.Tensor:
        """Embed trade tokens and their context.

        Args:
            input_ids: trade tokens ``[B, T]``.
            context_ids: ``[B, T, n_context_fields]`` (tier, Δp bin, flag).

        Returns:
            ``[B, T, hidden]`` in the parameters' dtype.
        """
        # Both GEMM operands are fresh (allocator-aligned) copies: weights loaded from safetensors may sit at an
        # 8-byte-aligned address, which sends BLAS down another vector path and moves logits by 1 ulp after a
        # save/load round trip. The copies are tiny (a 37-row table; one hidden x d_i block).
        blocks = self.proj.weight.split(self.field_embed_dims, dim=1)
        hidden = F.linear(self.tables[0](input_ids), blocks[0].contiguous())
        if input_ids.numel() * self._ctx_width > self._table_cost:
            # Project each (small) context table once, then gather: Σ_i (E_i W_iᵀ)[ctx_i].
            for i in range(1, len(self.tables)):
                projected_table = F.linear(self.tables[i].weight.clone(), blocks[i].contiguous())  # [n_i, hidden]
                hidden = hidden + F.embedding(context_ids[..., i - 1], projected_table)
        else:
            # Few tokens (cached decoding): gather the rows, project the concatenated context once.
            rows = torch.cat([self.tables[i](context_ids[..., i - 1]) for i in range(1, len(self.tables))], dim=-1)
            hidden = hidden + F.linear(rows, self.proj.weight[:, self.field_embed_dims[0] :].contiguous())
        return hidden


class TradeFMMLP(nn.Module):
    """SwiGLU feed-forward: ``down(act(gate(x)) * up(x))``.

    Args:
        config: ``hidden_size``, ``intermediate_size``, ``hidden_act``, ``mlp_bias``.
    """

    def __init__(self, config: TradeFMConfig) -> None:
        super().__init__()
        self.hidden_size = config.hidden_size
        self.intermediate_size = config.intermediate_size
        self.gate_proj = nn.Linear(self.hidden_size, self.intermediate_size, bias=config.mlp_bias)
        self.up_proj = nn.Linear(self.hidden_size, self.intermediate_size, bias=config.mlp_bias)
        self.down_proj = nn.Linear(self.intermediate_size, self.hidden_size, bias=config.mlp_bias)
        self.act_fn = ACT2FN[config.hidden_act]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[..., hidden] -> [..., hidden]``."""
        return self.down_proj(self.act_fn(self.gate_proj(x)) * self.up_proj(x))


class TradeFMAttention(nn.Module):
    """Grouped-query self-attention with RoPE, dispatched through transformers' attention interface.

    ``config._attn_implementation`` selects the kernel (``"sdpa"`` default, ``"eager"`` reference, or any
    registered backend). The module exposes ``layer_idx``, ``num_key_value_groups``, ``scaling`` and
    ``is_causal``, which is all the backends need.

    Args:
        config: model config.
        layer_idx: index of this layer in the KV cache.
    """

    def __init__(self, config: TradeFMConfig, layer_idx: int) -> None:
        super().__init__()
        self.config = config
        self.layer_idx = layer_idx
        self.head_dim = config.head_dim
        self.num_key_value_groups = config.num_attention_heads // config.num_key_value_heads
        self.scaling = self.head_dim**-0.5
        self.attention_dropout = config.attention_dropout
        self.is_causal = True
        self.q_proj = nn.Linear(
            config.hidden_size, config.num_attention_heads * self.head_dim, bias=config.attention_bias
        )
        self.k_proj = nn.Linear(
            config.hidden_size, config.num_key_value_heads * self.head_dim, bias=config.attention_bias
        )
        self.v_proj = nn.Linear(
            config.hidden_size, config.num_key_value_heads * self.head_dim, bias=config.attention_bias
        )
        self.o_proj = nn.Linear(
            config.num_attention_heads * self.head_dim, config.hidden_size, bias=config.attention_bias
        )

    @deprecate_kwarg("past_key_values", "5.40.0", new_name="cache")
    def forward(
        self,
        hidden_states: torch.Tensor,
        position_embeddings: tuple[torch.Tensor, torch.Tensor],
        attention_mask: torch.Tensor | None = None,
        cache: Cache | None = None,
        **kwargs,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Attend.

        Args:
            hidden_states: ``[B, T, hidden]``.
            position_embeddings: ``(cos, sin)`` from ``TradeFMRotaryEmbedding``.
            attention_mask: mask from ``create_causal_mask`` (None lets SDPA use its causal kernel).
            cache: cache updated in place with this step's keys/values.

        Returns:
            ``(output [B, T, hidden], attention weights [B, H, T, S] or None)``.
        """
        input_shape = hidden_states.shape[:-1]
        hidden_shape = (*input_shape, -1, self.head_dim)
        query_states = self.q_proj(hidden_states).view(hidden_shape).transpose(1, 2)
        key_states = self.k_proj(hidden_states).view(hidden_shape).transpose(1, 2)
        value_states = self.v_proj(hidden_states).view(hidden_shape).transpose(1, 2)

        cos, sin = position_embeddings
        query_states, key_states = apply_rotary_pos_emb(query_states, key_states, cos, sin)
        if cache is not None:
            key_states, value_states = cache.update(key_states, value_states, self.layer_idx)

        attention_interface: Callable = ALL_ATTENTION_FUNCTIONS.get_interface(
            self.config._attn_implementation, eager_attention_forward
        )
        attn_output, attn_weights = attention_interface(
            self,
            query_states,
            key_states,
            value_states,
            attention_mask,
            dropout=0.0 if not self.training else self.attention_dropout,
            scaling=self.scaling,
            **kwargs,
        )
        attn_output = attn_output.reshape(*input_shape, -1).contiguous()
        return self.o_proj(attn_output), attn_weights


class TradeFMDecoderLayer(GradientCheckpointingLayer):
    """Pre-norm decoder block: ``x + attn(norm(x))``, then ``x + mlp(norm(x))``.

    Subclasses ``GradientCheckpointingLayer`` (what makes ``gradient_checkpointing_enable()`` work in
    transformers 5.x); ``hidden_states`` must therefore be passed positionally.

    Args:
        config: model config.
        layer_idx: index of the layer (KV-cache slot).
    """

    def __init__(self, config: TradeFMConfig, layer_idx: int) -> None:
        super().__init__()
        self.hidden_size = config.hidden_size
        self.self_attn = TradeFMAttention(config=config, layer_idx=layer_idx)
        self.mlp = TradeFMMLP(config)
        self.input_layernorm = TradeFMRMSNorm(config.hidden_size, eps=config.rms_norm_eps)
        self.post_attention_layernorm = TradeFMRMSNorm(config.hidden_size, eps=config.rms_norm_eps)

    @deprecate_kwarg("past_key_values", "5.40.0", new_name="cache")
    def forward(
        self,
        hidden_states: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        position_embeddings: tuple[torch.Tensor, torch.Tensor] | None = None,
        cache: Cache | None = None,
        use_cache: bool | None = False,
        output_attentions: bool = False,
        **kwargs,
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor | None]:
        """Run one block on ``hidden_states [B, T, hidden]``.

        Returns:
            ``[B, T, hidden]``, or ``(hidden, attention weights)`` when ``output_attentions``.
        """
        residual = hidden_states
        hidden_states = self.input_layernorm(hidden_states)
        hidden_states, attn_weights = self.self_attn(
            hidden_states,
            position_embeddings=position_embeddings,
            attention_mask=attention_mask,
            cache=cache,
            **kwargs,
        )
        hidden_states = residual + hidden_states
        residual = hidden_states
        hidden_states = self.post_attention_layernorm(hidden_states)
        hidden_states = residual + self.mlp(hidden_states)
        if output_attentions:
            return hidden_states, attn_weights
        return hidden_states


def _minimal_model_card(config: TradeFMConfig) -> str:
    """A short README.md for checkpoints re-saved from a Hub copy (no TradeFM package available)."""
    return (
        "---\nlibrary_name: transformers\ntags:\n- tradefm\n- market-microstructure\n- order-flow\n---\n\n"
        "# TradeFM checkpoint\n\nA generative Transformer of Level-3 order flow (arXiv 2602.23784 replication). "
        "Load with `AutoModelForCausalLM.from_pretrained(path, trust_remote_code=True)`.\n\n"
        f"Architecture: {config.num_hidden_layers} layers, hidden {config.hidden_size}, "
        f"{config.num_attention_heads}:{config.num_key_value_heads} heads, SwiGLU {config.intermediate_size}, "
        f"vocab {config.vocab_size}, fields {config.field_vocab_sizes}, context {config.max_position_embeddings}.\n"
    )


class TradeFMPreTrainedModel(PreTrainedModel):
    """Weight init, config link and capability flags shared by the TradeFM models.

    Init relies on the base ``_init_weights`` (normal(0, ``initializer_range``) for Linear/Embedding, ones for
    RMSNorm, recomputed RoPE buffers); TradeFM has no other parameters or buffers.
    """

    config: TradeFMConfig
    config_class = TradeFMConfig
    base_model_prefix = "model"
    main_input_name = "input_ids"
    supports_gradient_checkpointing = True
    _no_split_modules = ["TradeFMDecoderLayer"]
    _skip_keys_device_placement = ["cache"]
    _supports_sdpa = True
    _supports_attention_backend = True
    # Set by the TradeFM package (``register_tradefm``) to its ``write_model_card``; the Hub copy of this file has
    # no access to the package, so it falls back to ``_minimal_model_card`` (only where no README.md exists).
    model_card_writer: Callable | None = None
    _AUTO_MAP = {
        "AutoConfig": "configuration_tradefm.TradeFMConfig",
        "AutoModel": "modeling_tradefm.TradeFMModel",
        "AutoModelForCausalLM": "modeling_tradefm.TradeFMForCausalLM",
    }

    def save_pretrained(self, save_directory, *args, **kwargs):
        """``PreTrainedModel.save_pretrained`` plus the TradeFM checkpoint conventions.

        Writes ``config.json`` with an ``auto_map`` holding all three of AutoConfig / AutoModel /
        AutoModelForCausalLM (transformers only adds the saved class's own entry, and ``AutoModel`` would then
        fail to load), copies ``configuration_tradefm.py`` + ``modeling_tradefm.py`` next to the weights
        (safetensors) and ``generation_config.json``, and writes a ``README.md`` model card.

        Args:
            save_directory: target folder.
            *args, **kwargs: as ``PreTrainedModel.save_pretrained``.
        """
        auto_map = dict(getattr(self.config, "auto_map", None) or {})
        for key, value in self._AUTO_MAP.items():
            auto_map.setdefault(key, value)
        self.config.auto_map = auto_map
        # The .py files are copied only for classes registered for an Auto class.
        for cls, auto in ((TradeFMModel, "AutoModel"), (TradeFMForCausalLM, "AutoModelForCausalLM")):
            if cls._auto_class is None:
                cls.register_for_auto_class(auto)
        if type(self.config)._auto_class is None:
            type(self.config).register_for_auto_class()
        result = super().save_pretrained(save_directory, *args, **kwargs)
        if kwargs.get("is_main_process", True):
            writer = type(self).model_card_writer
            if writer is not None:
                writer(save_directory, self.config)
            else:
                readme = os.path.join(save_directory, "README.md")
                if not os.path.exists(readme):
                    with open(readme, "w", encoding="utf-8") as fh:
                        fh.write(_minimal_model_card(self.config))
        return result


class TradeFMModel(TradeFMPreTrainedModel):
    """The TradeFM decoder without the output head; returns the final-norm hidden states.

    Args:
        config: a ``TradeFMConfig``.
    """

    def __init__(self, config: TradeFMConfig) -> None:
        super().__init__(config)
        self.vocab_size = config.vocab_size
        self.embed_tokens = TradeFMTabularEmbedding(config)
        self.layers = nn.ModuleList(
            [TradeFMDecoderLayer(config, layer_idx) for layer_idx in range(config.num_hidden_layers)]
        )
        self.norm = TradeFMRMSNorm(config.hidden_size, eps=config.rms_norm_eps)
        self.rotary_emb = TradeFMRotaryEmbedding(config=config)
        self.gradient_checkpointing = False
        self.post_init()

    def get_input_embeddings(self) -> nn.Module:
        """The tabular embedding (its ``tables[0]`` is the trade-token table)."""
        return self.embed_tokens

    def set_input_embeddings(self, value: nn.Module) -> None:
        self.embed_tokens = value

    def default_context(self, batch_size: int, seq_len: int, device: torch.device) -> torch.LongTensor:
        """``config.default_context_ids`` broadcast to ``[batch_size, seq_len, n_context_fields]`` (a view)."""
        row = torch.tensor(self.config.default_context_ids, dtype=torch.long, device=device)
        return row.expand(batch_size, seq_len, row.numel())

    @deprecate_kwarg("past_key_values", "5.40.0", new_name="cache")
    def forward(
        self,
        input_ids: torch.LongTensor | None = None,
        context_ids: torch.LongTensor | None = None,
        attention_mask: torch.Tensor | None = None,
        position_ids: torch.LongTensor | None = None,
        cache: Cache | None = None,
        inputs_embeds: torch.Tensor | None = None,
        use_cache: bool | None = None,
        output_hidden_states: bool | None = None,
        output_attentions: bool | None = None,
        return_dict: bool | None = None,
        **kwargs,
    ) -> BaseModelOutputWithPast | tuple:
        r"""Run the decoder.

        Context rule: at position ``t`` the model reads ``(input_ids[t], context_ids[t])`` and its output at ``t``
        predicts ``input_ids[t + 1]``. ``context_ids[t]`` describes the market *right after* event ``t`` (liquidity
        tier of the session; Δp bin of the mid after event ``t``; event ``t``'s own participant flag), i.e. the
        state that conditions event ``t + 1``.

        Args:
            input_ids: composite trade tokens ``[B, T]`` in ``[0, vocab_size)``.
            context_ids: ``[B, T, 3]`` = (tier, Δp bin, participant flag). ``None`` → every position gets
                ``config.default_context_ids`` (``[1, 16, 0]`` unless configured: medium tier, flat Δp, market
                flow); give real context whenever it is known.
            attention_mask: 2-D padding mask ``[B, past + T]`` (1 = attend), or a prepared 4-D mask.
            position_ids: ``[B, T]``; default ``past_len + arange(T)``.
            cache: a ``Cache`` (``DynamicCache``) holding earlier positions; updated in place.
            inputs_embeds: ``[B, T, hidden]``, replaces the tabular embedding (``input_ids``/``context_ids`` must
                then be None).
            use_cache: create/return a ``DynamicCache`` (default ``config.use_cache``).
            output_hidden_states: also return the input of every layer and the final output.
            output_attentions: also return attention weights (needs ``attn_implementation="eager"``).
            return_dict: False → tuple.
            **kwargs: passed to the attention interface (e.g. flash-attention varlen arguments).

        Returns:
            ``BaseModelOutputWithPast``: ``last_hidden_state [B, T, hidden]`` (after the final norm),
            ``cache``, and optional ``hidden_states`` / ``attentions``.
        """
        if (input_ids is None) ^ (inputs_embeds is not None):
            raise ValueError("You must specify exactly one of input_ids or inputs_embeds")
        config = self.config
        output_hidden_states = config.output_hidden_states if output_hidden_states is None else output_hidden_states
        output_attentions = config.output_attentions if output_attentions is None else output_attentions
        use_cache = config.use_cache if use_cache is None else use_cache
        if self.gradient_checkpointing and self.training:
            use_cache = False  # the checkpointed layers would write the cache twice

        if inputs_embeds is None:
            if context_ids is None:
                context_ids = self.default_context(input_ids.shape[0], input_ids.shape[1], input_ids.device)
            elif context_ids.shape[:-1] != input_ids.shape or context_ids.shape[-1] != config.num_context_fields:
                raise ValueError(
                    f"context_ids must have shape {(*input_ids.shape, config.num_context_fields)} "
                    f"(batch, seq, {config.context_field_names}), got {tuple(context_ids.shape)}"
                )
            inputs_embeds = self.embed_tokens(input_ids, context_ids)
        elif context_ids is not None:
            raise ValueError("context_ids is part of the tabular embedding; with inputs_embeds it must be None")

        if use_cache and cache is None:
            cache = DynamicCache(config=config)

        if position_ids is None:
            past_seen = cache.get_seq_length() if cache is not None else 0
            position_ids = torch.arange(inputs_embeds.shape[1], device=inputs_embeds.device) + past_seen
            position_ids = position_ids.unsqueeze(0)

        causal_mask = create_causal_mask(
            config=config,
            inputs_embeds=inputs_embeds,
            attention_mask=attention_mask,
            cache=cache,
            position_ids=position_ids,
        )

        hidden_states = inputs_embeds
        position_embeddings = self.rotary_emb(hidden_states, position_ids)
        all_hidden = () if output_hidden_states else None
        all_attn = () if output_attentions else None
        for decoder_layer in self.layers:
            if output_hidden_states:
                all_hidden += (hidden_states,)
            out = decoder_layer(
                hidden_states,
                attention_mask=causal_mask,
                position_embeddings=position_embeddings,
                cache=cache,
                use_cache=use_cache,
                output_attentions=output_attentions,
                **kwargs,
            )
            if output_attentions:
                hidden_states, weights = out
                all_attn += (weights,)
            else:
                hidden_states = out
        hidden_states = self.norm(hidden_states)
        if output_hidden_states:
            all_hidden += (hidden_states,)

        output = BaseModelOutputWithPast(
            last_hidden_state=hidden_states,
            cache=cache if use_cache else None,
            hidden_states=all_hidden,
            attentions=all_attn,
        )
        if return_dict is False:
            return output.to_tuple()
        return output


class TradeFMForCausalLM(TradeFMPreTrainedModel, GenerationMixin):
    """TradeFM with its untied ``hidden -> vocab_size`` output head; next-trade-token prediction.

    Args:
        config: a ``TradeFMConfig``.
    """

    _tied_weights_keys: dict[str, str] = {}

    def __init__(self, config: TradeFMConfig) -> None:
        super().__init__(config)
        self.model = TradeFMModel(config)
        self.vocab_size = config.vocab_size
        self.lm_head = nn.Linear(config.hidden_size, config.vocab_size, bias=False)
        self.post_init()

    @deprecate_kwarg("past_key_values", "5.40.0", new_name="cache")
    def forward(
        self,
        input_ids: torch.LongTensor | None = None,
        context_ids: torch.LongTensor | None = None,
        attention_mask: torch.Tensor | None = None,
        position_ids: torch.LongTensor | None = None,
        cache: Cache | None = None,
        inputs_embeds: torch.Tensor | None = None,
        labels: torch.LongTensor | None = None,
        use_cache: bool | None = None,
        logits_to_keep: int | torch.Tensor = 0,
        output_hidden_states: bool | None = None,
        output_attentions: bool | None = None,
        return_dict: bool | None = None,
        **kwargs,
    ) -> CausalLMOutputWithPast | tuple:
        r"""Next-trade-token logits (and loss).

        Context rule: ``logits[:, t]`` is the distribution of ``input_ids[:, t + 1]`` given
        ``input_ids[:, :t + 1]`` and ``context_ids[:, :t + 1]``, where ``context_ids[t]`` is the market state right
        after event ``t`` (tier, Δp bin of the mid after event ``t``, event ``t``'s participant flag).

        Args:
            input_ids: trade tokens ``[B, T]``.
            context_ids: ``[B, T, 3]`` (tier, Δp bin, participant flag); ``None`` → ``config.default_context_ids``.
            attention_mask: padding mask ``[B, past + T]``.
            position_ids: ``[B, T]``.
            cache: a ``Cache`` (``DynamicCache``); for cached decoding pass only the new positions'
                ``input_ids``/``context_ids`` (``[B, 1]`` / ``[B, 1, 3]``).
            inputs_embeds: ``[B, T, hidden]`` instead of ids.
            labels: ``[B, T]``, normally ``== input_ids`` (the loss shifts by one inside); ``-100`` is ignored.
            use_cache: return a cache.
            logits_to_keep: int k > 0 → logits of the last k positions only (``[B, k, V]``); a 1-D tensor →
                those positions; 0 → all.
            output_hidden_states / output_attentions / return_dict: as in ``TradeFMModel``.
            **kwargs: ``num_items_in_batch`` (from the Trainer, keeps gradient accumulation exact) and other loss
                keys go to ``self.loss_function``; the rest to the attention interface.

        Returns:
            ``CausalLMOutputWithPast``: ``loss`` (mean next-token cross-entropy) when ``labels`` is given,
            ``logits [B, T or k, vocab_size]``, ``cache``, optional ``hidden_states``/``attentions``.
        """
        loss_kwargs = {k: kwargs.pop(k) for k in _LOSS_KWARGS if k in kwargs}
        outputs = self.model(
            input_ids=input_ids,
            context_ids=context_ids,
            attention_mask=attention_mask,
            position_ids=position_ids,
            cache=cache,
            inputs_embeds=inputs_embeds,
            use_cache=use_cache,
            output_hidden_states=output_hidden_states,
            output_attentions=output_attentions,
            return_dict=True,
            **kwargs,
        )
        hidden_states = outputs.last_hidden_state
        if isinstance(logits_to_keep, int):
            if logits_to_keep > 0:
                hidden_states = hidden_states[:, -logits_to_keep:, :]
        else:
            hidden_states = hidden_states[:, logits_to_keep, :]
        logits = self.lm_head(hidden_states)

        loss = None
        if labels is not None:
            loss = self.loss_function(logits=logits, labels=labels, vocab_size=self.config.vocab_size, **loss_kwargs)

        output = CausalLMOutputWithPast(
            loss=loss,
            logits=logits,
            cache=outputs.cache,
            hidden_states=outputs.hidden_states,
            attentions=outputs.attentions,
        )
        if return_dict is False:
            return output.to_tuple()
        return output

    @deprecate_kwarg("past_key_values", "5.40.0", new_name="cache")
    def prepare_inputs_for_generation(
        self,
        input_ids: torch.LongTensor,
        next_sequence_length: int | None = None,
        cache: Cache | None = None,
        attention_mask: torch.LongTensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        context_ids: torch.LongTensor | None = None,
        **kwargs,
    ) -> dict:
        """Slice ``context_ids`` like ``input_ids`` at every ``generate`` step (open-loop generation).

        ``generate`` forwards unknown kwargs unchanged, so without this override the full prompt context would be
        fed with a single new token. Let ``L = input_ids.shape[1]`` (prompt + generated so far) and the step feed
        positions ``[L - n, L)``. The context of position ``p`` is ``context_ids[:, p]`` when the caller gave it
        (``context_ids`` may be *longer* than the prompt to pre-specify the context of future positions);
        otherwise — a newly generated event whose market effect is unknown in open loop — the last given context
        row is repeated. Closed-loop rollouts (context from a simulator) call ``forward`` directly instead.

        Args:
            input_ids: ``[B, L]`` prompt + generated tokens.
            next_sequence_length: how many trailing positions this step feeds (``None`` = all).
            cache: the generation cache.
            attention_mask: ``[B, L]``.
            inputs_embeds: prompt embeddings (first step only).
            context_ids: ``[B, L0 >= 1, 3]`` known context rows (prompt, optionally plus future rows).
            **kwargs: passed to ``GenerationMixin.prepare_inputs_for_generation``.

        Returns:
            The model inputs for this step, with ``context_ids [B, n, 3]``.
        """
        model_inputs = super().prepare_inputs_for_generation(
            input_ids,
            next_sequence_length=next_sequence_length,
            cache=cache,
            attention_mask=attention_mask,
            inputs_embeds=inputs_embeds,
            **kwargs,
        )
        if context_ids is not None and model_inputs.get("input_ids") is not None:
            total = input_ids.shape[1]
            n = model_inputs["input_ids"].shape[1]
            known = context_ids.shape[1]
            if total <= known:
                step_context = context_ids[:, total - n : total]
            else:
                # Positions past the known rows reuse the last known row (open-loop rule, see docstring).
                index = torch.arange(total - n, total, device=context_ids.device).clamp_(max=known - 1)
                step_context = context_ids[:, index]
            model_inputs["context_ids"] = step_context.to(model_inputs["input_ids"].device)
        return model_inputs


__all__ = [
    "TradeFMAttention",
    "TradeFMDecoderLayer",
    "TradeFMForCausalLM",
    "TradeFMMLP",
    "TradeFMModel",
    "TradeFMPreTrainedModel",
    "TradeFMRMSNorm",
    "TradeFMRotaryEmbedding",
    "TradeFMTabularEmbedding",
    "apply_rotary_pos_emb",
    "eager_attention_forward",
    "repeat_kv",
    "rotate_half",
]
