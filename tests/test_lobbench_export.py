"""LOB-Bench export: folder layout, file names, columns, decimal-point times, 40-column books."""

from __future__ import annotations

import datetime as dt
import json
import re

import numpy as np
import pytest

from conftest import real_path


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    from modeling_tradefm.cli import main
    from modeling_tradefm.prefix import select_prefix
    from modeling_tradefm.features import split_sessions
    from modeling_tradefm.io import read_events, write_mbo_csv

    path = real_path("databento", "glbx-esh4", "esh4-glbx-mdp3-20231225.mbo.csv.zst")
    session = split_sessions(read_events(path, progress=False))[0]
    _, prefix, _ = select_prefix(session.events, dt.time(23, 30), "UTC", str(path))
    rest = session.events[len(prefix):]
    tmp = tmp_path_factory.mktemp("lb")
    gen = tmp / "gen"
    gen.mkdir()
    for k in range(3):
        write_mbo_csv(rest[k * 1500:(k + 1) * 1500], gen / f"rollout_{k:03d}.mbo.csv.zst")
    (gen / "meta.json").write_text(json.dumps({
        "data": [str(path)], "start": "23:30:00", "tz": "UTC", "prefix_events": len(prefix),
        "session": {"instrument_id": int(session.instrument_id), "symbol": session.symbol, "date": session.date}}))
    root = tmp / "root"
    assert main(["export-lobbench", "--real", str(path), "--generated", f"Trade_FM={gen}", "-o", str(root)]) == 0
    return root


def test_layout_and_names(exported):
    folders = list(exported.glob("*/*/*"))
    assert len(folders) == 1
    model, stock, period = folders[0].relative_to(exported).parts
    assert model == "TradeFM" and "_" not in stock and stock == "ESH4"
    base = folders[0]
    real = sorted(p.name for p in (base / "data_real").iterdir())
    gen = sorted(p.name for p in (base / "data_gen").iterdir())
    cond = sorted(p.name for p in (base / "data_cond").iterdir())
    pat = re.compile(rf"^{stock}_(\d{{4}}-\d{{2}}-\d{{2}})_(\d+)_(\d+)_(message|orderbook)_real_id_(\d+)(_gen_id_0)?\.csv$")
    for names, suffix in ((real, False), (gen, True), (cond, False)):
        assert len(names) == 6  # 3 real_ids × (message, orderbook)
        for n in names:
            m = pat.match(n)
            assert m, n
            assert bool(m.group(6)) == suffix
            assert n.split("_")[1] == m.group(1) == "2023-12-25"  # the date is the 2nd '_' token
        msgs = [n for n in names if "_message_" in n]
        books = [n for n in names if "_orderbook_" in n]
        assert [b.replace("_orderbook_", "_message_") for b in books] == msgs  # lists sort identically
        assert sorted({re.search(r"real_id_(\d+)", n).group(1) for n in names}) == ["0", "1", "2"]


def test_message_and_orderbook_contents(exported):
    base = next(exported.glob("*/*/*"))
    for sub in ("data_real", "data_gen", "data_cond"):
        for msg in (base / sub).glob("*_message_*.csv"):
            lines = msg.read_text().splitlines()
            assert lines and not lines[0].startswith("time")  # no header
            book = np.loadtxt(str(msg).replace("_message_", "_orderbook_"), delimiter=",", dtype=np.int64, ndmin=2)
            assert book.shape == (len(lines), 40)
            cols = [line.split(",") for line in lines]
            assert all(len(c) == 6 for c in cols)
            assert all(re.fullmatch(r"\d+\.\d{9}", c[0]) for c in cols)
            types = {int(c[1]) for c in cols}
            assert types <= {1, 2, 3, 4, 5, 6}
            ids = np.array([int(c[2]) for c in cols])
            assert ids.max() < 2**31  # LOB-Bench parses ids as int32
            prices = np.array([int(c[4]) for c in cols])
            assert np.all(prices > 0) and 45_000_000 < np.median(prices) < 52_000_000  # ES ≈ $4,800 × 10,000
            secs = np.array([float(c[0]) for c in cols])
            assert np.all((secs >= 0) & (secs < 86_400)) and np.all(np.diff(secs) >= 0)
            # empty levels are ±9999999999 with size 0; present levels have positive sizes
            ask_px, ask_sz = book[:, 0::4], book[:, 1::4]
            bid_px, bid_sz = book[:, 2::4], book[:, 3::4]
            assert np.all((ask_sz > 0) | (ask_px == 9999999999))
            assert np.all((bid_sz > 0) | (bid_px == -9999999999))
            assert np.all(ask_sz[:, 0] > 0) and np.all(bid_sz[:, 0] > 0)  # one level per side at least


def test_one_type4_row_per_execution(exported):
    base = next(exported.glob("*/*/*"))
    msg = sorted((base / "data_real").glob("*_message_real_id_0.csv"))[0]
    cols = [line.split(",") for line in msg.read_text().splitlines()]
    t4 = [c for c in cols if c[1] == "4"]
    assert t4  # executions are present
    # an executed order is never also deleted at the same instant by bookkeeping (no type-3 twin)
    assert all(int(c[3]) > 0 for c in cols)  # every message moves a positive size
    t3 = {(c[0], c[2]) for c in cols if c[1] == "3"}
    assert not any((c[0], c[2]) in t3 for c in t4)
