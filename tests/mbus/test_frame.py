"""Link layer: builders, strict parsing, stream extraction for the bus layer."""
from __future__ import annotations

import pytest

from drivers.mbus import (
    CI_BAUD_2400, REQ_UD2, REQ_UD2_FCB, RSP_UD, SND_NKE, SND_UD, ExtractStatus, FrameType, MBusError,
    c_field_name, control_frame, extract_frame, long_frame, parse_frame, short_frame,
)


def test_builders_match_the_standard_layout():
    assert short_frame(REQ_UD2, 0xFE) == bytes.fromhex("105BFE5916")
    assert short_frame(SND_NKE, 1) == bytes.fromhex("1040014116")
    assert control_frame(SND_UD, 1, CI_BAUD_2400) == bytes.fromhex("680303685301BB0F16")
    f = long_frame(SND_UD, 0xFE, 0x51, bytes.fromhex("017A08"))
    assert f == bytes.fromhex("6806066853FE51017A082516")
    with pytest.raises(ValueError):
        long_frame(SND_UD, 1, 0x51, bytes(253))
    with pytest.raises(ValueError):
        short_frame(0x100, 1)


def test_constants_and_names():
    assert (REQ_UD2_FCB, RSP_UD) == (0x7B, 0x08)
    assert c_field_name(0x7B) == "REQ_UD2" and c_field_name(0x5B) == "REQ_UD2"
    assert c_field_name(0x18) == "RSP_UD" and c_field_name(0x40) == "SND_NKE"


def test_parse_frame_kinds():
    assert parse_frame(b"\xE5").type is FrameType.ACK
    f = parse_frame(short_frame(REQ_UD2, 5))
    assert (f.type, f.c, f.a, f.ci) == (FrameType.SHORT, 0x5B, 5, None) and f.from_master
    f = parse_frame(control_frame(SND_UD, 5, 0xB8))
    assert (f.type, f.ci, f.data) == (FrameType.CONTROL, 0xB8, b"")
    f = parse_frame(long_frame(RSP_UD, 5, 0x72, bytes(12)))
    assert (f.type, f.ci, f.data) == (FrameType.LONG, 0x72, bytes(12)) and not f.from_master


def test_extract_complete_frames_one_after_another():
    stream = b"\xE5" + short_frame(REQ_UD2, 1) + long_frame(RSP_UD, 1, 0x72, bytes(12))
    kinds = []
    while stream:
        frame, n, status = extract_frame(stream)
        assert status is ExtractStatus.FRAME
        kinds.append(frame.type.value)
        stream = stream[n:]
    assert kinds == ["ack", "short", "long"]


def test_extract_needs_more_bytes_for_every_prefix():
    full = long_frame(RSP_UD, 1, 0x72, bytes(range(20)))
    for cut in range(len(full)):
        frame, n, status = extract_frame(full[:cut])
        assert (frame, n, status) == (None, 0, ExtractStatus.NEED_MORE), cut
    assert extract_frame(bytearray(full))[2] is ExtractStatus.FRAME
    assert extract_frame(memoryview(full))[1] == len(full)
    short = short_frame(REQ_UD2, 1)
    for cut in range(len(short)):
        assert extract_frame(short[:cut])[2] is ExtractStatus.NEED_MORE


def test_extract_garbage_resynchronises_at_next_start_byte():
    good = short_frame(REQ_UD2, 1)
    res = extract_frame(b"\x00\x33" + good)
    assert res.status is ExtractStatus.GARBAGE and res.consumed == 2 and "start byte" in res.error
    frame, n, status = extract_frame((b"\x00\x33" + good)[res.consumed:])
    assert status is ExtractStatus.FRAME and frame.raw == good


def test_extract_reports_a_collision():
    # two slaves answering at once: bytes OR-ed on the wire -> checksum and/or stop byte wrong
    a = long_frame(RSP_UD, 1, 0x72, bytes(12))
    b = long_frame(RSP_UD, 2, 0x72, bytes([0x10] * 12))
    garbled = bytes(x | y for x, y in zip(a, b))
    res = extract_frame(garbled)
    assert res.status is ExtractStatus.GARBAGE and res.consumed >= 1
    assert res.frame is None and res.error


def test_extract_l_field_mismatch_is_garbage_early():
    res = extract_frame(bytes.fromhex("682A2B"))
    assert res.status is ExtractStatus.GARBAGE and "L-fields differ" in res.error
    res = extract_frame(bytes.fromhex("680201"))
    assert res.status is ExtractStatus.GARBAGE


def test_parse_frame_is_strict():
    with pytest.raises(MBusError):
        parse_frame(b"\xE5\xE5")
    with pytest.raises(MBusError):
        parse_frame(short_frame(REQ_UD2, 1)[:-1])
