"""Property tests: telegrams encrypted with random keys by our encoder decode back exactly;
random and mutated bytes only ever raise MBusError."""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drivers.mbus import MBusError
from drivers.mbus.encoder import RecordSpec
from drivers.wmbus import decode_any, decode_wmbus
from drivers.wmbus.encoder import encode_wmbus

QUANTITIES = [("energy", "Wh"), ("volume", "m3"), ("power", "W"), ("volume_flow", "m3/h"),
              ("flow_temperature", "degC"), ("return_temperature", "degC"), ("on_time", "s")]

record = st.tuples(st.sampled_from(QUANTITIES), st.integers(0, 99_999_999), st.integers(0, 3))
keys = st.binary(min_size=16, max_size=16)
ids = st.integers(0, 99_999_999).map(lambda i: "%08d" % i)
mans = st.sampled_from(["KAM", "EFE", "DME", "ZRI", "SON", "LUG", "QDS", "ITW"])
security = st.sampled_from([0, 5, 7, "ell_ctr"])
fmts = st.sampled_from(["none", "A", "B"])


def _specs(recs):
    return [RecordSpec(q, value=v, unit=u, storage=s) for (q, u), v, s in recs]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(recs=st.lists(record, min_size=1, max_size=8), key=keys, ident=ids, man=mans, sec=security, fmt=fmts,
       acc=st.integers(0, 255), header=st.sampled_from(["short", "long"]), counter=st.integers(0, 2**32 - 1))
def test_encrypted_round_trip(recs, key, ident, man, sec, fmt, acc, header, counter):
    data = encode_wmbus(_specs(recs), manufacturer=man, identification=ident, access_number=acc, security=sec,
                        key=key if sec else None, header=header, message_counter=counter, fmt=fmt)
    t = decode_any(data, lambda m, i: key if (m, i) == (man, ident) else None)
    assert t.frame_format == fmt
    assert (t.manufacturer, t.identification) == (man, ident)
    assert t.security_mode == sec and t.decrypted == (sec != 0)
    assert [(r.quantity, r.unit, r.value, r.storage) for r in t.records] == \
        [(q, u, v, s) for (q, u), v, s in recs]
    if sec:
        withheld = decode_any(data)
        assert withheld.records == [] and withheld.security_reason == "no key"
        other = bytes(b ^ 0x5A for b in key)
        try:
            decode_any(data, lambda m, i: other)
        except MBusError as exc:
            assert str(exc) == "key for %s does not decrypt this telegram" % ident
        else:
            raise AssertionError("a wrong key decoded a telegram")


@settings(max_examples=400, deadline=None)
@given(st.binary(min_size=0, max_size=300))
def test_random_bytes_raise_only_mbus_error(data):
    try:
        decode_any(data, lambda m, i: bytes(16))
    except MBusError as exc:
        assert "\n" not in str(exc)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(recs=st.lists(record, min_size=1, max_size=5), key=keys, sec=security, fmt=fmts,
       cuts=st.lists(st.tuples(st.integers(0, 400), st.integers(0, 255)), min_size=1, max_size=4),
       trunc=st.integers(0, 400))
def test_mutated_telegrams_raise_only_mbus_error(recs, key, sec, fmt, cuts, trunc):
    data = bytearray(encode_wmbus(_specs(recs), security=sec, key=key if sec else None, fmt=fmt))
    for pos, val in cuts:
        data[pos % len(data)] = val
    data = bytes(data[:max(1, trunc)]) if trunc < len(data) else bytes(data)
    for lookup in (None, lambda m, i: key):
        for crc in ("auto", "none"):
            try:
                t = decode_wmbus(data, lookup, crc=crc)
            except MBusError as exc:
                assert "\n" not in str(exc)
            else:
                # whatever decodes without its key shows no records
                if lookup is None and t.security_mode not in (None, 0):
                    assert t.records == []
