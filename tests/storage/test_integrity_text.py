"""The event chain's entry text: the direct path for texts writes exactly what the JSON encoder writes (a
register sealed before keeps verifying)."""
from __future__ import annotations

import hashlib
import json
import zlib

from hypothesis import given
from hypothesis import strategies as st

from app.storage.integrity import decode_entries, encode_entries, entry_text, new_entries

values = st.one_of(st.none(), st.text(), st.integers(), st.booleans(), st.floats(allow_nan=False),
                   st.lists(st.text(max_size=3), max_size=2), st.dictionaries(st.text(max_size=3), st.integers(),
                                                                              max_size=2))


@given(salt=st.text(max_size=40), before=values, after=values)
def test_entry_text_is_the_json_encoders_text(salt, before, after):
    expected = json.dumps({"s": salt, "b": before, "a": after}, ensure_ascii=False, separators=(",", ":"))
    assert entry_text(salt, before, after) == expected


def test_entry_text_keeps_non_ascii_and_escapes_quotes_and_controls():
    assert entry_text("ab", 'Chloé "Mü"\n', None) == '{"s":"ab","b":"Chloé \\"Mü\\"\\n","a":null}'


@given(pairs=st.lists(st.tuples(values, values), max_size=5))
def test_new_entries_are_entry_texts_with_fresh_salts_and_their_digests(pairs):
    entries, digests = new_entries(pairs)
    assert len(entries) == len(digests) == len(pairs)
    for entry, dg, (before, after) in zip(entries, digests, pairs):
        d = json.loads(entry)
        assert len(d["s"]) == 32 and int(d["s"], 16) >= 0
        assert entry == entry_text(d["s"], before, after)
        assert dg == hashlib.sha256(entry.encode("utf-8")).hexdigest()
    assert len({json.loads(e)["s"] for e in entries}) == len(entries)


@given(entries=st.lists(st.one_of(st.none(), st.builds(lambda v: entry_text("00", v, None), values)),
                        min_size=2, max_size=6))
def test_payload_of_several_entries_round_trips_erased_ones_included(entries):
    assert decode_entries(encode_entries(entries)) == entries


def test_payload_written_as_a_json_list_before_still_reads():
    entries = [entry_text("aa", None, "Flat 1"), None, entry_text("bb", None, "x\ny")]
    legacy = zlib.compress(json.dumps(entries, ensure_ascii=False).encode("utf-8"))
    assert decode_entries(legacy) == entries
