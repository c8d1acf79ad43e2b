# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""TradeFM model configuration (Hub file: imports only torch-free transformers / huggingface_hub).

``TradeFMConfig`` uses Llama's field names so that every transformers utility that reads a decoder config
(``DynamicCache(config=...)``, ``create_causal_mask``, the attention interface, ``generate``) works unchanged.
The TradeFM-specific fields describe the *tabular embedding* (one table per input field, concatenated and
linearly projected) and carry the calibrated tokenizer state so that a checkpoint folder is self-contained.

Input fields, in this fixed order (contract shared with the tokenizer and the dataset builder):

====  ======================  =================  ==================================================
idx   field                   vocabulary         model input
====  ======================  =================  ==================================================
0     composite trade token   ``vocab_size``     ``input_ids[b, t]`` (the predicted field)
1     liquidity tier          3                  ``context_ids[b, t, 0]``
2     price-level (Δp) bin    32                 ``context_ids[b, t, 1]``
3     participant flag I_MP   2                  ``context_ids[b, t, 2]``
====  ======================  =================  ==================================================

**Book-aware models** (beyond the paper; ``context_fields``): the tokenizer's book fields follow the
paper's three, in the tokenizer's order — ``spread_bin`` (13: spread in ticks after the event, bin 0 =
no two-sided book) and ``imbalance_bin`` (9: level-1 queue imbalance, bin 0 = no two-sided book) —
as ``context_ids[b, t, 3:]``; the tabular embedding gets one more table per field, nothing else
changes. ``context_fields`` ``None`` means the paper's three. The tokenizer's ``price_reference``
(``tokenizer_config``) says whether the δp digit is measured from the EW-VWAP mid or from the own
best quote: it changes what a token means, not the architecture.

