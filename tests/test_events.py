"""EventTable: the shared columnar schema."""

import numpy as np
import pytest

from modeling_tradefm.events import ACTION_ADD, UNDEF_PRICE, EventTable


def test_from_columns_fills_defaults_and_checks_lengths():
    t = EventTable.from_columns(ts_recv=[1, 2], action=[ACTION_ADD, ord("C")], price=[5, UNDEF_PRICE], symbols={7: "ES"})
    assert t.ts_event.tolist() == [1, 2]  # ts_event defaults to ts_recv
    assert t.participant.dtype == np.uint8 and t.participant.tolist() == [0, 0]
    assert np.isnan(t.price_float()[1]) and t.price_float()[0] == 5e-9
    with pytest.raises(ValueError, match="different lengths"):
        EventTable.from_columns(ts_recv=[1, 2], price=[1])


def test_arrow_round_trip_keeps_symbols_and_dtypes():
    t = EventTable.from_columns(ts_recv=[3, 4, 5], instrument_id=[7, 9, 7], size=[1, 2, 3], symbols={7: "ESH4", 9: "NQ"})
    back = EventTable.from_arrow(t.to_arrow())
    assert back.equals(t) and back.symbols == {7: "ESH4", 9: "NQ"}
    assert t.to_arrow().column("symbol").to_pylist() == ["ESH4", "NQ", "ESH4"]


def test_concat_and_indexing():
    a = EventTable.from_columns(ts_recv=[1, 2], size=[10, 20])
    b = EventTable.from_columns(ts_recv=[3], size=[30])
    c = EventTable.concat([a, b])
    assert len(c) == 3 and c.size.tolist() == [10, 20, 30]
    assert c[c.size > 15].ts_recv.tolist() == [2, 3]
    assert c[1].size.tolist() == [20] and c[-1].size.tolist() == [30]
