"""``tradefm inspect`` and ``tradefm convert`` through ``cli.main``."""

from __future__ import annotations

import json

import numpy as np
from conftest import real_path

from modeling_tradefm.cli import main
from modeling_tradefm.io import read_file

ES = "databento/glbx-esh4/esh4-glbx-mdp3-20231225.mbo.dbn.zst"
AAPL10 = "lobster/aapl10-head/AAPL_2012-06-21_34200000_57600000_message_10.csv"


def test_inspect_json_is_one_object(capsys):
    es = real_path(ES)
    lob = real_path(AAPL10)
    assert main(["inspect", "--json", str(es), str(lob)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert list(out) == ["files"] and len(out["files"]) == 2
    f = out["files"][0]
    assert f["path"] == str(es) and f["records"] == 68_792 and f["skipped"] == {}
    assert f["actions"] == {"A": 29_216, "C": 17_999, "F": 6_371, "M": 12_233, "T": 2_973}
    assert sum(s["events"] for s in f["sessions"]) == 68_792
    assert {s["symbol"] for s in f["sessions"]} == {"ESH4"}
    g = out["files"][1]
    assert g["records"] == 999 and g["info"]["unknown_order_id"] == 9
    assert [s["date"] for s in g["sessions"]] == ["2012-06-21"]
    assert g["start"].startswith("2012-06-21T13:30:00")


def test_inspect_text_and_bad_file(tmp_path, capsys):
    assert main(["inspect", str(real_path(AAPL10))]) == 0
    assert "records 999" in capsys.readouterr().out
    bad = tmp_path / "x.csv"
    bad.write_text("ts_recv,foo\n1,2\n")
    assert main(["inspect", str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {bad}: row 0: missing column(s)")
    assert main(["inspect", str(tmp_path / "nothing*.dbn")]) == 2
    assert "pattern matches no file" in capsys.readouterr().err


def test_convert_to_mbo_csv(tmp_path, capsys):
    src = real_path(ES)
    out = tmp_path / "es.csv.zst"
    assert main(["convert", str(src), "--to", "mbo-csv", "-o", str(out)]) == 0
    assert read_file(out).events.equals(read_file(src).events)
    assert main(["convert", str(src), "--to", "mbo-csv", "-o", str(tmp_path / "es.txt")]) == 2


def test_convert_to_lobster(tmp_path, capsys):
    src = real_path(AAPL10)
    assert main(["convert", str(src), "--to", "lobster", "--no-orderbook", "-o", str(tmp_path / "lob")]) == 0
    files = sorted((tmp_path / "lob").iterdir())
    assert [f.name for f in files] == ["AAPL_2012-06-21_34200004_34249086_message_10.csv"]
    back = read_file(files[0])
    orig = read_file(src)
    assert back.events.equals(orig.events)  # same symbol → same instrument id; rows identical


def _replay_check(capsys, msg) -> tuple[int, str]:
    book = str(msg).replace("_message_", "_orderbook_")
    rc = main(["replay", str(msg), "--lobster-orderbook", book, "--check", "-o", str(msg.parent / "replayed.csv")])
    return rc, capsys.readouterr().err


def test_convert_cme_day_to_lobster_keeps_the_session_whole(tmp_path, capsys):
    """One file per session that ``inspect`` reports: the snapshot (19:00 New York on the 24th,
    00:00 UTC) stays in the file of the UTC date 2023-12-25, at negative times, so the file
    replays alone to its orderbook: ``replay --check`` finds every row of all 40 columns equal
    and none uncertain (before: a snapshot-only file of the 24th and a file of the 25th that
    lacked its 8,725 orders, 59,852 of 60,806 rows uncertain)."""
    src = real_path(ES)
    assert main(["inspect", "--json", str(src)]) == 0
    sessions = json.loads(capsys.readouterr().out)["files"][0]["sessions"]
    assert [(s["symbol"], s["date"]) for s in sessions] == [("ESH4", "2023-12-25")]
    assert main(["convert", str(src), "--to", "lobster", "-o", str(tmp_path / "lob")]) == 0
    capsys.readouterr()
    names = sorted(f.name for f in (tmp_path / "lob").iterdir())
    assert names == ["ESH4_2023-12-25_-18000000_68399446_message_10.csv",
                     "ESH4_2023-12-25_-18000000_68399446_orderbook_10.csv"]
    msg = tmp_path / "lob" / names[0]
    back = read_file(msg)
    ev = read_file(src).events
    assert back.report.records == 69_531 and back.report.info["unknown_order_id"] == 0
    assert back.events.ts_recv[0] == ev.ts_recv[0] and back.events.ts_recv[-1] == ev.ts_recv[-1]
    raw = np.loadtxt(msg, delimiter=",", ndmin=2)
    assert (raw[:8_725, 1] == 1).all() and raw[0, 0] == -18_000.0 and raw[8_725, 0] > 61_200  # snapshot, then 17:00 NY
    rc, err = _replay_check(capsys, msg)
    assert rc == 0, err
    assert "69531 of 69531 rows equal in all 40 columns; 0 rows differ" in err and "uncertain" not in err


def test_convert_cme_trade_dates_continue_each_other(tmp_path, capsys):
    """``--sessions cme``: the snapshot (18:00 Chicago on the 24th) is trade date 2023-12-25, the
    trading from 16:00 Chicago on the 25th trade date 2023-12-26. The second file starts from the
    snapshot's book and knows its orders, so it holds exactly the rows (and books) of the whole data
    written at once; replayed alone it cannot know the orders resting beyond the 10 levels of its
    first row, and says so."""
    from modeling_tradefm.io.lobster import lobster_messages_and_book

    src = real_path(ES)
    assert main(["convert", str(src), "--to", "lobster", "--sessions", "cme", "-o", str(tmp_path / "lob")]) == 0
    msgs = sorted((tmp_path / "lob").glob("*_message_10.csv"))
    assert [m.name for m in msgs] == ["ESH4_2023-12-25_-18000000_-18000000_message_10.csv",
                                      "ESH4_2023-12-26_-25199819_-18000554_message_10.csv"]
    rows, at, book, _ = lobster_messages_and_book(read_file(src).events, 10, "2023-12-26")
    keep = at >= 8_725  # the rows of the live events (trade date 2023-12-26)
    written = np.loadtxt(msgs[1], delimiter=",", dtype=np.float64, ndmin=2)
    assert len(written) == keep.sum() == 60_806
    assert (written[:, 1:].astype(np.int64) == rows[keep][:, 1:]).all()
    assert np.allclose(written[:, 0], rows[keep][:, 0] / 1e9, rtol=0, atol=1e-6)
    books = np.loadtxt(str(msgs[1]).replace("_message_", "_orderbook_"), delimiter=",", dtype=np.int64)
    assert (books == book[keep]).all() and (books[0, [1, 3]] > 0).all()  # starts from the snapshot's book
    rc, err = _replay_check(capsys, msgs[1])
    assert rc == 0 and "every determined cell equals" in err
    assert "orders resting beyond the seeded levels before message 1 are in neither file" in err
