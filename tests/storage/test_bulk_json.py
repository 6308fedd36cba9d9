"""The import writes each new meter's spreadsheet columns as JSON text directly: exactly what the JSON
encoder writes (the register reads it back with ``json.loads``)."""
from __future__ import annotations

import hashlib
import json

from hypothesis import given
from hypothesis import strategies as st

from app.storage.integrity import PERSONAL, decode_entries, entry_values
from app.storage.register.bulk_import import apart_extras, json_objects

cells = st.one_of(st.just(""), st.text(min_size=1, max_size=6))


@st.composite
def columns(draw):
    names = draw(st.lists(st.text(max_size=5), max_size=3, unique=True))
    n = draw(st.integers(0, 5))
    return n, {name: draw(st.lists(cells, min_size=n, max_size=n)) for name in names}


@given(columns())
def test_each_rows_object_is_the_json_encoders_text(nc):
    n, cols = nc
    out = json_objects(n, cols)
    assert len(out) == n
    for i, text in enumerate(out):
        row = {name: values[i] for name, values in cols.items() if values[i]}
        assert text == (json.dumps(row, ensure_ascii=False) if row else None)


@given(columns())
def test_batch_values_read_personal_and_the_values_are_kept_apart_by_position(nc):
    n, cols = nc
    apart: dict = {}
    rows = json.loads(apart_extras(cols, apart))
    assert len(rows) == (n if cols else 0)
    for i, row in enumerate(rows):
        assert row == ({name: PERSONAL for name, v in cols.items() if v[i]} or None)
    for name, values in cols.items():
        kept = [(p, v) for p, v in enumerate(values) if v]
        if kept:
            held = apart["extra." + name]
            assert held.positions == [p for p, _ in kept]
            entries = decode_entries(held.payload)
            assert [entry_values(x) for x in entries] == [(None, v) for _, v in kept]
            assert held.digests == "".join(hashlib.sha256(x.encode("utf-8")).hexdigest() for x in entries)
        else:
            assert "extra." + name not in apart
