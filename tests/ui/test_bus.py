"""The bus service against the simulated bus: scans, reads, serialisation, a lost port."""
from __future__ import annotations

import threading

import pytest

from app.ui.bus import BusBusy, BusService, ConnectionSpec, KnownMeter, NotConnected, Readout

from tests.helpers.qt import configured_keys, task_ended


@pytest.fixture
def ctx(qapp):
    from app.ui.context import AppContext
    from app.ui.settings import Settings

    c = AppContext(Settings())
    yield c
    assert c.tasks.shutdown(5.0), f"tasks did not stop when cancelled: {[t.name for t in c.tasks.active()]}"


def test_ctx_bus_is_one_service(ctx):
    assert isinstance(ctx.bus, BusService) and ctx.bus is ctx.bus
    with pytest.raises(NotConnected):
        ctx.bus.scan_primary()


def test_secondary_search_with_wakeup_finds_every_simulated_meter(ctx, qtbot):
    bus = ctx.bus
    bus.connect_simulator(pace=0.0, profile="optical-55")
    assert ctx.connection.value.simulated and ctx.connection.value.connected
    items = []
    task = task_ended(qtbot, bus.scan_secondary(on_item=items.append))
    assert task.state == "finished", task.error
    assert {m.key for m in bus.meters()} == configured_keys(bus.sim)
    assert {m.key for m in items} == configured_keys(bus.sim)
    kam = bus.meter("71234567.KAM.08.04")
    assert kam.make == "Kamstrup" and kam.model == "MULTICAL 601" and kam.primary_address == 1
    assert bus.meter("12345678.GWF.35.07").primary_address is None      # only by secondary address


def test_read_keeps_frames_and_decodes_what_the_meter_sent(ctx, qtbot):
    bus = ctx.bus
    bus.connect_simulator(pace=0.0)
    task_ended(qtbot, bus.scan_primary(1, 5))
    sensus = next(m for m in bus.meters() if m.manufacturer == "SEN")
    got = []
    task = task_ended(qtbot, bus.read_meter(sensus, on_finished=got.append))
    ro = got[0]
    assert isinstance(ro, Readout) and task.state == "finished"
    sim = next(m for m in bus.sim.meters if m.cfg.manufacturer == "SEN")
    assert len(ro.frames) == len(ro.telegrams) == sim.cfg.telegrams == 3
    from drivers.mbus import decode

    assert [decode(f).to_json() for f in ro.frames] == ro.decoded()
    last = sim.sent[-1]["records"]                    # what the simulator encoded in its last telegram
    assert [(r["quantity"], r["value"]) for r in last] == [(r.quantity, r.value) for r in ro.telegrams[-1].records]
    assert bus.meter(sensus.key).last_readout is ro and bus.meter(sensus.key).last_read_at == ro.read_at


def test_a_scan_refuses_company_and_polls_miss_instead_of_interleaving(ctx, qtbot):
    bus = ctx.bus
    bus.connect_simulator(pace=0.05)
    scan = bus.scan_primary(1, 250)
    with pytest.raises(BusBusy, match="running on the bus"):
        bus.scan_secondary()
    with pytest.raises(BusBusy):
        bus.read_address(address=1)
    bus.add_meter(KnownMeter("71234567", "KAM", 8, 4, "heat_outlet", primary_address=1))
    qtbot.waitUntil(lambda: bus._lock.holder_kind == "scan", timeout=5000)
    from app.ui.bus import BusOperationError

    with pytest.raises(BusOperationError, match="bus busy"):
        bus.poll_once("71234567.KAM.08.04", threading.Event())
    scan.cancel()
    task_ended(qtbot, scan)
    assert scan.state == "cancelled"


def test_port_lost_mid_scan_keeps_found_meters_and_marks_lost(ctx, qtbot):
    bus = ctx.bus
    bus.connect_simulator(pace=0.02)
    line = bus.transport
    failures = []
    task = bus.scan_primary(1, 250, on_failed=failures.append)
    qtbot.waitUntil(lambda: len(bus.meters()) >= 3, timeout=10000)
    line.unplug()
    task_ended(qtbot, task)
    assert task.state == "failed"
    kept = len(bus.meters())
    assert kept >= 3 and f"the {kept} meters found so far are kept" in failures[0]
    assert "Lost the connection" in failures[0]
    assert bus.state == "lost" and ctx.connection.value.state == "lost"
    with pytest.raises(NotConnected, match="lost"):
        bus.scan_primary()
    bus.connect_simulator(pace=0.0)                  # reconnecting works and keeps the list
    assert bus.connected and len(bus.meters()) == kept


def test_connect_to_a_missing_port_says_so_in_one_line(ctx, qtbot):
    bus = ctx.bus
    msgs = []
    task = task_ended(qtbot, bus.connect(ConnectionSpec("/dev/heatmeter-no-such-port", 2400), on_failed=msgs.append))
    assert task.state == "failed" and bus.state == "disconnected"
    assert "not there" in msgs[0] and "\n" not in msgs[0]


def test_operations_queue_and_never_interleave_on_the_wire(ctx, qtbot):
    """Three reads and a line test started at once: each one's frames are one block on the wire."""
    bus = ctx.bus
    bus.connect_simulator(pace=0.002)
    line = bus.transport
    wire = []
    plain = line.transact

    def traced(frame, **kw):
        wire.append(bus._lock.holder)
        return plain(frame, **kw)
    line.transact = traced
    task_ended(qtbot, bus.scan_primary(1, 5))
    wire.clear()
    meters = [m for m in bus.meters() if m.primary_address in (1, 3, 4)]
    tasks = [bus.read_meter(m) for m in meters] + [bus.test_line(search_bauds=False)]
    ended = []
    for t in tasks:
        t.ended.connect(ended.append)
    qtbot.waitUntil(lambda: len(ended) == len(tasks), timeout=20000)
    assert all(t.state == "finished" for t in tasks), [t.error for t in tasks]
    blocks = [h for i, h in enumerate(wire) if i == 0 or wire[i - 1] != h]
    assert len(blocks) == len(set(blocks)) == len(tasks)     # no operation came back after another began
    assert blocks[:3] == [t.name for t in tasks[:3]]            # in the order they were started (FIFO)
