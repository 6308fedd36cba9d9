"""Setting a meter's clock: the frame of EN 13757-3, and set_clock against simulated meters on a pty."""
from __future__ import annotations

import datetime as dt

from drivers.address import SecondaryMask
from drivers.clock import RECONFIGURATION_LIMITS, clock_frame, encode_type_f, reconfiguration_limit, set_clock
from drivers.link import Link
from drivers.mbus import decode
from drivers.transport import SerialTransport

METER = {"identification": "30500001", "manufacturer": "SON", "version": 13, "medium": 12, "primary_address": 5,
         "layout": "sontex", "energy_kwh": 3003.0, "volume_m3": 80.0}


def test_type_f_bytes_by_hand():
    # 2026-03-15 14:30: minute 30 = 0x1E; hour 14 = 0x0E; day 15 with year bits 26 & 7 = 2 -> 0x4F;
    # month 3 with year bits 26 >> 3 = 3 -> 0x33
    assert encode_type_f(dt.datetime(2026, 3, 15, 14, 30, 59)) == bytes.fromhex("1E0E4F33")


def test_clock_frame_by_hand():
    # SND_UD (C 0x73: FCB set), address 5, CI 0x51, DIF 0x04, VIF 0x6D, type F; L = 9, checksum 0xE8
    frame = clock_frame(5, dt.datetime(2026, 3, 15, 14, 30))
    assert frame == bytes.fromhex("68090968730551046D1E0E4F33E816")


def test_decoder_reads_the_written_record():
    # the same record inside an RSP_UD (CI 0x78: no header) decodes to the date-time written
    payload = bytes([0x78, 0x04, 0x6D]) + encode_type_f(dt.datetime(2031, 12, 1, 0, 5))
    body = bytes([0x08, 0x05]) + payload
    frame = bytes([0x68, len(body), len(body), 0x68]) + body + bytes([sum(body) & 0xFF, 0x16])
    (r,) = decode(frame).records
    assert (r.quantity, r.value) == ("datetime", "2031-12-01T00:05:00")


def link_to(sim, meter: dict):
    server, path = sim({"baud": 2400, "meters": [meter]}, time_scale=1.0)
    tr = SerialTransport(path, 2400, timeout_s=0.3).open()
    return server, tr, Link(tr, retries=1)


def test_set_clock_of_a_meter_an_hour_behind(sim):
    server, tr, link = link_to(sim, dict(METER, clock_offset_s=-3600))
    try:
        res = set_clock(link, address=5)
    finally:
        tr.close()
    assert (res.ok, res.outcome, res.acknowledged) == (True, "confirmed", True)
    assert abs(res.offset_before_s + 3600) <= 60                    # an hour behind, to the minute
    assert abs(res.offset_after_s) <= res.tolerance_s
    m = server.bus.meters[0]
    assert m.clock_writes == [res.target.isoformat()]
    sent = [f for d, f in res.frames if d == "tx" and f[:1] == b"\x68" and f[6] == 0x51]
    assert len(sent) == 1 and sent[0][7:13] == bytes([0x04, 0x6D]) + encode_type_f(res.target)
    assert [d for d, _ in res.frames].count("rx") == 3                # read, acknowledgement, read-back
    assert res.to_json()["outcome"] == "confirmed"


def test_set_clock_to_a_given_time_by_secondary_address(sim):
    server, tr, link = link_to(sim, METER)
    target = (dt.datetime.now() + dt.timedelta(days=2)).replace(second=0, microsecond=0)
    try:
        res = set_clock(link, secondary=SecondaryMask.parse("30500001"), to=target)
    finally:
        tr.close()
    assert res.confirmed and res.target == target
    assert abs((res.after - target).total_seconds()) <= res.tolerance_s


def test_set_clock_of_a_multi_telegram_meter(sim):
    kam = {"identification": "71234567", "manufacturer": "KAM", "version": 8, "medium": 4, "primary_address": 1,
           "layout": "kamstrup", "telegrams": 3, "clock_offset_s": 600}
    server, tr, link = link_to(sim, kam)
    try:
        res = set_clock(link, address=1)
    finally:
        tr.close()
    assert res.confirmed and abs(res.offset_before_s - 600) <= 60


def test_a_meter_that_refuses(sim):
    server, tr, link = link_to(sim, dict(METER, faults={"clock": "refuse"}))
    try:
        res = set_clock(link, address=5, to=dt.datetime.now() + dt.timedelta(hours=3))
    finally:
        tr.close()
    assert (res.ok, res.outcome, res.acknowledged) == (False, "refused", False)
    assert "did not accept" in res.detail
    assert abs(res.offset_after_s) <= 90                               # its clock stayed where it was
    assert server.bus.meters[0].clock_writes == []


def test_a_meter_whose_clock_does_not_move(sim):
    server, tr, link = link_to(sim, dict(METER, faults={"clock": "stuck"}))
    try:
        res = set_clock(link, address=5, to=dt.datetime.now() - dt.timedelta(hours=5))
    finally:
        tr.close()
    assert (res.ok, res.outcome, res.acknowledged) == (False, "unchanged", True)
    assert res.before == res.after
    assert "still reads" in res.detail


def test_multical_403_counts_reconfigurations():
    lim, sure = reconfiguration_limit("KAM", "MULTICAL 403")
    assert (lim.limit, sure) == (25, True)
    assert "25 reconfigurations" in lim.source
    assert reconfiguration_limit("kam", None)[1] is False              # a Kamstrup of unknown model: it may count
    assert reconfiguration_limit("KAM", "MULTICAL 601") is None
    assert reconfiguration_limit("LUG", None) is None
    assert all(lim.limit > 0 for lim in RECONFIGURATION_LIMITS)
