"""The Readout page reading through the optical head (EN 62056-21, KMP) and the meter's history; the
History tab of the Readout and meter pages and its exports.

Expected values come from the simulated meters' configuration (the default bus: the Landis+Gyr UH50
62100013 at 8011 kWh on its optical port, the Kamstrup MULTICAL 71234567 at 15234 kWh with 24 months of
history) and from EN 13757-3 (storage numbers: the month starts), not from the page's own output.
"""
from __future__ import annotations

import csv
import datetime as dt

import pytest

from tests.helpers.qt import task_ended

KAM = "71234567.KAM.08.04"


@pytest.fixture
def page(make_window, qtbot, tmp_path):
    win = make_window(page="readout", db_url=f"sqlite:///{tmp_path / 'reg.db'}")
    win.ctx.bus.connect_simulator(pace=0.0)
    p = win.current_page()
    return win, p


def _rows(p) -> list[dict[str, str]]:
    from app.ui.pages.readout import COLUMNS

    return [{c: (p.table.item(r, i).text() if p.table.item(r, i) else "") for i, c in enumerate(COLUMNS)}
            for r in range(p.table.rowCount())]


def test_the_uh50_on_the_optical_head_by_en_62056_21(page, qtbot):
    win, p = page
    p.set_protocol("iec62056-21")
    assert win.ctx.bus.selected is None
    p.read_now()                                         # no meter picked: whichever is on the head
    task_ended(qtbot, p.task)
    ro = p.readout
    assert ro is not None and ro.protocol == "iec62056-21" and ro.secondary_address == "62100013"
    header = p.header_label.text()
    assert "Landis+Gyr" in header and "EN 62056-21" in header and "mode B" in header and "2400 Bd" in header
    rows = _rows(p)
    energy = next(r for r in rows if r["Raw hex"].startswith("6.8("))
    # 8011 kWh = 28.8396 GJ, printed by the meter with three decimals: 28.839 GJ = 28 839 MJ
    assert energy["Raw hex"] == "6.8(0028.839*GJ)" and energy["Value"].replace("\u2009", "") == "28839"
    assert energy["Unit"] == "MJ"
    assert win.ctx.bus.selected is not None and win.ctx.bus.selected.identification == "62100013"
    # its yearly value (storage 1) is dated by its set day: 1 January
    assert p.history_view.history.dates[1] == f"{dt.date.today().year}-01-01"
    assert p.tabs.currentWidget() is p.history_view
    # the KMP head on the MULTICAL by its known key
    win.ctx.bus.select(None)
    p.set_protocol("kmp")
    p.read_now()
    task_ended(qtbot, p.task)
    assert p.readout.protocol == "kmp" and p.readout.secondary_address == "71234567"
    assert "Kamstrup KMP" in p.header_label.text() and "1200 Bd" in p.header_label.text()


def test_read_history_fills_the_history_tab_and_exports_it(page, qtbot, tmp_path):
    win, p = page
    task = win.ctx.bus.read_address(address=1)
    task_ended(qtbot, task)
    win.ctx.bus.select(KAM)
    p.set_protocol("mbus")
    p.read_history()
    task_ended(qtbot, p.task)
    ro = p.readout
    assert [s.kind for s in ro.selections] == ["enhanced_billing"]
    view = p.history_view
    assert p.tabs.currentWidget() is view
    today = dt.date.today()
    # 24 stored months (storage 1 = this month's start) and the current values (storage 0)
    assert view.table.rowCount() == 25
    assert view.table.item(1, 1).text() == today.replace(day=1).isoformat()
    header = [view.table.horizontalHeaderItem(c).text() for c in range(view.table.columnCount())]
    col = header.index("Energy (kWh)")
    now_kwh = float(view.table.item(0, col).text().replace("\u2009", "").replace(",", ""))
    assert now_kwh >= 15234.0                          # the register started at 15234 kWh and only grows
    assert view.quantity_combo.currentText() == "Energy (kWh)"
    view.period_radio.setChecked(True)                 # the increase per month as bars: no error, drawn
    assert view.plot.getPlotItem().listDataItems() or view.plot.getPlotItem().items
    for name in ("history.csv", "history.xlsx"):
        task = view.export(str(tmp_path / name))
        task_ended(qtbot, task)
    with open(tmp_path / "history.csv", encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0][:3] == ["Storage", "Date", header[2]] and rows[0][-1] == "Meter" and len(rows) == 26
    assert rows[2][1] == today.replace(day=1).isoformat() and rows[2][-1] == "71234567"
    import openpyxl

    wb = openpyxl.load_workbook(tmp_path / "history.xlsx", read_only=True)
    try:
        ws = wb["history"]
        got = [[c.value for c in r] for r in ws.iter_rows()]
        assert got[0][:2] == ["Storage", "Date"] and len(got) == 26
        assert isinstance(got[1][col], (int, float)) and abs(got[1][col] - now_kwh) < 1.0
    finally:
        wb.close()


