"""Data types A-J, century rules, BCD sign and error nibbles, VIF tables, error messages.

Each expectation is worked out by hand from EN 13757-3 and the corpus README
conventions, on records written byte by byte here.
"""
from __future__ import annotations

import pytest

from drivers.mbus import MBusError, decode, long_frame, parse_hex

# 12-byte long header: id 12345678, KAM, version 1, heat (outlet), access 0x2A, status 0, signature 0
HEADER = bytes.fromhex("78563412 2D2C 01 04 2A 00 0000")


def rsp(records_hex: str, ci: int = 0x72, header: bytes = HEADER) -> bytes:
    return long_frame(0x08, 1, ci, header + bytes.fromhex(records_hex))


def rec(records_hex: str):
    t = decode(rsp(records_hex))
    assert len(t.records) == 1
    return t.records[0]


# --- type B (signed binary) and scaling ------------------------------------------

@pytest.mark.parametrize("hexrec,quantity,unit,value", [
    ("0106FF", "energy", "Wh", -1000),                   # int8 0xFF = -1, kWh
    ("02067B00", "energy", "Wh", 123000),
    ("0306010000", "energy", "Wh", 1000),                # int24
    ("040E01000000", "energy", "J", 1000000),            # VIF 0x0E = 10^6 J
    ("0613FFFFFFFFFFFF", "volume", "m3", -0.001),        # int48 -1 x 10^-3 m3
    ("0713FEFFFFFFFFFFFFFF", "volume", "m3", -0.002),    # int64
    ("022B36FF", "power", "W", -202),                    # the README's gmc_emmod206 case
    ("02341027", "power", "J/h", 10000 * 10000),         # 0x34 = 10^4 J/h
    ("023E0A00", "volume_flow", "m3/h", 10),
    ("02430A00", "volume_flow", "m3/h", 10e-4 * 60),      # 0x43 = 10^-4 m3/min -> x60 m3/h
    ("024D0A00", "volume_flow", "m3/h", 10e-4 * 3600),    # 0x4D = 10^-4 m3/s -> x3600
    ("02530A00", "mass_flow", "kg/h", 10),
    ("021B0A00", "mass", "kg", 10),
    ("02210200", "on_time", "s", 120),                   # minutes
    ("02230200", "on_time", "s", 2 * 86400),             # days
    ("02260300", "operating_time", "s", 3 * 3600),       # hours
    ("02710100", "averaging_duration", "s", 60),
    ("02770100", "actuality_duration", "s", 86400),
    ("02666400", "external_temperature", "degC", 10),    # 0x66: 10^(2-3) degC, 100 -> 10
    ("026B0100", "pressure", "bar", 1),
    ("02610100", "temperature_difference", "K", 0.01),
    ("016E05", "hca_units", "", 5),
    ("017A05", "bus_address", "", 5),
])
def test_binary_integers_and_primary_vifs(hexrec, quantity, unit, value):
    r = rec(hexrec)
    assert (r.quantity, r.unit) == (quantity, unit)
    assert r.value == pytest.approx(value, rel=1e-12)


def test_whole_results_are_ints_and_fractions_are_exact():
    assert rec("04142CDB0000").value == 561.08 and isinstance(rec("04142CDB0000").value, float)
    v = rec("04140A000000").value          # 10 x 10^-2 m3 = 0.1
    assert v == 0.1
    v = rec("04130A000000").value          # 10 x 10^-3 -> 0.01
    assert v == 0.01
    v = rec("0414C8000000").value          # 200 x 10^-2 = 2 -> int
    assert v == 2 and isinstance(v, int)


# --- type A (BCD) -------------------------------------------------------------------

@pytest.mark.parametrize("hexrec,value", [
    ("090612", 12000), ("0A063412", 1234000), ("0B06563412", 123456000), ("0C0678563412", 12345678000),
    ("0E06563412907856", 567890123456 * 1000),
    ("0B611800F0", -0.18),         # README: 1800F0 with sign nibble F -> -0.18 K (VIF 0x61: 10^-2)
])
def test_bcd_values_and_sign_nibble(hexrec, value):
    assert rec(hexrec).value == pytest.approx(value)


def test_bcd_sign_nibble_on_two_digits():
    r = rec("0906F5")              # F5: -5 kWh
    assert r.value == -5000


