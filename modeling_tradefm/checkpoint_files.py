# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""The package's additions to every saved TradeFM checkpoint folder.

``register_tradefm()`` installs ``write_checkpoint_files`` as ``TradeFMPreTrainedModel.model_card_writer``,
which ``save_pretrained`` calls after writing the weights and ``config.json`` (so the Trainer's
``checkpoint-N`` folders get them too). ``modeling_tradefm.py`` is a Hub file and must not import the
tokenizer; this hook is where the package side adds what it knows:

* ``README.md``, the model card (``model_card.write_model_card``);
* the tokenizer's Hub files when the config carries a tokenizer state (``config.tokenizer_config``):
  ``tradefm_tokenizer.json``, ``tokenizer_config.json`` (``auto_map`` for ``AutoTokenizer``) and
  ``tokenization_tradefm.py``, so that ``AutoTokenizer.from_pretrained(folder, trust_remote_code=True)``
  works where this package is not installed. ``config.json`` keeps ``tokenizer_config`` as well;
* the sampling settings of rollouts in ``generation_config.json`` (``write_generation_config``),
  so that ``model.generate()`` samples like ``tradefm generate`` (repetition penalty 1.2, ...).

**Which generation configs are ours to fill.** ``save_pretrained`` writes the model's
``generation_config``. When that sets ``do_sample`` (``True`` or ``False``), someone chose the
decoding (``model.generation_config = SamplingConfig(...).to_generation_config()``, a user's own
``GenerationConfig``, or a checkpoint this package saved before): the file is kept as written.
When it leaves ``do_sample`` unset, it is transformers' default (derived from ``config.json``,
greedy to ``generate``): its sampling fields are filled in with what
``SamplingConfig.from_generation_config`` reads from it (the package defaults for every field it
leaves unset), the other fields (``use_cache``, token ids, ...) kept. The rule is the reader's, so
a checkpoint saved before this hook existed samples the same in ``tradefm generate`` whether or
not it was re-saved since. The folder is filled, not the model object: ``model.generation_config``
in memory stays what it was until the model is loaded back.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from transformers import GenerationConfig
from transformers.utils import GENERATION_CONFIG_NAME

from .model_card import write_model_card
from .sampling import SamplingConfig


def write_tokenizer_files(save_directory: str | Path, config: Any) -> Path | None:
    """Write the tokenizer Hub files of ``config.tokenizer_config`` into ``save_directory``.

    Args:
        save_directory: the checkpoint folder.
        config: a ``TradeFMConfig`` (anything with ``tokenizer_config``).

    Returns:
        The path of ``tradefm_tokenizer.json``, or None when the config has no tokenizer state.

    Raises:
        ValueError: the state is not a valid ``TradeFMTokenizer`` state.
    """
    state = getattr(config, "tokenizer_config", None)
    if not state:
        return None
    from .tokenization_tradefm import TradeFMTokenizer

    return TradeFMTokenizer.from_dict(state).save_pretrained(save_directory)


def write_generation_config(save_directory: str | Path) -> Path | None:
    """Fill the sampling settings into ``save_directory/generation_config.json`` unless chosen (module docstring).

    Args:
        save_directory: the checkpoint folder, after ``PreTrainedModel.save_pretrained``.

    Returns:
        The path of ``generation_config.json``, or None when there is none (a model that does not
        generate, e.g. ``TradeFMModel``).
    """
    path = Path(save_directory) / GENERATION_CONFIG_NAME
    if not path.is_file():
        return None
    generation_config = GenerationConfig.from_pretrained(save_directory)
    if generation_config.do_sample is not None:
        return path
    try:
        sampling = SamplingConfig.from_generation_config(generation_config)
    except ValueError:  # flags rollouts do not implement: left as written, for the loader to report
        return path
    generation_config.update(**sampling.generation_kwargs(), allow_custom_entries=True)
    # no longer the config derived from config.json: generate() must not re-derive it
    generation_config._from_model_config = False
    generation_config.save_pretrained(save_directory)
    return path


def write_checkpoint_files(save_directory: str | Path, config: Any) -> None:
    """The ``save_pretrained`` hook: model card, tokenizer files, sampling settings (see the module docstring)."""
    write_model_card(save_directory, config)
    write_tokenizer_files(save_directory, config)
    write_generation_config(save_directory)


__all__ = ["write_checkpoint_files", "write_generation_config", "write_tokenizer_files"]
