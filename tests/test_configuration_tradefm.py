# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""TradeFMConfig: defaults, validation, JSON round trips, presets and their parameter counts (meta device)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from huggingface_hub.errors import StrictDataclassClassValidationError, StrictDataclassFieldValidationError

from modeling_tradefm.configuration_tradefm import PRESETS, TradeFMConfig, default_context_ids
from modeling_tradefm.model_card import _count_parameters
from modeling_tradefm.modeling_tradefm import TradeFMForCausalLM

CONFIGS = Path(__file__).resolve().parents[1] / "configs" / "model"


def test_defaults_filled_in_post_init():
    config = TradeFMConfig(vocab_size=64, hidden_size=32, num_attention_heads=4, num_key_value_heads=None)
    assert config.model_type == "tradefm"
    assert config.head_dim == 8
    assert config.num_key_value_heads == 4
    assert config.field_vocab_sizes == [64, 3, 32, 2]
    assert config.field_embed_dims == [32, 32, 32, 32]
    assert config.default_context_ids == [1, 16, 0]
    assert config.num_context_fields == 3
    assert config.rope_parameters == {"rope_type": "default", "rope_theta": 10000.0}
    assert config.tokenizer_config is None
    assert config.tie_word_embeddings is False


def test_legacy_rope_theta_is_folded_into_rope_parameters():
    config = TradeFMConfig(hidden_size=32, num_attention_heads=4, num_key_value_heads=2, rope_theta=500.0)
    assert config.rope_parameters["rope_theta"] == 500.0


def test_default_context_rule():
    assert default_context_ids([16384, 3, 32, 2]) == [1, 16, 0]
    assert default_context_ids([10, 5, 2]) == [2, 0]


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(hidden_size=30, num_attention_heads=4),  # hidden % heads
        dict(hidden_size=32, num_attention_heads=4, num_key_value_heads=3),  # heads % kv heads
        dict(vocab_size=64, field_vocab_sizes=[63, 3, 32, 2]),  # trade-token table != vocab
        dict(field_embed_dims=[8, 8, 8]),  # one width per field
        dict(field_vocab_sizes=[16384, 3, 0, 2]),
        dict(default_context_ids=[3, 0, 0]),  # tier out of range
        dict(default_context_ids=[0, 0]),
        dict(tie_word_embeddings=True),
    ],
)
def test_validation_rejects_inconsistent_architectures(kwargs):
    base = dict(hidden_size=32, num_attention_heads=4, num_key_value_heads=2)
    base.update(kwargs)
    with pytest.raises((StrictDataclassClassValidationError, ValueError)):
        TradeFMConfig(**base)


def test_strict_rejects_wrong_types():
    with pytest.raises((StrictDataclassFieldValidationError, TypeError)):
        TradeFMConfig(hidden_size="32")
    with pytest.raises(StrictDataclassFieldValidationError):
        TradeFMConfig(hidden_size=32, num_attention_heads=4, num_key_value_heads=2, use_cache="yes")


def test_json_and_save_round_trip(tmp_path):
    tok = {"n_price_depth": 16, "edges": {"dt": [0.0, 0.1]}}
    config = TradeFMConfig.from_preset("tiny", tokenizer_config=tok, default_context_ids=[2, 5, 1])
    again = TradeFMConfig.from_dict(json.loads(config.to_json_string()))
    config.save_pretrained(tmp_path)
    loaded = TradeFMConfig.from_pretrained(tmp_path)
    saved = json.loads((tmp_path / "config.json").read_text())
    assert saved["model_type"] == "tradefm" and saved["tokenizer_config"] == tok
    skip = {"auto_map", "_name_or_path", "transformers_version"}
    for other in (again, loaded):
        assert {k: v for k, v in other.to_dict().items() if k not in skip} == {
            k: v for k, v in config.to_dict().items() if k not in skip
        }
        assert other.tokenizer_config == tok
        assert other.default_context_ids == [2, 5, 1]


def test_from_preset_overrides_and_unknown():
    config = TradeFMConfig.from_preset("125M", max_position_embeddings=2048)
    assert (config.num_hidden_layers, config.hidden_size, config.num_attention_heads) == (12, 768, 12)
    assert config.num_key_value_heads == 4 and config.max_position_embeddings == 2048
    with pytest.raises(KeyError, match="unknown TradeFM preset"):
        TradeFMConfig.from_preset("7B")


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_preset_json_files_match_from_preset(name):
    from_file = TradeFMConfig.from_json_file(str(CONFIGS / f"tradefm-{name}.json"))
    from_code = TradeFMConfig.from_preset(name)
    skip = {"transformers_version", "architectures"}
    a = {k: v for k, v in from_file.to_dict().items() if k not in skip}
    b = {k: v for k, v in from_code.to_dict().items() if k not in skip}
    assert a == b


# Expected counts: layers/width/heads from the seed table; 500M must land on the paper's 524M.
EXPECTED_RANGES = {"tiny": (1e6, 10e6), "125M": (115e6, 140e6), "250M": (235e6, 270e6), "500M": (519e6, 530e6)}


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_preset_parameter_counts_on_meta_device(name):
    config = TradeFMConfig.from_preset(name)
    with torch.device("meta"):
        model = TradeFMForCausalLM(config)
    n_params = sum(p.numel() for p in model.parameters())
    assert all(p.device.type == "meta" for p in model.parameters())  # nothing was allocated
    assert n_params == _count_parameters(config)  # the model card's closed form agrees with the modules
    low, high = EXPECTED_RANGES[name]
    assert low <= n_params <= high, f"{name}: {n_params:,}"
    if name == "500M":
        assert abs(n_params - 524e6) / 524e6 < 0.01
        assert n_params == 524_392_448  # PAPER.md §4 consistency check: 524.39M
