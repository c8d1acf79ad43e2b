"""LOBSTER message types and time to cancel (evaluation.flow): known answers on toy rows and the real AAPL file."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import real_path

from modeling_tradefm.evaluation.flow import EVENT_TYPE_NAMES, MessageFlow, first_cancel_pairs, message_flow


def test_first_cancel_pairs_known_answer():
    #          row: 0  1  2  3  4  5  6  7  8  9
    oid = np.array([5, 5, 7, 5, 7, 9, 8, 8, 8, 0])
    typ = np.array([1, 2, 1, 3, 4, 3, 3, 1, 3, 5])
    add, cancel = first_cancel_pairs(oid, typ)
    # 5: submitted at 0, first cancel (partial) at 1; 7: executed, never cancelled; 9: submitted
    # before the rows; 8: deleted at 6 before its (re-)submission at 7, cancelled again at 8
    assert add.tolist() == [0, 7] and cancel.tolist() == [1, 8]
    assert [len(x) for x in first_cancel_pairs(np.zeros(0, np.int64), np.zeros(0, np.int64))] == [0, 0]


def test_window_keeps_orders_submitted_and_cancelled_inside():
    mf = MessageFlow(np.array([0, 10, 20, 30]), np.array([1, 1, 3, 3]), np.array([0, 10]), np.array([30, 20]))
    w = mf.window(5, 25)
    assert w.row_type.tolist() == [1, 3] and w.time_to_cancel.tolist() == [10e-9]
    assert mf.type_counts() == {1: 2, 2: 0, 3: 2, 4: 0, 5: 0, 6: 0}


@pytest.fixture(scope="module")
def aapl():
    from modeling_tradefm.io.lobster import read_lobster, read_lobster_messages

    path = real_path("lobster", "AAPL_2012-06-21_34200000_37800000_message_50.csv")
    return read_lobster_messages(path), read_lobster(path).events


def test_real_file_types_and_time_to_cancel(aapl):
    raw, events = aapl
    mf = message_flow(events)
    # the rows written back are the file's own rows: same count of every type
    assert mf.type_counts() == {t: int((raw["type"] == t).sum()) for t in EVENT_TYPE_NAMES}
    assert mf.type_counts()[2] == 469 and mf.type_counts()[3] == 41004
    # time to cancel straight from the file: first type 2/3 after each order's first type 1
    added, expected = {}, {}
    for t, typ, oid in zip(raw["time_ns"].tolist(), raw["type"].tolist(), raw["order_id"].tolist(), strict=True):
        if typ == 1:
            added.setdefault(oid, t)
        elif typ in (2, 3) and oid in added and oid not in expected:
            expected[oid] = (t - added[oid]) / 1e9
    got = np.sort(mf.time_to_cancel)
    np.testing.assert_allclose(got, np.sort(list(expected.values())), rtol=0, atol=1e-9)
    assert len(got) == 40936 and 0.3 < np.median(got) < 0.45  # fleeting quotes: median ≈ 0.37 s


def test_rollout_rows_after_the_prefix(aapl):
    """A stream after a prefix: cancels of the prefix's orders are typed, but only in-stream orders have a time."""
    _, events = aapl
    prefix, rest = events[:20000], events[20000:30000]
    whole = message_flow(events[:30000])
    after = message_flow(rest, prefix)
    keep = whole.row_ts >= rest.ts_recv[0]
    assert np.array_equal(after.row_type, whole.row_type[keep][-len(after.row_type):])
    inside = whole.add_ts >= rest.ts_recv[0]
    assert len(after.add_ts) == int(inside.sum()) > 1000
    np.testing.assert_array_equal(np.sort(after.time_to_cancel), np.sort(whole.time_to_cancel[inside]))


def test_report_has_the_message_type_table_and_time_to_cancel(aapl, tmp_path):
    from modeling_tradefm.evaluation.report import evaluate_streams, write_report
    from modeling_tradefm.evaluation.series import EvalConfig, stream_series

    _, events = aapl
    config = EvalConfig(n_boot=5, max_lag=5)
    real = [stream_series(events[20000:32000], events[:20000], config, "real")]
    gen = {"later": [stream_series(events[32000:38000], events[:32000], config, "later")]}
    metrics, quantities = evaluate_streams(real, gen, config, 10**7, progress=False)
    d = metrics["distances"]["later"]["time_to_cancel"]
    assert d["n_real"] == len(real[0].messages.time_to_cancel) > 1000 and d["ks"] < 0.2  # the same market
    write_report(tmp_path, metrics, quantities, config)
    md = (tmp_path / "report.md").read_text()
    assert "## LOBSTER message types" in md and "time_to_cancel (s)" in md
    counts = message_flow(events[20000:32000], events[:20000]).window(real[0].start_ns, real[0].end_ns + 1).type_counts()
    row = next(line for line in md.splitlines() if line.startswith("| real | "))
    cells = [c.strip() for c in row.strip("|").split("|")]
    total = sum(counts.values())
    assert cells[1] == str(total)
    assert cells[3] == f"{100 * counts[2] / total:.2f}" and cells[4] == f"{100 * counts[3] / total:.2f}"
    assert cells[-1] == f"{100 * counts[2] / (counts[2] + counts[3]):.2f}"
    info = metrics["stylized_facts"]["later"]["info"]["event_types"]
    assert sum(info.values()) == len(gen["later"][0].messages.row_type)
