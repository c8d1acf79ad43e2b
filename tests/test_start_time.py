# Copyright 2026 The TradeFM contributors. Licensed under the Apache License, Version 2.0.
"""The rollout start on the real AAPL hour (2012-06-21 09:30-10:30 New York): a start outside the
session is an error naming both times, and a LOBSTER file's times are New York time unless --tz says
otherwise. Before, ``--start 08:00:00`` silently moved to the next day (the whole hour became the
prefix) and ``--start 09:45:00`` without --tz meant 09:45 UTC, before the open."""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest
from conftest import real_path

from modeling_tradefm.cli import build_parser, main
from modeling_tradefm.errors import DataError
from modeling_tradefm.prefix import default_zone, parse_clock, select_prefix

NY = "America/New_York"
SPAN = "which runs from 2012-06-21 09:30:00.004241 to 2012-06-21 10:29:59.837447"  # the file's first/last event


@pytest.fixture(scope="module")
def aapl():
    return real_path("lobster/AAPL_2012-06-21_34200000_37800000_message_50.csv")


@pytest.fixture(scope="module")
def aapl_events(aapl):
    from modeling_tradefm.io import read_events

    return read_events(aapl)


@pytest.fixture(scope="module")
def zi(tmp_path_factory, aapl_events):
    from modeling_tradefm.baselines.zero_intelligence import fit_zi

    folder = tmp_path_factory.mktemp("zi")
    fit_zi(aapl_events[:20_000]).save_pretrained(folder)
    return folder


def _ns(text: str, tz: str) -> int:
    """A whole-second local time as ns UTC."""
    return int(dt.datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(tz)).timestamp()) * 1_000_000_000


@pytest.mark.parametrize(("start", "tz", "where", "shown"), [
    ("08:00:00", NY, "before the first event", NY),
    ("09:30:00", NY, "before the first event", NY),  # the first event is 4 ms later
    ("11:00:00", NY, "after the last event", NY),
    ("10:29:59.9", NY, "after the last event", NY),
    ("23:00:00", "UTC", "after the last event", "UTC"),  # the same span shown on the zone given
])
def test_a_start_outside_the_session_names_both_times(aapl, aapl_events, start, tz, where, shown):
    with pytest.raises(DataError) as info:
        select_prefix(aapl_events, parse_clock(start), tz, str(aapl))
    span = SPAN if shown == NY else SPAN.replace("09:30:00", "13:30:00").replace("10:29:59", "14:29:59")
    assert info.value.problem == f"start {parse_clock(start)} {tz} is {where} of session AAPL 2012-06-21, {span} {shown}"


def test_a_start_inside_the_session_is_its_time(aapl, aapl_events):
    _, prefix, start_ns = select_prefix(aapl_events, parse_clock("10:29:59.8"), NY, str(aapl))
    assert start_ns == _ns("2012-06-21T10:29:59", NY) + 800_000_000
    assert len(prefix) == int((aapl_events.ts_recv < start_ns).sum()) and len(prefix) < len(aapl_events)


def test_generate_outside_the_session_is_one_line_and_exit_2(aapl, zi, tmp_path, capsys):
    common = ["generate", "--model", str(zi), "--data", str(aapl), "--events", "2", "-o", str(tmp_path / "o")]
    assert main([*common, "--start", "08:00:00", "--tz", NY]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"error: {aapl}: start 08:00:00 {NY} is before the first event of session AAPL 2012-06-21, {SPAN} {NY}"]
    assert main([*common, "--start", "11:00:00"]) == 2  # no --tz: New York time, after the 10:30 end
    assert capsys.readouterr().err.splitlines() == [
        f"error: {aapl}: start 11:00:00 {NY} is after the last event of session AAPL 2012-06-21, {SPAN} {NY}"]
    assert not (tmp_path / "o").exists()


