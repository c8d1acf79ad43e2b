"""Malformed files built from the real ones: each has a documented outcome (DataError naming the
file and row/byte, or exact skip counts with records == used + skipped)."""

from __future__ import annotations

import numpy as np
import pytest
import zstandard
from conftest import real_path

from modeling_tradefm.errors import DataError
from modeling_tradefm.io import read_file

ES_CSV = "databento/glbx-esm4/orderbooks_mbo_2024-05-08T00-00-00_2024-05-08T00-00-02.csv.zst"
ES_DBN = "databento/glbx-esm4/orderbooks_mbo_2024-05-08T00-00-00_2024-05-08T00-00-02.dbn.zst"
AAPL10 = "lobster/aapl10-head/AAPL_2012-06-21_34200000_57600000_message_10.csv"


def _csv_lines():
    data = zstandard.ZstdDecompressor().stream_reader(real_path(ES_CSV).open("rb")).read()
    return data.decode().splitlines()


def _write(tmp_path, name, lines):
    p = tmp_path / name
    p.write_text("\n".join(lines) + "\n")
    return p


def _set_field(line, index, value):
    f = line.split(",")
    f[index] = value
    return ",".join(f)


def _expect(path, pattern, row=None, offset=None):
    with pytest.raises(DataError) as info:
        read_file(path)
    err = info.value
    assert err.path == str(path) and str(path) in str(err)
    assert err.row == row and err.offset == offset, str(err)
    assert pattern in err.problem, str(err)
    return err


# L[0] is the header, so L[k] is data row k (1-based rows in DataError).
# columns: 0 ts_recv,1 ts_event,2 rtype,3 publisher_id,4 instrument_id,5 action,6 side,7 price,8 size,
#          9 channel_id,10 order_id,11 flags,12 ts_in_delta,13 sequence,14 symbol
CSV_CASES = {
    # name: (edit(lines) -> lines, problem text, row)
    "unknown_action": (lambda L: L[:100] + [_set_field(L[100], 5, "X")] + L[101:], "unknown action code 'X'", 100),
    "unknown_side": (lambda L: L[:50] + [_set_field(L[50], 6, "Q")] + L[51:], "unknown side code 'Q'", 50),
    "two_char_action": (lambda L: L[:7] + [_set_field(L[7], 5, "AA")] + L[8:], "action: expected one character", 7),
    "zero_size_add": (lambda L: L[:20] + [_set_field(L[20], 8, "0")] + L[21:], "add with size 0", 20),
    "negative_size": (lambda L: L[:30] + [_set_field(L[30], 8, "-5")] + L[31:], "size: cannot parse '-5'", 30),
    "undef_price_add": (lambda L: L[:40] + [_set_field(L[40], 7, "9223372036854775807")] + L[41:], "UNDEF price", 40),
    "unparsable_price": (lambda L: L[:5000] + [_set_field(L[5000], 7, "51x55")] + L[5001:], "price: cannot parse '51x55'", 5000),
    "ts_backwards": (lambda L: L[:13700] + [_set_field(L[13700], 0, "1715126399000000000")] + L[13701:], "ts_recv goes backwards", 13700),
    "extra_field_in_row": (lambda L: L[:60] + [L[60] + ",7"] + L[61:], "expected 15 fields, got 16", 60),
    "missing_field_in_row": (lambda L: L[:61] + [L[61].rsplit(",", 1)[0]] + L[62:], "expected 15 fields, got 14", 61),
    "dropped_column": (lambda L: [",".join(x.split(",")[:8] + x.split(",")[9:]) for x in L], "missing column(s) ['size']", 0),
    "extra_column": (lambda L: [L[0] + ",venue"] + [x + ",XCME" for x in L[1:]], "unexpected column(s) ['venue']", 0),
}


@pytest.mark.parametrize("case", sorted(CSV_CASES))
def test_malformed_databento_csv(tmp_path, case):
    edit, problem, row = CSV_CASES[case]
    _expect(_write(tmp_path, f"{case}.csv", edit(_csv_lines())), problem, row=row)


def test_skip_policy_counts_reconcile(tmp_path):
    L = _csv_lines()
    L[100] = _set_field(L[100], 5, "X")
    L[200] = _set_field(L[200], 6, "Q")
    L[300] = _set_field(L[300], 8, "0")
    L[13700] = _set_field(L[13700], 0, "1715126399000000000")
    L[400] = L[400] + ",1"
    p = _write(tmp_path, "many.csv", L)
    r = read_file(p, on_invalid="skip")
    rep = r.report
    assert rep.skipped == {"malformed_row": 1, "unknown_action": 1, "unknown_side": 1, "nonpositive_add_size": 1, "ts_backwards": 1}
    assert rep.records == 13_796 and rep.used == len(r.events) == 13_791
    assert rep.records == rep.used + sum(rep.skipped.values())


