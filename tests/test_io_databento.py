"""Databento DBN / CSV readers on the real files, and the MBO CSV writer round trip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import real_path

from modeling_tradefm.errors import DataError
from modeling_tradefm.events import ACTION_ADD, ACTION_CLEAR, F_SNAPSHOT, UNDEF_PRICE, EventTable
from modeling_tradefm.io import expand_paths, iter_files, read_events, read_file, write_mbo_csv

ES = "databento/glbx-esh4/esh4-glbx-mdp3-20231225.mbo"


def test_es_day_identical_from_dbn_csv_and_pretty_csv():
    dbn = read_file(real_path(ES + ".dbn.zst"))
    csv = read_file(real_path(ES + ".csv.zst"))
    pretty = read_file(real_path(ES + ".pretty.csv.zst"))
    assert [r.report.format for r in (dbn, csv, pretty)] == ["dbn", "databento-csv", "databento-csv-pretty"]
    for r in (dbn, csv, pretty):
        assert r.report.records == r.report.used == len(r.events) == 68_792
        assert r.report.skipped == {}
        assert r.events.symbols == {17077: "ESH4"}
    assert dbn.events.equals(csv.events)
    assert dbn.events.equals(pretty.events)


def test_es_day_action_counts_match_data_readme():
    ev = read_file(real_path(ES + ".csv.zst")).events
    snap = (ev.flags & F_SNAPSHOT) != 0
    assert int(snap.sum()) == 8_725
    assert set(np.unique(ev.action[snap]).tolist()) == {ACTION_ADD}
    assert ev[~snap].action_counts() == {"A": 20_491, "C": 17_999, "M": 12_233, "F": 6_371, "T": 2_973}
    # live part is 22:00-24:00 UTC on 2023-12-25
    live = ev.ts_recv[~snap]
    assert np.datetime64(int(live.min()), "ns") >= np.datetime64("2023-12-25T22:00")
    assert np.datetime64(int(live.max()), "ns") < np.datetime64("2023-12-26T00:00")


def test_esm4_clear_record_and_undef_price_kept():
    for ext in (".dbn.zst", ".csv.zst"):
        r = read_file(real_path("databento/glbx-esm4/orderbooks_mbo_2024-05-08T00-00-00_2024-05-08T00-00-02" + ext))
        ev = r.events
        assert r.report.records == len(ev) == 13_796
        assert ev.action[0] == ACTION_CLEAR and ev.price[0] == UNDEF_PRICE and ev.size[0] == 0
        assert int((ev.action == ACTION_CLEAR).sum()) == 1
        assert int((ev.price == UNDEF_PRICE).sum()) == 1  # only the R record: adds never carry UNDEF
        assert np.isnan(ev.price_float()[0]) and np.isfinite(ev.price_float()[1:]).all()


def test_definition_schema_is_rejected():
    with pytest.raises(DataError, match="only MBO"):
        read_file(real_path("databento/glbx-esm4/orderbooks_definition.dbn.zst"))


def test_every_databento_sample_reads_and_csv_equals_dbn():
    folder = real_path("databento/databento-samples")
    dbns = expand_paths(folder / "*.dbn.zst")
    assert len(dbns) == 5
    for path in dbns:
        a = read_file(path)
        b = read_file(str(path).replace(".dbn.zst", ".csv.zst"))
        assert a.report.records == b.report.records == len(a.events) > 0
        assert a.events.equals(b.events), path.name
        assert a.events.symbols == b.events.symbols and len(a.events.symbols) == 1
    ifeu = read_file(folder / "IFEU.IMPACT.test_data.mbo.csv.zst").events
    assert ifeu.symbols == {5617221: "BRN FMJ0024!"}
    assert ifeu.action_counts() == {"T": 4} and set(ifeu.side.tolist()) == {ord("N")}


@pytest.mark.parametrize("suffix", [".csv", ".csv.zst"])
def test_mbo_csv_writer_round_trip(tmp_path, suffix):
    ev = read_file(real_path("databento/glbx-esm4/orderbooks_mbo_2024-05-08T00-00-00_2024-05-08T00-00-02.csv.zst")).events
    out = tmp_path / ("out" + suffix)
    write_mbo_csv(ev, out)
    back = read_file(out)
    assert back.events.equals(ev) and back.events.symbols == ev.symbols
    if suffix == ".csv":
        lines = out.read_text().splitlines()
        assert lines[0] == "ts_recv,ts_event,rtype,publisher_id,instrument_id,action,side,price,size,channel_id,order_id,flags,ts_in_delta,sequence,symbol"
        assert lines[1] == "1715126400000000000,1714910404570304567,160,0,5602,R,N,9223372036854775807,0,0,0,40,0,0,ESM4"


def test_mbo_csv_writer_keeps_participant_flag(tmp_path):
    ev = EventTable.from_columns(
        ts_recv=[1, 2, 3], action=[ord("A")] * 3, side=[ord("B"), ord("A"), ord("B")], price=[10**9, 2 * 10**9, 10**9],
        size=[1, 2, 3], order_id=[7, 8, 9], instrument_id=[5] * 3, participant=[0, 1, 0], symbols={5: "X, Y"},
    )
    write_mbo_csv(ev, tmp_path / "p.csv")
    back = read_file(tmp_path / "p.csv").events
    assert back.equals(ev) and back.symbols == {5: "X, Y"}


def test_globs_lists_and_read_events():
    pattern = str(real_path("databento/glbx-esh4") / "*.mbo.csv.zst")
    files = expand_paths(pattern)
    assert [p.name for p in files] == ["esh4-glbx-mdp3-20231224.mbo.csv.zst", "esh4-glbx-mdp3-20231225.mbo.csv.zst"]
    ev = read_events([pattern], progress=False)
    assert len(ev) == 8_725 + 68_792
    reports = [r.report for r in iter_files(files)]
    assert [r.records for r in reports] == [8_725, 68_792]
    with pytest.raises(DataError, match="matches no file"):
        expand_paths(str(Path(pattern).parent / "nothing-*.dbn"))


def test_pretty_csv_undef_price_is_empty_field(tmp_path):
    src = real_path("databento/glbx-esm4/orderbooks_mbo_2024-05-08T00-00-00_2024-05-08T00-00-02.dbn.zst")
    import databento as db

    db.DBNStore.from_file(src).to_csv(tmp_path / "p.csv", pretty_px=True, pretty_ts=True, map_symbols=True)
    assert ",R,N,,0," in (tmp_path / "p.csv").read_text().splitlines()[1]
    pretty = read_file(tmp_path / "p.csv")
    assert pretty.report.format == "databento-csv-pretty"
    assert pretty.events.equals(read_file(src).events)
