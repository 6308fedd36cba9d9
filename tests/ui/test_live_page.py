"""The Live page polling the simulated bus through the bus service."""
from __future__ import annotations

import pytest

from tests.helpers.qt import task_ended

KAM = "71234567.KAM.08.04"


@pytest.fixture
def live(make_window, qtbot):
    win = make_window(page="live")
    bus = win.ctx.bus
    bus.connect_simulator(pace=0.0)
    task_ended(qtbot, bus.read_address(address=1))
    bus.select(KAM)
    return win, win.current_page()


def _poll_fast(page):
    page.start_polling()
    page.poller.set_interval(0.03)


def test_polls_become_points_with_the_meters_values(live, qtbot):
    win, page = live
    bus = win.ctx.bus
    before = len(page.plot)
    _poll_fast(page)
    assert page.start_button.text() == "Stop polling"
    qtbot.waitUntil(lambda: len(page.plot) >= before + 5, timeout=10000)
    with qtbot.waitSignal(page.poller.stopped, timeout=5000):
        page.toggle_polling()
    last = page.plot.samples()[-1]
    rd = bus.meter(KAM).last_readout.readings()          # the last readout the poller got from the meter
    assert (last.power_kw, last.flow_m3h, last.t_flow_c, last.t_return_c) == pytest.approx(
        (rd.power_kw, rd.flow_m3h, rd.t_flow_c, rd.t_return_c))
    assert rd.dtheta_k is not None and last.dtheta_k == pytest.approx(rd.dtheta_k)   # the meter's own Δθ
    # and what the simulator sent last is what was plotted
    from app.ui.demo import sim_meter

    answers = {s["access_number"]: s["records"] for s in sim_meter(bus.sim, "71234567", "KAM").sent}
    first = bus.meter(KAM).last_readout.telegrams[0]
    sent = {r["quantity"]: r["value"] for r in answers[first.access_number] if r["storage"] == 0}
    assert last.t_flow_c == pytest.approx(sent["flow_temperature"])
    assert last.dtheta_k == pytest.approx(sent["temperature_difference"])      # its Δθ record, as sent
    assert page.start_button.text() == "Start polling"


def test_a_meter_that_stops_answering(live, qtbot):
    """Gaps, a clear message where the user looks, polling goes on, and it says when the meter is back."""
    from app.ui.demo import sim_meter
    from app.ui.pages.live import MISSES_TO_WARN

    win, page = live
    sim = sim_meter(win.ctx.bus.sim, "71234567", "KAM")
    _poll_fast(page)
    qtbot.waitUntil(lambda: page.polls >= 3, timeout=10000)
    good = len([s for s in page.plot.samples() if s.power_kw is not None])
    win.show_page("readout")                                  # the user is looking at another page
    sim.cfg.faults = {"silent": True}
    qtbot.waitUntil(lambda: page.misses_in_row >= MISSES_TO_WARN + 2, timeout=20000)
    elsewhere = win.current_page()
    assert elsewhere.banner.level == "warning" and "stopped answering" in elsewhere.banner.text
    assert page.banner.level == "warning" and "Polling goes on" in page.banner.text
    assert page.running
    gaps = [s for s in page.plot.samples() if s.power_kw is None]
    assert len(gaps) >= MISSES_TO_WARN                       # the missing time is gaps, not a line across
    sim.cfg.faults = {}
    qtbot.waitUntil(lambda: page.misses_in_row == 0, timeout=10000)
    assert "answers again" in page.banner.text
    assert len([s for s in page.plot.samples() if s.power_kw is not None]) > good
    with qtbot.waitSignal(page.poller.stopped, timeout=5000):
        page.stop_polling()


def test_scan_refused_while_polling(live, qtbot):
    win, page = live
    _poll_fast(page)
    scan = win.show_page("scan")
    scan.start_scan()
    assert scan.banner.level == "warning" and "Live polling is using the bus" in scan.banner.text
    with qtbot.waitSignal(page.poller.stopped, timeout=5000):
        page.stop_polling()


def test_legend_of_the_temperature_plot_is_outside_the_data(live):
    win, page = live
    (plot_item, keys), = page.plot.legends
    assert keys == ("t_flow_c", "t_return_c")
    title = plot_item.titleLabel
    assert title.isVisible() and "Flow temperature" in title.text and "Return temperature" in title.text
    assert not title.sceneBoundingRect().intersects(plot_item.vb.sceneBoundingRect())


def test_demo_history_is_real_polls_with_a_gap(make_window, qtbot):
    win = make_window(page="live")
    from app.ui.demo import connect_demo_bus

    connect_demo_bus(win.ctx)
    page = win.current_page()
    page.prepare_demo()
    qtbot.waitUntil(lambda: win.ctx.tasks.is_idle() and page.polls > 0, timeout=30000)
    rows = page.plot.samples()
    from app.ui.pages.live import DEMO_HISTORY_S, DEMO_OUTAGE

    assert len(rows) >= DEMO_HISTORY_S // page.interval.value()
    missed = [r for r in rows if r.power_kw is None]
    assert len(missed) >= DEMO_OUTAGE[1] - DEMO_OUTAGE[0]
    assert win.ctx.bus.meter(KAM).last_readout is not None


