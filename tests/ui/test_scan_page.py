"""The Scan page in the real window against the simulated bus."""
from __future__ import annotations

from PySide6.QtCore import Qt, QTimer

from tests.helpers.qt import configured_keys, task_ended


def _scan_page(make_window, **sim):
    win = make_window(page="scan")
    win.ctx.bus.connect_simulator(**{"pace": 0.0, **sim})
    return win, win.current_page()


def _row_keys(page):
    return {page.model.meter_at(r).key for r in range(page.model.rowCount())}


def test_secondary_search_lists_every_simulated_meter(make_window, qtbot):
    from drivers.makes import make_name

    win, page = _scan_page(make_window, profile="optical-55")
    page.secondary_radio.setChecked(True)
    qtbot.mouseClick(page.start_button, Qt.MouseButton.LeftButton)
    task_ended(qtbot, page.task)
    assert page.task.state == "finished"
    sim = win.ctx.bus.sim
    assert _row_keys(page) == configured_keys(sim)               # every configured meter, the sleeping one too
    for r in range(page.model.rowCount()):
        m = page.model.meter_at(r)
        cfg = next(x.cfg for x in sim.meters if (x.cfg.identification, x.cfg.manufacturer) == (m.identification,
                                                                                               m.manufacturer))
        cells = [page.model.index(r, c).data() for c in range(page.model.columnCount())]
        assert cells[0] == make_name(cfg.manufacturer) and cells[2] == cfg.identification
        assert cells[3] == (str(cfg.primary_address) if cfg.primary_address else "secondary only")
    assert "12 meters found" in page.result_text()


def test_primary_scan_finds_the_addressed_awake_meters(make_window, qtbot):
    win, page = _scan_page(make_window)
    page.primary_radio.setChecked(True)
    page.start_scan()
    task_ended(qtbot, page.task)
    sim = win.ctx.bus.sim
    expected = {f"{m.cfg.identification}.{m.cfg.manufacturer}.{m.cfg.version:02X}.{m.cfg.medium:02X}"
                for m in sim.meters if 1 <= m.cfg.primary_address <= 250 and not m.cfg.wakeup}
    assert _row_keys(page) == expected
    assert page.progress.format() == f"done: {len(expected)} found"


def test_gui_keeps_ticking_during_a_scan(make_window, qtbot):
    """A 20 ms timer on the GUI thread keeps firing while a paced primary scan runs, and the scan goes on
    meanwhile (more requests on the bus from tick to tick). How evenly it ticks: bench/workers.py."""
    win, page = _scan_page(make_window, pace=0.1)
    sim = win.ctx.bus.sim
    page.primary_radio.setChecked(True)
    page.start_scan()
    task = page.task
    seen = []                                   # at each tick: requests on the bus so far, scan running?
    timer = QTimer()
    timer.setInterval(20)
    timer.timeout.connect(lambda: seen.append((sim.requests, task.running)))
    timer.start()
    qtbot.waitUntil(lambda: len(seen) >= 40, timeout=10000)   # >= 0.8 s of ticking
    timer.stop()
    task.cancel()
    task_ended(qtbot, task)
    assert all(running for _n, running in seen)              # every tick came while the scan ran
    assert seen[-1][0] > seen[0][0]                          # and the scan advanced between the ticks


def test_cancel_is_honoured_at_the_next_request_and_keeps_the_meters(make_window, qtbot):
    """Cancel sends no further request (at most the one on the line completes), and what was found stays."""
    win, page = _scan_page(make_window, pace=1.0)            # real line timing: the scan is far from done
    sim = win.ctx.bus.sim
    page.primary_radio.setChecked(True)
    page.start_scan()
    task = page.task
    qtbot.waitUntil(lambda: page.model.rowCount() >= 2, timeout=10000)
    requests_at_cancel = sim.requests
    qtbot.mouseClick(page.cancel_button, Qt.MouseButton.LeftButton)
    task_ended(qtbot, task)
    assert task.state == "cancelled"
    assert sim.requests - requests_at_cancel <= 1
    assert page.model.rowCount() >= 2 and "kept" in page.result_text()


def test_port_vanishing_mid_scan(make_window, qtbot):
    """USB head unplugged: one line where the user looks, found meters kept, status bar lost, app alive."""
    win, page = _scan_page(make_window, pace=0.02)
    page.primary_radio.setChecked(True)
    page.start_scan()
    qtbot.waitUntil(lambda: page.model.rowCount() >= 3, timeout=10000)
    win.show_page("connect")                                  # the user looks elsewhere meanwhile
    win.ctx.bus.transport.unplug()
    task_ended(qtbot, page.task)
    kept = page.model.rowCount()
    assert kept >= 3 and page.task.state == "failed"
    here = win.current_page()
    for p in (page, here):                                    # the page that scanned and the one in view
        assert p.banner.level == "error"
        assert "Lost the connection" in p.banner.text and f"the {kept} meters found so far are kept" in p.banner.text
        assert "\n" not in p.banner.text
    assert "Connection lost" in win.connection_indicator.label.text()
    assert win.isVisible()
    win.show_page("scan")
    page.start_scan()                                         # refused politely, not a crash
    assert page.banner.level == "warning" and "lost" in page.banner.text
    win.ctx.bus.connect_simulator(pace=0.0)                   # reconnect (the simulated bus again)
    page.start_scan()
    task_ended(qtbot, page.task)
    assert page.task.state == "finished"


