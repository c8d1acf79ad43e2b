# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""Hugging Face Hub ids wherever the package takes a folder: one rule, one kind of error.

``resolve_folder("org/name")`` is the folder of that repo in the local Hugging Face cache, fetched
first with ``huggingface_hub.snapshot_download`` (with ``HF_HUB_OFFLINE=1``, only the cache is
searched); an existing local path is returned as it is and never looked up on the Hub, so a local
folder named like a repo id wins. Everything that loads a model or a baseline by name goes through
it (``registry.load_proposer``, ``OrderProposer.from_pretrained``, ``TradeFMProposer.from_pretrained``,
``tradefm generate/perplexity --model``, training's ``--model_name_or_path``), so that what is
loaded from a Hub id is decided from the files of its folder, exactly as for a local folder.

A name that cannot be resolved raises ``DataError(name, problem)``, which the CLI prints as one
``error: <name>: <problem>`` line; a local-looking path that does not exist (absolute, ``./x``,
more than one ``/``) is a ``FileNotFoundError`` as before.
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import DataError


def is_repo_id(name: str) -> bool:
    """Whether ``name`` is spelled like a Hub repo id (``name`` or ``org/name``; huggingface_hub's rule)."""
    from huggingface_hub.errors import HFValidationError
    from huggingface_hub.utils import validate_repo_id

    try:
        validate_repo_id(name)
    except HFValidationError:
        return False
    return True


def resolve_folder(
    name_or_path: str | os.PathLike,
    *,
    revision: str | None = None,
    cache_dir: str | os.PathLike | None = None,
    token: bool | str | None = None,
    allow_patterns: list[str] | None = None,
) -> Path:
    """The local folder of ``name_or_path``: the path itself, or a Hub repo's snapshot folder.

    Args:
        name_or_path: a local folder or file, or a Hub repo id (``org/name``).
        revision: Hub branch, tag or commit (default: the main branch); ignored for a local path.
        cache_dir, token: as ``huggingface_hub.snapshot_download``.
        allow_patterns: fetch only the files matching these globs (default: the whole repo).

    Returns:
        The path (local), or the snapshot folder (``<cache>/models--org--name/snapshots/<commit>``).

    Raises:
        FileNotFoundError: a local path that does not exist and is not spelled like a repo id.
        DataError: a repo id that is neither a local path, nor in the cache (offline), nor
            fetchable from the Hub (no such repo or revision, no access, no network).
    """
    name = os.fspath(name_or_path)
    path = Path(name)
    if path.exists():
        return path
    if not is_repo_id(name):
        raise FileNotFoundError(2, "no such file or folder", name)
    from huggingface_hub import constants, snapshot_download
    from huggingface_hub.errors import (
        GatedRepoError,
        HfHubHTTPError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    at = f" at revision {revision}" if revision else ""
    try:
        folder = snapshot_download(name, revision=revision, cache_dir=cache_dir, token=token,
                                   allow_patterns=allow_patterns)
    except GatedRepoError:
        raise DataError(name, "a gated Hub repo: accept its terms on huggingface.co and log in "
                              "(`hf auth login`)") from None
    except RepositoryNotFoundError:
        raise DataError(name, "no such local folder, and no such Hub repo (or it is private: log in with "
                              "`hf auth login`)") from None
    except RevisionNotFoundError:
        raise DataError(name, f"the Hub repo has no revision {revision!r}") from None
    except LocalEntryNotFoundError:
        # offline (HF_HUB_OFFLINE=1) or the Hub unreachable: only the cache was searched
        where = "offline, HF_HUB_OFFLINE=1" if constants.HF_HUB_OFFLINE else "the Hub could not be reached"
        raise DataError(name, f"no such local folder, and not in the Hugging Face cache{at} ({where})") from None
    except HfHubHTTPError as exc:
        raise DataError(name, f"cannot fetch{at} from the Hub: {str(exc).splitlines()[0]}") from None
    return Path(folder)


__all__ = ["is_repo_id", "resolve_folder"]
