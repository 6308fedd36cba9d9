"""The Connect page: simulated bus, port list that follows plugging, a real pty, the first run."""
from __future__ import annotations

import pytest
from PySide6.QtCore import Qt


def test_demo_is_the_simulated_bus_visibly_marked(make_window, qtbot):
    from app.ui.demo import connect_demo_bus

    win = make_window(page="connect", demo=True)
    connect_demo_bus(win.ctx)
    page = win.current_page()
    page.prepare_demo()
    assert page.sim_frame.isVisible() and "SIMULATION" in page.sim_label.text()
    assert win.connection_indicator.badge.isVisible()
    qtbot.waitUntil(lambda: win.ctx.tasks.is_idle() and win.ctx.bus.last_test is not None, timeout=10000)
    assert win.ctx.bus.last_test.several and "Several meters answer at 2400 Bd" in page.result_label.text()


def test_port_list_follows_plug_and_unplug(make_window, qtbot):
    win = make_window(page="connect")
    page = win.current_page()
    attached: list[tuple[str, str]] = []
    page.watcher.stop()
    qtbot.waitUntil(lambda: page.watcher._thread is None or not page.watcher._thread.is_alive(), timeout=5000)
    page.watcher.lister = lambda: list(attached)
    page.watcher.interval_s = 0.02
    page.watcher.ports = None
    page.watcher.start()
    qtbot.waitUntil(lambda: "No serial port found" in page.ports_note.text(), timeout=5000)
    attached.append(("/dev/ttyUSB7", "FT232R USB UART (FTDI)"))
    qtbot.waitUntil(lambda: page.port_combo.count() == 1, timeout=5000)
    assert page.port_combo.itemText(0) == "/dev/ttyUSB7  —  FT232R USB UART (FTDI)"
    assert page.port_url() == "/dev/ttyUSB7"
    attached.clear()
    qtbot.waitUntil(lambda: page.port_combo.count() == 0, timeout=5000)
    page.watcher.stop()


def test_connect_to_a_real_pty_leaves_the_simulation_and_is_remembered(make_window, qtbot, tmp_path):
    from drivers.simulator import build_server

    from app.ui.demo import connect_demo_bus
    from app.ui.settings import Settings

    server = build_server(pty=str(tmp_path / "mbus"), fast=True).start()
    try:
        win = make_window(page="connect", demo=True)
        connect_demo_bus(win.ctx)
        bus = win.ctx.bus
        bus.add_meter(_fake_sim_meter())                         # a meter found on the simulated bus
        assert bus.meters()
        page = win.current_page()
        page.kind_buttons["serial"].setChecked(True)
        page.port_combo.setEditText(server.pty_path)
        qtbot.mouseClick(page.connect_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: bus.last_test is not None and win.ctx.tasks.is_idle(), timeout=20000)
        assert bus.connected and not bus.simulated
        assert bus.meters() == []                              # the simulated meters are gone
        assert not win.connection_indicator.badge.isVisible() and not page.sim_frame.isVisible()
        assert win.connection_indicator.label.text().startswith(f"Connected · {server.pty_path} · 2400 Bd")
        assert "Several meters answer at 2400 Bd" in page.result_label.text()
        assert Settings().port == server.pty_path
        bus.disconnect()
        qtbot.waitUntil(lambda: win.ctx.tasks.is_idle(), timeout=10000)
    finally:
        server.stop()


def _fake_sim_meter():
    from app.ui.bus import KnownMeter

    return KnownMeter("11111111", "KAM", 1, 4, "heat_outlet", primary_address=3, simulated=True)


def test_bad_port_and_bad_gateway_are_one_line(make_window, qtbot):
    win = make_window(page="connect")
    page = win.current_page()
    page.kind_buttons["gateway"].setChecked(True)
    page.gateway_edit.setText("10.0.0.5:10001")
    page.connect_now()
    assert page.banner.level == "warning" and "socket://" in page.banner.text
    page.kind_buttons["serial"].setChecked(True)
    page.port_combo.setEditText("/dev/heatmeter-not-here")
    page.connect_now()
    qtbot.waitUntil(lambda: win.ctx.tasks.is_idle() and page.banner.level == "error", timeout=10000)
    assert "is not there" in page.banner.text and "\n" not in page.banner.text
    assert win.ctx.bus.state == "disconnected"


@pytest.mark.parametrize("ports", [[], [("/dev/ttyUSB0", "USB head")]])
def test_first_run_without_any_port_starts_the_simulation(make_window, qtbot, monkeypatch, ports):
    import drivers.ports
    from app.ui.demo import start_first_run_check

    monkeypatch.setattr(drivers.ports, "list_ports", lambda: list(ports))
    win = make_window(page="scan")
    start_first_run_check(win.ctx)
    qtbot.waitUntil(lambda: win.ctx.tasks.is_idle(), timeout=10000)
    qtbot.wait(0)
    if ports:
        assert win.ctx.bus.state == "disconnected"          # a port is there: the user picks it
    else:
        assert win.ctx.bus.simulated and win.ctx.bus.connected
        assert win.connection_indicator.badge.isVisible()
        assert "SIMULATED bus" in win.current_page().banner.text


def test_the_profile_list_is_the_wake_up_table_of_the_make_registry(make_window):
    from drivers.makes import Make, register, unregister
    from drivers.wakeup import WakeupProfile

    register(Make("acme", "Acme Heat", ("QQA",), wakeup=WakeupProfile(
        "acme-ir", 0x00, 400, "E", 50, True, 20.0, note="Acme IR port", label="Optical head, Acme")))
    try:
        page = make_window(page="connect").current_page()
        combo = page.profile_combo
        items = {combo.itemData(i): combo.itemText(i) for i in range(combo.count())}
        assert items["acme-ir"] == "Optical head, Acme"           # a make module's profile, without touching the page
        assert items["none"] == "None (wired M-Bus)" and items["engelmann"] == "Optical head, Engelmann"
        combo.setCurrentIndex(combo.findData("acme-ir"))
        assert page.profile_note.text().startswith("Wake-up: 0x00 for 0.4 s (8E1), 50 ms pause")
    finally:
        unregister("acme")
