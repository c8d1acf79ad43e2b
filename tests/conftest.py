"""Shared test set-up: offline Hub, a private HF cache, and the paths of the real sample data."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

# Before transformers/datasets are imported anywhere: no network, and a writable private cache
# (remote-code loading copies modules into HF_HOME).
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HF_HOME", tempfile.mkdtemp(prefix="tradefm-hf-home-"))
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import pytest  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]
# ../shared/data/real next to the checkout (CI clones with shared/ beside the repo).
REAL_DATA = Path(os.environ.get("TRADEFM_REAL_DATA", REPO_ROOT.parent / "shared" / "data" / "real"))
SAMPLES = REPO_ROOT / "data" / "samples"


def real_path(*parts: str) -> Path:
    """Path under the shared real-data folder; skips the calling test when it is absent."""
    path = REAL_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real sample data not found at {path} (set TRADEFM_REAL_DATA to ../shared/data/real)")
    return path


@pytest.fixture
def real_data() -> Path:
    if not REAL_DATA.exists():
        pytest.skip(f"real sample data folder not found at {REAL_DATA}")
    return REAL_DATA
