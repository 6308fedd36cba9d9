"""Property tests: encoder -> decoder round trips, and hostile bytes only ever raise MBusError."""
from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from app.cli.commands.decode import telegram_json_line
from drivers.mbus import MBusError, decode, long_frame, parse_frame, parse_hex
from drivers.mbus.encoder import RecordSpec, encode_rsp_ud, vif_candidates
from drivers.mbus.tables import MEDIUM_NAMES

CORPUS = Path(__file__).resolve().parent.parent / "data" / "mbus-corpus"
CORPUS_FRAMES = [parse_hex(p.read_text()) for p in sorted(CORPUS.glob("*.hex"))] + \
    [parse_hex(p.read_text()) for p in sorted((CORPUS / "unmapped").glob("*.hex"))]

NUMERIC = [("energy", "Wh"), ("energy", "J"), ("volume", "m3"), ("mass", "kg"), ("on_time", "s"),
           ("operating_time", "s"), ("power", "W"), ("power", "J/h"), ("volume_flow", "m3/h"),
           ("mass_flow", "kg/h"), ("flow_temperature", "degC"), ("return_temperature", "degC"),
           ("temperature_difference", "K"), ("external_temperature", "degC"), ("pressure", "bar"),
           ("averaging_duration", "s"), ("actuality_duration", "s"), ("hca_units", ""),
           ("voltage", "V"), ("current", "A"), ("credit", "currency"), ("storage_interval", "s"),
           ("relative_humidity", "%"), ("reactive_power", "var"), ("frequency", "Hz"),
           ("cold_warm_temperature_limit", "degC"), ("cumulative_count_max_power", "W"),
           ("dimensionless", ""), ("reset_counter", "")]
# modifiers that leave value and unit alone; and "per ..." ones with the unit suffix they add
PLAIN_MODS = ["accumulation_positive", "accumulation_negative", "future_value", "uncorrected",
              "value_at_base_conditions", "lower_limit_value", "upper_limit_value",
              "increment_per_input_pulse_channel_0", "increment_per_output_pulse_channel_1",
              "phase_l1", "phase_l2_l3", "accumulation_absolute"]
PER_MODS = {"per_hour": "/h", "per_second": "/s", "per_m3": "/m3", "per_kelvin": "/K", "multiplied_by_s": "*s"}
INT_TYPES = {"int8": 8, "int16": 16, "int24": 24, "int32": 32, "int48": 48, "int64": 64}
BCD_TYPES = {"bcd2": 2, "bcd4": 4, "bcd6": 6, "bcd8": 8, "bcd12": 12}
FUNCTIONS = ["instantaneous", "maximum", "minimum", "error"]


def expected_number(raw: int, step: Fraction):
    v = raw * step
    return int(v) if v.denominator == 1 else float(v)


@st.composite
def dib_fields(draw):
    return dict(storage=draw(st.integers(0, (1 << 21) - 1)), tariff=draw(st.integers(0, (1 << 10) - 1)),
                subunit=draw(st.integers(0, 31)), function=draw(st.sampled_from(FUNCTIONS)))


@st.composite
def numeric_record(draw):
    quantity, unit = draw(st.sampled_from(NUMERIC))
    cands = vif_candidates(quantity, unit)
    _, step, _ = draw(st.sampled_from(cands))
    dtype = draw(st.sampled_from(sorted(INT_TYPES) + sorted(BCD_TYPES)))
    if dtype in INT_TYPES:
        bits = INT_TYPES[dtype]
        raw = draw(st.integers(-(1 << (bits - 1)), (1 << (bits - 1)) - 1))
    else:
        digits = BCD_TYPES[dtype]
        raw = draw(st.integers(-(10 ** (digits - 1) - 1), 10 ** digits - 1))
    mods = tuple(draw(st.lists(st.sampled_from(PLAIN_MODS + sorted(PER_MODS)), max_size=3, unique=True)))
    spec = RecordSpec(quantity, raw * step, unit=unit, data_type=dtype, scale=step, modifiers=mods,
                      **draw(dib_fields()))
    exp_unit = unit
    for m in mods:
        if m in PER_MODS:
            exp_unit = (exp_unit or "1") + PER_MODS[m]
    return spec, dict(quantity=quantity, unit=exp_unit, value=expected_number(raw, step), modifiers=mods)


