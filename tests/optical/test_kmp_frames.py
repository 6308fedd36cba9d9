"""KMP framing and number format against the frames of Kamstrup's KMP description.

The frames are those of the KMP protocol description's examples (clauses 3.1, 4.2,
6.2.1, 6.2.2, 6.2.4) as quoted in the test suite of the open-source PyKMP project
(gertvdijk/PyKMP); expected values are the description's, not this module's output.
"""
from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.kmp import frame, registers
from drivers.kmp.frame import KmpError


def test_physical_layer_stuffing_example():
    # clause 3.1: data link bytes 04 0D 00 06 -> 80 04 1B F2 00 1B F9 0D (0x0D and 0x06 escaped)
    assert frame.START_TO_METER.to_bytes(1, "big") + frame.stuff(bytes.fromhex("040D0006")) + b"\r" == \
        bytes.fromhex("80041BF2001BF90D")
    assert frame.stuff(b"\x1b") == b"\x1b\xe4"


def test_get_type_request():
    # 6.2.1: 80 3F 01 05 8A 0D (CRC 0x058A over 3F 01)
    assert frame.encode(frame.CID_GET_TYPE) == bytes.fromhex("803F01058A0D")


def test_get_register_request_is_stuffed():
    # 6.2.4: register 0x0080 asked for -> its 0x80 goes as 1B 7F; CRC D4 08
    assert frame.get_register_request([0x0080]) == bytes.fromhex("803F1001001B7FD4080D")


def test_get_serial_response():
    # 6.2.2: 40 3F 02 01 23 45 67 E9 56 0D -> serial number 0x01234567
    msg = frame.decode(bytes.fromhex("403F0201234567E9560D"))
    assert (msg.address, msg.cid, msg.data, msg.crc) == (0x3F, 0x02, bytes.fromhex("01234567"), 0xE956)


def test_get_register_response_is_unstuffed():
    # 6.2.4: 40 3F 10 00 1B 7F 16 04 11 01 2A F0 24 63 03 0D: register 0x0080, unit 0x16 (kW),
    # 4 bytes, SIEX 0x11 (exponent +17), mantissa 0x012AF024 = 19591204
    msg = frame.decode(bytes.fromhex("403F10001B7F160411012AF02463030D"))
    (rv,) = frame.parse_registers(msg.data)
    assert (rv.register, rv.unit) == (0x0080, 0x16)
    assert rv.value == Decimal(19591204) * Decimal(10) ** 17


def test_crc_error_is_detected():
    # 6.2.2 response with the last CRC byte changed (0x56 -> 0x57)
    with pytest.raises(KmpError, match="CRC mismatch"):
        frame.decode(bytes.fromhex("403F0201234567E9570D"))


@pytest.mark.parametrize("length_siex_mantissa, expected", [
    ("04C200003039", "-123.45"),           # 4.2 example 1: SI=1, SE=1, exponent 2
    ("040305397FB1", "87654321000"),       # 4.2 example 2: exponent +3
    ("0103FF", "255000"),                  # 4.2 example 3
])
def test_number_format_examples(length_siex_mantissa, expected):
    b = bytes.fromhex(length_siex_mantissa)
    assert frame.decode_number(b[2:], b[1]) == Decimal(expected)


def test_number_encoding_round_trip_by_hand():
    # 63.44 with two decimals: mantissa 6344 = 0x18C8, SIEX 0x42 (negative exponent 2)
    assert frame.encode_number("63.44", length=2) == (0x42, bytes.fromhex("18C8"))
    assert frame.encode_number(-5, length=1) == (0x80, b"\x05")


@pytest.mark.parametrize("raw, fragment", [
    (b"", "empty"), (b"\x06", "ACK"), (bytes.fromhex("803F01058A0D"), "start with 0x40"),
    (bytes.fromhex("403F0201"), "end with 0x0D"), (bytes.fromhex("403F40000D"), "escaped"),
    (bytes.fromhex("403F1B0D"), "escape"), (bytes.fromhex("401B000D"), "stands for no stuffed byte"),
    (bytes.fromhex("403F010D"), "needs address"),
])
def test_bad_messages(raw, fragment):
    with pytest.raises(KmpError, match=fragment):
        frame.decode(raw)


def test_register_block_errors():
    with pytest.raises(KmpError, match="truncated"):
        frame.parse_registers(bytes.fromhex("003C02"))
    with pytest.raises(KmpError, match="value length"):
        frame.parse_registers(bytes.fromhex("003C020000"))
    with pytest.raises(KmpError, match="announced"):
        frame.parse_registers(bytes.fromhex("003C02040000"))


def test_registers_become_records_in_canonical_units():
    blocks = [frame.RegisterValue(60, 0x02, Decimal(15234), b""),        # E1 15234 kWh
              frame.RegisterValue(68, 0x28, Decimal("412.70"), b""),     # V1 m3
              frame.RegisterValue(74, 0x29, Decimal(812), b""),          # flow 812 l/h
              frame.RegisterValue(80, 0x16, Decimal("18.3"), b""),       # power kW
              frame.RegisterValue(86, 0x25, Decimal("70.12"), b""),
              frame.RegisterValue(1004, 0x2E, Decimal(9600), b""),       # hours
              frame.RegisterValue(1003, 0x30, Decimal(260315), b""),     # yy:mm:dd
              frame.RegisterValue(1002, 0x2F, Decimal(143005), b"")]     # hh:mm:ss
    got = {(r.quantity, r.unit): r.value for r in registers.to_records(blocks)}
    assert got == {("energy", "Wh"): 15234000, ("volume", "m3"): 412.7, ("volume_flow", "m3/h"): 0.812,
                   ("power", "W"): 18300, ("flow_temperature", "degC"): 70.12, ("on_time", "s"): 9600 * 3600,
                   ("datetime", ""): "2026-03-15T14:30:05"}


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64))
def test_stuffing_round_trip(data):
    stuffed = frame.stuff(data)
    assert not (set(stuffed) & (frame.STUFFED - {frame.ESCAPE}))
    assert frame.unstuff(stuffed) == data


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 255), st.binary(max_size=40))
def test_encode_decode_round_trip(cid, data):
    raw = frame.encode(cid, data, to_meter=False)
    msg = frame.decode(raw)
    assert (msg.cid, msg.data) == (cid, data)


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=60))
def test_fuzz_decode(raw):
    try:
        msg = frame.decode(b"\x40" + raw)
        registers.to_records(frame.parse_registers(msg.data))
    except KmpError:
        pass
