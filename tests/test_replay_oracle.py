# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""Exact oracle: replaying LOBSTER's AAPL level-10 messages reproduces LOBSTER's own orderbook file.

The book before message 1 is derived from the orderbook's first row by undoing message 1. A
level-10 LOBSTER message file omits every event beyond the 10th level, so once a price leaves the
10-level window its volume is no longer observed: the simulator tracks, per row and side, how many
leading levels the data determine. Every determined cell must equal LOBSTER's file; the others are
reported (and shown here to be genuinely unknowable, not a replay bug).
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import real_path

from modeling_tradefm.cli import main
from modeling_tradefm.commands.replay import (
    determined_mask,
    messages_beyond_depth,
    read_lobster_book,
    read_messages,
    replay_lobster,
)
from modeling_tradefm.simulator import Simulator

NAME = "AAPL_2012-06-21_34200000_57600000_{}_10.csv"


@pytest.fixture(scope="module")
def oracle():
    folder = real_path("lobster", "aapl10-head")
    msg, book_path = folder / NAME.format("message"), folder / NAME.format("orderbook")
    events, n_msg = read_messages(msg)
    book = read_lobster_book(book_path, 10)
    initial = Simulator.from_lobster_row(book[0], 10, undo=events[events.sequence == 1])
    rows, known, sim = replay_lobster(events, n_msg, 10, initial)
    return dict(msg=msg, book_path=book_path, events=events, book=book, rows=rows, known=known, sim=sim,
                raw=np.loadtxt(msg, delimiter=",", ndmin=2))


def test_every_determined_cell_equals_lobster(oracle):
    rows, book, known = oracle["rows"], oracle["book"], oracle["known"]
    assert rows.shape == book.shape == (len(oracle["raw"]), 40)
    det = determined_mask(known, 10)
    assert np.array_equal(rows[det], book[det])
    full = (known == 10).all(axis=1)
    # the fully determined rows are equal in all 40 columns, including row 1 (message 1 replayed
    # on the derived book gives back the file's first row)
    assert full[0] and np.array_equal(rows[full], book[full])
    # the check is not vacuous: > 10,000 cells are determined (the ask side keeps >= 2 levels on
    # every row; the bid side loses its determined depth once the opening's bids leave the window)
    assert det.sum() > 10_000 and full.sum() > 10 and (known[:, 1] >= 2).all()
    # the simulator's own diagnostics: no unknown-id cancel inside the known range
    assert oracle["sim"].counters["unknown_in_known_range"] == 0


def test_undetermined_differences_are_unknowable_from_the_messages(oracle):
    """The first difference: a level that vanished with no message while it sat beyond level 10."""
    rows, book, known, raw = oracle["rows"], oracle["book"], oracle["known"], oracle["raw"]
    diff = rows != book
    r = int(np.flatnonzero(diff.any(axis=1))[0])
    assert not (known[r] == 10).all()
    col = int(np.flatnonzero(diff[r])[0])
    side_is_ask = col % 4 < 2
    price = rows[r, col - col % 2]
    # our book still holds that price (from row 1); the file no longer shows it although it would
    # be within 10 levels, and no message up to this row ever touched the price
    side_cols = slice(0, None, 4) if side_is_ask else slice(2, None, 4)
    assert price in book[0, side_cols]
    assert price not in book[r, side_cols]
    assert not np.any(raw[: r + 1, 4] == price)
    # and it had left the 10-level window in between (so its cancel was not in a level-10 file)
    assert any(price not in book[k, side_cols] for k in range(r))


def test_cli_check(oracle, tmp_path, capsys):
    out = tmp_path / "book.csv"
    rc = main(["replay", str(oracle["msg"]), "--lobster-orderbook", str(oracle["book_path"]), "--check", "-o", str(out)])
    err = capsys.readouterr().err
    assert rc == 0, err
    assert "every determined cell equals" in err and "uncertain rows" in err
    assert np.array_equal(np.loadtxt(out, delimiter=",", dtype=np.int64), oracle["rows"])
    # --strict also fails on the unknowable cells (which do differ on this file)
    assert main(["replay", str(oracle["msg"]), "--lobster-orderbook", str(oracle["book_path"]), "--check",
                 "--strict", "-o", str(out)]) == 1