def test_port_lost_while_polling_is_said_where_the_user_looks(live, qtbot):
    """Unplugged while polling: the lost connection is said where the user looks and stays on top (the
    meter is not blamed); polling goes on; connecting again, it picks up and says so."""
    win, page = live
    _poll_fast(page)
    qtbot.waitUntil(lambda: page.polls >= 2, timeout=10000)
    win.show_page("scan")
    win.ctx.bus.transport.unplug()
    qtbot.waitUntil(lambda: win.ctx.bus.state == "lost", timeout=10000)
    scan = win.current_page()
    qtbot.waitUntil(lambda: any(m.level == "error" and "Lost the connection" in m.text
                                for m in scan.banner.messages()), timeout=5000)
    assert "Connection lost" in win.connection_indicator.label.text()
    qtbot.waitUntil(lambda: page.down_misses >= 3, timeout=10000)   # polling goes on, as misses
    assert page.running and page.misses_in_row == 0 and not page.warned
    assert "Lost the connection" in scan.banner.text                 # still on top: not replaced
    everything = [m.text for p in (scan, page) for m in p.banner.messages()]
    assert not any("stopped answering" in t for t in everything)    # the meter is not blamed
    assert "Connection lost: polling of Kamstrup 71234567" in page.banner.text
    assert "goes on" in page.banner.text and "while the connection was down" in page.state_label.text()

    answered = len([s for s in page.plot.samples() if s.power_kw is not None])
    win.ctx.bus.connect_simulator(pace=0.0)                          # plugged in again, connected again
    qtbot.waitUntil(lambda: len([s for s in page.plot.samples() if s.power_kw is not None]) > answered + 2,
                    timeout=10000)
    assert page.running
    assert page.banner.text == "Connection back: polling of Kamstrup 71234567 (address 1) goes on."
    assert scan.banner.text.startswith("Live: Connection back")      # said where the user is looking
    assert not any("Lost the connection" in m.text for m in scan.banner.messages())   # no longer true
    with qtbot.waitSignal(page.poller.stopped, timeout=5000):
        page.stop_polling()


def test_polling_goes_on_through_a_reconnect_to_a_real_port(make_window, qtbot, tmp_path):
    """Connect and test on a port that came back (a USB head plugged in again): the poller is not stopped by
    the reconnect; its polls answer again once the port is open."""
    from drivers.simulator import SimBus, SimServer, default_configs

    from app.ui.bus import ConnectionSpec

    def serve():
        server = SimServer(SimBus.from_configs(default_configs(3)), line_scale=0.0)
        server.open_pty(str(tmp_path / "head"))
        server.start()
        return server

    win = make_window(page="live")
    page = win.current_page()
    bus = win.ctx.bus
    server = serve()
    try:
        spec = ConnectionSpec(str(tmp_path / "head"), 2400, timeout_ms=150)
        task_ended(qtbot, bus.connect(spec, test=False))
        task_ended(qtbot, bus.read_address(address=1))
        bus.select(KAM)
        _poll_fast(page)
        qtbot.waitUntil(lambda: page.polls >= 2, timeout=10000)
        server.stop()                                                # the head is pulled out
        qtbot.waitUntil(lambda: bus.state == "lost", timeout=10000)
        qtbot.waitUntil(lambda: page.down_misses >= 2, timeout=10000)
        server = serve()                                             # plugged in again
        answered = len([s for s in page.plot.samples() if s.power_kw is not None])
        task_ended(qtbot, bus.connect(spec))                         # Connect and test
        assert bus.connected and page.running
        qtbot.waitUntil(lambda: len([s for s in page.plot.samples() if s.power_kw is not None]) > answered + 1,
                        timeout=10000)
        assert "Connection back" in page.banner.text
        with qtbot.waitSignal(page.poller.stopped, timeout=5000):
            page.stop_polling()
        bus.disconnect()
        qtbot.waitUntil(lambda: win.ctx.tasks.is_idle(), timeout=10000)
    finally:
        server.stop()


def test_polling_stopped_by_esc_says_so(live, qtbot):
    win, page = live
    _poll_fast(page)
    qtbot.waitUntil(lambda: page.polls >= 1, timeout=10000)
    with qtbot.waitSignal(page.poller.stopped, timeout=5000):
        win.ctx.tasks.cancel_current()                               # Esc on the status bar
    assert "stopped" in page.banner.text and page.banner.current().action_text == "Start polling"
    assert page.start_button.text() == "Start polling"
