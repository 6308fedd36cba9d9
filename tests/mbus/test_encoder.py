"""The encoder writes the bytes EN 13757-3 prescribes (checked byte by byte), and refuses what it cannot code."""
from __future__ import annotations

from fractions import Fraction

import pytest

from drivers.mbus import decode, parse_frame
from drivers.mbus.encoder import (
    RecordSpec, encode_application_error, encode_record, encode_rsp_ud, encode_selection, encode_variable_data,
    manufacturer_code_to_int, manufacturer_int_to_code, vif_candidates,
)


def test_manufacturer_codes():
    assert manufacturer_code_to_int("KAM") == 0x2C2D
    assert manufacturer_int_to_code(0x2C2D) == "KAM"
    assert manufacturer_code_to_int("lug") == manufacturer_code_to_int("LUG")
    for bad in ("KA", "K4M", "KAMS", 12):
        with pytest.raises(ValueError):
            manufacturer_code_to_int(bad)


@pytest.mark.parametrize("spec,hexbytes", [
    (RecordSpec("energy", 37351000, data_type="int32"), "0406E7910000"),          # 37351 kWh
    (RecordSpec("energy", 1234000, data_type="bcd8"), "0C0634120000"),
    (RecordSpec("volume", 561.08, data_type="int32"), "04142CDB0000"),            # 56108 x 10 l
    (RecordSpec("flow_temperature", 101.69, data_type="int32"), "0459B9270000"),
    (RecordSpec("on_time", 3546000, data_type="int32"), "0422D9030000"),          # 985 h
    (RecordSpec("temperature_difference", "-0.18", data_type="bcd6"), "0B611800F0"),
    (RecordSpec("power", -202, data_type="int16"), "022B36FF"),
    (RecordSpec("fabrication_number", "06855817"), "0C7817588506"),
    (RecordSpec("date", "2012-01-12"), "026C8C11"),
    (RecordSpec("datetime", "1996-05-05T09:16:00"), "046D100905C5"),             # HY = 0, yy = 96
    (RecordSpec("energy", 5000, data_type="int32", scale=1, modifiers=("accumulation_positive",)),
     "04833B88130000"),
    (RecordSpec("energy", 5000, data_type="int32"), "040605000000"),               # coarsest exact step: kWh
    (RecordSpec("volume", 50, data_type="int16", scale="0.01", function="maximum", tariff=1), "9210148813"),
    (RecordSpec("voltage", 86.4, data_type="int16", subunit=1), "8240FD486003"),
    (RecordSpec("energy", None, data_type="none"), "0000"),
])
def test_records_are_coded_as_the_standard_says(spec, hexbytes):
    assert encode_record(spec).hex().upper() == hexbytes


def test_date_of_maximum_record():
    spec = RecordSpec("datetime", "2011-08-26T20:50:00", subject="flow_temperature", function="maximum",
                      tariff=1, modifiers=("date_of_last_end",))
    b = encode_record(spec)
    assert b[:2] == bytes.fromhex("9410") and b[3] == 0x6F and b[2] & 0x80 and (b[2] & 0x7C) == 0x58
    # type F with the hundred-year bits: minute 50, hour 20 | HY 1 << 5, day 26 | yy low, month 8 | yy high
    assert b[4:] == bytes((50, 20 | 1 << 5, 26 | (11 & 7) << 5, 8 | (11 >> 3) << 4))


def test_storage_tariff_subunit_need_difes():
    b = encode_record(RecordSpec("energy", 0, data_type="int8", storage=5, tariff=2, subunit=1))
    # DIF: ext | storage bit 0 (1) | int8; DIFE: subunit 1, tariff 2, storage >> 1 = 2
    assert b[:2] == bytes((0x80 | 0x40 | 0x01, 0x40 | 0x20 | 0x02))
    t = decode(encode_rsp_ud([RecordSpec("energy", 0, data_type="int8", storage=5, tariff=2, subunit=1)]))
    r = t.records[0]
    assert (r.storage, r.tariff, r.subunit) == (5, 2, 1)
    with pytest.raises(ValueError):
        encode_record(RecordSpec("energy", 0, storage=1 << 45))


def test_values_that_cannot_be_coded_are_refused():
    with pytest.raises(ValueError):
        encode_record(RecordSpec("energy", 1, data_type="int8", scale=1000))       # not a multiple of 1 kWh
    with pytest.raises(ValueError):
        encode_record(RecordSpec("volume", 10 ** 30, data_type="int32"))
    with pytest.raises(ValueError):
        encode_record(RecordSpec("no_such_quantity", 1))
    with pytest.raises(ValueError):
        encode_record(RecordSpec("energy", 1, modifiers=("no_such_modifier",)))
    with pytest.raises(ValueError):
        encode_record(RecordSpec("date", "1975-01-01"))                            # outside 1981..2080 for type G


def test_vif_candidates():
    steps = {step: vif for unit, step, vif in vif_candidates("energy", "J")}
    assert steps[Fraction(10) ** 9] == b"\xFB\x09" and steps[Fraction(1)] == b"\x08"
    assert all(unit == "m3/h" for unit, _, _ in vif_candidates("volume_flow"))


def test_whole_frames():
    frame = encode_rsp_ud([RecordSpec("energy", 1000, data_type="int32")], identification="12345678",
                          manufacturer="KAM", version=8, medium="heat_outlet", access_number=3, status=0x10,
                          address=7, manufacturer_data=b"\x01\x02", more_records_follow=True)
    f = parse_frame(frame)
    assert (f.c, f.a, f.ci) == (0x08, 7, 0x72)
    assert f.data[:12] == bytes.fromhex("78563412 2D2C 08 04 03 10 0000")
    assert f.data[12:] == bytes.fromhex("0406 01000000") + b"\x1F\x01\x02"
    payload = encode_variable_data([bytes.fromhex("0106FF")], identification=5)
    assert payload[:4] == bytes.fromhex("05000000") and payload[12:] == bytes.fromhex("0106FF")
    t = decode(encode_application_error(8, address=1))
    assert (t.ci_field, t.application_error) == (0x70, "application_busy")
    with pytest.raises(ValueError):
        encode_rsp_ud([RecordSpec("energy", 1, data_type="int64")] * 30)           # more than 252 bytes


def test_secondary_address_selection():
    frame = encode_selection("1234FFFF", manufacturer="KAM")
    assert frame == bytes.fromhex("680B0B6853FD52FFFF34122D2CFFFF") + bytes((sum(frame[4:-2]) & 0xFF, 0x16))
    t = decode(frame)
    assert (t.ci_field, t.address, t.identification, t.manufacturer, t.version, t.medium) == (
        0x52, 0xFD, "1234FFFF", "KAM", 0xFF, "any")
    with pytest.raises(ValueError):
        encode_selection("1234567")