def test_cli_detects_a_wrong_book(oracle, tmp_path, capsys):
    bad = oracle["book"].copy()
    bad[5, 1] += 1  # ask size at level 1 after message 6: a determined cell
    bad_path = tmp_path / oracle["book_path"].name
    np.savetxt(bad_path, bad, fmt="%d", delimiter=",")
    rc = main(["replay", str(oracle["msg"]), "--lobster-orderbook", str(bad_path), "--check", "-o", str(tmp_path / "o.csv")])
    assert rc == 1 and "first row 6" in capsys.readouterr().err


def test_cli_databento_and_errors(tmp_path, capsys):
    path = real_path("databento", "glbx-esh4", "esh4-glbx-mdp3-20231224.mbo.dbn.zst")
    out = tmp_path / "es.csv"
    assert main(["replay", str(path), "--levels", "5", "-o", str(out)]) == 0
    rows = np.loadtxt(out, delimiter=",", dtype=np.int64)
    assert rows.shape == (8725, 20) and rows[-1, 0] > rows[-1, 2] > 0
    assert main(["replay", str(path), "--levels", "0", "-o", str(out)]) == 2
    assert main(["replay", str(tmp_path / "missing_message_10.csv"), "-o", str(out)]) == 2


def test_cli_refuses_bad_options_before_any_work(oracle, tmp_path, capsys):
    """``--check`` without a book to compare with (and the like) fails at once: nothing is read
    or written (before: the whole file was replayed and written, then the run failed)."""
    out = tmp_path / "out.csv"
    es = real_path("databento", "glbx-esh4", "esh4-glbx-mdp3-20231224.mbo.dbn.zst")
    cases = [
        (["replay", str(oracle["msg"]), "--check"], "--check compares with a LOBSTER orderbook"),
        (["replay", str(oracle["msg"]), "--strict"], "--strict only applies with --check"),
        (["replay", str(es), "--lobster-orderbook", str(oracle["book_path"])], "needs a LOBSTER message file"),
        (["replay", str(oracle["msg"]), "--lobster-orderbook", str(tmp_path / "none.csv"), "--check"], "no such file"),
    ]
    for argv, text in cases:
        assert main(argv + ["-o", str(out)]) == 2
        err = capsys.readouterr().err
        assert text in err and "replayed" not in err, err
        assert not out.exists()


def test_real_lobster_files_have_no_message_beyond_their_depth(oracle):
    """The rule that tells a full-depth message file (``tradefm convert``) from a LOBSTER level-N one:
    LOBSTER's own files never act beyond the N levels of the book before a message."""
    amzn = real_path("lobster", "AMZN_2012-06-21_34200000_57600000_message_1.csv")
    amzn_book = real_path("lobster", "AMZN_2012-06-21_34200000_57600000_orderbook_1.csv")
    assert len(messages_beyond_depth(oracle["events"], oracle["book"])) == 0
    events, _ = read_messages(amzn)
    assert len(messages_beyond_depth(events, read_lobster_book(amzn_book))) == 0
    # the same book with its 10th level dropped: the 7 messages that act between its 9th and 10th
    # level (inside LOBSTER's window, beyond the cut one) now lie beyond it
    deep = messages_beyond_depth(oracle["events"], oracle["book"][:, :36])
    before, price, ask = oracle["book"][deep - 2], oracle["raw"][deep - 1, 4], oracle["raw"][deep - 1, 5] == -1
    assert deep.tolist() == [59, 104, 145, 146, 175, 292, 579]
    assert np.where(ask, (price > before[:, 32]) & (price <= before[:, 36]),
                    (price < before[:, 34]) & (price >= before[:, 38])).all()


def test_cli_check_with_the_embedded_compressed_orderbook(tmp_path, capsys):
    """The README's replay line: the embedded AMZN orderbook is .csv.zst (it was read as plain text and failed)."""
    from conftest import SAMPLES

    stem = "AMZN_2012-06-21_34200000_57600000_{}_1.csv"
    embedded = SAMPLES / "lobster" / (stem.format("orderbook") + ".zst")
    book = read_lobster_book(embedded, 1)
    assert np.array_equal(book, read_lobster_book(real_path("lobster", stem.format("orderbook"))))
    assert book.shape == (57_515, 4) and book[0].tolist() == [2239500, 100, 2231800, 100]
    out = tmp_path / "amzn_book.csv"
    assert main(["replay", str(SAMPLES / "lobster" / (stem.format("message") + ".zst")), "--lobster-orderbook",
                 str(embedded), "--levels", "1", "--check", "-o", str(out)]) == 0
    assert f"check: every determined cell equals {embedded}; 53 of 57515 rows equal" in capsys.readouterr().err
    assert np.loadtxt(out, delimiter=",", dtype=np.int64, ndmin=2).shape == book.shape
