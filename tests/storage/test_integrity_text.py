"""The event chain's entry text: the direct path for texts writes exactly what the JSON encoder writes (a
register sealed before keeps verifying)."""
from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from app.storage.integrity import entry_text

values = st.one_of(st.none(), st.text(), st.integers(), st.booleans(), st.floats(allow_nan=False),
                   st.lists(st.text(max_size=3), max_size=2), st.dictionaries(st.text(max_size=3), st.integers(),
                                                                              max_size=2))


@given(salt=st.text(max_size=40), before=values, after=values)
def test_entry_text_is_the_json_encoders_text(salt, before, after):
    expected = json.dumps({"s": salt, "b": before, "a": after}, ensure_ascii=False, separators=(",", ":"))
    assert entry_text(salt, before, after) == expected


def test_entry_text_keeps_non_ascii_and_escapes_quotes_and_controls():
    assert entry_text("ab", 'Chloé "Mü"\n', None) == '{"s":"ab","b":"Chloé \\"Mü\\"\\n","a":null}'
