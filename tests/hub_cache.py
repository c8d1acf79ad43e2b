# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""A fake, pre-populated Hugging Face Hub cache, to test loading by repo id (``org/name``) offline.

The layout is huggingface_hub's (``huggingface_hub.constants.HF_HUB_CACHE``)::

    <cache>/models--<org>--<name>/blobs/<sha256 of the file>
    <cache>/models--<org>--<name>/snapshots/<commit>/<path>   -> ../../blobs/<sha256> (relative symlink)
    <cache>/models--<org>--<name>/refs/<revision>              the commit hash, no newline

With ``HF_HUB_OFFLINE=1`` (tests/conftest.py sets it) ``snapshot_download``, ``hf_hub_download`` and
every ``from_pretrained`` resolve ``org/name`` (and ``revision=`` a branch, tag or commit) from it.

Usage::

    hub = FakeHub(tmp_path)
    commit = hub.add("tradefm/tiny", checkpoint_folder)          # refs/main -> commit
    hub.add("tradefm/tiny", other_folder, revision="v2")           # a second revision
    hub.use(monkeypatch)                                           # this process: default cache = hub.cache
    subprocess.run([...], env={**os.environ, **hub.env()})         # a child process
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path


class FakeHub:
    """A huggingface_hub cache under ``root`` (``root/hf_home/hub``) that tests fill with folders.

    Args:
        root: a scratch folder (``tmp_path``).
    """

    def __init__(self, root: str | os.PathLike):
        self.home = Path(root) / "hf_home"
        self.cache = self.home / "hub"
        self.cache.mkdir(parents=True, exist_ok=True)

    def repo_folder(self, repo_id: str, repo_type: str = "model") -> Path:
        """``<cache>/models--org--name`` (huggingface_hub's ``repo_folder_name``)."""
        return self.cache / f"{repo_type}s--{repo_id.replace('/', '--')}"

    def add(self, repo_id: str, folder: str | os.PathLike, revision: str = "main", commit: str | None = None,
            repo_type: str = "model") -> str:
        """Cache every file under ``folder`` as ``repo_id`` at ``revision``; returns the commit hash.

        Args:
            repo_id: ``org/name``.
            folder: the files of the repo (e.g. a saved checkpoint); sub-folders are kept.
            revision: branch or tag written to ``refs/`` (a 40-hex ``revision`` is used as the commit).
            commit: the commit hash; default: derived from the files' contents (stable across runs).
            repo_type: ``"model"``, ``"dataset"`` or ``"space"``.
        """
        folder = Path(folder)
        files = sorted(p for p in folder.rglob("*") if p.is_file())
        if not files:
            raise ValueError(f"{folder}: no files to put in the fake Hub cache")
        digests = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in files}
        if commit is None:
            if len(revision) == 40 and all(c in "0123456789abcdef" for c in revision):
                commit = revision
            else:
                h = hashlib.sha1()
                for p in files:
                    h.update(f"{p.relative_to(folder).as_posix()}\0{digests[p]}\0".encode())
                commit = h.hexdigest()
        repo = self.repo_folder(repo_id, repo_type)
        (repo / "blobs").mkdir(parents=True, exist_ok=True)
        snapshot = repo / "snapshots" / commit
        for p in files:
            blob = repo / "blobs" / digests[p]
            if not blob.exists():
                shutil.copyfile(p, blob)
            target = snapshot / p.relative_to(folder)
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.exists() or target.is_symlink():
                target.unlink()
            try:
                target.symlink_to(os.path.relpath(blob, target.parent))
            except OSError:  # no symlinks (e.g. Windows without developer mode): huggingface_hub copies too
                shutil.copyfile(blob, target)
        if commit != revision:
            (repo / "refs").mkdir(exist_ok=True)
            (repo / "refs" / revision).write_text(commit)
        return commit

    def env(self) -> dict[str, str]:
        """Environment variables that point a child process at this cache, offline."""
        return {"HF_HOME": str(self.home), "HF_HUB_CACHE": str(self.cache), "HF_HUB_OFFLINE": "1"}

    def use(self, monkeypatch) -> None:
        """Make this cache the default of huggingface_hub and transformers in this process (read at call time)."""
        import huggingface_hub.constants as constants

        monkeypatch.setattr(constants, "HF_HUB_CACHE", str(self.cache))
        monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)


__all__ = ["FakeHub"]
