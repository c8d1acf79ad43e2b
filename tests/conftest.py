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


# Shared files with an embedded copy in data/samples (same records; see data/samples/README.md):
# a clone without ../shared still runs the tests that need only these.
EMBEDDED = {
    ("databento", "glbx-esh4", "esh4-glbx-mdp3-20231225.mbo.csv.zst"): "databento/esh4-glbx-mdp3-20231225.mbo.csv.zst",
    ("lobster", "AAPL_2012-06-21_34200000_37800000_message_50.csv"):
        "lobster/AAPL_2012-06-21_34200000_37800000_message_50.csv.zst",
    ("lobster", "AMZN_2012-06-21_34200000_57600000_message_1.csv"):
        "lobster/AMZN_2012-06-21_34200000_57600000_message_1.csv.zst",
}


def real_path(*parts: str) -> Path:
    """Path under the shared real-data folder, else its embedded copy; skips the test when neither exists."""
    path = REAL_DATA.joinpath(*parts)
    if not path.exists() and tuple(parts) in EMBEDDED:
        path = SAMPLES / EMBEDDED[tuple(parts)]
    if not path.exists():
        pytest.skip(f"real sample data not found at {REAL_DATA.joinpath(*parts)} "
                    "(set TRADEFM_REAL_DATA to ../shared/data/real)")
    return path


@pytest.fixture
def real_data() -> Path:
    if not REAL_DATA.exists():
        pytest.skip(f"real sample data folder not found at {REAL_DATA}")
    return REAL_DATA