def test_r_record_and_undef_on_clear_are_fine(tmp_path):
    r = read_file(_write(tmp_path, "ok.csv", _csv_lines()))
    assert r.events.action_counts()["R"] == 1 and r.report.skipped == {}


def test_empty_file(tmp_path):
    for name in ("empty.csv", "empty.dbn", "empty.csv.zst", "AAPL_2012-06-21_0_0_message_1.csv"):
        (tmp_path / name).write_bytes(b"")
        _expect(tmp_path / name, "empty file")


def test_unknown_extension(tmp_path):
    p = tmp_path / "data.parquet"
    p.write_bytes(b"PAR1")
    _expect(p, "unknown file type")


def test_truncated_zstd_csv(tmp_path):
    raw = real_path(ES_CSV).read_bytes()
    p = tmp_path / "cut.csv.zst"
    p.write_bytes(raw[: len(raw) // 2])
    _expect(p, "truncated zstd stream", offset=len(raw) // 2)


def test_truncated_zstd_dbn(tmp_path):
    raw = real_path(ES_DBN).read_bytes()
    p = tmp_path / "cut.dbn.zst"
    p.write_bytes(raw[: len(raw) - 100])
    _expect(p, "truncated zstd stream", offset=len(raw) - 100)


def test_corrupt_zstd_header(tmp_path):
    raw = bytearray(real_path(ES_CSV).read_bytes())
    raw[0] ^= 0xFF  # flip the magic number
    p = tmp_path / "flip.csv.zst"
    p.write_bytes(bytes(raw))
    _expect(p, "not a zstd stream")


def test_uncompressed_file_named_zst(tmp_path):
    p = tmp_path / "plain.csv.zst"
    p.write_text("\n".join(_csv_lines()[:10]))
    _expect(p, "not a zstd stream")


def test_truncated_dbn_record(tmp_path):
    data = zstandard.ZstdDecompressor().stream_reader(real_path(ES_DBN).open("rb")).read()
    p = tmp_path / "cut.dbn"
    p.write_bytes(data[:-10])
    err = _expect(p, "incomplete record after 13795 complete records", offset=len(data) - 56)
    assert "56-byte" in err.problem


def test_dbn_flipped_action_byte(tmp_path):
    data = bytearray(zstandard.ZstdDecompressor().stream_reader(real_path(ES_DBN).open("rb")).read())
    meta_end = 8 + int.from_bytes(data[4:8], "little")
    rec = meta_end + 56 * 10  # 11th record; action is at byte 38 of an MBO record
    assert data[rec + 38] == ord("A")
    data[rec + 38] = ord("Z")
    p = tmp_path / "flip.dbn"
    p.write_bytes(bytes(data))
    _expect(p, "unknown action code 'Z'", row=11)


LOBSTER_CASES = {
    "bad_type": (lambda L: L[:10] + ["34200.1,9,1,1,1,1"] + L[11:], "unknown message type", 11),
    "bad_direction": (lambda L: L[:12] + [_set_field(L[12], 5, "0")] + L[13:], "direction must be 1 or -1", 13),
    "zero_size": (lambda L: L[:14] + [_set_field(L[14], 3, "0")] + L[15:], "size must be positive", 15),
    "bad_number": (lambda L: L[:16] + [_set_field(L[16], 4, "58.5x")] + L[17:], "price: cannot parse '58.5x'", 17),
    "time_backwards": (lambda L: L[:500] + [_set_field(L[500], 0, "34100.0")] + L[501:], "ts_recv goes backwards", 501),
    "header_added": (lambda L: ["time,type,order_id,size,price,direction"] + L, "no header", 1),
    "missing_column": (lambda L: [",".join(x.split(",")[:5]) for x in L], "expected 6 fields, got 5", 1),
}


@pytest.mark.parametrize("case", sorted(LOBSTER_CASES))
def test_malformed_lobster(tmp_path, case):
    edit, problem, row = LOBSTER_CASES[case]
    lines = real_path(AAPL10).read_text().splitlines()
    _expect(_write(tmp_path, "AAPL_2012-06-21_0_0_message_10.csv", edit(lines)), problem, row=row)


def test_lobster_skip_counts(tmp_path):
    lines = real_path(AAPL10).read_text().splitlines()
    lines[10] = "34200.1,9,1,1,1,1"
    lines[14] = _set_field(lines[14], 3, "0")
    p = _write(tmp_path, "AAPL_2012-06-21_0_0_message_10.csv", lines)
    r = read_file(p, on_invalid="skip")
    assert r.report.skipped == {"unknown_type": 1, "nonpositive_size": 1}
    assert r.report.records == len(lines) == r.report.used + 2


def test_lobster_name_without_date(tmp_path):
    p = tmp_path / "foo_message_1.csv"
    p.write_text("34200.1,1,1,1,10000,1\n")
    _expect(p, "cannot tell symbol and date")
    r = read_file(p, symbol="FOO", date="2012-06-21")
    assert len(r.events) == 1 and r.events.symbols and np.all(r.events.price == 10**9)


# --------------------------------------------------------------------------------------------- damaged zstd frames
# Every reader, every kind of damage: one DataError naming the file, and one `error: <file>: ...`
# line from the CLI (a zstandard traceback escaped the DBN reader before).
AMZN = "lobster/AMZN_2012-06-21_34200000_57600000_{}_1.csv"
ZST_SOURCES = {  # name -> (shared file, name of the damaged copy)
    "dbn": (ES_DBN, "esm4.mbo.dbn.zst"),
    "csv": (ES_CSV, "esm4.mbo.csv.zst"),
    "lobster": (AMZN.format("message"), "AMZN_2012-06-21_34200000_57600000_message_1.csv.zst"),
    "lobster-orderbook": (AMZN.format("orderbook"), "AMZN_2012-06-21_34200000_57600000_orderbook_1.csv.zst"),
}


def _plain(shared: str) -> bytes:
    path = real_path(shared)
    if path.suffix != ".zst":
        return path.read_bytes()
    with path.open("rb") as fh:  # Databento's DBN files hold several frames (metadata, then records)
        return zstandard.ZstdDecompressor().stream_reader(fh, read_across_frames=True).read()


def _damage(frame: bytes, how: str) -> bytes:
    """One zstd frame (with a content checksum) damaged: a flipped payload byte, cut short, or a wrong checksum."""
    b = bytearray(frame)
    if how == "flipped_payload":
        b[len(b) // 2] ^= 0x04
    elif how == "truncated":
        b = b[: len(b) - 1000]
    elif how == "bad_checksum":
        b[-2] ^= 0xFF  # the frame's last 4 bytes are the checksum of the content
    return bytes(b)


def _read_any(path, kind):
    if kind == "lobster-orderbook":  # read along its message file (no command reads one alone)
        message = path.parent / path.name.replace("_orderbook_", "_message_").removesuffix(".zst")
        message = message.with_name(message.name + ".zst")
        message.write_bytes(zstandard.ZstdCompressor().compress(_plain(AMZN.format("message"))))
        return read_file(message, orderbook=path)
    return read_file(path)


@pytest.mark.parametrize("how", ["flipped_payload", "truncated", "bad_checksum"])
@pytest.mark.parametrize("kind", sorted(ZST_SOURCES))
def test_damaged_zstd_frame_is_one_data_error(tmp_path, capsys, kind, how):
    from modeling_tradefm.cli import main

    shared, name = ZST_SOURCES[kind]
    frame = zstandard.ZstdCompressor(level=3, write_checksum=True).compress(_plain(shared))
    path = tmp_path / name
    path.write_bytes(_damage(frame, how))
    with pytest.raises(DataError) as info:
        _read_any(path, kind)
    err = info.value
    assert err.path == str(path) and "\n" not in str(err)
    if how == "truncated":
        assert err.problem.startswith("truncated zstd stream") and err.offset == len(frame) - 1000
    else:
        assert err.problem.startswith("corrupt zstd stream: ") and "in the frame at compressed byte 0 (0 bytes decoded" in err.problem
    if how == "bad_checksum":
        assert "content checksum mismatch" in err.problem
    if kind != "lobster-orderbook":  # the CLI: exit status 2, one line naming the file, no traceback
        assert main(["inspect", str(path)]) == 2
        out, stderr = capsys.readouterr()
        assert stderr.splitlines() == [f"error: {err}"] and out == ""


def test_damaged_shared_dbn_zst_through_the_cli(tmp_path, capsys):
    """The shared file itself (Databento's frames carry checksums): the case that printed a zstandard traceback."""
    from modeling_tradefm.cli import main

    raw = bytearray(real_path(ES_DBN).read_bytes())
    raw[len(raw) // 2] ^= 0x01
    p = tmp_path / "flip.mbo.dbn.zst"
    p.write_bytes(bytes(raw))
    assert main(["inspect", str(p)]) == 2
    out, stderr = capsys.readouterr()
    assert len(stderr.splitlines()) == 1 and out == ""
    assert stderr.startswith(f"error: {p}: corrupt zstd stream: content checksum mismatch (the data is damaged), in the frame at")


def test_damage_in_a_later_frame_names_that_frame(tmp_path):
    lines = _csv_lines()
    first = ("\n".join(lines[:5000]) + "\n").encode()
    second = ("\n".join(lines[5000:]) + "\n").encode()
    c = zstandard.ZstdCompressor(write_checksum=True)
    f1, f2 = c.compress(first), bytearray(c.compress(second))
    f2[len(f2) // 2] ^= 0x10
    p = tmp_path / "two_frames.csv.zst"
    p.write_bytes(f1 + bytes(f2))
    _expect(p, f"in the frame at compressed byte {len(f1)} ({len(first)} bytes decoded before it)")
    p.write_bytes(f1 + c.compress(second))  # undamaged, the two frames read as one file
    assert read_file(p).report.records == len(lines) - 1


@pytest.mark.parametrize("kind", ["csv", "lobster", "lobster-orderbook"])
def test_binary_bytes_in_a_plain_csv(tmp_path, capfd, kind):
    """Non-text bytes in a CSV: a DataError at the byte and line, and nothing printed from inside pyarrow."""
    shared, name = ZST_SOURCES[kind]
    data = bytearray(_plain(shared))
    at = data.index(b"\n", len(data) // 3) + 3  # a few bytes into some line
    data[at] = 0xFF
    path = tmp_path / name.removesuffix(".zst")
    path.write_bytes(bytes(data))
    with pytest.raises(DataError) as info:
        _read_any(path, kind)
    line = data.count(b"\n", 0, at) + 1
    assert info.value.path == str(path)
    assert info.value.problem.startswith(f"binary data at byte {at} (line {line}): not UTF-8 text")
    out, stderr = capfd.readouterr()
    assert stderr == "" and out == ""


# Every command that reads event files gives the reader's one line and exit status 2 for a damaged
# frame, not only `inspect` (the readers raise; each command must let the DataError reach the CLI).
def _commands(path, tmp):
    empty = tmp / "empty"
    empty.mkdir(exist_ok=True)
    return {
        "inspect": ["inspect", str(path)],
        "convert": ["convert", str(path), "--to", "lobster", "-o", str(tmp / "lob")],
        "replay": ["replay", str(path), "-o", str(tmp / "book.csv")],
        # --model: any folder; the data are read before the model is loaded
        "generate": ["generate", "--model", str(empty), "--data", str(path), "--start", "00:00:01", "-o", str(tmp / "g")],
        "fit-baseline": ["fit-baseline", "zi", "--data", str(path), "-q", "-o", str(tmp / "zi")],
        "evaluate": ["evaluate", "--real", str(path), "--generated", f"x={empty}", "-o", str(tmp / "rep")],
        "export-lobbench": ["export-lobbench", "--real", str(path), "--generated", f"x={empty}", "-o", str(tmp / "lb")],
    }


@pytest.mark.parametrize("kind", ["dbn", "csv"])
def test_a_damaged_frame_is_one_line_from_every_reading_command(tmp_path, capsys, kind):
    from modeling_tradefm.cli import main

    shared, name = ZST_SOURCES[kind]
    frame = zstandard.ZstdCompressor(level=3, write_checksum=True).compress(_plain(shared))
    path = tmp_path / name
    for how in ("flipped_payload", "truncated"):
        path.write_bytes(_damage(frame, how))
        with pytest.raises(DataError) as info:
            read_file(path)
        for command, argv in _commands(path, tmp_path).items():
            assert main(argv) == 2, (how, command)
            err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
            assert err == [f"error: {info.value}"], (how, command)
        assert not any((tmp_path / d).exists() for d in ("lob", "book.csv", "g", "zi", "rep", "lb"))


@pytest.mark.parametrize("kind", ["dbn", "csv"])
def test_flipped_bytes_in_frames_without_a_checksum(tmp_path, kind):
    """Without a content checksum a flipped byte may decode to other data: then the file reads, or
    the records' own checks fail; never anything but a DataError (zstd's raw errors escaped before)."""
    shared, name = ZST_SOURCES[kind]
    frame = zstandard.ZstdCompressor(level=3, write_checksum=False).compress(_plain(shared))
    path = tmp_path / name
    rng = np.random.default_rng(7)
    outcomes = []
    for at in rng.integers(len(frame) // 4, 3 * len(frame) // 4, 12):
        b = bytearray(frame)
        b[at] ^= 1 << int(rng.integers(8))
        path.write_bytes(bytes(b))
        try:
            read_file(path)
            outcomes.append("read")
        except DataError as err:
            assert err.path == str(path) and "\n" not in str(err)
            outcomes.append("error")
    assert "error" in outcomes  # the damage is seen at least sometimes: the check is not vacuous