@pytest.mark.parametrize("hexrec", ["0C2BBDEBDDDD", "0B3BBDEBDD", "0A06A000", "0906AF", "0C063412F000"])
def test_bcd_with_non_decimal_nibbles_is_null_with_a_flag(hexrec):
    r = rec(hexrec)
    assert r.value is None and r.flags == ("invalid_bcd",)


def test_bcd_identifier_keeps_every_digit():
    r = rec("0C7817588506")
    assert (r.quantity, r.value) == ("fabrication_number", "06855817")
    r = rec("0C7800000001")
    assert r.value == "01000000"
    r = rec("04781700F000")        # binary identifier -> number (unsigned)
    assert r.value == 0x00F00017


# --- type H (real) -------------------------------------------------------------------

def test_real32():
    r = rec("055B1ED82442")          # from example_data_02: 41.21105194091797 degC
    assert r.value == pytest.approx(41.21105194091797, rel=1e-15)
    r = rec("053D0000C03F")          # 1.5 x 10^-1 m3/h
    assert r.value == pytest.approx(0.15)


def test_real32_nan_is_null():
    r = rec("055B0000C07F")
    assert r.value is None and r.flags == ("not_finite",)


# --- dates: types G, F, I, J and the century rules -----------------------------------

def g(day: int, month: int, yy: int) -> str:
    return "%02X%02X" % (day | (yy & 7) << 5, month | (yy >> 3) << 4)


def f(minute: int, hour: int, day: int, month: int, yy: int, hy: int = 0, iv: int = 0) -> str:
    return "%02X%02X%02X%02X" % (minute | iv << 7, hour | hy << 5, day | (yy & 7) << 5, month | (yy >> 3) << 4)


@pytest.mark.parametrize("yy,year", [(0, 2000), (12, 2012), (80, 2080), (81, 1981), (96, 1996), (99, 1999)])
def test_type_g_century(yy, year):
    r = rec("026C" + g(15, 6, yy))
    assert (r.quantity, r.value) == ("date", "%04d-06-15" % year)


@pytest.mark.parametrize("yy,hy,year", [
    (96, 0, 1996),     # amt_calec_mb: HY = 0, yy = 96 -> 1996
    (11, 0, 2011),     # HY = 0, yy <= 80 -> 20yy (compatibility)
    (80, 0, 2080), (81, 0, 1981),
    (11, 1, 2011),     # HY = 1 -> 2000 + yy
    (5, 2, 2105),
])
def test_type_f_century(yy, hy, year):
    r = rec("046D" + f(50, 20, 26, 8, yy, hy))
    assert (r.quantity, r.value) == ("datetime", "%04d-08-26T20:50:00" % year)


def test_type_f_invalid_unset_and_impossible():
    r = rec("046D" + f(50, 20, 26, 8, 11, iv=1))
    assert r.value is None and r.flags == ("date_invalid",)
    r = rec("046D00000000")
    assert r.value is None and r.flags == ("date_unset",)
    r = rec("046D" + f(0, 0, 31, 4, 11))          # 31 April
    assert r.value is None and r.flags == ("date_invalid",)
    r = rec("046D" + f(0, 0, 29, 2, 12))          # 2012 is a leap year
    assert r.value == "2012-02-29T00:00:00"
    r = rec("046D" + f(0, 0, 29, 2, 11))
    assert r.flags == ("date_invalid",)
    r = rec("046D" + f(61, 0, 1, 1, 11))          # minute 61
    assert r.flags == ("date_invalid",)


def test_type_g_unset():
    r = rec("026C0000")
    assert r.value is None and r.flags == ("date_unset",)


def test_type_i_and_j():
    # type I: seconds 30, minute 15, hour 10, day 3, month 5, year 21
    r = rec("066D" + "1E0F0A" + "%02X%02X" % (3 | (21 & 7) << 5, 5 | (21 >> 3) << 4) + "12")
    assert (r.quantity, r.value) == ("datetime", "2021-05-03T10:15:30")
    r = rec("036D1E0F0A")
    assert (r.quantity, r.value) == ("time", "10:15:30")


def test_date_vif_with_a_non_date_data_type_is_not_a_date():
    r = rec("0C6D00000000")           # BCD data under a date VIF: cannot be read as type F
    assert r.quantity == "unknown" and r.value is None