dates = st.dates(min_value=__import__("datetime").date(1981, 1, 1), max_value=__import__("datetime").date(2080, 12, 31))


@st.composite
def time_record(draw):
    kind = draw(st.sampled_from(["date", "datetime", "datetime_s", "date_of_maximum"]))
    d = draw(dates)
    h, mi, s = draw(st.integers(0, 23)), draw(st.integers(0, 59)), draw(st.integers(0, 59))
    f = draw(dib_fields())
    if kind == "date":
        value = d.isoformat()
        return RecordSpec("date", value, **f), dict(quantity="date", unit="", value=value, modifiers=())
    if kind == "datetime":
        value = "%sT%02d:%02d:00" % (d.isoformat(), h, mi)
        return RecordSpec("datetime", value, **f), dict(quantity="datetime", unit="", value=value, modifiers=())
    if kind == "datetime_s":
        value = "%sT%02d:%02d:%02d" % (d.isoformat(), h, mi, s)
        return (RecordSpec("datetime", value, data_type="I", **f),
                dict(quantity="datetime", unit="", value=value, modifiers=()))
    f["function"] = "maximum"
    subject = draw(st.sampled_from(["flow_temperature", "return_temperature", "power", "volume_flow"]))
    which = draw(st.sampled_from(["date_of_last_end", "date_of_first_begin", "date_of_last_begin"]))
    value = "%sT%02d:%02d:00" % (d.isoformat(), h, mi)
    return (RecordSpec("datetime", value, subject=subject, modifiers=(which,), **f),
            dict(quantity="datetime", unit="", value=value, modifiers=("date_of_maximum", which), subject=subject))


@st.composite
def ident_record(draw):
    digits = draw(st.sampled_from([2, 4, 6, 8, 12]))
    value = draw(st.text("0123456789", min_size=digits, max_size=digits))
    q = draw(st.sampled_from(["fabrication_number", "enhanced_identification", "customer_location",
                              "firmware_version", "model_version"]))
    return RecordSpec(q, value, **draw(dib_fields())), dict(quantity=q, unit="", value=value, modifiers=())


@st.composite
def plain_text_record(draw):
    unit = draw(st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=8))
    exp = draw(st.integers(-6, 1))
    step = Fraction(10) ** exp
    raw = draw(st.integers(-32768, 32767))
    spec = RecordSpec("plain_text", raw * step, unit=unit, scale=step, data_type="int16", **draw(dib_fields()))
    return spec, dict(quantity="plain_text", unit=unit, value=expected_number(raw, step), modifiers=())


record = st.one_of(numeric_record(), time_record(), ident_record(), plain_text_record())


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(record, min_size=0, max_size=8), st.text("0123456789", min_size=8, max_size=8),
       st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=3, max_size=3), st.integers(0, 255),
       st.sampled_from(sorted(MEDIUM_NAMES)), st.integers(0, 255), st.integers(0, 255),
       st.binary(max_size=12), st.booleans())
def test_round_trip(recs, ident, man, version, medium, access, status, mdata, more):
    specs = [s for s, _ in recs]
    try:
        frame = encode_rsp_ud(specs, identification=ident, manufacturer=man, version=version, medium=medium,
                              access_number=access, status=status, manufacturer_data=mdata,
                              more_records_follow=more, address=access)
    except ValueError as exc:
        assume("does not fit a long frame" not in str(exc))
        raise
    t = decode(frame)
    assert (t.identification, t.manufacturer, t.version, t.medium_code, t.access_number, t.status) == (
        ident, man, version, medium, access, status)
    assert t.manufacturer_data == (mdata if (mdata or more) else b"")
    assert t.more_records_follow == more
    assert len(t.records) == len(specs)
    assert json.loads(telegram_json_line("f", t, _ENCODE)) == json.loads(_ENCODE(
        {"file": "f", "ok": True, "telegram": t.to_json()}))
    for (spec, exp), got in zip(recs, t.records):
        assert (got.storage, got.tariff, got.subunit, got.function) == (
            spec.storage, spec.tariff, spec.subunit, spec.function if not exp.get("subject") else "maximum")
        assert (got.quantity, got.unit, got.modifiers) == (exp["quantity"], exp["unit"], exp["modifiers"])
        assert got.value == exp["value"] and type(got.value) is type(exp["value"]), (got.value, exp["value"])
        assert got.subject == exp.get("subject")
        assert got.flags == ()


