"""The Readout page in the real window: decoded values against what the simulator sent."""
from __future__ import annotations

import csv
import json

import pytest
from PySide6.QtGui import QGuiApplication

from tests.helpers.qt import task_ended

KAM = "71234567.KAM.08.04"


def _num(text: str) -> float:
    return float(text.replace("\u2009", ""))


@pytest.fixture
def readout(make_window, qtbot, tmp_path):
    """The Readout page after reading the simulated Kamstrup (two telegrams, E8/E9), status bits set."""
    from app.ui.demo import sim_meter

    win = make_window(page="readout", db_url=f"sqlite:///{tmp_path / 'reg.db'}")
    bus = win.ctx.bus
    bus.connect_simulator(pace=0.0)
    bus.transport.advance(3 * 3600)              # three hours of drift: averages differ from the current values
    sim = sim_meter(bus.sim, "71234567", "KAM")
    sim.status = 0x14                            # power low + temporary error
    task = bus.read_address(address=1)
    task_ended(qtbot, task)
    bus.select(KAM)
    page = win.current_page()
    qtbot.waitUntil(lambda: page.readout is not None, timeout=5000)
    return win, page, sim


def _cell(page, row, name):
    from app.ui.pages.readout import COLUMNS

    return page.table.item(row, COLUMNS.index(name)).text()


def test_every_record_of_every_telegram_as_the_meter_sent_it(readout):
    win, page, sim = readout
    ro = page.readout
    sent = {s["access_number"]: s["records"] for s in sim.sent}
    assert len(ro.telegrams) == sim.cfg.telegrams == 2
    rows = 0
    for ti, tg in enumerate(ro.telegrams):
        expected = sent[tg.access_number]
        assert [r.quantity for r in tg.records] == [e["quantity"] for e in expected]
        for rec, exp in zip(tg.records, expected):
            row = rows
            rows += 1
            assert _cell(page, row, "Tel.") == str(ti + 1)
            assert _cell(page, row, "Stor.") == str(exp["storage"])
            if exp["quantity"] == "energy":
                assert _cell(page, row, "Unit") == "kWh"
                assert _num(_cell(page, row, "Value")) == pytest.approx(exp["value"] / 1000)
            elif exp["quantity"] in ("volume", "flow_temperature", "return_temperature", "volume_flow"):
                assert _num(_cell(page, row, "Value")) == pytest.approx(exp["value"])
    assert page.table.rowCount() == rows


def test_header_status_in_words_and_volume_weighted_temperatures(readout):
    win, page, sim = readout
    header = page.header_label.text()
    assert "Kamstrup" in header and "71234567" in header and "MULTICAL 601" in header
    assert "power low (battery)" in header and "temporary error" in header
    assert "access no." in header
    # E8/E9 divided by the volume the meter sent in the same telegram
    sent = {s["access_number"]: s["records"] for s in sim.sent}
    first = {(r["quantity"], tuple(r["vife"]), r["storage"]): r["value"]
             for r in sent[page.readout.telegrams[0].access_number]}
    vol = first[("volume", (), 0)]
    avg_flow = first[("manufacturer_specific", (7,), 0)] / vol
    avg_return = first[("manufacturer_specific", (8,), 0)] / vol
    text = page.vw_label.text()
    assert page.vw_label.isVisible()
    assert f"flow <b>{avg_flow:.1f} °C</b>" in text and f"return <b>{avg_return:.1f} °C</b>" in text
    # the simulator integrated the temperatures over the volume: the averages are its means, not the last values
    state = sim.snapshot(0)
    assert avg_flow == pytest.approx(state["flow_temp_volume_m3c"] / state["volume_m3"], abs=0.1)


def test_raw_hex_of_records_and_telegrams_on_demand(readout, qtbot):
    from drivers.mbus import decode

    win, page, sim = readout
    from app.ui.pages.readout import RAW_COLUMN

    assert page.table.isColumnHidden(RAW_COLUMN) and not page.raw_panel.isVisible()
    page.raw_button.click()
    assert not page.table.isColumnHidden(RAW_COLUMN) and page.raw_panel.isVisible()
    last = page.table.rowCount() - 1                          # a record of the second telegram
    page.table.selectRow(last)
    text = page.raw_panel.toPlainText()
    frame_hex = text.split("\n\n")[0].split("\n", 1)[1]
    frame = bytes.fromhex(frame_hex.replace("\n", " "))
    tg = decode(frame)
    assert tg.access_number == page.readout.telegrams[1].access_number
    rec_hex = page.table.item(last, RAW_COLUMN).text()
    assert rec_hex.replace(" ", "") == tg.records[-1].raw.hex().upper()
    assert rec_hex in text.replace("\n", " ")


