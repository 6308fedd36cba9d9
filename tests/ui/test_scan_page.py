"""The Scan page in the real window against the simulated bus."""
from __future__ import annotations

import time

from PySide6.QtCore import QElapsedTimer, Qt, QTimer

from tests.ui.test_bus import _configured, _done


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
    _done(qtbot, page.task)
    assert page.task.state == "finished"
    sim = win.ctx.bus.sim
    assert _row_keys(page) == _configured(sim)               # every configured meter, the sleeping one too
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
    _done(qtbot, page.task)
    sim = win.ctx.bus.sim
    expected = {f"{m.cfg.identification}.{m.cfg.manufacturer}.{m.cfg.version:02X}.{m.cfg.medium:02X}"
                for m in sim.meters if 1 <= m.cfg.primary_address <= 250 and not m.cfg.wakeup}
    assert _row_keys(page) == expected
    assert page.progress.format() == "done"


def test_gui_keeps_ticking_during_a_scan(make_window, qtbot):
    """A 20 ms timer on the GUI thread keeps its rate while a paced primary scan runs."""
    win, page = _scan_page(make_window, pace=0.02)
    ticks = []
    clock = QElapsedTimer()
    clock.start()
    timer = QTimer()
    timer.setInterval(20)
    timer.timeout.connect(lambda: ticks.append(clock.elapsed()))
    page.primary_radio.setChecked(True)
    page.start_scan()
    task = page.task
    timer.start()
    qtbot.waitUntil(lambda: len(ticks) >= 40, timeout=10000)   # >= 0.8 s of ticking
    still_running = task.running
    timer.stop()
    task.cancel()
    _done(qtbot, task)
    assert still_running                          # the ticks were taken while the scan ran
    span = ticks[-1] - ticks[0]
    rate = (len(ticks) - 1) / (span / 1000)
    gaps = [b - a for a, b in zip(ticks, ticks[1:])]
    assert rate > 0.6 * 50, f"timer ran at {rate:.1f}/s instead of 50/s"
    assert max(gaps) < 250, f"GUI thread stalled for {max(gaps)} ms"


def test_cancel_stops_within_one_timeout_and_keeps_the_meters(make_window, qtbot):
    from drivers import timing

    win, page = _scan_page(make_window, pace=1.0)            # real line timing
    page.primary_radio.setChecked(True)
    page.start_scan()
    task = page.task
    qtbot.waitUntil(lambda: page.model.rowCount() >= 2, timeout=10000)
    t0 = time.monotonic()
    qtbot.mouseClick(page.cancel_button, Qt.MouseButton.LeftButton)
    _done(qtbot, task)
    stopped_after = time.monotonic() - t0
    assert task.state == "cancelled"
    # one request in flight at most: its line time plus one response timeout (and a slow answer)
    assert stopped_after < 2 * timing.response_timeout_s(2400) + 0.5
    assert page.model.rowCount() >= 2 and "kept" in page.banner.text


def test_port_vanishing_mid_scan(make_window, qtbot):
    """USB head unplugged: one line where the user looks, found meters kept, status bar lost, app alive."""
    win, page = _scan_page(make_window, pace=0.02)
    page.primary_radio.setChecked(True)
    page.start_scan()
    qtbot.waitUntil(lambda: page.model.rowCount() >= 3, timeout=10000)
    win.show_page("connect")                                  # the user looks elsewhere meanwhile
    win.ctx.bus.transport.unplug()
    _done(qtbot, page.task)
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
    _done(qtbot, page.task)
    assert page.task.state == "finished"


def test_double_click_reads_the_meter_on_the_readout_page(make_window, qtbot):
    win, page = _scan_page(make_window)
    page.first_spin.setValue(1)
    page.last_spin.setValue(4)
    page.start_scan()
    _done(qtbot, page.task)
    row = next(r for r in range(page.model.rowCount()) if page.model.meter_at(r).manufacturer == "SEN")
    page.table.selectRow(row)
    idx = page.model.index(row, 2)
    rect = page.table.visualRect(idx)
    qtbot.mouseClick(page.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(page.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert win.current_name == "readout"
    readout = win.current_page()
    _done(qtbot, readout.task)
    assert readout.readout is not None and readout.readout.meter_key == page.model.meter_at(row).key