def test_history_export_writes_text_that_looks_like_a_formula_as_text(tmp_path):
    from app.ui.widgets.history import write_table

    header = ["Storage", "Date", "Note"]
    rows = [[1, "2026-01-01", "=HYPERLINK(\"http://x\")"], [2, "2026-02-01", -5.5]]
    write_table(str(tmp_path / "h.csv"), header, rows)
    write_table(str(tmp_path / "h.xlsx"), header, rows)
    with open(tmp_path / "h.csv", encoding="utf-8-sig", newline="") as f:
        got = list(csv.reader(f))
    assert got[1][2] == "'=HYPERLINK(\"http://x\")" and got[2][2] == "-5.5"     # numbers stay numbers
    import openpyxl

    wb = openpyxl.load_workbook(tmp_path / "h.xlsx")
    try:
        ws = wb["history"]
        assert ws["C2"].data_type == "s" and ws["C2"].value.startswith("=") and ws["C3"].value == -5.5
    finally:
        wb.close()


def test_meter_page_history_of_a_saved_readout(make_window, qtbot, tmp_path):
    """A history readout saved to the register shows on the meter page's History tab, with its writes."""
    from app.services import readouts
    from app.storage.register import open_register
    from drivers.session import BusSession, ConnectionSpec
    from drivers.simulator import LoopbackTransport, SimBus, default_configs

    url = f"sqlite:///{tmp_path / 'reg.db'}"
    bus = SimBus.from_configs(default_configs(1))
    s = BusSession()
    s.attach(LoopbackTransport(bus), ConnectionSpec(simulated=True), sim=bus)
    ro = s.read_history(address=1)
    res = s.set_address(9, address=1)
    with open_register(url) as reg:
        m = reg.create_meter({"site": "North", "manufacturer": "Kamstrup", "model": "MULTICAL 601",
                              "serial": "71234567", "secondary_address": "71234567", "mbus_manufacturer": "KAM"})
        assert readouts.save_readout(reg, readouts.Evidence.from_readout(ro)).saved
        from app.services import meter_writes

        assert meter_writes.record_write(reg, res, port="loopback")["status"] == "saved"
    win = make_window(page="register", db_url=url)
    rp = win.current_page()
    rp.open_meter(m.id)
    view = rp.meter_view
    qtbot.waitUntil(lambda: view.dossier is not None and view.dossier["meter"].id == m.id, timeout=20000)
    hv = view.history_tab.view
    assert hv.history is not None and hv.table.rowCount() == 25          # 24 months + now
    assert view.tabs.tabText(view.tabs.indexOf(view.history_tab)) == "History (1)"
    assert view.writes_table.rowCount() == 1 and view.writes_table.item(0, 2).text() == "address"
    assert view.tabs.tabText(view.tabs.indexOf(view.writes_table)) == "Writes (1)"


def test_connect_page_protocol_choice_reads_the_meter_on_the_head(make_window, qtbot, tmp_path):
    from PySide6.QtCore import Qt

    win = make_window(page="connect", db_url=f"sqlite:///{tmp_path / 'reg.db'}")
    p = win.current_page()
    p.kind_buttons["simulated"].setChecked(True)
    p._select_data(p.protocol_combo, "iec62056-21")
    assert "Landis+Gyr" in p.protocol_note.text() and "2400 Bd" in p.protocol_note.text()
    qtbot.mouseClick(p.connect_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "answers by" in p.result_label.text(), timeout=20000)
    assert "62100013" in p.result_label.text() and "EN 62056-21" in p.result_label.text()
    assert win.ctx.bus.protocol == "iec62056-21"
    assert "EN 62056-21" in win.ctx.connection.value.summary()
    p._select_data(p.protocol_combo, "mbus")              # back to M-Bus on the same connection
    assert win.ctx.bus.protocol == "mbus" and "EN 62056-21" not in win.ctx.connection.value.summary()
    qtbot.waitUntil(lambda: win.ctx.tasks.is_idle(), timeout=20000)
