"""Shared test set-up: offline Hub, a private HF cache, and the paths of the real sample data.

Real data comes from the shared folder (``../shared/data/real`` beside the checkout, or
``TRADEFM_REAL_DATA``) when it is there, else from the embedded copies in ``data/samples`` (see
``data/samples/README.md``), so a fresh clone runs the same tests on the same bytes.
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import tempfile
from pathlib import Path, PurePosixPath

# Before transformers/datasets are imported anywhere: no network, and a writable private cache
# (remote-code loading copies modules into HF_HOME).
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HF_HOME", tempfile.mkdtemp(prefix="tradefm-hf-home-"))
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import pytest  # noqa: E402
import zstandard  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]
# ../shared/data/real next to the checkout (CI clones with shared/ beside the repo).
REAL_DATA = Path(os.environ.get("TRADEFM_REAL_DATA", REPO_ROOT.parent / "shared" / "data" / "real"))
SAMPLES = REPO_ROOT / "data" / "samples"

_AMZN = "lobster/AMZN_2012-06-21_34200000_57600000"
_AAPL50 = "lobster/AAPL_2012-06-21_34200000_37800000_message_50.csv"
_ES25 = "esh4-glbx-mdp3-20231225.mbo"
_ES24 = "esh4-glbx-mdp3-20231224.mbo"
_ESM4 = "databento/glbx-esm4/orderbooks_mbo_2024-05-08T00-00-00_2024-05-08T00-00-02"
_FIXTURES = ("GLBX.MDP3.test_data.mbo", "IFEU.IMPACT.test_data.mbo", "NDEX.IMPACT.test_data.mbo",
             "XNAS.ITCH.test_data.mbo", "dbn.test_data.mbo.v3")

# Shared file (relative to REAL_DATA) -> its embedded copy (relative to SAMPLES). Same records in
# both; a copy named with an extra ".zst" is the zstd-compressed original, and the demo's ES CSV
# sits at the top of databento/ (so that `data/samples/databento/*.csv.zst` means the demo's data).
EMBEDDED: dict[str, str] = {
    f"databento/glbx-esh4/{_ES25}.csv.zst": f"databento/{_ES25}.csv.zst",
    _AAPL50: _AAPL50 + ".zst",
    f"{_AMZN}_message_1.csv": f"{_AMZN}_message_1.csv.zst",
    f"{_AMZN}_orderbook_1.csv": f"{_AMZN}_orderbook_1.csv.zst",
}
EMBEDDED.update({p: p for p in (
    f"databento/glbx-esh4/{_ES25}.dbn.zst",
    f"databento/glbx-esh4/{_ES25}.pretty.csv.zst",
    f"databento/glbx-esh4/{_ES24}.csv.zst",
    f"databento/glbx-esh4/{_ES24}.dbn.zst",
    f"{_ESM4}.csv.zst",
    f"{_ESM4}.dbn.zst",
    "databento/glbx-esm4/orderbooks_definition.dbn.zst",
    "lobster/aapl10-head/AAPL_2012-06-21_34200000_57600000_message_10.csv",
    "lobster/aapl10-head/AAPL_2012-06-21_34200000_57600000_orderbook_10.csv",
    *(f"databento/databento-samples/{name}.{ext}.zst" for name in _FIXTURES for ext in ("csv", "dbn")),
)})

_rebuilt: Path | None = None  # session folder laid out like REAL_DATA, rebuilt from the embedded copies


def _rebuilt_root() -> Path:
    global _rebuilt
    if _rebuilt is None:
        _rebuilt = Path(tempfile.mkdtemp(prefix="tradefm-real-data-"))
        atexit.register(shutil.rmtree, _rebuilt, ignore_errors=True)
    return _rebuilt


def embedded_source(rel: str) -> Path:
    """The embedded copy of shared file ``rel``; a listed copy that is missing fails the test (never skips)."""
    src = SAMPLES / EMBEDDED[rel]
    if not src.is_file():
        pytest.fail(f"{src} is missing: data/samples is incomplete (conftest.EMBEDDED lists it as the copy of {rel})")
    return src


def rebuild_embedded(rel: str) -> Path:
    """``rel`` under the rebuilt folder, with the shared file's name and bytes (decompressed if need be)."""
    out = _rebuilt_root() / rel
    if not out.exists():
        src = embedded_source(rel)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(out.name + ".part")
        if src.name == out.name:
            shutil.copyfile(src, tmp)
        else:
            with src.open("rb") as fin, tmp.open("wb") as fout:
                zstandard.ZstdDecompressor().copy_stream(fin, fout)
        tmp.replace(out)
    return out


def _lobster_pair(rel: str) -> list[str]:
    """The embedded orderbook of LOBSTER message file ``rel`` (or the message file of an orderbook), if any."""
    m = re.fullmatch(r"(.*)_(message|orderbook)_(\d+)\.csv", rel)
    if not m:
        return []
    other = f"{m[1]}_{'orderbook' if m[2] == 'message' else 'message'}_{m[3]}.csv"
    return [other] if other in EMBEDDED else []


def real_path(*parts: str) -> Path:
    """A file or folder of the shared real data, else the same content rebuilt from data/samples.

    ``parts`` are joined and normalised, so ``real_path("lobster", "x.csv")`` and
    ``real_path("lobster/x.csv")`` name the same file. Without the shared folder, an embedded file
    whose copy has the shared name is returned in place; a compressed copy is decompressed, and a
    folder is assembled, under a session temporary folder laid out like the shared one (holding only
    the embedded files); a LOBSTER message file and its orderbook are decompressed together, so a
    test that reads one with ``orderbook=True`` does not depend on another test having asked for the
    other. Skips the test only when the data is neither shared nor embedded.
    """
    rel = PurePosixPath(*parts).as_posix()
    path = REAL_DATA / rel
    if path.exists():
        return path
    if rel in EMBEDDED:
        src = embedded_source(rel)
        if src.name == PurePosixPath(rel).name:
            return src
        # the LOBSTER reader finds an orderbook beside its message file: rebuild the pair together
        for other in _lobster_pair(rel):
            rebuild_embedded(other)
        return rebuild_embedded(rel)
    inside = [k for k in EMBEDDED if PurePosixPath(k).is_relative_to(rel)]
    if not inside:
        pytest.skip(f"{rel} is neither under {REAL_DATA} (set TRADEFM_REAL_DATA to the shared data/real) "
                    "nor embedded in data/samples")
    for k in inside:
        rebuild_embedded(k)
    return _rebuilt_root() / rel


@pytest.fixture
def real_data() -> Path:
    if not REAL_DATA.exists():
        pytest.skip(f"real sample data folder not found at {REAL_DATA}")
    return REAL_DATA