_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode


def _must_be_mbus_error_or_telegram(data: bytes):
    try:
        t = decode(data)
    except MBusError as exc:
        assert str(exc) and "\n" not in str(exc)
        return None
    plain = _ENCODE({"file": "f", "ok": True, "telegram": t.to_json()})
    # the CLI's fast JSON writer says exactly what the json module says
    assert json.loads(telegram_json_line("f", t, _ENCODE)) == json.loads(plain)
    return t


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_only_raise_mbus_error(data):
    _must_be_mbus_error_or_telegram(data)


CIS = [0x72, 0x76, 0x7A, 0x78, 0x51, 0x55, 0x52, 0x73, 0x70, 0x71, 0x50, 0xB8, 0x99]


@settings(max_examples=600, deadline=None)
@given(st.sampled_from(CIS), st.binary(max_size=252))
def test_random_user_data_in_valid_frames_only_raise_mbus_error(ci, payload):
    _must_be_mbus_error_or_telegram(long_frame(0x08, 1, ci, payload))


@st.composite
def mutated_frame(draw):
    frame = parse_frame(draw(st.sampled_from([f for f in CORPUS_FRAMES if f[0] == 0x68])))
    data = bytearray(frame.data)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "truncate", "insert", "delete", "set"]))
        if op == "flip" and data:
            i = draw(st.integers(0, len(data) - 1))
            data[i] ^= 1 << draw(st.integers(0, 7))
        elif op == "truncate" and data:
            del data[draw(st.integers(0, len(data) - 1)):]
        elif op == "insert":
            i = draw(st.integers(0, len(data)))
            data[i:i] = draw(st.binary(min_size=1, max_size=4))
        elif op == "delete" and data:
            i = draw(st.integers(0, len(data) - 1))
            del data[i:i + draw(st.integers(1, 4))]
        elif op == "set" and data:
            data[draw(st.integers(0, len(data) - 1))] = draw(st.sampled_from([0x0F, 0x1F, 0x2F, 0x7C, 0xFC, 0x7B,
                                                                              0xFD, 0xFF, 0x0D, 0x8F, 0x80]))
    ci = frame.ci if draw(st.integers(0, 9)) else draw(st.sampled_from(CIS))
    # length and checksum fixed up so that the application layer is what gets exercised
    return long_frame(frame.c, frame.a, ci, bytes(data[:252]))


@settings(max_examples=800, deadline=None)
@given(mutated_frame())
def test_mutated_corpus_frames_only_raise_mbus_error(frame):
    _must_be_mbus_error_or_telegram(frame)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(CORPUS_FRAMES), st.data())
def test_link_layer_damage_is_always_caught(frame, data):
    # without fix-up, any single damaged byte in the link framing is rejected
    i = data.draw(st.sampled_from([0, 1, 2, 3, len(frame) - 2, len(frame) - 1]))
    bad = bytearray(frame)
    bad[i] ^= data.draw(st.integers(1, 255))
    try:
        decode(bytes(bad))
    except MBusError:
        return
    raise AssertionError("damaged frame accepted")


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="0123456789abcdefABCDEF #\n\t xZ-", max_size=80))
def test_parse_hex_only_raises_mbus_error(text):
    try:
        parse_hex(text)
    except MBusError as exc:
        assert "\n" not in str(exc)
