"""EN 62056-21 messages: identification, baud characters, data block, BCC; the UH50/T550 register map.

Expected values come from EN 62056-21 (baud character tables, BCC rule) and from the
captured readouts of the ``ultraheat-api`` project and the values its own tests assert
(tests/data/optical/README.md), never from this parser's output.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.iec62056 import landis
from drivers.iec62056.message import (
    Iec62056Error, bcc, option_select, parse_data_block, parse_data_message, parse_identification, request_message,
)

DATA = Path(__file__).resolve().parent.parent / "data" / "optical"


def uh50_wire() -> tuple[bytes, bytes]:
    """The UH50 capture as it was on the line: identification, and STX + block + ETX + BCC."""
    raw = (DATA / "uh50_gj.txt").read_bytes()
    ident, rest = raw.split(b"\r\n", 1)
    end = rest.index(b"!\r\n") + 3
    return b"/" + ident + b"\r\n", b"\x02" + rest[:end] + b"\x03" + rest[end:end + 1]


def by_register(records) -> dict:
    out: dict = {}
    for r in records:
        out.setdefault(r.register, []).append(r)
    return out


# --- identification -----------------------------------------------------------------

@pytest.mark.parametrize("line, mode, baud", [
    (b"/LUGCUH50\r\n", "B", 2400),          # the UH50: 'C' in mode B is 2400 baud
    (b"/ABC0METER\r\n", "C", 300),
    (b"/ABC5METER\r\n", "C", 9600),
    (b"/ABC6METER\r\n", "C", 19200),
    (b"/ABCAMETER\r\n", "B", 600),
    (b"/ABCFMETER\r\n", "B", 19200),
    (b"/ABCKMETER\r\n", "A", 300),          # any other printable character: mode A at 300 baud
    (b"/ABC5\\2METER\r\n", "E", 9600),      # \W after Z: mode E
])
def test_baud_character_gives_mode_and_rate(line, mode, baud):
    ident = parse_identification(line)
    assert (ident.mode, ident.baud) == (mode, baud)


def test_identification_fields():
    ident = parse_identification(b"/LUGCUH50\r\n")
    assert (ident.manufacturer, ident.baud_char, ident.ident, ident.fast_reaction) == ("LUG", "C", "UH50", False)
    assert parse_identification(b"/LGz5ZMD\r\n").fast_reaction        # third letter lower case: 20 ms


@pytest.mark.parametrize("line, fragment", [
    (b"/LUGGUH50\r\n", "reserved"),        # G, H, I reserved in mode B
    (b"/LUG8UH50\r\n", "reserved"),        # 7, 8, 9 reserved in mode C
    (b"/LUG!UH50\r\n", "not allowed"),
    (b"LUGCUH50\r\n", "start with '/'"),
    (b"/LUGCUH50", "CR LF"),
    (b"/LU\r\n", "too short"),
    (b"/1UGCUH50\r\n", "three letters"),
    (b"/LUGC\xb5H50\r\n", "printable"),    # a 7E1 line read as 8N1: parity bits in the data
])
def test_bad_identification(line, fragment):
    with pytest.raises(Iec62056Error, match=fragment):
        parse_identification(line)


def test_request_and_option_select_bytes():
    assert request_message() == b"/?!\r\n"
    assert request_message("66153690") == b"/?66153690!\r\n"
    assert option_select("5") == b"\x06" + b"050" + b"\r\n"          # ACK, normal, 9600 baud, data readout
    with pytest.raises(Iec62056Error):
        option_select("C")
    with pytest.raises(Iec62056Error):
        request_message("66!")


# --- data message and BCC ---------------------------------------------------------------

def test_bcc_is_xor_after_stx_through_etx():
    # worked by hand: '1' ^ '(' ^ ')' ^ '!' ^ CR ^ LF ^ ETX = 0x31^0x28^0x29^0x21^0x0D^0x0A^0x03
    msg = b"\x021()\r\n!\r\n\x03"
    assert bcc(msg[1:]) == 0x31 ^ 0x28 ^ 0x29 ^ 0x0D ^ 0x0A ^ 0x21 ^ 0x0D ^ 0x0A ^ 0x03


def test_captured_uh50_bcc_matches():
    _, wire = uh50_wire()
    assert wire[-1:] == b"h"                                  # as captured
    msg = parse_data_message(wire)
    assert msg.bcc == ord("h")
    assert len(msg.datasets) == 66


def test_bcc_error_is_reported():
    _, wire = uh50_wire()
    bad = wire[:-1] + b"i"
    with pytest.raises(Iec62056Error, match="BCC mismatch"):
        parse_data_message(bad)
    flipped = wire.replace(b"0328.871", b"0328.872")          # one digit changed on the line
    with pytest.raises(Iec62056Error, match="BCC mismatch"):
        parse_data_message(flipped)


@pytest.mark.parametrize("raw, fragment", [
    (b"6.8(1)\r\n!\r\n", "no STX"),
    (b"\x026.8(1)\r\n!\r\n", "no ETX"),
    (b"\x026.8(1)\r\n!\r\n\x03", "without its BCC"),
    (b"\x026.8(1\r\n!\r\n\x03", "BCC"),
    (b"\xff\xfe\x026.8(1)\r\n!\r\n\x03\x00", "before STX"),
])
def test_bad_data_messages(raw, fragment):
    with pytest.raises(Iec62056Error, match=fragment):
        parse_data_message(raw)


def test_mode_a_may_omit_the_bcc():
    msg = parse_data_message(b"\x020.0(12345678)\r\n!\r\n\x03", require_bcc=False)
    assert [(d.address, d.value) for d in msg.datasets] == [("0.0", "12345678")]


def test_data_block_sets_values_units():
    sets = parse_data_block("6.8(0328.871*GJ)9.4(098.5*C&096.1*C)6.8.1()\r\n!\r\n")
    assert [(d.address, d.values) for d in sets] == [
        ("6.8", (("0328.871", "GJ"),)), ("9.4", (("098.5", "C"), ("096.1", "C"))), ("6.8.1", (("", ""),))]


@pytest.mark.parametrize("text, fragment", [
    ("6.8(1", "unclosed"), ("6.8 1)\r\n!\r\n", "without '\\('"), ("6.8(1)\r\n", "no end mark"),
    ("6.8(1)!x", "after the end mark"), ("(1)\r\n!", "address"),
])
def test_bad_data_blocks(text, fragment):
    with pytest.raises(Iec62056Error, match=fragment):
        parse_data_block(text)


# --- the UH50 readout, values asserted by ultraheat-api's own tests -----------------------

def test_uh50_readout_in_gj():
    ident_line, wire = uh50_wire()
    assert parse_identification(ident_line).ident == "UH50"
    records, ident, notes = landis.records_from_datasets(parse_data_message(wire).datasets)
    reg = by_register(records)
    one = {k: v[0] for k, v in reg.items()}
    assert ident == "66153690"
    assert (one["6.8"].quantity, one["6.8"].unit, one["6.8"].value) == ("energy", "J", 328.871e9)   # 328.871 GJ
    assert (one["6.26"].quantity, one["6.26"].value) == ("volume", 3329.67)
    assert (one["6.26*01"].storage, one["6.26*01"].value) == (1, 3188.07)      # volume previous year
    assert (one["6.8*01"].storage, one["6.8*01"].value) == (1, 314.658e9)      # heat previous year, GJ
    assert one["9.21"].value == "66153690" and one["9.20"].value == "66153690"
    assert one["F"].value == 0                                                 # error number "0"
    assert one["6.35"].value == 60 * 60                                        # measuring period 60 min
    assert (one["6.6"].function, one["6.6"].value) == ("maximum", 22400)       # 22.4 kW
    assert one["6.6*01"].value == 22400
    assert (one["6.33"].unit, one["6.33"].value) == ("m3/h", 0.744)
    assert [(r.quantity, r.value) for r in reg["9.4"]] == [("flow_temperature", 98.5), ("return_temperature", 96.1)]
    assert [r.value for r in reg["9.4*01"]] == [98.5, 96.1]
    assert one["6.31"].value == 107988 * 3600                                  # operating hours
    assert one["6.32"].value == 5 * 3600 and one["6.32*01"].value == 5 * 3600  # fault hours
    assert one["6.36"].value == "01-01 00:00" and one["6.36*02"].value == "01 00:00"   # set days
    assert one["9.36"].value == "2022-05-19T19:41:17"                          # meter date-time
    assert one["9.24"].value == 1.5                                            # measuring range, m3/h
    assert one["9.1"].value == "0&1&0&0000&CECV&CECV&1&5.16&5.16&F&101008&040404&08&0"
    assert one["9.31"].value == 28849 * 3600                                   # flow hours
    # the *01 values are those of the last yearly set day (01-01) before the meter's date
    assert [(r.storage, r.value, r.flags) for r in records if r.quantity == "date"] == [(1, "2022-01-01", ("derived",))]
    assert notes == []


def test_t550_readout_in_mwh():
    lines = (DATA / "t550_mwh.txt").read_text().split("\n")
    assert lines[0] == "/LUGCUH50"                       # a T550 identifies itself as a UH50
    text = "\r\n".join(ln for ln in lines[1:] if ln) + "\r\n"
    records, ident, _ = landis.records_from_datasets(parse_data_block(text))
    one = {r.register: r for r in records}
    assert (one["6.8"].unit, one["6.8"].value) == ("Wh", 326062000)            # 326.062 MWh
    assert (one["6.8*01"].unit, one["6.8*01"].value) == ("Wh", 323272000)      # 323.272 MWh
    assert one["6.26"].value == 7939.56 and one["6.26*01"].value == 7843.48
    assert one["9.21"].value == "00073600" and one["9.20"].value == "66935074"
    assert ident == "00073600"
    assert one["9.36"].value == "2022-06-08T10:06:51"
    assert one["6.31"].value == 88324 * 3600 and one["9.31"].value == 59615 * 3600


def test_unknown_data_sets_are_kept_not_guessed():
    records, _, _ = landis.records_from_datasets(parse_data_block("9.22(R)6.8(12*furlong)\r\n!\r\n"))
    assert [(r.quantity, r.value, r.text) for r in records] == [
        ("unknown", "R", "9.22(R)"), ("unknown", "12*furlong", "6.8(12*furlong)")]


# --- fuzzing: only Iec62056Error escapes ----------------------------------------------------

@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_fuzz_data_message(raw):
    try:
        parse_data_message(b"\x02" + raw)
    except Iec62056Error:
        pass


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=40))
def test_fuzz_identification(raw):
    try:
        parse_identification(b"/" + raw + b"\r\n")
    except Iec62056Error:
        pass


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from("0123456789.*&()!CRLFkWhGJm3/ \r\n"), max_size=120))
def test_fuzz_data_block_and_register_map(text):
    try:
        sets = parse_data_block(text)
    except Iec62056Error:
        return
    landis.records_from_datasets(sets)
