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
    assert "12 meters found" in page.banner.text


def test_primary_scan_finds_the_addressed_awake_meters(make_window, qtbot):
    win, page = _scan_page(make_window)
    page.primary_radio.setChecked(True)
    page.start_scan()
    task_ended(qtbot, page.task)
    sim = win.ctx.bus.sim
    expected = {f"{m.cfg.identification}.{m.cfg.manufacturer}.{m.cfg.version:02X}.{m.cfg.medium:02X}"
                for m in sim.meters if 1 <= m.cfg.primary_address <= 250 and not m.cfg.wakeup}
    assert _row_keys(page) == expected
    assert page.progress.format() == "done"


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
    assert page.model.rowCount() >= 2 and "kept" in page.banner.text


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