def test_lobster_start_is_new_york_time_unless_tz_says_otherwise(aapl, aapl_events, zi, tmp_path):
    common = ["generate", "--model", str(zi), "--data", str(aapl), "--events", "2"]
    assert main([*common, "--start", "09:45:00", "-o", str(tmp_path / "ny")]) == 0
    meta = json.loads((tmp_path / "ny" / "meta.json").read_text())
    assert meta["tz"] == NY and meta["start_ts_ns"] == _ns("2012-06-21T09:45:00", NY)
    # 13:45 UTC is the same instant, given in UTC
    assert main([*common, "--start", "13:45:00", "--tz", "UTC", "-o", str(tmp_path / "utc")]) == 0
    utc = json.loads((tmp_path / "utc" / "meta.json").read_text())
    assert utc["tz"] == "UTC" and utc["start_ts_ns"] == meta["start_ts_ns"]
    assert utc["prefix_events"] == meta["prefix_events"] == int((aapl_events.ts_recv < meta["start_ts_ns"]).sum())
    # each rollout's simulated span after the start, in seconds
    assert [r["span_s"] for r in meta["results"]] == [(r["end_ts_ns"] - meta["start_ts_ns"]) / 1e9 for r in meta["results"]]
    assert meta["results"][0]["span_s"] > 0
    # --inject times are read in the same zone
    assert main([*common, "--start", "09:45:00", "--inject", "09:45:00.5,B,100", "-o", str(tmp_path / "inj")]) == 0
    assert json.loads((tmp_path / "inj" / "meta.json").read_text())["inject"][0]["ts_ns"] == (
        _ns("2012-06-21T09:45:00", NY) + 500_000_000)


def test_default_zone_and_help(aapl, tmp_path, capsys):
    es = real_path("databento/glbx-esm4/orderbooks_mbo_2024-05-08T00-00-00_2024-05-08T00-00-02.csv.zst")
    assert default_zone(aapl) == NY and default_zone(es) == "UTC"
    with pytest.raises(DataError, match=r"LOBSTER files \(New York time\) and Databento files \(UTC\) together"):
        default_zone([aapl, es])
    with pytest.raises(SystemExit):
        build_parser().parse_args(["generate", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "(default: America/New_York for LOBSTER files, LOBSTER's own clock; UTC for Databento files)" in help_text


def test_fit_baseline_until_fits_on_the_prefix_generate_cuts(aapl, aapl_events, tmp_path, capsys):
    """``fit-baseline --until 09:45:00`` (New York time for LOBSTER) = the fit on generate's 09:45 prefix."""
    from modeling_tradefm.baselines.zero_intelligence import fit_zi

    assert main(["fit-baseline", "zi", "--data", str(aapl), "--until", "09:45:00", "-q", "-o", str(tmp_path / "zi")]) == 0
    assert "23132 events of AAPL 2012-06-21 before 09:45:00 America/New_York" in capsys.readouterr().out
    fitted = json.loads((tmp_path / "zi" / "baseline.json").read_text())
    _, prefix, _ = select_prefix(aapl_events, parse_clock("09:45:00"), NY, str(aapl))
    assert len(prefix) == 23_132
    expected = fit_zi(prefix, files=[str(aapl)]).to_dict()
    assert {k: v for k, v in fitted.items() if k != "fit"} == json.loads(json.dumps(
        {k: v for k, v in expected.items() if k != "fit"}))
    # the whole hour is a different fit: --until cut it
    assert main(["fit-baseline", "zi", "--data", str(aapl), "-q", "-o", str(tmp_path / "all")]) == 0
    assert json.loads((tmp_path / "all" / "baseline.json").read_text())["fitted_on"]["records"] > 23_132
    assert main(["fit-baseline", "zi", "--data", str(aapl), "--until", "08:00:00", "-o", str(tmp_path / "x")]) == 2
    assert "is before the first event of session AAPL 2012-06-21" in capsys.readouterr().err
