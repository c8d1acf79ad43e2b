"""LOB-Bench export: folder layout, file names, columns, decimal-point times, 40-column books."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re

import numpy as np
import pytest
from conftest import real_path


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    from modeling_tradefm.cli import main
    from modeling_tradefm.features import split_sessions
    from modeling_tradefm.io import read_events, write_mbo_csv
    from modeling_tradefm.prefix import select_prefix

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
    # three rollouts of one start: --all-rollouts gives each its own real_id (the real window repeated);
    # the stand-in rollouts are consecutive real stretches, so a time window from the start would
    # leave the later ones empty: cut every file by rows instead
    assert main(["export-lobbench", "--real", str(path), "--generated", f"Trade_FM={gen}", "-o", str(root),
                 "--all-rollouts", "--window-rows", "1200"]) == 0
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


# ---- one real reference for every source, one real window per start ---------------------------------
STARTS = ("23:30:00", "23:40:00")


@pytest.fixture(scope="module")
def two_sources(tmp_path_factory):
    """Two sources (stand-ins: real continuations of different lengths) from two starts each."""
    from modeling_tradefm.features import split_sessions
    from modeling_tradefm.io import read_events, write_mbo_csv
    from modeling_tradefm.prefix import parse_clock, select_prefix

    path = real_path("databento", "glbx-esh4", "esh4-glbx-mdp3-20231225.mbo.csv.zst")
    events = read_events(path, progress=False)
    session = split_sessions(events)[0]
    tmp = tmp_path_factory.mktemp("lb2")
    folders = {"A": [], "B": []}
    t0 = {}
    for start in STARTS:
        _, prefix, start_ns = select_prefix(session.events, parse_clock(start), "UTC", str(path))
        rest = session.events[len(prefix):]
        t0[start] = int(prefix.ts_recv[-1])
        for name, n in (("A", 900), ("B", 1400)):
            folder = tmp / name / start.replace(":", "")
            folder.mkdir(parents=True)
            write_mbo_csv(rest[:n], folder / "rollout_000.mbo.csv.zst")
            write_mbo_csv(rest[:n + 300], folder / "rollout_001.mbo.csv.zst")
            (folder / "meta.json").write_text(json.dumps({
                "data": [str(path)], "start": start, "tz": "UTC", "prefix_events": len(prefix),
                "start_ts_ns": int(start_ns),
                "session": {"instrument_id": int(session.instrument_id), "symbol": session.symbol,
                            "date": session.date}}))
            folders[name].append(folder)
    return path, folders, t0, session


def _export(path, tmp_path, generated, *flags):
    from modeling_tradefm.cli import main

    root = tmp_path / "root"
    argv = ["export-lobbench", "--real", str(path), "-o", str(root), *flags]
    for name, folder in generated:
        argv += ["--generated", f"{name}={folder}"]
    rc = main(argv)
    return rc, root


def _times(msg_path) -> np.ndarray:
    return np.array([float(line.split(",", 1)[0]) for line in msg_path.read_text().splitlines()])


def test_every_source_gets_the_same_distinct_real_windows(two_sources, tmp_path):
    from modeling_tradefm.io.lobster import events_to_lobster_messages, utc_ns_to_ny_seconds_ns
    from modeling_tradefm.prefix import parse_clock, select_prefix

    path, folders, t0, session = two_sources
    # A by its two start folders, B as one folder holding both starts
    rc, root = _export(path, tmp_path, [("A", folders["A"][0]), ("A", folders["A"][1]),
                                        ("B", folders["B"][0].parent)])
    assert rc == 0
    manifest = json.loads((root / "lobbench_export.json").read_text())
    base = {n: root / n / "ESH4" / "2023-12-25" for n in ("A", "B")}
    for sub in ("data_real", "data_cond"):
        a = sorted((base["A"] / sub).iterdir())
        b = sorted((base["B"] / sub).iterdir())
        assert [p.name for p in a] == [p.name for p in b] and len(a) == 4  # 2 real_ids × (message, book)
        assert all(x.read_bytes() == y.read_bytes() for x, y in zip(a, b, strict=True))  # byte-identical
    real = {int(re.search(r"real_id_(\d+)", p.name).group(1)): p
            for p in (base["A"] / "data_real").glob("*_message_*.csv")}
    assert real[0].read_bytes() != real[1].read_bytes()  # distinct windows, one per start
    # exactly one generated file per real_id, gen_id_0
    for n in ("A", "B"):
        gen = sorted(p.name for p in (base[n] / "data_gen").glob("*_message_*.csv"))
        assert [re.search(r"real_id_(\d+)_gen_id_(\d+)", g).groups() for g in gen] == [("0", "0"), ("1", "0")]
    # default window: the time span of the shortest exported rollout (A's first rollout of the
    # first start: 900 events), measured from each prefix's last record
    spans = []
    for start in STARTS:
        from modeling_tradefm.io import read_file

        for name in ("A", "B"):
            ev = read_file(folders[name][STARTS.index(start)] / "rollout_000.mbo.csv.zst").events
            spans.append((int(ev.ts_recv[-1]) - t0[start]) / 1e9)
    assert manifest["window"]["unit"] == "seconds"
    assert manifest["window"]["value"] == pytest.approx(min(spans), abs=1e-9)
    span = manifest["window"]["value"]
    for rid, start in enumerate(STARTS):
        end = utc_ns_to_ny_seconds_ns(session.date, np.array([t0[start] + int(round(span * 1e9))]))[0] / 1e9
        first = utc_ns_to_ny_seconds_ns(session.date, np.array([t0[start]]))[0] / 1e9
        for n in ("A", "B"):
            for sub in ("data_real", "data_gen"):
                t = _times(next((base[n] / sub).glob(f"*_message_real_id_{rid}*.csv")))
                assert t[0] >= first - 1e-9 and t[-1] <= end + 1e-9
        t = _times(real[rid])
        # every real message up to the end of the span, none after it
        _, prefix, _ = select_prefix(session.events, parse_clock(start), "UTC", str(path))
        rows, _, _ = events_to_lobster_messages(session.events[len(prefix):], initial=prefix)
        assert len(t) == int((rows[:, 0] <= round(end * 1e9)).sum())
        entry = manifest["real"][rid]
        assert entry["copy_of"] is None and entry["t0_ns"] == t0[start] and entry["rows"] == len(t)
        assert entry["message_sha256"] == hashlib.sha256(real[rid].read_bytes()).hexdigest()
    # the second rollout of each start is not exported (one per start) and the manifest says so
    assert len(manifest["sources"]["A"]["left_out"]) == 2 and manifest["sources"]["B"]["files"][1]["real_id"] == 1


def test_window_in_rows_cuts_every_file_to_n_message_rows(two_sources, tmp_path):
    path, folders, _, _ = two_sources
    rc, root = _export(path, tmp_path, [("A", folders["A"][0]), ("B", folders["B"][0])], "--window-rows", "700")
    assert rc == 0
    for n in ("A", "B"):
        for sub in ("data_real", "data_gen"):
            for msg in (root / n / "ESH4" / "2023-12-25" / sub).glob("*_message_*.csv"):
                assert len(msg.read_text().splitlines()) == 700
                book = str(msg).replace("_message_", "_orderbook_")
                assert len(open(book).read().splitlines()) == 700
    assert json.loads((root / "lobbench_export.json").read_text())["window"] == {
        "unit": "rows", "value": 700, "chosen": "given"}


def test_all_rollouts_repeat_the_window_and_sources_must_share_starts(two_sources, tmp_path, capsys):
    path, folders, _, _ = two_sources
    rc, root = _export(path, tmp_path, [("A", folders["A"][0]), ("B", folders["B"][0])], "--all-rollouts")
    assert rc == 0
    manifest = json.loads((root / "lobbench_export.json").read_text())
    assert [r["copy_of"] for r in manifest["real"]] == [None, 0]  # two rollouts of one start: a marked copy
    real = sorted((root / "A" / "ESH4" / "2023-12-25" / "data_real").glob("*_message_*.csv"))
    assert len(real) == 2 and real[0].read_bytes() == real[1].read_bytes()
    # B without the second start: no common real reference, refused with one line
    rc, _ = _export(path, tmp_path / "x", [("A", folders["A"][0]), ("A", folders["A"][1]), ("B", folders["B"][0])])
    assert rc == 2
    assert "every source must be scored against the same real windows" in capsys.readouterr().err


def test_help_names_the_window_units():
    from modeling_tradefm.cli import build_parser

    sub = next(a for a in build_parser()._actions if a.dest == "command")
    text = sub.choices["export-lobbench"].format_help()
    assert "--window-seconds S" in text and "SECONDS" in text and "ROWS" in text and "--real-events" not in text
    assert "gen_id_0" in text  # LOB-Bench's one-generated-file-per-real_id constraint
