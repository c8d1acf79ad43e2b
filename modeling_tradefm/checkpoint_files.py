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
  works where this package is not installed. ``config.json`` keeps ``tokenizer_config`` as well.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .model_card import write_model_card


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


def write_checkpoint_files(save_directory: str | Path, config: Any) -> None:
    """The ``save_pretrained`` hook: model card, then the tokenizer files (see the module docstring)."""
    write_model_card(save_directory, config)
    write_tokenizer_files(save_directory, config)


__all__ = ["write_checkpoint_files", "write_tokenizer_files"]
