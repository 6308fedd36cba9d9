"""History by storage number: the pure function, the simulator's monthly history, telegram-type selection."""
from __future__ import annotations

import datetime as dt

import pytest

from drivers.history import history, read_history, reset_subcode
from drivers.link import Link
from drivers.ops import read_meter
from drivers.transport import SerialTransport

KAM = {"identification": "71234567", "manufacturer": "KAM", "version": 8, "medium": 4, "primary_address": 1,
       "layout": "kamstrup", "telegrams": 3, "energy_kwh": 15234.0, "volume_m3": 412.7, "flow_m3h": 1.2,
       "theta_flow_c": 72.0, "dtheta_k": 24.0, "history_months": 24}


def rec(quantity, value, storage=0, unit="", **kw) -> dict:
    return {"quantity": quantity, "value": value, "storage": storage, "unit": unit, "tariff": 0, "subunit": 0,
            "function": "instantaneous", **kw}


def test_values_get_the_date_of_their_storage_number():
    tel1 = {"records": [rec("energy", 15234000, 0, "Wh"), rec("datetime", "2026-03-15T10:20:00"),
                        rec("energy", 14800000, 1, "Wh"), rec("volume", 400.1, 1, "m3"), rec("date", "2026-03-01", 1)]}
    tel2 = {"records": [rec("date", "2026-02-01", 2), rec("energy", 14100000, 2, "Wh"),
                        rec("energy", 14800000, 1, "Wh"),                       # repeated: listed once
                        rec("fabrication_number", "71234567")]}
    h = history([tel1, tel2])
    assert h.dates == {0: "2026-03-15T10:20:00", 1: "2026-03-01", 2: "2026-02-01"}
    energy = h.get("energy")
    assert [(p.storage, p.date, p.value) for p in energy.points] == [
        (0, "2026-03-15T10:20:00", 15234000), (1, "2026-03-01", 14800000), (2, "2026-02-01", 14100000)]
    assert [(p.storage, p.date, p.value) for p in h.get("volume").points] == [(1, "2026-03-01", 400.1)]
    assert h.notes == []
    rows = h.rows()
    assert {"storage": 2, "date": "2026-02-01", "quantity": "energy", "unit": "Wh", "tariff": 0, "subunit": 0,
            "function": "instantaneous", "modifiers": "", "value": 14100000} in rows


def test_tariffs_functions_and_modifiers_are_separate_series():
    tel = {"records": [rec("energy", 10, 1, "Wh"), rec("energy", 3, 1, "Wh", tariff=1),
                       rec("energy", 7, 1, "Wh", modifiers=["accumulation_negative"]),
                       rec("power", 900, 1, "W", function="maximum"), rec("date", "2026-01-01", 1),
                       rec("date", "2025-12-24", 1, subject="date_of_maximum")]}       # not the storage date
    h = history([tel])
    assert h.dates == {1: "2026-01-01"}
    assert h.get("energy", tariff=1).points[0].value == 3
    assert h.get("energy", modifiers=("accumulation_negative",)).points[0].value == 7
    assert h.get("power", function="maximum").points[0].date == "2026-01-01"


def test_conflicts_and_missing_dates_are_reported():
    h = history([{"records": [rec("energy", 10, 3, "Wh")]}, {"records": [rec("energy", 11, 3, "Wh")]}])
    assert "energy storage 3: values 10 and 11 in one readout" in h.notes
    assert "no date for storage number(s) 3" in h.notes


def test_reset_subcodes_of_en13757_3():
    assert reset_subcode("all") == 0x00
    assert reset_subcode("user_data") == 0x10
    assert reset_subcode("enhanced_billing") == 0x30
    assert reset_subcode("instantaneous", 2) == 0x52


def month_starts(d: dt.date, n: int) -> list[str]:
    out = []
    y, m = d.year, d.month
    for _ in range(n):
        out.append(dt.date(y, m, 1).isoformat())
        y, m = (y, m - 1) if m > 1 else (y - 1, 12)
    return out


