"""The embedded real data (data/samples): every copy present, listed, documented, and equal to the shared file."""

from __future__ import annotations

import conftest
import pytest
from conftest import EMBEDDED, REAL_DATA, SAMPLES

NOT_DATA = {"README.md"}


def test_every_embedded_file_is_listed_and_documented():
    on_disk = {p.relative_to(SAMPLES).as_posix() for p in SAMPLES.rglob("*") if p.is_file()} - NOT_DATA
    # a file missing from data/samples would turn its tests into skips; an unlisted one is unused weight
    assert on_disk == set(EMBEDDED.values())
    readme = (SAMPLES / "README.md").read_text()
    undocumented = sorted(p for p in on_disk if f"`{p}`" not in readme)
    assert not undocumented, f"data/samples/README.md gives no provenance for {undocumented}"


def test_embedded_copies_hold_the_shared_bytes():
    """What a clone without ../shared reads (rebuilt from data/samples) is byte for byte the shared file."""
    shared = [rel for rel in EMBEDDED if (REAL_DATA / rel).is_file()]
    if not shared:
        pytest.skip(f"compares with the shared real-data folder, absent at {REAL_DATA}")
    for rel in shared:
        assert conftest.rebuild_embedded(rel).read_bytes() == (REAL_DATA / rel).read_bytes(), rel
