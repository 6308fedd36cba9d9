"""The bus service: the desktop app's face of the bus session, shared by every plant-room page.

``ctx.bus`` (a :class:`BusService`, owned by the :class:`~app.ui.context.AppContext`)
wraps one :class:`drivers.session.BusSession` - the connection (a serial port, an
optical head, a TCP/RFC 2217 gateway, or the built-in simulated bus), its FIFO
lock, the known meters, read plans, wake-up profiles and the identity check -
and adds what a Qt app needs:

* every operation runs as a worker task of ``ctx.tasks`` (progress, items,
  cancel; the status bar shows them, Esc cancels): :meth:`BusService.connect`,
  :meth:`test_line`, :meth:`scan_primary`, :meth:`scan_secondary`,
  :meth:`read_meter` (M-Bus, or an optical protocol: EN 62056-21, KMP),
  :meth:`read_address`, :meth:`read_history`, :meth:`set_address`,
  :meth:`set_baud`, :meth:`set_clock`, :meth:`run` (any custom bus work), and
  :meth:`live_poller` for periodic reads. Opening and closing ports happen in
  workers too. :meth:`set_protocol` chooses what reads speak on the connection.
* one operation on the wire at a time, in the order started (a read waits for
  the live poll in progress). A scan refuses to start while another scan runs
  or while live polling is on, and nothing else may start during a scan:
  :class:`BusBusy` is raised at once, on the GUI thread, with a one-line message.
* signals for the pages (below); the known meters and the selected meter are
  shared by Scan, Readout, Live and Commission. Meters found before an error
  stay in the list.
* driver errors arrive as one-line messages (:mod:`drivers.session.messages`).
  A port that vanishes during an operation turns the connection to ``lost``;
  the app keeps running and a new Connect (or Test line) opens it again.
"""
from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal

from drivers.session import (BAUD_RATES, KIND_CONNECT, KIND_CUSTOM, KIND_POLL, KIND_READ, KIND_SCAN, KIND_TEST,
                             KIND_WRITE, STATE_CONNECTED, STATE_CONNECTING, STATE_DISCONNECTED, STATE_LOST, BusBusy,
                             BusOperationError, BusSession, BusUnavailable, ConnectionSpec, KnownMeter,
                             LineTestResult, NotConnected, Report, ScanSummary, describe_error)
from drivers.session import Readout as _SessionReadout
from drivers.session import messages

if TYPE_CHECKING:  # pragma: no cover
    from app.ui.context import AppContext
    from app.ui.workers import Poller, Task

log = logging.getLogger("heatmeter.ui.bus")

# banner messages about the connection's state (lost, back): each replaces the one before, and connecting
# again takes them away
CONNECTION_GROUP = "connection"


class Readout(_SessionReadout):
    """A session :class:`drivers.session.Readout` that also gives the current values for the pages."""

    def readings(self):
        """Current values (:class:`app.core.readings.Readings`) from the first telegram's records and the rest."""
        from app.core.readings import current_readings

        return current_readings(self.records)


def _close_quietly(tr) -> None:
    with contextlib.suppress(Exception):
        tr.close()