# --- extension tables 0xFB and 0xFD ---------------------------------------------------

@pytest.mark.parametrize("hexrec,quantity,unit,value", [
    ("02FB000A00", "energy", "Wh", 10 * 10 ** 5),          # 0.1 MWh
    ("02FB010A00", "energy", "Wh", 10 * 10 ** 6),          # MWh
    ("02FB080A00", "energy", "J", 10 * 10 ** 8),           # 0.1 GJ -> J, not "Reserved"
    ("02FB090A00", "energy", "J", 10 * 10 ** 9),           # GJ
    ("02FB300A00", "power", "J/h", 10 * 10 ** 8),          # 0.1 GJ/h -> J/h, not J
    ("02FB310A00", "power", "J/h", 10 * 10 ** 9),
    ("02FB280A00", "power", "W", 10 * 10 ** 5),            # 0.1 MW
    ("02FB100A00", "volume", "m3", 1000),
    ("02FB180A00", "mass", "kg", 10 * 10 ** 5),            # 100 t
    ("02FB1A0A00", "relative_humidity", "%", 1),
    ("02FB750A00", "cold_warm_temperature_limit", "degC", 0.1),
    ("02FD170300", "error_flags", "", 3),
    ("02FD1B0300", "digital_input", "", 3),
    ("02FD480A00", "voltage", "V", 1),                     # 0x48: 10^(8-9) V, 10 -> 1 V
    ("02FD590A00", "current", "A", 0.01),                  # 0x59: 10^(9-12) A
    ("02FD1C6009", "baud_rate", "Bd", 2400),
    ("02FD260200", "storage_interval", "s", 2 * 3600),
    ("02FD2D0300", "duration_since_last_readout", "s", 180),
    ("02FD3A0500", "dimensionless", "", 5),
    ("02FD740100", "remaining_battery_lifetime", "s", 86400),
])
def test_extension_tables(hexrec, quantity, unit, value):
    r = rec(hexrec)
    assert (r.quantity, r.unit) == (quantity, unit)
    assert r.value == pytest.approx(value, rel=1e-12)


def test_unsigned_bit_fields_and_raw_types_k_l():
    assert rec("02FD17FFFF").value == 0xFFFF              # type D: a bit field is never negative
    assert rec("01FD1B80").value == 0x80
    r = rec("04FD7201020304")                             # type K (daylight saving): kept as a raw number
    assert (r.quantity, r.unit, r.value) == ("daylight_saving", "", 0x04030201)


def test_fahrenheit_is_converted():
    r = rec("02FB5BD400")          # 212 degF (nn = 3: 10^0) -> 100 degC
    assert (r.quantity, r.unit, r.value) == ("flow_temperature", "degC", 100)
    r = rec("02FB63B400")          # 180 degF difference -> 100 K
    assert (r.quantity, r.unit, r.value) == ("temperature_difference", "K", 100)


def test_reserved_codes_are_unknown_with_raw():
    for hexrec in ("02FB060100", "02FD190100", "016F01", "02FD7C0100"):
        r = rec(hexrec)
        assert (r.quantity, r.unit) == ("unknown", "") and r.raw == bytes.fromhex(hexrec)


def test_fd_identifiers_and_manufacturer():
    assert rec("09FD0E03").value == "03"
    assert rec("0DFD0C03434241").value == "ABC"             # text, last character first
    assert rec("02FD0A2D2C").value == "KAM"


# --- combinable VIFEs ------------------------------------------------------------------

def test_combinable_modifiers_and_units():
    r = rec("0286220100")           # energy kWh, VIFE 0x22 "per hour"
    assert (r.quantity, r.unit, r.modifiers) == ("energy", "Wh/h", ("per_hour",))
    r = rec("02933A0100")           # volume, 0x3A uncorrected
    assert r.modifiers == ("uncorrected",)
    r = rec("0293750100")           # volume 10^-3 m3, VIFE 0x75: factor 10^-1 -> 10^-4 m3
    assert r.value == pytest.approx(1e-4) and r.modifiers == ()
    r = rec("02937D0100")           # VIFE 0x7D: factor 10^3
    assert r.value == 1
    r = rec("0286400A00")           # energy, 0x40 lower limit value
    assert r.modifiers == ("lower_limit_value",) and r.value == 10000
    r = rec("0286490300")           # 0x49 number of upper limit exceeds: a count
    assert (r.quantity, r.unit, r.value, r.subject) == ("exceed_count", "", 3, "energy")
    r = rec("0286FC010100")         # 0x7C 0x01: at phase L1 (2013 extension)
    assert r.modifiers == ("phase_l1",)
    r = rec("02863D0100")           # 0x3D reserved -> unknown
    assert r.quantity == "unknown"


