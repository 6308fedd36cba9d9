"""Clauses of the encrypted/wireless contract not covered by the published vectors."""
from __future__ import annotations

import pytest

from drivers.mbus import MBusError, decode, long_frame
from drivers.mbus.encoder import RecordSpec, encode_variable_data
from drivers.wmbus import add_crcs, crc16, decode_any, decode_wmbus, strip_crcs
from drivers.wmbus.encoder import encode_wmbus

RECS = [RecordSpec("energy", value=1234000, unit="Wh"), RecordSpec("volume", value=12, unit="m3")]


def _with_config(data: bytes, cfg: int, at: int = 13) -> bytes:
    b = bytearray(data)
    b[at], b[at + 1] = cfg & 0xFF, cfg >> 8
    return bytes(b)


def test_mode_13_recognised_and_refused_on_radio():
    data = _with_config(encode_wmbus(RECS), 0x0D20)
    j = decode_wmbus(data, lambda m, i: bytes(16)).to_json()
    assert j["encryption"] == {"mode": 13, "decrypted": False, "reason": "mode 13 not supported"}
    assert j["records"] == [] and j["access_number"] == 0


def test_mode_13_refused_on_wired_frame():
    frame = long_frame(0x08, 1, 0x72, encode_variable_data(RECS, signature=0x0D20))
    j = decode(frame).to_json()
    assert j["encryption"]["reason"] == "mode 13 not supported" and j["records"] == []


@pytest.mark.parametrize("mode", [1, 2, 3, 8, 9, 10])
def test_other_encryption_modes_are_refused(mode):
    t = decode_wmbus(_with_config(encode_wmbus(RECS), mode << 8))
    assert t.security_reason == "mode %d not supported" % mode and t.records == []


def test_reserved_mode_is_a_legacy_signature_on_wired_frames_only():
    frame = long_frame(0x08, 1, 0x72, encode_variable_data(RECS, signature=0xFFFF))   # mode 31
    t = decode(frame)
    assert t.encryption["mode"] == 31 and t.encryption["decrypted"] is False
    assert "legacy signature" in t.encryption["note"] and len(t.records) == 2
    radio = decode_wmbus(_with_config(encode_wmbus(RECS), 0xFFFF))
    assert radio.records == [] and radio.security_reason == "mode 31 not supported"


def test_not_encrypted_radio_telegram():
    j = decode_wmbus(encode_wmbus(RECS)).to_json()
    assert j["encryption"] == {"mode": 0, "decrypted": False}
    assert [r["value"] for r in j["records"]] == [1234000, 12]
    assert j["link"] == {"kind": "wmbus", "c_field": 0x44, "manufacturer": "KAM", "identification": "12345678",
                         "version": 1, "device_type": 4, "medium": "heat_outlet"}
    assert "address" not in j


def test_crc16_check_value():
    # CRC-16/EN-13757 catalogue check value over "123456789"
    assert crc16(b"123456789") == 0xC2B7


@pytest.mark.parametrize("fmt", ["A", "B"])
def test_block_crcs_round_trip_and_detection(fmt):
    plain = encode_wmbus(RECS * 20, fmt="none")
    assert len(plain) > 130
    framed = add_crcs(plain, fmt)
    stripped, got = strip_crcs(framed)
    assert got == fmt and stripped[1:] == plain[1:] and stripped[0] == len(stripped) - 1
    assert decode_any(framed).records == decode_any(plain).records


def test_format_a_length_mismatch_is_an_error():
    data = add_crcs(encode_wmbus(RECS), "A")
    with pytest.raises(MBusError, match="L-field"):
        decode_wmbus(data[:-1])


def test_explicit_format_b_with_bad_crc_is_an_error():
    data = bytearray(add_crcs(encode_wmbus(RECS), "B"))
    data[-1] ^= 1
    with pytest.raises(MBusError, match="CRC error in block 1 .* format B"):
        decode_wmbus(bytes(data), crc="B")


def test_manufacturer_specific_ci_has_no_records():
    plain = bytearray(encode_wmbus(RECS))
    plain[10] = 0xA2
    j = decode_wmbus(bytes(plain)).to_json()
    assert j["records"] == [] and j["encryption"]["decrypted"] is False and "CI 0xA2" in j["encryption"]["reason"]


def test_compact_frame_is_refused_in_one_line():
    plain = bytearray(encode_wmbus(RECS))
    plain[10] = 0x79
    with pytest.raises(MBusError, match="compact frame"):
        decode_wmbus(bytes(plain))


def test_wired_and_wireless_told_from_the_bytes():
    wired = long_frame(0x08, 1, 0x72, encode_variable_data(RECS))
    assert decode_any(wired).frame_type == "long"
    assert decode_any(encode_wmbus(RECS)).frame_type == "wmbus"
    zenner = encode_wmbus(RECS * 9, manufacturer="ZRI")          # L-field 0x68 would not confuse it
    assert decode_any(zenner).frame_type == "wmbus"


def test_ell_encrypted_without_key_shows_only_the_link():
    data = encode_wmbus(RECS, security="ell_ctr", key=bytes(range(16)))
    j = decode_wmbus(data).to_json()
    assert j["encryption"] == {"mode": "ell_ctr", "decrypted": False, "reason": "no key"}
    assert j["records"] == [] and j["ci_field"] == 0x8D and "access_number" not in j


def test_key_of_wrong_length_from_a_lookup_is_a_one_line_error():
    data = encode_wmbus(RECS, security=5, key=bytes(16))
    with pytest.raises(MBusError, match="not a 128-bit AES key"):
        decode_wmbus(data, lambda m, i: b"short")


@pytest.mark.parametrize("data", [b"\x08" + bytes(10), b"\x09" + bytes(11), b"\x09" + bytes(9) + b"\x7a"])
def test_an_l_field_too_small_for_a_telegram_is_the_decoders_error(data):
    """Found by the property test: L = 8 has the length of a format A telegram without a whole first block."""
    with pytest.raises(MBusError, match="too small"):
        decode_wmbus(data)
