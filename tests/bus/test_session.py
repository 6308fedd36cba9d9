"""The Qt-free bus session on the in-process simulated bus: lock, plans, profiles, identity check, statuses.

The loopback runs the simulator on a virtual clock; expected identities, addresses
and profiles come from the bus configuration below and from the wake-up table
of docs/bus.md, not from the session's own output.
"""
from __future__ import annotations

import threading

import pytest

from drivers import errors
from drivers.session import (KIND_READ, KIND_SCAN, BusBusy, BusLock, BusOperationError, BusSession, ConnectionSpec,
                             KnownMeter, NotConnected, WrongMeter)
from drivers.simulator import LoopbackTransport, MeterConfig, SimBus

# An Engelmann optical port that sleeps until it sees 0x55 for 250 ms, two meters on address 1 ...
SLEEPY = MeterConfig("44556677", "EFE", 0x04, 0x04, primary_address=6, layout="engelmann",
                     wakeup={"byte": 0x55, "min_ms": 250, "awake_s": 30})
KAM = MeterConfig("71234567", "KAM", 0x08, 0x04, primary_address=1, layout="kamstrup")
LUG = MeterConfig("62100013", "LUG", 0x02, 0x04, primary_address=2, layout="landis")
# ... and a water meter whose firmware compares only the identification number of a selection
GWF = MeterConfig("12345678", "GWF", 0x35, 0x07, primary_address=0, layout="water",
                  faults={"select_id_only": True})


def session_on(cfgs, *, profile: str = "none", preamble_ms: int | None = None, describe: bool = False):
    bus = SimBus.from_configs(cfgs, seed=1)
    s = BusSession(describe_errors=describe)
    s.attach(LoopbackTransport(bus, 2400), ConnectionSpec(None, 2400, profile=profile, simulated=True,
                                                          preamble_ms=preamble_ms), sim=bus)
    return s


def test_the_lock_serves_places_in_the_order_they_were_taken():
    lock = BusLock()
    tickets = [lock.enqueue() for _ in range(3)]
    order = []

    def take(i):
        assert lock.acquire(f"op{i}", KIND_READ, None, 10.0, tickets[i])
        order.append(i)
        lock.release()

    threads = [threading.Thread(target=take, args=(i,)) for i in (2, 1, 0)]   # started in reverse
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert order == [0, 1, 2]


def test_waiting_for_the_bus_gives_up_on_cancel():
    lock = BusLock()
    assert lock.acquire("scan", KIND_SCAN, None, None)
    cancel = threading.Event()
    cancel.set()
    assert lock.acquire("read", KIND_READ, cancel, None) is False
    assert lock.holder == "scan"
    lock.release()


def test_no_operation_starts_without_a_connection_or_during_a_scan():
    s = BusSession()
    with pytest.raises(NotConnected, match="Not connected"):
        s.begin("Read", KIND_READ)
    s.state = "lost"
    with pytest.raises(NotConnected, match="lost"):
        s.begin("Read", KIND_READ)
    s = session_on([KAM])
    scan = s.begin("Primary scan 1–250", KIND_SCAN)
    with pytest.raises(BusBusy, match="Primary scan 1–250 is running"):
        s.begin("Read", KIND_READ)
    s.end(scan)
    with pytest.raises(BusBusy, match="Live polling"):
        s.begin("Secondary search", KIND_SCAN, polling=True)
    op = s.begin("Read", KIND_READ)
    assert [o.name for o in s.operations()] == ["Read"]
    s.end(op)
    assert s.operations() == []


def test_read_plan_uses_the_primary_address_only_when_no_other_known_meter_has_it():
    s = session_on([KAM])
    kam = KnownMeter("71234567", "KAM", 0x08, 0x04, "", primary_address=1)
    s.meters.add(kam)
    assert s.read_plan(kam) == (1, None)
    s.meters.add(KnownMeter("99999999", "LUG", 0x02, 0x04, "", primary_address=1))
    address, mask = s.read_plan(kam)
    assert address is None and str(mask) == "71234567.KAM.08.04"