def test_record_error_vife():
    r = rec("0286150100")           # VIFE 0x15: no data available
    assert r.record_error == "no_data_available" and r.value is None
    r = rec("0286160100")
    assert r.record_error == "data_overflow" and r.value == 1000


def test_object_action_in_master_to_slave_frame():
    frame = long_frame(0x53, 1, 0x51, bytes.fromhex("0C860078563412"))   # write energy
    r = decode(frame).records[0]
    assert r.action == "write" and r.record_error is None and r.value == 12345678000


# --- special DIFs, fillers, no data, variable length -----------------------------------

def test_fillers_are_never_records_and_no_data_is_null():
    t = decode(rsp("2F2F 0006 2F 026C" + g(1, 1, 20) + "2F2F"))
    assert [(r.quantity, r.value) for r in t.records] == [("energy", None), ("date", "2020-01-01")]
    assert t.records[0].raw == bytes.fromhex("0006")


def test_manufacturer_data_keeps_frame_order_and_trailing_fillers():
    t = decode(rsp("0106FF 0F 0102032F2F"))
    assert t.manufacturer_data == bytes.fromhex("0102032F2F") and not t.more_records_follow
    t = decode(rsp("1F"))
    assert t.records == [] and t.manufacturer_data == b"" and t.more_records_follow


def test_variable_length_data():
    assert rec("0D7803434241").value == "ABC"
    assert rec("0D06C23412").value == 123400 * 10          # positive BCD 4 digits, kWh
    assert rec("0D06D23412").value == -123400 * 10
    assert rec("0D06E2FFFF").value == -1000                # 2-byte binary
    r = rec("0D06F0" + "00" * 15 + "01")                   # 16-byte binary: kept as hex
    assert r.value == "01" + "00" * 15 and r.flags == ("binary_as_hex",)


def test_storage_tariff_subunit_from_dif_and_difes():
    r = rec("C4C0FF7F06" + "01000000")
    # DIF bit 6 -> storage bit 0; DIFE1 C0: subunit 1; DIFE2 FF: storage 0xF<<5, tariff 3<<2, subunit 1<<1;
    # DIFE3 7F: storage 0xF<<9, tariff 3<<4, subunit 1<<2
    assert r.storage == 1 | 0xF << 5 | 0xF << 9
    assert r.tariff == 3 << 2 | 3 << 4
    assert r.subunit == 1 | 1 << 1 | 1 << 2
    assert r.function == "instantaneous"
    assert [rec(x + "0601").function for x in ("01", "11", "21", "31")] == [
        "instantaneous", "maximum", "minimum", "error"]


# --- headers and other CI fields -------------------------------------------------------

def test_long_header_fields_and_status_words():
    t = decode(long_frame(0x08, 1, 0x72, bytes.fromhex("78563412 2D2C 01 0C 2A 15 0000")))
    assert (t.identification, t.manufacturer, t.version, t.medium_code, t.medium, t.access_number) == (
        "12345678", "KAM", 1, 0x0C, "heat_inlet", 0x2A)
    assert t.status_flags == ["application_busy", "power_low", "temporary_error"]


def test_short_header_and_msb_first_mode():
    t = decode(long_frame(0x08, 1, 0x7A, bytes.fromhex("2A 00 0000 0406E8030000")))
    assert (t.header, t.access_number, t.manufacturer) == ("short", 0x2A, None)
    assert t.records[0].value == 1000000
    # CI 0x76: multi-byte fields most significant byte first
    t = decode(long_frame(0x08, 1, 0x76, bytes.fromhex("12345678 2C2D 01 04 2A 00 0000 04060000 03E8")))
    assert (t.identification, t.manufacturer) == ("12345678", "KAM")
    assert t.records[0].value == 1000000