def test_simulated_history_is_stable_and_below_the_registers(sim):
    # 1 simulated hour per second: the registers move between the reads, the stored values must not
    server, path = sim({"baud": 2400, "meters": [KAM]}, time_scale=3600.0)
    with SerialTransport(path, 2400) as tr:
        link = Link(tr)
        first = history(read_meter(link, address=1).telegrams)
        m = server.bus.meters[0]
        before = m.state.energy_wh
        waited = 0
        while m.state.energy_wh <= before + 1000 and waited < 200:       # wait until 1 kWh more was counted
            read_meter(link, address=1)
            waited += 1
        second = history(read_meter(link, address=1).telegrams)
    if first.dates[1] != second.dates[1]:
        pytest.skip("a month started between the two reads")
    e1, e2 = first.get("energy"), second.get("energy")
    cur1, cur2 = e1.points[0].value, e2.points[0].value
    assert e1.points[0].storage == 0 and cur2 > cur1                      # the register moved
    assert [(p.storage, p.value) for p in e1.points[1:]] == [(p.storage, p.value) for p in e2.points[1:]]
    assert all(p.value <= cur1 for p in e1.points[1:])
    vol = second.get("volume")
    assert all(p.value <= vol.points[0].value for p in vol.points[1:])   # no stored volume above the current one
    stored = [p.value for p in e2.points[1:]]
    assert stored == sorted(stored, reverse=True)                         # older month starts hold less
    clock = dt.datetime.fromisoformat(second.dates[0])
    assert [second.dates[k] for k in range(1, 9)] == month_starts(clock.date(), 8)


def test_enhanced_billing_selection_reads_every_stored_month(sim):
    server, path = sim({"baud": 2400, "meters": [KAM]}, time_scale=0)
    with SerialTransport(path, 2400) as tr:
        res = read_history(Link(tr), address=1, types=("enhanced_billing",))
    (sel,) = res.selections
    assert sel.acknowledged and not sel.same_as_standard
    assert len(sel.telegrams) == 2                                         # 24 months, 12 per telegram
    h = res.history()
    clock = dt.datetime.fromisoformat(h.dates[0])
    assert [h.dates[k] for k in range(1, 25)] == month_starts(clock.date(), 24)
    energy = h.get("energy")
    assert [p.storage for p in energy.points] == list(range(0, 25))
    # the standard telegrams and the selected ones agree on the months both carry
    std = history(res.standard.telegrams).get("energy")
    sel_h = history(sel.telegrams).get("energy")
    common = {p.storage: p.value for p in std.points if p.storage}
    assert common and all(sel_h.points[k - 1].value == v for k, v in common.items())
    assert server.bus.meters[0].selection is None                          # restored with a plain application reset


def test_a_meter_without_billing_telegrams_answers_its_standard_ones(sim):
    plain = dict(KAM, telegrams=1, history_months=0)
    _, path = sim({"baud": 2400, "meters": [plain]}, time_scale=0)
    with SerialTransport(path, 2400) as tr:
        res = read_history(Link(tr), address=1, types=("enhanced_billing",))
    assert res.selections[0].same_as_standard
    assert "ignores this selection" in res.selections[0].detail


def test_history_of_a_captured_uh50_readout():
    # the UH50 capture (tests/data/optical): *01 values are those of the yearly set day 01-01 before 2022-05-19
    from pathlib import Path

    from drivers.iec62056 import landis
    from drivers.iec62056.message import parse_data_message
    from drivers.optical.readout import OpticalTelegram

    raw = (Path(__file__).resolve().parent.parent / "data" / "optical" / "uh50_gj.txt").read_bytes()
    block = raw.split(b"\r\n", 1)[1]
    end = block.index(b"!\r\n") + 3
    records, ident, _ = landis.records_from_datasets(
        parse_data_message(b"\x02" + block[:end] + b"\x03" + block[end:end + 1]).datasets)
    h = history([OpticalTelegram("iec62056-21", b"", "LUG", ident, "UH50", records)])
    assert h.dates == {0: "2022-05-19T19:41:17", 1: "2022-01-01"}
    assert [(p.storage, p.date, p.value) for p in h.get("energy").points] == [
        (0, "2022-05-19T19:41:17", 328_871_000_000), (1, "2022-01-01", 314_658_000_000)]       # 328.871 / 314.658 GJ
    assert [(p.storage, p.value) for p in h.get("volume").points] == [(0, 3329.67), (1, 3188.07)]
    assert [(p.storage, p.value) for p in h.get("power", function="maximum").points] == [(0, 22400), (1, 22400)]