def test_double_click_reads_the_meter_on_the_readout_page(make_window, qtbot):
    win, page = _scan_page(make_window)
    page.first_spin.setValue(1)
    page.last_spin.setValue(4)
    page.start_scan()
    task_ended(qtbot, page.task)
    row = next(r for r in range(page.model.rowCount()) if page.model.meter_at(r).manufacturer == "SEN")
    page.table.selectRow(row)
    idx = page.model.index(row, 2)
    rect = page.table.visualRect(idx)
    qtbot.mouseClick(page.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(page.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert win.current_name == "readout"
    readout = win.current_page()
    task_ended(qtbot, readout.task)
    assert readout.readout is not None and readout.readout.meter_key == page.model.meter_at(row).key


KAM = "71234567.KAM.08.04"


def _scanned(make_window, qtbot, first=1, last=2, **sim):
    win, page = _scan_page(make_window, **sim)
    page.primary_radio.setChecked(True)
    page.first_spin.setValue(first)
    page.last_spin.setValue(last)
    page.start_scan()
    task_ended(qtbot, page.task)
    return win, page


def test_set_address_from_the_app_is_checked_first_and_confirmed_by_a_read(make_window, qtbot):
    from app.ui.demo import sim_meter

    win, page = _scanned(make_window, qtbot, 1, 2)
    bus = win.ctx.bus
    kam, lug, acw = (sim_meter(bus.sim, i) for i in ("71234567", "62100013", "62100014"))
    bus.select(KAM)
    page.change_selected()
    dlg = page.settings_dialog
    assert dlg.address.value() == 3                  # the first address after its own that the list leaves free
    # an address a meter in the list has: refused at once, nothing sent
    before = bus.sim.requests
    dlg.address.setValue(2)
    dlg.address_button.click()
    assert "Address 2 is in use by Landis+Gyr 62100013" in dlg.status.text()
    assert bus.sim.requests == before and page.banner.level == "error"
    # an address the list does not know a meter at (3 was not scanned), but one answers there:
    # the bus is asked first and nothing is written
    dlg.address.setValue(3)
    dlg.address_button.click()
    task_ended(qtbot, dlg.task)
    assert "in use" in dlg.status.text() and "62100014.ACW.09.04 answers there" in dlg.status.text()
    assert "nothing was written" in dlg.status.text()
    assert (kam.primary_address, acw.primary_address, lug.primary_address) == (1, 3, 2)
    # a free address: written, then confirmed by a read there
    dlg.address.setValue(42)
    dlg.address_button.click()
    task_ended(qtbot, dlg.task)
    assert dlg.last_result.ok and dlg.last_result.confirmed
    assert kam.primary_address == 42 and bus.meter(KAM).primary_address == 42
    assert "Confirmed: Kamstrup 71234567 (address 42) answers at address 42" in dlg.status.text()
    assert page.model.index(page.model.row_of(KAM), 3).data() == "42"
    ro = task_ended(qtbot, bus.read_meter(KAM)).result
    assert ro.address == 42 and ro.meter_key == KAM
    dlg.close()


def test_set_baud_from_the_app_moves_the_port_along(make_window, qtbot):
    from app.ui.demo import sim_meter

    win, page = _scanned(make_window, qtbot, 1, 1)
    bus = win.ctx.bus
    kam = sim_meter(bus.sim, "71234567")
    bus.select(KAM)
    page.change_selected()
    dlg = page.settings_dialog
    dlg.baud.setCurrentIndex(dlg.baud.findData(9600))
    dlg.baud_button.click()
    task_ended(qtbot, dlg.task)
    assert dlg.last_result.ok and dlg.last_result.confirmed and kam.baud == 9600
    assert bus.spec.baud == 9600 and "answers at 9600 Bd" in dlg.status.text()
    ro = task_ended(qtbot, bus.read_meter(KAM)).result            # read again at the new rate
    assert ro.baud == 9600
    dlg.close()


def test_meters_of_another_port_or_missed_by_a_scan_are_marked(make_window, qtbot):
    """The list keeps what was found before, but marks it: a meter another scan of this bus did not find,
    and every meter once the connection is another port (two meters at address 4 never look alike)."""
    from app.ui.demo import sim_meter
    from app.ui.widgets.meters import ABSENT_INK

    win, page = _scanned(make_window, qtbot, 1, 4)
    bus = win.ctx.bus
    sen = "62100015.SEN.0E.04"
    assert not bus.absence(bus.meter(sen))
    sim_meter(bus.sim, "62100015").cfg.faults = {"silent": True}
    page.start_scan()                                              # same range: the Sensus is gone
    task_ended(qtbot, page.task)
    row = page.model.row_of(sen)
    assert bus.absence(bus.meter(sen)).startswith("not found by the primary scan 1–4 at ")
    assert page.model.index(row, 5).data() == "not found by last scan"
    assert page.model.index(row, 0).data(Qt.ItemDataRole.ForegroundRole).name() == ABSENT_INK
    assert not bus.absence(bus.meter(KAM))
    assert "1 not seen on this bus now" in page.count_label.text()
    sim_meter(bus.sim, "62100015").cfg.faults = {}
    task_ended(qtbot, bus.read_meter(sen))                         # it answers again: current again
    assert not bus.absence(bus.meter(sen)) and page.model.index(row, 5).data() != "not found by last scan"
    # another port: what was found on the simulated bus is not known to be there
    bus.meter(KAM).port = "/dev/ttyUSB1"                           # as if found through another head
    bus.meterChanged.emit(bus.meter(KAM))
    assert bus.absence(bus.meter(KAM)) == "found on /dev/ttyUSB1, not seen on the simulated bus"
    assert page.model.index(page.model.row_of(KAM), 5).data() == "not seen here"


def test_scan_progress_is_honest(make_window, qtbot):
    """Before a scan the bar says so (no "0 / 1"); a secondary search shows no total, no "done" and no time
    left while it runs; a primary scan counts addresses."""
    win, page = _scan_page(make_window, pace=0.05, profile="optical-55")
    assert page.progress.format() == "no scan yet" and "0 / 1" not in page.progress.text()
    page.secondary_radio.setChecked(True)
    seen = []
    page.start_scan()
    page.task.progress.connect(lambda *_a: seen.append((page.progress.format(), page.progress.maximum(),
                                                         page.eta_label.text())))
    qtbot.waitUntil(lambda: len(seen) >= 5, timeout=20000)
    page.task.cancel()
    task_ended(qtbot, page.task)
    assert all(fmt == "searching…" and maximum == 0 and "left" not in eta for fmt, maximum, eta in seen)
    assert all("so far" in eta for _f, _m, eta in seen)
    assert page.progress.format() == "cancelled"
    page.primary_radio.setChecked(True)
    page.first_spin.setValue(1)
    page.last_spin.setValue(20)
    seen.clear()
    page.start_scan()
    page.task.progress.connect(lambda *_a: seen.append(page.progress.format()))
    task_ended(qtbot, page.task)
    assert seen and all(f == "%v / %m addresses" for f in seen)
    assert page.progress.maximum() == 1 and page.progress.format().startswith("done: ")


def test_the_outcome_of_a_scan_does_not_move_the_controls(make_window, qtbot):
    """The outcome goes in a line of its own under the controls: nothing jumps under a gloved finger."""
    win, page = _scan_page(make_window)
    where = {b: b.mapTo(win, b.rect().topLeft()) for b in (page.start_button, page.read_button)}
    table_top = page.table.mapTo(win, page.table.rect().topLeft())
    page.first_spin.setValue(0)
    page.last_spin.setValue(3)
    page.start_scan()
    task_ended(qtbot, page.task)
    assert "Primary scan: 3 meters found" in page.result_text()
    assert "Several meters answer at address 0" in page.result_text()       # the three at address 0
    assert page.result_button.isVisible() and page.result_button.text() == "Secondary search"
    assert not page.banner.isVisible()
    assert {b: b.mapTo(win, b.rect().topLeft()) for b in where} == where
    assert page.table.mapTo(win, page.table.rect().topLeft()) == table_top


def test_a_sleeping_meter_missed_without_its_wakeup_gets_the_hint(make_window, qtbot):
    """The Engelmann sleeps behind its optical port: found by a search that wakes it, then missed by a scan
    without the wake-up; the outcome names it and says what to do."""
    win, page = _scan_page(make_window, profile="optical-55")
    bus = win.ctx.bus
    task_ended(qtbot, bus.scan_primary(6, 6))
    efe = "44556677.EFE.04.04"
    assert bus.meter(efe) is not None and bus.meter(efe).optical_profile
    bus.sim.sleep()
    bus.set_profile("none")
    page.first_spin.setValue(1)
    page.last_spin.setValue(9)
    page.start_scan()
    task_ended(qtbot, page.task)
    text = page.result_text()
    assert "Not found: Engelmann 44556677 (address 6)" in text and "optical head profile" in text
    assert "62100015" not in text                             # wired meters found without a wake-up are not named