class BusService(QObject):
    """The shared bus connection, its operations and the list of known meters. See the module docstring.

    Signals (all on the GUI thread):
    ``stateChanged(str)`` disconnected / connecting / connected / lost;
    ``metersChanged()`` the list of known meters changed (added, removed, cleared);
    ``meterChanged(KnownMeter)`` one meter's fields changed (address, last read …);
    ``selectedChanged(object)`` the selected :class:`KnownMeter` (or None);
    ``readoutReady(Readout)`` a complete readout arrived (read or live poll);
    ``busyChanged(bool)`` a bus operation started / the bus became idle.
    """

    stateChanged = Signal(str)
    metersChanged = Signal()
    meterChanged = Signal(object)
    selectedChanged = Signal(object)
    readoutReady = Signal(object)
    busyChanged = Signal(bool)
    _lost = Signal(str)            # from a worker: the port went away (queued to the GUI thread)

    def __init__(self, ctx: AppContext, parent: QObject | None = None) -> None:
        super().__init__(parent if parent is not None else ctx)
        self.ctx = ctx
        # encrypted telegrams are decrypted with the key store's keys (a locked store: "no key")
        self.session = BusSession(readout_type=Readout, describe_errors=True, on_lost=self._lost.emit,
                                  keys=ctx.keys.lookup)
        self._selected: str | None = None
        self._pollers: list[Poller] = []
        self._lost.connect(self._on_lost)
        self.last_error: str = ""
        self.last_test: LineTestResult | None = None
        from PySide6.QtCore import QCoreApplication

        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)

    # -- state -----------------------------------------------------------------------
    @property
    def state(self) -> str:
        return self.session.state

    @property
    def connected(self) -> bool:
        return self.session.state == STATE_CONNECTED and self.session.connected

    @property
    def spec(self) -> ConnectionSpec | None:
        """The connection asked for last (also while lost, to reconnect)."""
        return self.session.spec

    @property
    def simulated(self) -> bool:
        return self.session.simulated

    @property
    def sim(self):
        """The :class:`drivers.simulator.SimBus` of the simulated connection (None otherwise)."""
        return self.session.sim

    @property
    def transport(self):
        """The open transport (None when not connected). Use it only inside :meth:`run` work."""
        return self.session.transport

    @property
    def _lock(self):
        return self.session.lock

    @property
    def busy(self) -> bool:
        return bool(self.session.operations())

    def running(self) -> list[tuple[str, str]]:
        """(name, kind) of the bus operations running or queued."""
        return [(op.name, op.kind) for op in self.session.operations()]

    def polling(self) -> bool:
        """True while a live poller of this service is running."""
        return any(p.running for p in self._pollers)

    def _set_state(self, state: str, **conn: Any) -> None:
        self.session.state = state
        self.ctx.connection.update(state=state, **conn)
        if state == STATE_CONNECTED:
            self.ctx.clear_messages(CONNECTION_GROUP)     # "connection lost" no longer holds
        self.stateChanged.emit(state)

    # -- the meter list ----------------------------------------------------------------
    def meters(self) -> list[KnownMeter]:
        """Known meters, by primary address (meters reachable only by secondary address last), then id."""
        return self.session.meters.sorted()

    def meter(self, key: str) -> KnownMeter | None:
        return self.session.meters.get(key)

    def here(self) -> str:
        """The current connection's name as meters record where they answered (:attr:`KnownMeter.port`)."""
        return self.session.port_label()

    def absence(self, m: KnownMeter) -> str:
        """Why ``m`` is not known to be on this bus now ("" when it is): found on another port, or not
        found by the last scan that looked for it. The lists mark such meters."""
        if m.port is not None and m.port != self.here():
            return f"found on {m.port}, not seen on {self.here()}"
        return f"not found by the {m.missed_by}" if m.missed_by else ""

    def _answered(self, m: KnownMeter) -> KnownMeter:
        """``m`` answered here now (scan, line test, read): into the list, marked as on this bus."""
        m.port = self.here()
        prof = self.session.connection_profile()
        m.woken = bool(prof is not None and prof.has_preamble)
        return self.add_meter(m)

    def add_meter(self, m: KnownMeter) -> KnownMeter:
        """Add ``m`` or merge it into the known meter with the same key; returns the one in the list."""
        kept, what = self.session.meters.add(m)
        if what == "added":
            self.metersChanged.emit()
        elif what == "changed":
            self.meterChanged.emit(kept)
        return kept

    def remove_meter(self, key: str) -> None:
        if self.session.meters.remove(key):
            if self._selected == key:
                self.select(None)
            self.metersChanged.emit()

    def clear_meters(self, *, simulated_only: bool = False, real_only: bool = False) -> None:
        """Drop the known meters (only the simulated ones, or only the real ones)."""
        keys = self.session.meters.clear(simulated_only=simulated_only, real_only=real_only)
        if not keys:
            return
        if self._selected in keys:
            self.select(None)
        self.metersChanged.emit()

    @property
    def selected(self) -> KnownMeter | None:
        return self.session.meters.get(self._selected)

    def select(self, meter: KnownMeter | str | None) -> None:
        """Make ``meter`` (or its key) the selected meter (Readout, Live and Commission use it)."""
        key = meter.key if isinstance(meter, KnownMeter) else meter
        if key is not None and key not in self.session.meters:
            raise KeyError(f"no known meter {key}")
        if key != self._selected:
            self._selected = key
            self.selectedChanged.emit(self.selected)

    def _resolve(self, meter: KnownMeter | str | None) -> KnownMeter:
        if meter is None:
            m = self.selected
            if m is None:
                raise BusUnavailable(messages.SELECT_FIRST)
            return m
        if isinstance(meter, str):
            m = self.meter(meter)
            if m is None:
                raise BusUnavailable(messages.not_in_list(meter))
            return m
        return self.meter(meter.key) or meter

    # -- connecting ------------------------------------------------------------------------
    def set_profile(self, profile: str) -> None:
        """Change the wake-up profile of the current connection (takes effect with the next operation)."""
        self.session.set_profile(profile)          # ValueError for an unknown name
        if self.session.spec is not None:
            self.ctx.connection.update(profile=None if profile == "none" else profile)
            self._remember(self.session.spec)

    def set_protocol(self, protocol: str) -> None:
        """What reads speak on this connection from the next operation: ``mbus``, ``iec62056-21`` or
        ``kmp`` (an optical head on the meter's eye). ValueError for an unknown name."""
        from dataclasses import replace

        from drivers.protocols import check_protocol

        check_protocol(protocol)
        spec = self.session.spec
        if spec is not None:
            self.session.spec = replace(spec, protocol=protocol)
            self.ctx.connection.update(protocol=None if protocol == "mbus" else protocol)
            self._remember(self.session.spec)

    @property
    def protocol(self) -> str:
        spec = self.session.spec
        return spec.protocol if spec is not None else "mbus"

    def connect_simulator(self, *, meters: int = 12, seed: int = 0, pace: float | None = None,
                          time_scale: float = 1.0, configs: list | None = None, profile: str = "none",
                          protocol: str = "mbus") -> None:
        """Connect to the built-in simulated bus, in this process (no OS port: nothing blocks).

        ``pace``: fraction of real line time the simulated line takes (default
        :data:`app.ui.demo.DEMO_PACE`; 0 answers at once). The connection is
        marked simulated (SIMULATION badge); meters of a real bus are kept apart.
        """
        from app.ui import demo

        self.session.refuse_if_scanning()
        if not self.simulated:
            self._stop_pollers()       # they polled meters of a real bus; back on the simulated one they go on
        bus, line = demo.simulated_line(meters=meters, seed=seed, pace=demo.DEMO_PACE if pace is None else pace,
                                        time_scale=time_scale, configs=configs)
        old = self.session.detach()
        self.session.attach(line, ConnectionSpec(url=None, baud=line.baud, profile=profile, simulated=True,
                                                 protocol=protocol), sim=bus)
        if old is not None:
            self.ctx.tasks.start("Close port", _close_quietly, old, report_errors=False)
        self.clear_meters(real_only=True)      # meters of a real bus are not on the simulated one
        self._set_state(STATE_CONNECTED, port=None, gateway=None, baud=line.baud,
                        profile=None if profile == "none" else profile, simulated=True, detail="",
                        protocol=None if protocol == "mbus" else protocol)

    def connect(self, spec: ConnectionSpec, *, test: bool = True, origin: Any = None,
                on_finished: Callable[[Any], None] | None = None,
                on_failed: Callable[[str], None] | None = None) -> Task:
        """Open ``spec`` in a worker (closing the current connection first), then test the line.

        The task's result is a :class:`LineTestResult` (``test=True``) or None.
        On failure the state goes back to ``disconnected`` and the message says why.
        Leaving the simulated bus for a real port drops the simulated meters.
        """
        if spec.simulated:
            raise ValueError("use connect_simulator() for the simulated bus")
        if spec.baud not in BAUD_RATES:
            raise ValueError(f"baud must be one of {', '.join(map(str, BAUD_RATES))}")
        op = self.session.begin(f"Connect to {spec.url}", KIND_CONNECT, on_wire=False)
        was_simulated = self.simulated
        if was_simulated:
            self._stop_pollers()       # their meters leave with the simulated bus
        # else live pollers go on: their polls miss while the port opens and answer again once it is
        # open (a reconnect after an unplugged head must not end live polling or an observation window)
        old = self.session.detach()
        self.session.spec = spec
        if was_simulated:
            self.clear_meters(simulated_only=True)
        where = {"gateway": spec.url, "port": None} if spec.is_gateway else {"port": spec.url, "gateway": None}
        self._set_state(STATE_CONNECTING, baud=spec.baud, profile=None if spec.profile == "none" else spec.profile,
                        simulated=False, detail="", protocol=None if spec.protocol == "mbus" else spec.protocol,
                        **where)

        def work(progress, cancel):
            from drivers import errors as e

            if old is not None:
                _close_quietly(old)
            progress(0, None, f"opening {spec.url}")
            try:
                tr = BusSession.open_transport(spec)
            except e.BusError as exc:
                raise BusOperationError(describe_error(exc, port=spec.url), exc) from None
            if cancel.is_set():
                tr.close()
                return None
            return tr

        def opened(tr) -> None:
            if tr is None:
                return
            if self.session.spec is not spec:          # another connect came first: drop this one
                self.ctx.tasks.start("Close port", _close_quietly, tr, report_errors=False)
                return
            self.session.attach(tr, spec)
            self._set_state(STATE_CONNECTED, detail="")
            self._remember(spec)

        def failed(message: str) -> None:
            if self.session.spec is spec:
                self.last_error = message
                self._set_state(STATE_DISCONNECTED, detail="")

        task = self._start(op, work, origin=origin, report_errors=on_failed is None)
        task.finished.connect(opened)
        task.failed.connect(failed)
        task.cancelled.connect(lambda: failed("cancelled"))
        if test:
            # the line test runs after the port is open (it queues on the bus lock)
            def then_test(result) -> None:
                if result is None or not self.connected:
                    if on_finished:
                        on_finished(None)
                    return
                self.test_line(origin=origin, on_finished=on_finished, on_failed=on_failed)
            task.finished.connect(then_test)
        elif on_finished is not None:
            task.finished.connect(lambda r: on_finished(None if r is None else True))
        if on_failed is not None:
            task.failed.connect(on_failed)
        return task

    def disconnect(self) -> None:
        """Close the connection (in a worker, once the bus is free). Known meters stay listed."""
        self._stop_pollers()
        self.session.cancel_all()
        tr = self.session.detach()
        if tr is not None:
            lock = self.session.lock

            def close(cancel):
                if lock.acquire("close", KIND_CONNECT, None, 10.0):
                    try:
                        _close_quietly(tr)
                    finally:
                        lock.release()
                else:
                    _close_quietly(tr)
            self.ctx.tasks.start("Close port", close, report_errors=False)
        self._set_state(STATE_DISCONNECTED, detail="", simulated=False)

    def shutdown(self) -> None:
        """Close the port at the end of the program (after the task runner stopped)."""
        self._stop_pollers()
        tr = self.session.detach(keep_sim=True)
        if tr is not None:
            _close_quietly(tr)

    def _remember(self, spec: ConnectionSpec) -> None:
        if not self.ctx.mode.persistent or spec.simulated or not spec.url:
            return
        s = self.ctx.settings
        s.port = spec.url
        s.baud = spec.baud
        s.profile = spec.profile
        s.protocol = spec.protocol

    def _follow_baud(self, baud: int) -> None:
        """The line runs at ``baud`` now (line test, set baud): spec, status bar and settings follow."""
        if self.session.set_baud_of_spec(baud):
            self.ctx.connection.update(baud=baud)
            self._remember(self.session.spec)

    def _on_lost(self, message: str) -> None:
        tr = self.session.detach(keep_sim=True)
        if tr is not None:
            self.ctx.tasks.start("Close port", _close_quietly, tr, report_errors=False)
        self.last_error = message
        if self.state != STATE_LOST:
            if not self.busy:
                # found by a live poll (no task of ours will report it): say it where the user is looking
                # (first: a page that follows the state may say it more precisely, in the same group)
                self.ctx.show_message(messages.port_lost(message, port=self.session.port_label()), "error",
                                      CONNECTION_GROUP)
            self._set_state(STATE_LOST, detail="port lost")

    # -- starting operations -------------------------------------------------------------------
    def _start(self, op, fn: Callable, *, origin: Any = None, on_item: Callable | None = None,
               on_progress: Callable | None = None, on_finished: Callable | None = None,
               on_failed: Callable | None = None, on_cancelled: Callable | None = None,
               report_errors: bool = True) -> Task:
        """Run ``fn(progress, cancel)`` as a task for the operation ``op`` (taken with ``session.begin``)."""
        try:
            task = self.ctx.tasks.start(op.name, fn, origin=origin, report_errors=report_errors)
        except BaseException:
            self.session.end(op)
            raise
        op.cancel = task.cancel
        if len(self.session.operations()) == 1:
            self.busyChanged.emit(True)

        def ended(_t) -> None:
            was_running = op in self.session.operations()
            self.session.end(op)
            if was_running and not self.session.operations():
                self.busyChanged.emit(False)
        task.ended.connect(ended)
        for sig, cb in ((task.item, on_item), (task.progress, on_progress), (task.finished, on_finished),
                        (task.failed, on_failed), (task.cancelled, on_cancelled)):
            if cb is not None:
                sig.connect(cb)
        return task

    def _launch(self, job, *, origin: Any = None, first: dict | None = None, then: dict | None = None,
                **callbacks: Any) -> Task:
        """Start ``job`` (a :class:`drivers.session.Job`) as a task. ``first``: the service's own
        callbacks; the caller's (``callbacks``, ``then``: signal name -> slot) are connected after them."""
        op = self.session.begin(job.name, job.kind, polling=self.polling())
        later = dict(then or {})
        for key in [k for k in callbacks if k in (first or {})]:
            later[key.removeprefix("on_")] = callbacks.pop(key)

        def fn(progress, cancel):
            return self.session.execute(job, report=progress, cancel=cancel, op=op)
        task = self._start(op, fn, origin=origin, **(first or {}), **callbacks)
        for name, cb in later.items():
            if cb is not None:
                getattr(task, name).connect(cb)
        return task

    def run(self, name: str, work: Callable, *args: Any, kind: str = KIND_CUSTOM, origin: Any = None,
            **callbacks: Any) -> Task:
        """Run any bus work in a worker, alone on the wire.

        ``work(link, *args, progress=, cancel=)`` gets the open
        :class:`drivers.link.Link` (``link.transport`` is the transport) and may take
        ``progress`` (``progress(done, total, text)``, ``progress.item(obj)``) and ``cancel``.
        Callbacks: ``on_item``, ``on_progress``, ``on_finished``, ``on_failed``,
        ``on_cancelled`` (GUI thread), ``report_errors``. A driver error becomes a one-line
        message; a lost port marks the connection lost. Raises :class:`BusUnavailable`
        (GUI thread) when it cannot start now.
        """
        from app.ui.workers import _accepted_kwargs

        accepted = _accepted_kwargs(work)

        def custom(link, report, cancel):
            kw = {}
            if accepted is None or "progress" in accepted:
                kw["progress"] = report
            if accepted is None or "cancel" in accepted:
                kw["cancel"] = cancel
            return work(link, *args, **kw)
        return self._launch(self.session.custom_job(name, custom, kind), origin=origin, **callbacks)

    # -- line test ---------------------------------------------------------------------------------
    def test_line(self, *, search_bauds: bool = True, origin: Any = None, **callbacks: Any) -> Task:
        """What answers on the line, and at which baud rate (result :class:`LineTestResult`).

        See :meth:`drivers.session.BusSession.test_line_job`: SND_NKE to the test
        address, a wildcard selection if silent, the other baud rates if still
        silent; the port is left at the first rate that answered.
        """
        def done(res) -> None:
            if isinstance(res, LineTestResult):
                self.last_test = res
                if res.ok:
                    self._follow_baud(res.baud)
                    for m in res.meters:
                        self._answered(m)

        return self._launch(self.session.test_line_job(search_bauds=search_bauds), origin=origin,
                            first={"on_finished": done}, **callbacks)

    # -- scans --------------------------------------------------------------------------------------
    def scan_primary(self, first: int = 1, last: int = 250, *, origin: Any = None, **callbacks: Any) -> Task:
        """Primary scan ``first..last``: items are the :class:`KnownMeter` found (added to the list as found);
        the result a :class:`ScanSummary`. Cancel stops within one response timeout."""
        return self._scan(self.session.scan_job("primary", first=first, last=last), origin, callbacks,
                          lambda m: m.primary_address is not None and first <= m.primary_address <= last,
                          f"primary scan {first}–{last}")

    def scan_secondary(self, mask: str | None = None, *, origin: Any = None, **callbacks: Any) -> Task:
        """Secondary (wildcard) search below ``mask`` (default: everything, ``FFFFFFFF``)."""
        from drivers.address import SecondaryAddress, SecondaryMask

        want = SecondaryMask.parse(mask) if mask else SecondaryMask()

        def in_scope(m: KnownMeter) -> bool:
            try:
                return want.matches(SecondaryAddress(m.identification, m.manufacturer, m.version, m.medium_code))
            except (ValueError, TypeError):
                return False
        return self._scan(self.session.scan_job("secondary", mask=mask), origin, callbacks, in_scope,
                          "secondary search")

    def _scan(self, job, origin: Any, callbacks: dict, in_scope: Callable[[KnownMeter], bool] | None = None,
              what: str = "scan") -> Task:
        before = set(self.session.meters.keys())
        found: set[str] = set()
        here = self.here()

        def item(m) -> None:
            found.add(m.key)
            self._answered(m)

        def merged(summary) -> None:
            if not isinstance(summary, ScanSummary):
                return
            summary.new = len(set(self.session.meters.keys()) - before)
            # meters of this bus the scan looked for and did not find: marked, never silently current
            import datetime as _dt

            label = f"{what} at {_dt.datetime.now().strftime('%H:%M')}"
            for m in self.meters():
                if m.key not in found and m.port in (None, here) and (in_scope is None or in_scope(m)):
                    m.missed_by = label
                    self.meterChanged.emit(m)

        on_item = callbacks.pop("on_item", None)
        return self._launch(job, origin=origin, first={"on_item": item, "on_finished": merged},
                            then={"item": on_item and (lambda m: on_item(self.meter(m.key) or m))}, **callbacks)

    # -- reading ------------------------------------------------------------------------------------
    def reader(self, meter: KnownMeter) -> Callable:
        """A worker-side ``read(link) -> Readout`` of ``meter`` (its read plan, profile and identity
        check decided now), for custom :meth:`run` work."""
        job = self.session.read_job(meter)
        return lambda link, progress=None: job.work(link, progress if progress is not None else Report(), None)

    def read_meter(self, meter: KnownMeter | str | None = None, *, protocol: str | None = None,
                   origin: Any = None, **callbacks: Any) -> Task:
        """Read every telegram of ``meter`` (default: the selected one). Result: :class:`Readout`,
        also stored as the meter's ``last_readout`` and announced by ``readoutReady``.

        ``protocol``: read it through the optical head in ``iec62056-21`` or ``kmp`` (the meter's
        identification and make are checked), or ``mbus``; default: the connection's protocol."""
        m = self._resolve(meter)
        if protocol is None or protocol == self.protocol:
            job = self.session.read_job(m)
        elif protocol == "mbus":
            from dataclasses import replace

            spec = self.session.spec
            self.session.spec = replace(spec, protocol="mbus")      # plan the job as M-Bus, keep the choice
            try:
                job = self.session.read_job(m)
            finally:
                self.session.spec = spec
        else:
            job = self.session.optical_read_job(protocol, meter=m)
        return self._launch(job, origin=origin, first={"on_finished": self.store_readout}, **callbacks)

    def read_optical(self, protocol: str | None = None, *, expect: str | None = None, origin: Any = None,
                     **callbacks: Any) -> Task:
        """Read the meter on the optical head in ``protocol`` (default: the connection's), whichever it
        is (``expect``: the meter it must be, ``ID.MAN``); it is added to the list. Result: :class:`Readout`."""
        job = self.session.optical_read_job(protocol, expect=expect)
        return self._launch(job, origin=origin, first={"on_item": self.add_meter, "on_finished": self.store_readout},
                            **callbacks)

    def read_history(self, meter: KnownMeter | str | None = None, *, types: tuple = ("enhanced_billing",),
                     origin: Any = None, **callbacks: Any) -> Task:
        """The meter's stored values: its standard telegrams and the telegram types ``types`` (M-Bus;
        an optical connection reads the protocol's readout). Result: :class:`Readout` with
        ``selections``; ``history()`` puts each value with its date. Announced like a read."""
        job = self.session.history_job(self._resolve(meter), types=types)
        return self._launch(job, origin=origin, first={"on_finished": self.store_readout}, **callbacks)

    def read_address(self, address: int | None = None, secondary: str | None = None, *, origin: Any = None,
                     **callbacks: Any) -> Task:
        """Read a meter not in the list yet, by primary address or secondary address (``ID`` or
        ``ID.MAN.VV.MM``); it is added to the list. Result: :class:`Readout`."""
        job = self.session.read_address_job(address, secondary)
        return self._launch(job, origin=origin, first={"on_item": self._answered, "on_finished": self.store_readout},
                            **callbacks)

    def store_readout(self, ro) -> None:
        """Keep ``ro`` as its meter's last readout and announce it (``readoutReady``)."""
        if not isinstance(ro, Readout):
            return
        m = self.session.meters.note_readout(ro)
        if m is not None:
            m.port, m.missed_by = self.here(), ""        # it answered here, now
            self.meterChanged.emit(m)
        self.readoutReady.emit(ro)

    # -- live polling ------------------------------------------------------------------------------
    def poll_once(self, meter: KnownMeter | str, cancel: threading.Event | None = None,
                  wait_s: float = 5.0) -> Readout:
        """Worker side: one complete read of ``meter`` for live polling (blocking).

        Waits up to ``wait_s`` for the bus (a read or test in progress); during a
        scan it gives up at once. Raises with a one-line message on a miss.
        """
        return self.session.poll(self._resolve(meter), cancel, wait_s)

    def live_poller(self, meter: KnownMeter | str | None = None, interval_s: float = 5.0,
                    parent: QObject | None = None, name: str | None = None) -> Poller:
        """A :class:`app.ui.workers.Poller` that reads ``meter`` every ``interval_s`` through this service.

        ``sample(t, Readout)`` per answer, ``missed(t, message)`` per miss (the
        meter's ``misses`` counts them in a row). Start/stop it like any Poller.
        """
        from app.ui.workers import Poller

        m = self._resolve(meter)
        key = m.key
        poller = Poller(self.ctx.tasks, name or f"Live polling {m.make or m.manufacturer} {m.identification}",
                        lambda cancel: self.poll_once(key, cancel, wait_s=max(0.5, min(10.0, poller.interval_s))),
                        interval_s, parent)
        poller.sample.connect(lambda _t, ro: self.store_readout(ro))
        poller.missed.connect(lambda _t, _msg: self._count_miss(key))
        self._pollers.append(poller)
        poller.destroyed.connect(lambda *_: self._forget_poller(poller))
        return poller

    def _forget_poller(self, poller) -> None:
        with contextlib.suppress(ValueError):
            self._pollers.remove(poller)

    def _count_miss(self, key: str) -> None:
        m = self.meter(key)
        if m is not None:
            m.misses += 1
            self.meterChanged.emit(m)

    def _stop_pollers(self) -> None:
        for p in list(self._pollers):
            with contextlib.suppress(RuntimeError):
                p.stop()

    # -- writes --------------------------------------------------------------------------------------
    def set_address(self, meter: KnownMeter | str | None, new_address: int, *, origin: Any = None,
                    **callbacks: Any) -> Task:
        """Give ``meter`` a new primary address (confirmed by a read there). Result: WriteResult."""
        if not 0 <= int(new_address) <= 250:
            raise ValueError("the new primary address must be 0..250")
        m = self._resolve(meter)
        key = m.key

        def done(w) -> None:
            km = self.meter(key)
            if km is not None and getattr(w, "ok", False):
                km.primary_address = int(new_address) or None
                self.meterChanged.emit(km)

        return self._launch(self.session.set_address_job(int(new_address), meter=m), origin=origin,
                            first={"on_finished": done}, **callbacks)

    def set_baud(self, meter: KnownMeter | str | None, new_baud: int, *, origin: Any = None,
                 **callbacks: Any) -> Task:
        """Switch ``meter`` to ``new_baud`` (the port follows; confirmed by a read). Result: WriteResult."""
        if new_baud not in BAUD_RATES:
            raise ValueError(f"baud must be one of {', '.join(map(str, BAUD_RATES))}")
        job = self.session.set_baud_job(int(new_baud), meter=self._resolve(meter))

        def done(w) -> None:
            tr = self.transport
            if tr is not None:
                self._follow_baud(tr.baud)

        return self._launch(job, origin=origin, first={"on_finished": done}, **callbacks)

    def reconfiguration_warning(self, meter: KnownMeter | str | None = None, *, model: str | None = None
                                ) -> dict | None:
        """GUI thread: the warning to confirm before a clock write when the meter's make counts its
        reconfigurations (``message``, ``limit``, ``sure``), else None."""
        return self.session.reconfiguration_warning(self._resolve(meter), model=model)

    def set_clock(self, meter: KnownMeter | str | None, *, to=None, agreed: bool = False, model: str | None = None,
                  tolerance_s: float = 90.0, origin: Any = None, **callbacks: Any) -> Task:
        """Set ``meter``'s clock (EN 13757-3; ``to`` None: the laptop's time), confirmed by a read-back.
        Ask first (:meth:`reconfiguration_warning`) and pass ``agreed`` for a make that counts
        reconfigurations. Result: :class:`drivers.clock.ClockWriteResult` (``evidence()`` for the register)."""
        job = self.session.set_clock_job(self._resolve(meter), to=to, agreed=agreed, model=model,
                                         tolerance_s=tolerance_s)
        return self._launch(job, origin=origin, **callbacks)


__all__ = ["BusService", "BusUnavailable", "BusBusy", "NotConnected", "BusOperationError", "ConnectionSpec",
           "LineTestResult", "Readout", "KnownMeter", "ScanSummary", "describe_error", "BAUD_RATES",
           "STATE_DISCONNECTED", "STATE_CONNECTING", "STATE_CONNECTED", "STATE_LOST", "KIND_CONNECT", "KIND_TEST",
           "KIND_SCAN", "KIND_READ", "KIND_POLL", "KIND_WRITE", "KIND_CUSTOM"]
