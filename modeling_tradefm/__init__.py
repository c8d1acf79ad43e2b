# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""TradeFM: a generative foundation model of Level-3 order flow, its LOB simulator and evaluation.

Importing the package registers ``TradeFMConfig`` / ``TradeFMModel`` / ``TradeFMForCausalLM`` with
transformers' Auto classes (so it imports torch and transformers: both are dependencies, and
``AutoModelForCausalLM.from_pretrained`` must know the model type once the package is imported).
The other parts (readers, features, simulator, generation, evaluation) are imported on first
attribute access, so ``import modeling_tradefm`` imports neither numba nor pyarrow.
"""

from __future__ import annotations

import importlib

from .errors import DataError
from .events import EventTable

__version__ = "0.1.0"

# public name -> submodule that defines it
_LAZY = {
    "TradeFMConfig": "configuration_tradefm",
    "TradeFMModel": "modeling_tradefm",
    "TradeFMForCausalLM": "modeling_tradefm",
    "TradeFMPreTrainedModel": "modeling_tradefm",
    "TradeFMTokenizer": "tokenization_tradefm",
    "read_events": "io",
    "FeatureConfig": "features",
    "build_features": "features",
    "Simulator": "simulator",
    "rollout": "generation_tradefm",
    "InjectedOrder": "generation_tradefm",
    "TradeFMProposer": "proposer_tradefm",
    "SamplingConfig": "sampling",
    "OrderBatch": "proposer",
    "OrderProposer": "proposer",
    "load_proposer": "registry",
}


def __getattr__(name: str):
    if name in _LAZY:
        module = importlib.import_module(f".{_LAZY[name]}", __name__)
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def register_tradefm() -> None:
    """Register the TradeFM classes with transformers' Auto classes (idempotent)."""
    from transformers import AutoConfig, AutoModel, AutoModelForCausalLM, AutoTokenizer

    from .checkpoint_files import write_checkpoint_files
    from .configuration_tradefm import TradeFMConfig
    from .modeling_tradefm import TradeFMForCausalLM, TradeFMModel, TradeFMPreTrainedModel
    from .tokenization_tradefm import TradeFMTokenizer

    AutoConfig.register("tradefm", TradeFMConfig, exist_ok=True)
    AutoModel.register(TradeFMConfig, TradeFMModel, exist_ok=True)
    AutoModelForCausalLM.register(TradeFMConfig, TradeFMForCausalLM, exist_ok=True)
    # with the package imported, AutoTokenizer gives the package's class without remote code
    AutoTokenizer.register(TradeFMConfig, tokenizer_class=TradeFMTokenizer, exist_ok=True)
    TradeFMConfig.register_for_auto_class()
    TradeFMModel.register_for_auto_class("AutoModel")
    TradeFMForCausalLM.register_for_auto_class("AutoModelForCausalLM")
    # every save_pretrained (Trainer checkpoints included) refreshes the README.md model card and
    # writes the tokenizer's Hub files (AutoTokenizer) when the config carries a tokenizer state
    TradeFMPreTrainedModel.model_card_writer = staticmethod(write_checkpoint_files)


register_tradefm()

__all__ = ["DataError", "EventTable", "register_tradefm", "__version__", *_LAZY]