Presets (``TradeFMConfig.from_preset``): ``tiny`` (CPU tests), ``125M``, ``250M``, ``500M`` (≈524M, the paper's
main model). Layer/width/head counts follow the seed table; FFN width, KV heads of the smaller presets and the
per-table embedding widths are our choices (the paper is silent), documented on ``PRESETS``.
"""

import copy
from typing import Any

from huggingface_hub.dataclasses import strict
from transformers import PreTrainedConfig

# No `from __future__ import annotations` here: @strict validates the field annotations at runtime.

# Field order of the tabular embedding: trade token first, then the three context fields (see module docstring).
FIELD_NAMES = ("trade_token", "liquidity_tier", "price_level_bin", "participant_flag")
PAPER_CONTEXT_FIELDS = FIELD_NAMES[1:]
# Book-aware context fields (appended after the paper's three) and the book-aware default layout.
BOOK_CONTEXT_FIELDS = ("spread_bin", "imbalance_bin")
BOOK_AWARE_CONTEXT_FIELDS = PAPER_CONTEXT_FIELDS + BOOK_CONTEXT_FIELDS
# Vocabulary of each named context field when ``field_vocab_sizes`` is not given (the tokenizer's defaults).
CONTEXT_FIELD_SIZES = {"liquidity_tier": 3, "price_level_bin": 32, "participant_flag": 2, "spread_bin": 13,
                       "imbalance_bin": 9}

# Architecture presets.  Counts are exact (tests/test_configuration_tradefm.py counts them on the meta device):
#   tiny  =   5,248,768 parameters (4 x 128, 4:2 heads, SwiGLU 512)     -- CPU tests and smoke runs
#   125M  = 131,381,760 (12 x 768, 12:4 heads, SwiGLU 3072 = 4d)
#   250M  = 251,746,304 (24 x 1024, 16:4 heads, SwiGLU 2048 = 2d: the FFN width that lands on the nominal size)
#   500M  = 524,392,448 (32 x 1024, 32:8 heads, SwiGLU 4096 = 4d: PAPER.md §4 consistency check, "524M")
# All presets: vocab 16,384, field_vocab_sizes [16384, 3, 32, 2], field_embed_dims = hidden per table (rule in
# ``default_field_embed_dims``), untied output head, RoPE theta 10,000, 1,024-event context (tiny: 1,024 too).
PRESETS: dict[str, dict[str, Any]] = {
    "tiny": dict(
        num_hidden_layers=4, hidden_size=128, num_attention_heads=4, num_key_value_heads=2, intermediate_size=512
    ),
    "125M": dict(
        num_hidden_layers=12, hidden_size=768, num_attention_heads=12, num_key_value_heads=4, intermediate_size=3072
    ),
    "250M": dict(
        num_hidden_layers=24, hidden_size=1024, num_attention_heads=16, num_key_value_heads=4, intermediate_size=2048
    ),
    "500M": dict(
        num_hidden_layers=32, hidden_size=1024, num_attention_heads=32, num_key_value_heads=8, intermediate_size=4096
    ),
}


def default_field_embed_dims(field_vocab_sizes: list[int], hidden_size: int) -> list[int]:
    """Per-table embedding widths used when ``field_embed_dims`` is not given.

    Rule: every table gets ``hidden_size`` columns, so the projection is ``len(fields) * hidden -> hidden``. With
    four 1,024-d tables (4,096 -> 1,024) the 500M preset totals 524.39M parameters, the only configuration in the
    PAPER.md §4 search that matches the paper's "524M". The three context tables are tiny (37 rows in all), so the
    rule costs ``3 * hidden**2`` projection weights and nothing else.

    Args:
        field_vocab_sizes: vocabulary size of each field, trade token first.
        hidden_size: model width.

    Returns:
        One embedding width per field.
    """
    return [hidden_size] * len(field_vocab_sizes)


def default_context_ids(field_vocab_sizes: list[int], context_fields: list[str] | None = None) -> list[int]:
    """Context row used when ``forward`` gets no ``context_ids`` (and ``config.default_context_ids`` is None).

    Rule: the middle bin of every context field (tier 1 of 0..2 = medium liquidity; Δp bin 16 of 0..31, the
    quantile bin next to the median intraday move, i.e. "about flat since the open"; book fields: spread bin 6
    of 0..12, imbalance bin 4 of 0..8, about balanced), except the participant flag, which is 0 (ordinary market
    flow, not an injected participant order). Without ``context_fields`` the participant flag is the last field.

    Args:
        field_vocab_sizes: vocabulary size of each field, trade token first.
        context_fields: names of the context fields (``TradeFMConfig.context_fields``), or ``None``.

    Returns:
        ``len(field_vocab_sizes) - 1`` context ids.
    """
    context = [n // 2 for n in field_vocab_sizes[1:]]
    if context:
        names = list(context_fields) if context_fields is not None else []
        flag = names.index("participant_flag") if "participant_flag" in names else len(context) - 1
        if flag < len(context):
            context[flag] = 0
    return context


@strict
class TradeFMConfig(PreTrainedConfig):
    r"""Configuration of a TradeFM decoder (Llama-style, GQA, RoPE, SwiGLU, RMSNorm) with a tabular embedding.

    Llama-named fields (``vocab_size`` … ``head_dim``) mean exactly what they mean in ``LlamaConfig``.

    Args:
        vocab_size: number of composite trade tokens (16,384 = 2·2·16·16·16); the output head's width.
        hidden_size: model width.
        intermediate_size: SwiGLU inner width.
        num_hidden_layers: decoder layers.
        num_attention_heads: query heads.
        num_key_value_heads: KV heads (GQA); ``None`` → ``num_attention_heads`` (MHA).
        head_dim: per-head width; ``None`` → ``hidden_size // num_attention_heads``.
        hidden_act: FFN activation (``"silu"`` = SwiGLU).
        max_position_embeddings: context length in events (1,024 in the paper).
        initializer_range: std of the normal init of Linear/Embedding weights.
        rms_norm_eps: RMSNorm epsilon.
        use_cache: return a ``DynamicCache`` by default.
        rope_parameters: ``{"rope_type": "default", "rope_theta": 10000.0}`` unless given.
        attention_bias / mlp_bias: biases in the attention / FFN projections (off, as Llama).
        attention_dropout: dropout on attention probabilities (training only).
        tie_word_embeddings: must stay False: the input table feeds a projection, the head is its own matrix.
        field_vocab_sizes: vocabulary of each tabular-embedding field, fixed order
            ``[trade token (= vocab_size), liquidity tier, Δp bin, participant flag, *book fields]``; default
            ``[vocab_size, 3, 32, 2]`` (with ``context_fields``: ``CONTEXT_FIELD_SIZES`` of each name).
        field_embed_dims: embedding width of each field's table; ``None`` → ``default_field_embed_dims``.
        default_context_ids: context row ``(tier, Δp bin, flag, ...)`` used when ``forward`` receives no
            ``context_ids``; ``None`` → ``default_context_ids(field_vocab_sizes, context_fields)`` = ``[1, 16, 0]``.
        context_fields: names of the ``context_ids`` columns, the book-aware switch: ``None`` (default) = the
            paper's ``PAPER_CONTEXT_FIELDS``; ``list(BOOK_AWARE_CONTEXT_FIELDS)`` = the paper's plus the book's
            spread and imbalance bins (must equal the tokenizer's ``context_fields``).
        tokenizer_config: the calibrated ``TradeFMTokenizer`` state (``TradeFMTokenizer.to_dict()``), written by
            the training script; ``TradeFMTokenizer.check_compatible(config)`` validates it.
        pad_token_id / bos_token_id / eos_token_id: unused by TradeFM (the 16,384 tokens are all events); ``None``.
    """

    model_type = "tradefm"
    keys_to_ignore_at_inference = ["cache"]
    base_model_tp_plan = {
        "layers.*.self_attn.q_proj": "colwise",
        "layers.*.self_attn.k_proj": "colwise",
        "layers.*.self_attn.v_proj": "colwise",
        "layers.*.self_attn.o_proj": "rowwise",
        "layers.*.mlp.gate_proj": "colwise",
        "layers.*.mlp.up_proj": "colwise",
        "layers.*.mlp.down_proj": "rowwise",
    }

    vocab_size: int = 16384
    hidden_size: int = 1024
    intermediate_size: int = 4096
    num_hidden_layers: int = 32
    num_attention_heads: int = 32
    num_key_value_heads: int | None = 8
    head_dim: int | None = None
    hidden_act: str = "silu"
    max_position_embeddings: int = 1024
    initializer_range: float = 0.02
    rms_norm_eps: float = 1e-6
    use_cache: bool = True
    rope_parameters: dict | None = None
    attention_bias: bool = False
    attention_dropout: int | float = 0.0
    mlp_bias: bool = False
    tie_word_embeddings: bool = False
    pad_token_id: int | None = None
    bos_token_id: int | None = None
    eos_token_id: int | list[int] | None = None
    field_vocab_sizes: list[int] | None = None
    field_embed_dims: list[int] | None = None
    default_context_ids: list[int] | None = None
    tokenizer_config: dict | None = None
    context_fields: list[str] | None = None

    def __post_init__(self, **kwargs):
        # RoPE needs nothing here: PreTrainedConfig.__post_init__ fills rope_parameters (default
        # {"rope_type": "default", "rope_theta": default_theta = 10000.0}) and folds a legacy
        # rope_theta / rope_scaling kwarg into it, as for Llama.
        if self.head_dim is None:
            self.head_dim = self.hidden_size // self.num_attention_heads
        if self.num_key_value_heads is None:
            self.num_key_value_heads = self.num_attention_heads
        if self.context_fields is not None:
            self.context_fields = [str(name) for name in self.context_fields]
        if self.field_vocab_sizes is None:
            names = self.context_fields if self.context_fields is not None else PAPER_CONTEXT_FIELDS
            unknown = [name for name in names if name not in CONTEXT_FIELD_SIZES]
            if unknown:
                raise ValueError(f"context fields {unknown} have no default size: give field_vocab_sizes")
            self.field_vocab_sizes = [self.vocab_size, *(CONTEXT_FIELD_SIZES[name] for name in names)]
        self.field_vocab_sizes = [int(n) for n in self.field_vocab_sizes]
        if self.field_embed_dims is None:
            self.field_embed_dims = default_field_embed_dims(self.field_vocab_sizes, self.hidden_size)
        self.field_embed_dims = [int(d) for d in self.field_embed_dims]
        if self.default_context_ids is None:
            self.default_context_ids = default_context_ids(self.field_vocab_sizes, self.context_fields)
        self.default_context_ids = [int(c) for c in self.default_context_ids]
        super().__post_init__(**kwargs)

    @property
    def num_context_fields(self) -> int:
        """Number of conditioning columns of ``context_ids`` (3 for the paper's TradeFM, 5 book-aware)."""
        return len(self.field_vocab_sizes) - 1

    @property
    def context_field_names(self) -> list[str]:
        """``context_fields``, or the paper's names when it is ``None`` (generic names for other layouts)."""
        if self.context_fields is not None:
            return list(self.context_fields)
        if self.num_context_fields == len(PAPER_CONTEXT_FIELDS):
            return list(PAPER_CONTEXT_FIELDS)
        return [f"context_{i}" for i in range(self.num_context_fields)]

    @property
    def book_context(self) -> bool:
        """Whether the model reads book state (a book context field) besides the paper's context."""
        return any(name in BOOK_CONTEXT_FIELDS for name in self.context_fields or ())

    def set_context_fields(self, context_fields: list[str], field_vocab_sizes: list[int]) -> None:
        """Switch to another context layout (e.g. a book-aware tokenizer's) before a model is built.

        ``field_embed_dims`` and ``default_context_ids`` are re-derived by their default rules.
        """
        self.context_fields = [str(name) for name in context_fields]
        self.field_vocab_sizes = [int(n) for n in field_vocab_sizes]
        self.field_embed_dims = default_field_embed_dims(self.field_vocab_sizes, self.hidden_size)
        self.default_context_ids = default_context_ids(self.field_vocab_sizes, self.context_fields)
        self.validate_architecture()

    def validate_architecture(self):
        """Checked by ``@strict`` on construction; raises ``ValueError`` on an inconsistent architecture."""
        if self.hidden_size % self.num_attention_heads != 0:
            raise ValueError(
                f"hidden_size ({self.hidden_size}) is not a multiple of num_attention_heads "
                f"({self.num_attention_heads})."
            )
        if self.num_attention_heads % self.num_key_value_heads != 0:
            raise ValueError(
                f"num_attention_heads ({self.num_attention_heads}) is not a multiple of num_key_value_heads "
                f"({self.num_key_value_heads})."
            )
        if len(self.field_vocab_sizes) < 1 or self.field_vocab_sizes[0] != self.vocab_size:
            raise ValueError(
                f"field_vocab_sizes[0] must be the trade-token vocabulary vocab_size={self.vocab_size}, "
                f"got {self.field_vocab_sizes}."
            )
        if any(n <= 0 for n in self.field_vocab_sizes):
            raise ValueError(f"field_vocab_sizes must be positive, got {self.field_vocab_sizes}.")
        if len(self.field_embed_dims) != len(self.field_vocab_sizes) or any(d <= 0 for d in self.field_embed_dims):
            raise ValueError(
                f"field_embed_dims {self.field_embed_dims} must hold one positive width per field "
                f"{self.field_vocab_sizes}."
            )
        if len(self.default_context_ids) != len(self.field_vocab_sizes) - 1 or any(
            not 0 <= c < n for c, n in zip(self.default_context_ids, self.field_vocab_sizes[1:], strict=True)
        ):
            raise ValueError(
                f"default_context_ids {self.default_context_ids} must hold one in-range id per context field "
                f"(vocabularies {self.field_vocab_sizes[1:]})."
            )
        if self.context_fields is not None and (
            len(self.context_fields) != len(self.field_vocab_sizes) - 1
            or len(set(self.context_fields)) != len(self.context_fields)
        ):
            raise ValueError(
                f"context_fields {self.context_fields} must name each context field once "
                f"(vocabularies {self.field_vocab_sizes[1:]})."
            )
        if self.tie_word_embeddings:
            raise ValueError("TradeFM does not tie the output head to the tabular input embedding.")

    @classmethod
    def from_preset(cls, name: str, **overrides: Any) -> "TradeFMConfig":
        """Build a preset configuration.

        Args:
            name: one of ``"tiny"``, ``"125M"``, ``"250M"``, ``"500M"`` (see ``PRESETS``).
            **overrides: any config field, applied on top of the preset (e.g. ``max_position_embeddings=2048``).

        Returns:
            A validated ``TradeFMConfig``.

        Raises:
            KeyError: unknown preset name.
        """
        if name not in PRESETS:
            raise KeyError(f"unknown TradeFM preset {name!r}; choose from {sorted(PRESETS)}")
        kwargs = copy.deepcopy(PRESETS[name])
        kwargs.update(overrides)
        return cls(**kwargs)


__all__ = [
    "BOOK_AWARE_CONTEXT_FIELDS",
    "BOOK_CONTEXT_FIELDS",
    "CONTEXT_FIELD_SIZES",
    "FIELD_NAMES",
    "PAPER_CONTEXT_FIELDS",
    "PRESETS",
    "TradeFMConfig",
    "default_context_ids",
    "default_field_embed_dims",
]
