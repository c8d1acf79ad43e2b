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


def test_convert_cme_day_to_lobster_continues_the_previous_date(tmp_path, capsys):
    """The ES file spans two New York dates (the snapshot at 19:00 on the 24th, trading on the 25th):
    the second file starts from the snapshot's book and knows its orders, so it holds exactly the
    rows (and books) of the whole session written at once."""
    from modeling_tradefm.io.lobster import lobster_messages_and_book

    src = real_path(ES)
    assert main(["convert", str(src), "--to", "lobster", "-o", str(tmp_path / "lob")]) == 0
    msgs = sorted((tmp_path / "lob").glob("*_message_10.csv"))
    assert [m.name.split("_")[1] for m in msgs] == ["2023-12-24", "2023-12-25"]
    rows, _, book, _ = lobster_messages_and_book(read_file(src).events, 10, "2023-12-25")
    keep = rows[:, 0] >= 0  # the rows of the 25th
    written = np.loadtxt(msgs[1], delimiter=",", dtype=np.float64, ndmin=2)
    assert len(written) == keep.sum() > 50_000
    assert (written[:, 1:].astype(np.int64) == rows[keep][:, 1:]).all()
    books = np.loadtxt(str(msgs[1]).replace("_message_", "_orderbook_"), delimiter=",", dtype=np.int64)
    assert (books == book[keep]).all() and (books[0, [1, 3]] > 0).all()  # starts from the snapshot's book