def test_a_generic_head_reads_with_the_family_profile_and_skips_the_preamble_while_awake():
    s = session_on([SLEEPY, LUG], profile="optical-55", preamble_ms=300)
    efe = KnownMeter("44556677", "EFE", 0x04, 0x04, "", primary_address=6)
    lug = KnownMeter("62100013", "LUG", 0x02, 0x04, "", primary_address=2)
    prof = s.profile_for(efe)
    assert (prof.name, prof.preamble_byte, prof.preamble_ms) == ("engelmann", 0x55, 300)   # docs/bus.md table
    lug_prof = s.profile_for(lug)                          # Landis+Gyr: NUL characters at even parity
    assert (lug_prof.name, lug_prof.preamble_byte, lug_prof.preamble_parity) == ("nul", 0x00, "E")
    itron = KnownMeter("62100014", "ACW", 0x09, 0x04, "", primary_address=3)
    assert s.profile_for(itron).name == "optical-55"       # no family profile known for Itron
    ro = s.read_meter(efe)
    assert ro.meter_key == "44556677.EFE.04.04" and ro.profile == "engelmann"
    awake = s.profile_for(efe)
    assert awake.name == "engelmann" and not awake.has_preamble    # it answered just now: no wake-up
    s.set_profile("engelmann")                                     # a chosen family profile is kept as is
    assert s.profile_for(KnownMeter("71234567", "KAM", 8, 4, "")).name == "engelmann"


def test_without_a_wake_up_the_sleepy_meter_stays_silent():
    s = session_on([SLEEPY])
    with pytest.raises(errors.NoAnswer):
        s.read_address(6)


def test_a_meter_replaced_at_its_primary_address_is_not_taken_for_the_one_asked_for():
    s = session_on([KAM])
    gone = KnownMeter("99999999", "KAM", 0x08, 0x04, "", primary_address=1)
    s.meters.add(gone)
    with pytest.raises(WrongMeter) as exc:
        s.read_meter(gone)
    assert (exc.value.got, exc.value.expected) == ("71234567.KAM.08.04", "99999999.KAM.08.04")
    with pytest.raises(WrongMeter):
        s.read_address(1, expect="99999999")
    assert s.read_address(1, expect="71234567.KAM.08.04").meter_key == "71234567.KAM.08.04"


def test_a_selection_answered_by_another_make_is_refused_with_a_one_line_message():
    s = session_on([GWF], describe=True)
    with pytest.raises(BusOperationError) as exc:
        s.read_address(secondary="12345678.KAM.1B.04")
    assert str(exc.value) == "Another meter answered (12345678.GWF.35.07, not 12345678.KAM.1B.04)."
    assert isinstance(exc.value.cause, WrongMeter)
    assert s.read_address(secondary="12345678").meter_key == "12345678.GWF.35.07"   # the bare id: any make


def test_cli_exit_statuses_are_mapped_in_the_cli_not_on_driver_errors():
    from app.cli.errors import bus_status

    assert not hasattr(errors.BusError, "status")
    assert bus_status(errors.PortNotFound("x")) == bus_status(errors.PortLost("x")) == 2
    assert bus_status(errors.NoAnswer("x")) == bus_status(WrongMeter("x")) == bus_status(errors.Collision("x")) == 1
    assert bus_status(errors.Cancelled()) == 130


def test_one_cancel_exception_for_workers_and_the_bus():
    from app.ui.workers import Cancelled

    assert Cancelled is errors.Cancelled and not issubclass(Cancelled, errors.BusError)


def test_a_cancelled_read_raises_cancelled_and_frees_the_bus():
    s = session_on([KAM])
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(errors.Cancelled):
        s.read_address(1, cancel=cancel)
    assert s.lock.holder is None