def test_link_only_frames():
    assert decode(b"\xE5").to_json() == {"frame_type": "ack"}
    t = decode(bytes.fromhex("105BFE5916"))
    assert (t.frame_type, t.c_field, t.address, t.ci_field) == ("short", 0x5B, 0xFE, None)
    t = decode(long_frame(0x53, 0xFE, 0xBD))
    assert (t.frame_type, t.baud_rate) == ("control", 9600)
    t = decode(long_frame(0x53, 0xFD, 0x52, bytes.fromhex("78563412 FFFF FF FF")))
    assert (t.identification, t.manufacturer, t.medium) == ("12345678", None, "any")


# --- error messages: what and which byte ------------------------------------------------

@pytest.mark.parametrize("frame,offset,words", [
    (b"", None, "empty"),
    (bytes.fromhex("11"), 0, "unknown start byte 0x11 at byte 0"),
    (bytes.fromhex("105BFE5A16"), 3, "checksum mismatch at byte 3: expected 0x59, got 0x5A"),
    (bytes.fromhex("105BFE5900"), 4, "bad stop byte at byte 4"),
    (bytes.fromhex("105BFE591600"), 5, "trailing byte"),
    (bytes.fromhex("6803046808017079 16"), 2, "L-fields differ at byte 2"),
    (bytes.fromhex("6803036908017079 16"), 3, "second start byte at byte 3"),
    (bytes.fromhex("6803036808017078 16"), 7, "checksum mismatch at byte 7: expected 0x79, got 0x78"),
    (bytes.fromhex("68030368080170"), 7, "truncated at byte 7"),
])
def test_link_errors_name_the_byte(frame, offset, words):
    with pytest.raises(MBusError) as info:
        decode(frame)
    assert words in str(info.value) and "\n" not in str(info.value)
    assert info.value.offset == offset


@pytest.mark.parametrize("records_hex,offset,words", [
    ("0C0678", 19 + 3, "premature end of data at byte 22"),                    # 8-digit BCD, 1 byte left
    ("8B", 20, "DIFE expected"),
    ("0B", 20, "VIF expected"),
    ("0B86", 21, "VIFE expected"),
    ("8B" + "80" * 10 + "00 06 000000", 30, "more than 10 DIFEs"),
    ("0B86" + "80" * 10 + "00 000000", 31, "more than 10 VIFEs"),
    ("0B7B 000000", 20, "VIF 0x7B at byte 20"),
    ("027C05 4142", 21, "plain-text VIF length 0x05 at byte 21"),
    ("0D06F5", 21, "reserved LVAR 0xF5 at byte 21"),
    ("3F", 19, "reserved special-function DIF 0x3F at byte 19"),
])
def test_record_errors_name_the_byte(records_hex, offset, words):
    with pytest.raises(MBusError) as info:
        decode(rsp(records_hex.replace(" ", "")))
    assert words in str(info.value), str(info.value)
    assert info.value.offset == offset


def test_unknown_ci_is_refused_at_byte_6():
    with pytest.raises(MBusError) as info:
        decode(long_frame(0x08, 1, 0x99, b"\x00"))
    assert info.value.offset == 6 and "CI field 0x99" in str(info.value)


# --- hex input ---------------------------------------------------------------------------

def test_parse_hex_formats():
    assert parse_hex("68 1f\n1F\t68") == bytes.fromhex("681F1F68")
    assert parse_hex("681F1F68") == bytes.fromhex("681F1F68")
    assert parse_hex("# a comment\n  # another\nE5\n") == b"\xE5"
    assert parse_hex(b"e5") == b"\xE5"
    assert parse_hex(b"\xef\xbb\xbfE5\r\n") == b"\xE5" == parse_hex("\ufeffE5")
    assert parse_hex("") == b""


@pytest.mark.parametrize("text,offset,words", [
    ("D 04 04", 0, "lone hex digit 'D' at byte 0 (line 1)"),
    ("68 1F 1F 68 08 ZZ 72", 5, "non-hex token 'ZZ' at byte 5 (line 1)"),
    ("68\n1F 1F6", 2, "odd number of hex digits in '1F6' at byte 2 (line 2)"),
    ("68 # not a comment here", 1, "non-hex token '#'"),
])
def test_parse_hex_errors(text, offset, words):
    with pytest.raises(MBusError) as info:
        parse_hex(text)
    assert words in str(info.value)
    assert info.value.offset == offset