def test_copy_and_export(readout, tmp_path):
    win, page, sim = readout
    page.table.selectRow(1)
    page.copy_selection()
    lines = QGuiApplication.clipboard().text().splitlines()
    assert len(lines) == 2 and lines[0].split("\t")[:3] == ["Tel.", "Quantity", "Value"]
    assert lines[1].split("\t")[1] == "Heat energy"                 # a heat meter's energy register

    page.export_csv(str(tmp_path / "r.csv"))
    with open(tmp_path / "r.csv", encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    recs = page.readout.records
    assert len(rows) == len(recs)
    assert [(r["quantity"], r["raw"]) for r in rows] == [(x.quantity, x.raw.hex().upper()) for x in recs]

    page.export_json(str(tmp_path / "r.json"))
    doc = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    from drivers.mbus import decode

    assert doc["telegrams"] == [decode(bytes.fromhex(f)).to_json() for f in doc["frames"]]
    assert doc["records"] == [r for t in doc["telegrams"] for r in t["records"]]
    assert doc["secondary_address"] == "71234567"


def test_save_to_register_offers_to_create_the_meter(readout, qtbot):
    win, page, sim = readout
    page.save_to_register()
    qtbot.waitUntil(lambda: win.ctx.tasks.is_idle(), timeout=20000)
    assert page.last_save.status == "no_match"
    assert page.banner.level == "warning" and "no meter KAM 71234567" in page.banner.text
    dlg = page.ask_create(page.last_save.proposal)
    assert dlg.edits["manufacturer"].text() == "Kamstrup" and dlg.edits["serial"].text() == "71234567"
    dlg.edits["site"].setText("Plant room B")
    dlg.accept()
    qtbot.waitUntil(lambda: win.ctx.tasks.is_idle() and page.last_save.status == "saved", timeout=20000)
    assert "Saved to the register" in page.banner.text
    reg = win.ctx.register()
    m = reg.find_meter("KAM", "71234567")
    assert m.site == "Plant room B"
    (stored,) = reg.readouts(m.id)
    assert stored["frames"] == page.readout.frames and stored["decoded"] == page.readout.decoded()
    page.save_to_register()                                   # the second time it is matched
    qtbot.waitUntil(lambda: win.ctx.tasks.is_idle(), timeout=20000)
    assert page.last_save.status == "saved" and page.last_save.matched_by == "manufacturer+secondary_address"


@pytest.mark.parametrize("address,medium", [(7, "cooling_outlet"), (8, "heat_cooling")])
def test_heating_and_cooling_registers_are_named_apart(make_window, qtbot, address, medium):
    """MMS 1.1.13: a cooling meter's energy is "Cooling energy"; a heat/cooling meter's register with
    "accumulation only if negative contributions" (EN 13757-3 VIFE 0x3C) is its cooling register, the
    plain one its heating register. The name says it; the modifier is not repeated beside it."""
    win = make_window(page="readout")
    bus = win.ctx.bus
    bus.connect_simulator(pace=0.0)
    task = task_ended(qtbot, bus.read_address(address=address))
    ro = task.result
    assert ro.telegrams[0].medium == medium
    page = win.current_page()
    bus.select(ro.meter_key)
    page.show_readout(ro)
    names = []
    for row, rec in enumerate(ro.records):
        if rec.quantity != "energy":
            continue
        cooling = "accumulation_negative" in rec.modifiers or medium.startswith("cooling")
        assert _cell(page, row, "Quantity") == ("Cooling energy" if cooling else "Heat energy")
        assert "accumulation" not in _cell(page, row, "Modifiers")
        names.append(_cell(page, row, "Quantity"))
    expected = {"Cooling energy"} if medium.startswith("cooling") else {"Heat energy", "Cooling energy"}
    assert set(names) == expected


def test_a_failed_read_marks_the_previous_readout_not_current(readout, qtbot):
    """The meter stops answering: the header says the read failed (not "Reading …" for ever), and the
    previous readout stays only marked as previous, the table greyed."""
    win, page, sim = readout
    previous = page.readout
    sim.cfg.faults = {"silent": True}
    page.read_now()
    task_ended(qtbot, page.task, timeout=30000)
    assert page.task.state == "failed"
    header = page.header_label.text()
    assert "Reading" not in header and "failed" in header and "not current" in header
    assert page.readout is previous and page.stale and not page.table.isEnabled()
    sim.cfg.faults = {}
    page.read_now()
    task_ended(qtbot, page.task)
    assert page.readout is not previous and not page.stale and page.table.isEnabled()
    assert "failed" not in page.header_label.text()


def test_a_failed_read_of_another_meter_clears_the_table(readout, qtbot):
    from app.ui.demo import sim_meter

    win, page, _sim = readout
    bus = win.ctx.bus
    task_ended(qtbot, bus.read_address(address=4))
    sen = "62100015.SEN.0E.04"
    sim_meter(bus.sim, "62100015").cfg.faults = {"silent": True}
    bus.meter(sen).last_readout = None                             # never read: nothing of its own to show
    bus.select(sen)
    page.show_readout(page.bus.meter(KAM).last_readout)            # the Kamstrup's readout is on show
    page.read_now()
    task_ended(qtbot, page.task, timeout=30000)
    assert page.readout is None and page.table.rowCount() == 0
    assert "failed" in page.header_label.text() and "Sensus 62100015" in page.header_label.text()


def test_stored_history_stays_put_between_reads(readout, qtbot):
    """Month-start values do not drift from one read to the next (the registers do), and no stored volume
    is above the current one."""
    win, page, _sim = readout
    bus = win.ctx.bus

    def stored(ro):
        return {(r.storage, r.quantity): r.value for r in ro.records
                if r.storage and r.quantity in ("energy", "volume")}
    first = page.readout
    bus.transport.advance(2 * 3600)
    second = task_ended(qtbot, bus.read_meter(KAM)).result
    assert stored(first) and stored(first) == stored(second)
    now = {r.quantity: r.value for r in second.records if not r.storage and r.quantity in ("energy", "volume")}
    assert max(v for (s, q), v in stored(second).items() if q == "volume") <= now["volume"]
    assert next(r.value for r in second.records if r.quantity == "energy" and not r.storage) > \
        next(r.value for r in first.records if r.quantity == "energy" and not r.storage)
