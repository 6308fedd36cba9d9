"""The bus session's meter-side jobs on the in-process simulated bus: reads through the optical eye
(EN 62056-21, KMP), history by telegram type, the clock write with the reconfiguration warning, and the
frames a write keeps.

Expected values come from the simulated meters' configuration and from EN 13757-3, not from the
session's own output.
"""
from __future__ import annotations

import datetime as dt

import pytest

from drivers.session import BusSession, ConnectionSpec, KnownMeter, ReconfigurationNotAgreed, WrongMeter
from drivers.simulator import LoopbackTransport, MeterConfig, SimBus

UH50 = MeterConfig("62100013", "LUG", 0x02, 0x04, primary_address=2, layout="landis", energy_kwh=8011.0,
                   volume_m3=233.1, optical={"protocol": "iec62056-21", "mode": "B", "energy_unit": "MWh"})
MULTICAL = MeterConfig("71234567", "KAM", 0x08, 0x04, primary_address=1, layout="kamstrup", telegrams=2,
                       energy_kwh=15234.0, volume_m3=412.7, history_months=6, optical={"protocol": "kmp"})
KAM_UNKNOWN = MeterConfig("12345678", "KAM", 0x1B, 0x04, primary_address=7, layout="kamstrup")
SONTEX = MeterConfig("30500001", "SON", 0x0D, 0x0C, primary_address=5, layout="sontex", clock_offset_s=-600)


def session_on(cfgs, protocol: str = "mbus") -> BusSession:
    bus = SimBus.from_configs(cfgs, seed=1)
    s = BusSession()
    s.attach(LoopbackTransport(bus, 2400), ConnectionSpec(None, 2400, simulated=True, protocol=protocol), sim=bus)
    return s


def plain(ro, quantity: str, storage: int = 0):
    return next(r.value for r in ro.records if r.quantity == quantity and r.storage == storage and not r.tariff
                and not r.subunit and not r.modifiers and r.function == "instantaneous" and r.value is not None)


def test_an_optical_connection_reads_the_meter_on_the_head_in_its_protocol():
    s = session_on([MULTICAL, UH50], protocol="iec62056-21")
    items = []
    ro = s.read_address(on_item=items.append)
    assert (ro.protocol, ro.mode, ro.baud) == ("iec62056-21", "B", 2400)
    assert ro.secondary_address == "62100013" and ro.tx_frames[0].endswith(b"/?!\r\n")
    assert plain(ro, "energy") == 8_011_000                      # 8.011 MWh as printed, in Wh
    assert [m.identification for m in items] == ["62100013"]
    doc = ro.to_json()
    assert (doc["protocol"], doc["baud"], doc["mode"]) == ("iec62056-21", 2400, "B")
    # the same port in KMP reaches the MULTICAL; a meter known from a scan keeps its key
    s.spec = ConnectionSpec(None, 2400, simulated=True, protocol="kmp")
    known = KnownMeter("71234567", "KAM", 0x08, 0x04, "heat_outlet", primary_address=1)
    s.meters.add(known)
    ro = s.read_meter(known)
    assert ro.meter_key == "71234567.KAM.08.04" and ro.protocol == "kmp"
    assert plain(ro, "energy") == 15_234_000 and plain(ro, "volume") == 412.7


def test_an_optical_read_checks_the_meter_and_writes_need_mbus():
    s = session_on([MULTICAL], protocol="kmp")
    with pytest.raises(WrongMeter, match="71234567.KAM, not 99999999"):
        s.read_address(expect="99999999.KAM")
    with pytest.raises(ValueError, match="go over M-Bus"):
        s.set_clock_job(address=1)
    with pytest.raises(ValueError, match="go over M-Bus"):
        s.set_address_job(3, address=1)
    with pytest.raises(ValueError, match="unknown protocol 'modbus'"):
        BusSession.open_transport(ConnectionSpec("/dev/null", 2400, protocol="modbus"))


def test_history_job_selects_the_billing_telegrams_and_dates_each_month():
    s = session_on([MULTICAL])
    ro = s.read_history(address=1)
    [sel] = ro.selections
    assert (sel.kind, sel.subcode, sel.acknowledged, sel.same_as_standard) == ("enhanced_billing", 0x30, True, False)
    h = ro.history()
    today = dt.date.today()
    firsts = [today.replace(day=1)]
    for _ in range(5):
        firsts.append((firsts[-1] - dt.timedelta(days=1)).replace(day=1))
    assert [h.dates[k] for k in range(1, 7)] == [d.isoformat() for d in firsts]     # six months kept
    energy = h.get("energy")
    assert energy.points[0].value == 15_234_000 and [p.storage for p in energy.points] == list(range(7))
    doc = ro.to_json(history=True)
    assert doc["selections"][0]["type"] == "enhanced_billing" and doc["history"]["dates"]["1"] == firsts[0].isoformat()
    # the frames of every telegram are kept: the standard ones and the selected ones
    assert len(ro.frames) == len(ro.telegrams) > 2


def test_set_clock_is_held_before_the_write_for_a_make_that_counts_reconfigurations():
    s = session_on([KAM_UNKNOWN, SONTEX])
    with pytest.raises(ReconfigurationNotAgreed) as held:
        s.set_clock(address=7)
    assert held.value.warning["limit"] == 25 and held.value.warning["sure"] is False
    assert held.value.result.outcome == "not_agreed" and s.sim.meters[0].clock_writes == []
    res = s.set_clock(address=7, agreed=True)
    assert res.confirmed and len(s.sim.meters[0].clock_writes) == 1 and res.reconfiguration["limit"] == 25
    # a make that does not count: no warning, written at once; 10 minutes behind before, on time after
    res = s.set_clock(address=5)
    assert res.confirmed and res.reconfiguration is None
    assert abs(res.offset_before_s + 600) <= 60 and abs(res.offset_after_s) <= 90
    ev = res.evidence()
    assert ev["kind"] == "clock" and ev["identification"] == "30500001" and ev["manufacturer"] == "SON"
    assert ev["before"]["offset_s"] == res.offset_before_s and ev["after"]["written"] == res.target.isoformat()
    # what the session warns about for a known meter, before any write
    assert s.reconfiguration_warning(manufacturer="KAM", model="MULTICAL 403")["sure"] is True
    assert s.reconfiguration_warning(manufacturer="SON") is None


def test_a_write_keeps_every_frame_it_sent_and_received():
    s = session_on([SONTEX])
    res = s.set_address(9, address=5)
    assert res.ok and res.kind == "address"
    ev = res.evidence()
    assert (ev["before"], ev["after"]["address"], ev["outcome"]) == ({"address": 5}, 9, "confirmed")
    tx = [f for d, f in ev["frames"] if d == "tx"]
    # SND_NKE 5, REQ_UD2 5, SND_UD with DIF 0x01 VIF 0x7A and the new address, SND_NKE 9, REQ_UD2 9
    assert tx[0] == bytes.fromhex("1040054516") and tx[2][:1] == b"\x68" and tx[2][7:10] == bytes([0x01, 0x7A, 9])
    assert [d for d, _ in ev["frames"]] == ["tx", "rx"] * 5
    assert ev["frames"][5] == ("rx", b"\xe5")                   # the acknowledgement of the write
