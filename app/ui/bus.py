"""The bus service: the one connection to the meter bus that every plant-room page shares.

``ctx.bus`` (a :class:`BusService`, made on first use) owns the transport and
the :class:`drivers.link.Link` of the current connection (a serial port, an
optical head, a TCP/RFC 2217 gateway, or the built-in simulated bus) and runs
every bus operation as a worker task of ``ctx.tasks``, one at a time:

* one bus, one operation on the wire at a time. Operations queue behind a
  short one in FIFO order (a read waits for the live poll in progress). A
  scan refuses to start while another scan runs or while live polling is on,
  and nothing else may start during a scan: :class:`BusBusy` is raised at
  once, on the GUI thread, with a one-line message to show.
* operations are tasks with progress, items and cancel (the status bar shows
  them; Esc cancels): :meth:`BusService.connect`, :meth:`test_line`,
  :meth:`scan_primary`, :meth:`scan_secondary`, :meth:`read_meter`,
  :meth:`set_address`, :meth:`set_baud`, :meth:`run` (any custom bus work),
  and :meth:`live_poller` for periodic reads.
* the list of known meters (:class:`KnownMeter`: make, model, id, address,
  medium, last read time, last readout) and the selected meter are kept here,
  shared by Scan, Readout, Live and Commission. Meters found before an error
  stay in the list.
* driver errors become one-line messages (what happened, what is kept, what to
  do). A port that vanishes during an operation (USB head unplugged, gateway
  closed) turns the connection to ``lost`` in the status bar; the app keeps
  running and a new Connect (or Test line) opens it again.

Nothing here blocks the GUI thread: opening ports, talking to meters and
closing ports all happen in workers.
"""
from __future__ import annotations

import collections
import contextlib
import datetime as _dt
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal

if TYPE_CHECKING:  # pragma: no cover
    from app.ui.context import AppContext
    from app.ui.workers import Poller, Task

log = logging.getLogger("heatmeter.ui.bus")

BAUD_RATES = (300, 600, 1200, 2400, 4800, 9600, 19200, 38400)
# the order a line test tries other rates in when nothing answers at the chosen one
BAUD_SEARCH_ORDER = (2400, 9600, 300, 19200, 38400, 1200, 4800, 600)

STATE_DISCONNECTED, STATE_CONNECTING, STATE_CONNECTED, STATE_LOST = "disconnected", "connecting", "connected", "lost"

# kinds of operation (for the serialisation rules)
KIND_CONNECT, KIND_TEST, KIND_SCAN, KIND_READ, KIND_POLL, KIND_WRITE, KIND_CUSTOM = (
    "connect", "test", "scan", "read", "poll", "write", "custom")


# --------------------------------------------------------------------------------------
# errors
# --------------------------------------------------------------------------------------

class BusUnavailable(Exception):
    """The operation cannot start now (raised on the GUI thread by the start methods)."""


class BusBusy(BusUnavailable):
    """Another operation holds the bus (a scan, or live polling when a scan is asked for)."""


class NotConnected(BusUnavailable):
    """There is no open connection (never connected, disconnected, or lost)."""


class BusOperationError(Exception):
    """A bus operation failed; the text is the one-line message for the banner."""

    def __init__(self, message: str, cause: BaseException | None = None) -> None:
        super().__init__(message)
        self.cause = cause


def describe_error(exc: BaseException, *, port: str | None = None, kept: int | None = None,
                   what: str = "") -> str:
    """One line of plain words for a driver error: what happened and what to do.

    ``kept``: how many meters found so far stay in the list (scans).
    """
    from drivers import errors as e

    where = port or "the port"
    text = " ".join(str(exc).split())
    if isinstance(exc, e.PortLost):
        msg = f"lost the connection to {where} (USB head unplugged or gateway closed)"
        tail = "plug it back in and connect again on the Connect page"
    elif isinstance(exc, e.PortBusy):
        msg, tail = f"{where} is busy: another program has it open", "close that program and try again"
    elif isinstance(exc, e.PortNotFound):
        msg, tail = f"{where} is not there", "check the cable or pick another port on the Connect page"
    elif isinstance(exc, e.PortPermission):
        msg, tail = f"no permission to open {where}", "ask for access to serial ports (dialout group)"
    elif isinstance(exc, (e.ConnectionRefused, e.GatewayUnreachable)):
        msg, tail = text, "check the gateway address and that it is switched on"
    elif isinstance(exc, e.BaudNotSupported):
        msg, tail = text, "pick another baud rate"
    elif isinstance(exc, e.NoAnswer):
        msg, tail = f"no answer{(' from ' + what) if what else ''} ({text})", \
            "check the wiring, the address and the baud rate; a battery meter may need its optical head profile"
    elif isinstance(exc, e.Collision):
        msg, tail = f"several meters answered at once{(' at ' + what) if what else ''}", \
            "read them one by one by secondary address (Scan > Secondary)"
    elif isinstance(exc, e.ChecksumError):
        msg, tail = f"damaged answers{(' from ' + what) if what else ''} ({text})", "check the line and try again"
    elif isinstance(exc, e.UnexpectedAnswer):
        msg, tail = text, ""
    elif isinstance(exc, e.BusError):
        msg, tail = text or type(exc).__name__, ""
    else:
        msg, tail = text or type(exc).__name__, ""
    parts = [msg[:1].upper() + msg[1:]]
    if kept is not None:
        parts.append(f"the {kept} meter{'s' if kept != 1 else ''} found so far {'are' if kept != 1 else 'is'} kept"
                     if kept else "nothing had been found yet")
    if tail:
        parts.append(tail)
    return "; ".join(parts) + "."


# --------------------------------------------------------------------------------------
# plain data
# --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ConnectionSpec:
    """How to reach the bus.

    ``url``: a device (``/dev/ttyUSB0``, ``COM3``), ``socket://HOST:PORT`` or
    ``rfc2217://HOST:PORT``; None for the simulated bus. ``profile``: a name of
    :data:`drivers.wakeup.PROFILES` (``none`` for wired M-Bus; an optical head
    profile sends its wake-up preamble before each read).
    """

    url: str | None = None
    baud: int = 2400
    profile: str = "none"
    simulated: bool = False
    timeout_ms: int | None = None
    retries: int = 2
    echo: str = "auto"

    @property
    def is_gateway(self) -> bool:
        return bool(self.url) and "://" in self.url

    def label(self) -> str:
        if self.simulated:
            return "the simulated bus"
        return self.url or "no port"


@dataclass
class LineTestResult:
    """What a line test found: who answered, at which baud rate."""

    ok: bool
    baud: int
    answered: list[str] = field(default_factory=list)   # one line per meter that identified itself
    several: bool = False                                # more than one meter answered at once
    detail: str = ""                                     # the one-line summary to show
    tried: list[int] = field(default_factory=list)       # baud rates tried
    requests: int = 0
    elapsed_s: float = 0.0


@dataclass
class Readout:
    """One complete readout of a meter: raw frames byte for byte and the decoded telegrams."""

    meter_key: str
    frames: list[bytes]
    telegrams: list                      # drivers.mbus Telegram objects, in order
    read_at: _dt.datetime                # UTC, aware
    address: int | None = None
    secondary_address: str | None = None
    port: str | None = None
    baud: int | None = None
    transport: str = "serial"            # "serial", "gateway" or "simulator"
    profile: str | None = None
    requests: int = 0
    elapsed_s: float = 0.0

    @property
    def records(self) -> list:
        return [r for t in self.telegrams for r in t.records]

    def decoded(self) -> list[dict]:
        """The telegrams as decode-json ``telegram`` objects."""
        return [t.to_json() for t in self.telegrams]

    def document(self) -> dict:
        """The ``heatmeter read --json`` document (cli-bus contract) plus when, where and the raw frames."""
        tel = self.decoded()
        return {"address": self.address, "secondary_address": self.secondary_address,
                "telegrams": tel, "records": [r for t in tel for r in t.get("records", [])],
                "read_at": self.read_at.isoformat(timespec="seconds"), "port": self.port, "baud": self.baud,
                "frames": [f.hex().upper() for f in self.frames]}

    def readings(self):
        """Current values (:class:`app.core.readings.Readings`) from the first telegram's records and the rest."""
        from app.core.readings import current_readings

        return current_readings(self.records)

    def volume_weighted(self) -> list:
        """Averages implied by volume-weighted temperature registers (:func:`drivers.makes.volume_weighted`)."""
        from drivers.makes import volume_weighted

        return volume_weighted(self.telegrams)


@dataclass
class KnownMeter:
    """A meter the app knows on the current bus (found by a scan or read directly)."""

    identification: str
    manufacturer: str                    # FLAG code, e.g. "KAM"
    version: int
    medium_code: int
    medium: str
    primary_address: int | None = None   # None: not known / only by secondary address
    make: str = ""                       # "Kamstrup" (from the FLAG code), or the code itself
    model: str | None = None             # where the version byte is known to belong to a model
    optical_profile: str | None = None   # the family's wake-up profile through an optical head
    found_by: str = ""                   # "primary", "secondary" or "read"
    simulated: bool = False
    last_read_at: _dt.datetime | None = None
    last_readout: Readout | None = None
    misses: int = 0                      # live polls in a row without an answer

    @property
    def key(self) -> str:
        """``ID.MAN.VV.MM``: the full secondary address (unique on a bus)."""
        return f"{self.identification}.{self.manufacturer}.{self.version:02X}.{self.medium_code:02X}"

    @property
    def label(self) -> str:
        """``Kamstrup 71234567 (address 1)`` for messages."""
        where = f"address {self.primary_address}" if self.primary_address else "secondary address only"
        return f"{self.make or self.manufacturer} {self.identification} ({where})"

    def secondary_mask(self):
        from drivers.address import SecondaryMask

        return SecondaryMask.parse(self.key)

    @classmethod
    def from_found(cls, found, *, found_by: str, simulated: bool = False) -> KnownMeter:
        """From a :class:`drivers.scan.FoundMeter`."""
        from drivers.makes import make_name, model_name

        addr = found.primary_address if found.primary_address and found.primary_address > 0 else None
        return cls(found.secondary_address, found.manufacturer, found.version, found.medium_code, found.medium,
                   primary_address=addr, make=make_name(found.manufacturer) or found.manufacturer,
                   model=model_name(found.manufacturer, found.version), optical_profile=found.optical_profile,
                   found_by=found_by, simulated=simulated)

    @classmethod
    def from_telegram(cls, tg, *, address: int | None, found_by: str = "read", simulated: bool = False) -> KnownMeter:
        from drivers.makes import make_name, model_name
        from drivers.wakeup import profile_for_manufacturer

        prof = profile_for_manufacturer(tg.manufacturer)
        return cls(tg.identification, tg.manufacturer, tg.version or 0, tg.medium_code or 0, tg.medium or "",
                   primary_address=address if address and 0 < address <= 250 else None,
                   make=make_name(tg.manufacturer) or tg.manufacturer or "",
                   model=model_name(tg.manufacturer, tg.version), optical_profile=prof.name if prof else None,
                   found_by=found_by, simulated=simulated)


@dataclass
class ScanSummary:
    """The end of a scan: counts and what could not be told apart."""

    mode: str
    found: int
    new: int
    requests: int
    elapsed_s: float
    baud: int
    garbled_addresses: list[int] = field(default_factory=list)
    unresolved: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------------------
# one operation on the wire at a time
# --------------------------------------------------------------------------------------

class _BusLock:
    """A FIFO lock with a name for its holder; waiting honours cancel and a timeout.

    A place in the queue (a ticket) is taken when an operation is started on the
    GUI thread, so operations get the bus in the order they were started, whatever
    order the worker threads happen to run in."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._queue: collections.deque[object] = collections.deque()
        self.holder: str | None = None
        self.holder_kind: str | None = None

    def enqueue(self) -> object:
        with self._cond:
            ticket = object()
            self._queue.append(ticket)
            return ticket

    def discard(self, ticket: object) -> None:
        with self._cond:
            if ticket in self._queue:
                self._queue.remove(ticket)
                self._cond.notify_all()

    def acquire(self, name: str, kind: str, cancel: threading.Event | None, timeout_s: float | None,
                ticket: object | None = None) -> bool:
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        with self._cond:
            if ticket is None or ticket not in self._queue:
                ticket = object()
                self._queue.append(ticket)
            try:
                while self.holder is not None or self._queue[0] is not ticket:
                    if cancel is not None and cancel.is_set():
                        return False
                    wait = 0.05
                    if deadline is not None:
                        left = deadline - time.monotonic()
                        if left <= 0:
                            return False
                        wait = min(wait, left)
                    self._cond.wait(wait)
                self.holder, self.holder_kind = name, kind
                return True
            finally:
                if ticket in self._queue:
                    self._queue.remove(ticket)
                self._cond.notify_all()

    def release(self) -> None:
        with self._cond:
            self.holder = self.holder_kind = None
            self._cond.notify_all()


# --------------------------------------------------------------------------------------
# the service
# --------------------------------------------------------------------------------------

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
        self._lock = _BusLock()
        self._spec: ConnectionSpec | None = None
        self._transport = None
        self._link = None
        self._sim = None                     # drivers.simulator.SimBus when simulated
        self._state = STATE_DISCONNECTED
        self._meters: dict[str, KnownMeter] = {}
        self._selected: str | None = None
        self._tasks: list[tuple[Task, str]] = []
        self._pollers: list[Poller] = []
        self._last_contact: dict[str, float] = {}   # meter key -> monotonic time of its last answer
        self._lost.connect(self._on_lost)
        self.last_error: str = ""
        self.last_test: LineTestResult | None = None
        app = _qapp()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)

    # -- state -----------------------------------------------------------------------
    @property
    def state(self) -> str:
        return self._state

    @property
    def connected(self) -> bool:
        return self._state == STATE_CONNECTED and self._link is not None

    @property
    def spec(self) -> ConnectionSpec | None:
        """The connection asked for last (also while lost, to reconnect)."""
        return self._spec

    @property
    def simulated(self) -> bool:
        return bool(self._spec and self._spec.simulated)

    @property
    def sim(self):
        """The :class:`drivers.simulator.SimBus` of the simulated connection (None otherwise)."""
        return self._sim

    @property
    def transport(self):
        """The open transport (None when not connected). Use it only inside :meth:`run` work."""
        return self._transport

    @property
    def busy(self) -> bool:
        return bool(self._tasks)

    def running(self) -> list[tuple[str, str]]:
        """(name, kind) of the bus operations running or queued."""
        return [(t.name, k) for t, k in self._tasks]

    def polling(self) -> bool:
        """True while a live poller of this service is running."""
        return any(p.running for p in self._pollers)

    def _set_state(self, state: str, **conn: Any) -> None:
        self._state = state
        self.ctx.connection.update(state=state, **conn)
        self.stateChanged.emit(state)

    # -- the meter list ----------------------------------------------------------------
    def meters(self) -> list[KnownMeter]:
        """Known meters, by primary address (meters reachable only by secondary address last), then id."""
        return sorted(self._meters.values(),
                      key=lambda m: (m.primary_address is None, m.primary_address or 0, m.identification, m.key))

    def meter(self, key: str) -> KnownMeter | None:
        return self._meters.get(key)

    def add_meter(self, m: KnownMeter) -> KnownMeter:
        """Add ``m`` or merge it into the known meter with the same key; returns the one in the list."""
        old = self._meters.get(m.key)
        if old is None:
            self._meters[m.key] = m
            self.metersChanged.emit()
            return m
        changed = False
        for name in ("primary_address", "model", "optical_profile"):
            new = getattr(m, name)
            if new is not None and new != getattr(old, name):
                setattr(old, name, new)
                changed = True
        if m.found_by and m.found_by != "read" and old.found_by != m.found_by:
            old.found_by = m.found_by
        if m.last_readout is not None:
            old.last_readout, old.last_read_at = m.last_readout, m.last_read_at
            changed = True
        if changed:
            self.meterChanged.emit(old)
        return old

    def remove_meter(self, key: str) -> None:
        if self._meters.pop(key, None) is not None:
            if self._selected == key:
                self.select(None)
            self.metersChanged.emit()

    def clear_meters(self, *, simulated_only: bool = False, real_only: bool = False) -> None:
        """Drop the known meters (only the simulated ones, or only the real ones)."""
        keys = [k for k, m in self._meters.items()
                if not (simulated_only and not m.simulated) and not (real_only and m.simulated)]
        if not keys:
            return
        for k in keys:
            del self._meters[k]
        if self._selected in keys:
            self.select(None)
        self.metersChanged.emit()

    @property
    def selected(self) -> KnownMeter | None:
        return self._meters.get(self._selected) if self._selected else None

    def select(self, meter: KnownMeter | str | None) -> None:
        """Make ``meter`` (or its key) the selected meter (Readout, Live and Commission use it)."""
        key = meter.key if isinstance(meter, KnownMeter) else meter
        if key is not None and key not in self._meters:
            raise KeyError(f"no known meter {key}")
        if key != self._selected:
            self._selected = key
            self.selectedChanged.emit(self.selected)

    # -- connecting ------------------------------------------------------------------------
    def set_profile(self, profile: str) -> None:
        """Change the wake-up profile of the current connection (takes effect with the next operation)."""
        from drivers.wakeup import get_profile

        get_profile(profile)          # ValueError for an unknown name
        if self._spec is not None:
            self._spec = replace(self._spec, profile=profile)
            self._last_contact.clear()
            self.ctx.connection.update(profile=None if profile == "none" else profile)
            self._remember(self._spec)

    def connect_simulator(self, *, meters: int = 12, seed: int = 0, pace: float | None = None,
                          time_scale: float = 1.0, configs: list | None = None, profile: str = "none") -> None:
        """Connect to the built-in simulated bus, in this process (no OS port: nothing blocks).

        ``pace``: fraction of real line time the simulated line takes (default
        :data:`app.ui.demo.DEMO_PACE`; 0 answers at once). The connection is
        marked simulated (SIMULATION badge); meters of a real bus are kept apart.
        """
        from app.ui import demo

        self._refuse_if_scanning()
        self._stop_pollers()
        bus, line = demo.simulated_line(meters=meters, seed=seed, pace=demo.DEMO_PACE if pace is None else pace,
                                        time_scale=time_scale, configs=configs)
        old = self._transport
        self._swap(line, ConnectionSpec(url=None, baud=line.baud, profile=profile, simulated=True), sim=bus)
        if old is not None:
            self.ctx.tasks.start("Close port", _close_quietly, old, report_errors=False)
        self.clear_meters(real_only=True)      # meters of a real bus are not on the simulated one
        self._set_state(STATE_CONNECTED, port=None, gateway=None, baud=line.baud,
                        profile=None if profile == "none" else profile, simulated=True, detail="")

    def _swap(self, transport, spec: ConnectionSpec, sim=None) -> None:
        from drivers.link import Link

        self._transport = transport
        self._link = Link(transport, retries=spec.retries) if transport is not None else None
        self._spec = spec
        self._sim = sim
        self._last_contact.clear()

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
        self._refuse_if_scanning()
        self._stop_pollers()
        old = self._transport
        was_simulated = self.simulated
        self._transport = self._link = None
        self._spec = spec
        self._sim = None
        if was_simulated:
            self.clear_meters(simulated_only=True)
        where = {"gateway": spec.url, "port": None} if spec.is_gateway else {"port": spec.url, "gateway": None}
        self._set_state(STATE_CONNECTING, baud=spec.baud, profile=None if spec.profile == "none" else spec.profile,
                        simulated=False, detail="", **where)

        def work(progress, cancel):
            from drivers import errors as e
            from drivers.link import Link
            from drivers.transport import SerialTransport

            if old is not None:
                _close_quietly(old)
            progress(0, None, f"opening {spec.url}")
            tr = SerialTransport(spec.url, spec.baud, echo=spec.echo,
                                 timeout_s=None if spec.timeout_ms is None else spec.timeout_ms / 1000.0)
            try:
                tr.open()
            except e.BusError as exc:
                raise BusOperationError(describe_error(exc, port=spec.url), exc) from None
            if cancel.is_set():
                tr.close()
                return None
            return tr, Link(tr, retries=spec.retries)

        def opened(result) -> None:
            if result is None:
                return
            tr, link = result
            if self._spec is not spec:          # another connect came first: drop this one
                self.ctx.tasks.start("Close port", _close_quietly, tr, report_errors=False)
                return
            self._transport, self._link = tr, link
            self._set_state(STATE_CONNECTED, detail="")
            self._remember(spec)

        def failed(message: str) -> None:
            if self._spec is spec:
                self.last_error = message
                self._set_state(STATE_DISCONNECTED, detail="")

        task = self._start_raw(f"Connect to {spec.url}", KIND_CONNECT, work, origin=origin,
                               on_finished=None, on_failed=None, report_errors=on_failed is None)
        task.finished.connect(opened)
        task.failed.connect(failed)
        task.cancelled.connect(lambda: failed("cancelled"))
        if test:
            # the line test runs after the port is open (it queues on the bus lock)
            outer_finished = on_finished

            def then_test(result) -> None:
                if result is None or not self.connected:
                    if outer_finished:
                        outer_finished(None)
                    return
                self.test_line(origin=origin, on_finished=outer_finished, on_failed=on_failed)
            task.finished.connect(then_test)
        elif on_finished is not None:
            task.finished.connect(lambda r: on_finished(None if r is None else True))
        if on_failed is not None:
            task.failed.connect(on_failed)
        return task

    def disconnect(self) -> None:
        """Close the connection (in a worker, once the bus is free). Known meters stay listed."""
        self._stop_pollers()
        for t, _k in list(self._tasks):
            t.cancel()
        tr = self._transport
        self._transport = self._link = None
        self._sim = None
        if tr is not None:
            lock = self._lock

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
        tr, self._transport, self._link = self._transport, None, None
        if tr is not None:
            _close_quietly(tr)

    def _remember(self, spec: ConnectionSpec) -> None:
        if self.ctx.screenshot or spec.simulated or not spec.url:
            return
        s = self.ctx.settings
        s.port = spec.url
        s.baud = spec.baud
        s.profile = spec.profile

    def _on_lost(self, message: str) -> None:
        tr, self._transport, self._link = self._transport, None, None
        if tr is not None:
            self.ctx.tasks.start("Close port", _close_quietly, tr, report_errors=False)
        self.last_error = message
        if self._state != STATE_LOST:
            self._set_state(STATE_LOST, detail="port lost")
            if not self._tasks:
                # found by a live poll (no task of ours will report it): say it where the user is looking
                self.ctx.show_message(describe_error(_port_lost(message), port=self._port_label()), "error")

    # -- starting operations -------------------------------------------------------------------
    def _refuse_if_scanning(self) -> None:
        for t, kind in self._tasks:
            if kind == KIND_SCAN:
                raise BusBusy(f"{t.name} is running on the bus: wait for it to finish or cancel it (Esc).")

    def _check(self, kind: str) -> None:
        if self._link is None:
            if self._state == STATE_LOST:
                raise NotConnected("The connection was lost: plug the head back in and connect again (Connect page).")
            if self._state == STATE_CONNECTING:
                raise NotConnected("Still connecting: try again in a moment.")
            raise NotConnected("Not connected: choose a port or the simulated bus on the Connect page first.")
        self._refuse_if_scanning()
        if kind == KIND_SCAN:
            for p in self._pollers:
                if p.running:
                    raise BusBusy("Live polling is using the bus: stop it first (Live page, Ctrl+R), then scan.")

    def _start_raw(self, name: str, kind: str, fn: Callable, *, origin: Any = None,
                   on_item: Callable | None = None, on_progress: Callable | None = None,
                   on_finished: Callable | None = None, on_failed: Callable | None = None,
                   on_cancelled: Callable | None = None, report_errors: bool = True) -> Task:
        task = self.ctx.tasks.start(name, fn, origin=origin, report_errors=report_errors)
        entry = (task, kind)
        self._tasks.append(entry)
        if len(self._tasks) == 1:
            self.busyChanged.emit(True)

        def ended(_t) -> None:
            if entry in self._tasks:
                self._tasks.remove(entry)
                if not self._tasks:
                    self.busyChanged.emit(False)
        task.ended.connect(ended)
        for sig, cb in ((task.item, on_item), (task.progress, on_progress), (task.finished, on_finished),
                        (task.failed, on_failed), (task.cancelled, on_cancelled)):
            if cb is not None:
                sig.connect(cb)
        return task

    @contextlib.contextmanager
    def _hold(self, name: str, kind: str, cancel: threading.Event | None,
              wait_s: float | None = None, ticket: object | None = None) -> Iterator[Any]:
        """Worker side: wait for the bus, then yield the link; a lost port marks the connection lost."""
        from drivers import errors as e

        if not self._lock.acquire(name, kind, cancel, wait_s, ticket):
            if cancel is not None and cancel.is_set():
                from app.ui.workers import Cancelled

                raise Cancelled()
            raise BusOperationError(f"the bus is busy ({self._lock.holder or 'another operation'})")
        try:
            link = self._link
            if link is None:
                raise BusOperationError("not connected (the connection was closed or lost)")
            link.cancel = cancel
            try:
                yield link
            except Exception as exc:
                cause = exc.cause if isinstance(exc, BusOperationError) else exc
                if isinstance(cause, e.PortError) and not isinstance(cause, e.BaudNotSupported):
                    self._lost.emit(" ".join(str(cause).split()))
                raise
            finally:
                link.cancel = None
        finally:
            self._lock.release()

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

        self._check(kind)
        accepted = _accepted_kwargs(work)
        port = self._port_label()
        ticket = self._lock.enqueue()          # our place on the bus: the order operations were started in

        def job(progress, cancel):
            kw = {}
            if accepted is None or "progress" in accepted:
                kw["progress"] = progress
            if accepted is None or "cancel" in accepted:
                kw["cancel"] = cancel
            with self._hold(name, kind, cancel, ticket=ticket) as link:
                try:
                    return work(link, *args, **kw)
                except BusOperationError:
                    raise
                except Exception as exc:
                    from drivers import errors as e

                    if isinstance(exc, e.Cancelled) or cancel.is_set():
                        raise
                    if isinstance(exc, e.BusError):
                        raise BusOperationError(describe_error(exc, port=port), exc) from None
                    raise
        task = self._start_raw(name, kind, job, origin=origin, **callbacks)
        task.ended.connect(lambda _t: self._lock.discard(ticket))   # cancelled before it ran: free the place
        return task

    def _port_label(self) -> str:
        spec = self._spec
        return "the simulated bus" if spec is None or spec.simulated else (spec.url or "the port")

    # -- line test ---------------------------------------------------------------------------------
    def test_line(self, *, search_bauds: bool = True, origin: Any = None, **callbacks: Any) -> Task:
        """What answers on the line, and at which baud rate (result :class:`LineTestResult`).

        Sends SND_NKE to the test address 254 (every meter answers: one clean E5
        means one meter, garbage means several) and, if one answered, reads it to
        name it; if nothing answers, a wildcard selection (secondary addressing)
        is tried. With ``search_bauds`` and silence, the other baud rates are tried
        (not through a ``socket://`` gateway, whose line rate is fixed) and the
        port is left at the first rate that answered.
        """
        profile = self._profile()
        simulated = self.simulated

        def work(link, progress, cancel):
            from drivers import errors as e

            tr = link.transport
            t0 = time.monotonic()
            req0 = link.requests
            start_baud = tr.baud
            bauds = [start_baud]
            if search_bauds and tr.supports_baud_change():
                bauds += [b for b in BAUD_SEARCH_ORDER if b != start_baud]
            tried = []
            for i, baud in enumerate(bauds):
                if cancel.is_set():
                    break
                if baud != tr.baud:
                    try:
                        tr.set_baud(baud)
                    except e.BaudNotSupported:
                        continue
                tried.append(baud)
                progress(i, len(bauds), f"listening at {baud} Bd")
                res = _probe_line(link, profile, baud, simulated)
                if res.ok:
                    res.tried = tried
                    res.requests = link.requests - req0
                    res.elapsed_s = time.monotonic() - t0
                    if baud != start_baud:
                        res.detail += f" (nothing answered at {start_baud} Bd; the port is now at {baud} Bd)"
                    return res
            if tr.baud != start_baud:
                try:
                    tr.set_baud(start_baud)
                except e.BusError:
                    pass
            rates = ", ".join(str(b) for b in tried)
            return LineTestResult(False, start_baud, detail=f"Nothing answered (tried {rates} Bd): check the wiring, "
                                  "the bus power and the optical head profile.", tried=tried,
                                  requests=link.requests - req0, elapsed_s=time.monotonic() - t0)

        def done(res) -> None:
            if isinstance(res, LineTestResult):
                self.last_test = res
                if res.ok and res.baud and self._spec is not None and res.baud != self._spec.baud:
                    self._spec = replace(self._spec, baud=res.baud)
                    self.ctx.connection.update(baud=res.baud)
                    self._remember(self._spec)
                if res.ok:
                    for m in getattr(res, "_meters", []):
                        self.add_meter(m)

        on_finished = callbacks.pop("on_finished", None)
        task = self.run("Line test", work, kind=KIND_TEST, origin=origin, on_finished=done, **callbacks)
        if on_finished is not None:
            task.finished.connect(on_finished)
        return task

    # -- scans --------------------------------------------------------------------------------------
    def scan_primary(self, first: int = 1, last: int = 250, *, origin: Any = None, **callbacks: Any) -> Task:
        """Primary scan ``first..last``: items are the :class:`KnownMeter` found (added to the list as found);
        the result a :class:`ScanSummary`. Cancel stops within one response timeout."""
        if not (0 <= first <= last <= 250):
            raise ValueError("primary addresses are 0..250 (first <= last)")
        return self._scan("primary", dict(first=first, last=last), origin, callbacks,
                          f"Primary scan {first}–{last}")

    def scan_secondary(self, mask: str | None = None, *, origin: Any = None, **callbacks: Any) -> Task:
        """Secondary (wildcard) search below ``mask`` (default: everything, ``FFFFFFFF``)."""
        from drivers.address import SecondaryMask

        start = SecondaryMask.parse(mask) if mask else None
        return self._scan("secondary", dict(start=start), origin, callbacks, "Secondary search")

    def _scan(self, mode: str, kw: dict, origin: Any, callbacks: dict, name: str) -> Task:
        simulated = self.simulated
        profile = self._profile()
        port = self._port_label()
        before = set(self._meters)

        def work(link, progress, cancel):
            from drivers import errors as e
            from drivers.scan import scan_primary, scan_secondary

            found = []

            def on_progress(ev) -> None:
                if ev.found is not None and ev.found.secondary_address:
                    m = KnownMeter.from_found(ev.found, found_by=mode, simulated=simulated)
                    found.append(m)
                    progress.item(m)
                if mode == "primary":
                    text = f"address {kw['first'] + ev.done - 1} · {len(found)} found"
                else:
                    text = f"{ev.done} selections · {len(found)} found"
                progress(ev.done, ev.total, text)

            fn = scan_primary if mode == "primary" else scan_secondary
            waker = _Waker(link.transport, profile)
            waker.wake()

            def on_progress_awake(ev) -> None:
                on_progress(ev)
                waker.keep_awake()      # between two requests: re-send the preamble before meters doze off
            try:
                res = fn(link, progress=on_progress_awake, **kw)
            except e.Cancelled:
                raise
            except e.BusError as exc:
                if cancel.is_set():
                    raise
                raise BusOperationError(describe_error(exc, port=port, kept=len(found)), exc) from None
            # meters the progress events did not carry (none expected): add them too
            keys = {m.key for m in found}
            for fm in res.meters:
                if fm.secondary_address:
                    m = KnownMeter.from_found(fm, found_by=mode, simulated=simulated)
                    if m.key not in keys:
                        progress.item(m)
                        found.append(m)
            return ScanSummary(mode, len(res.meters), 0, res.requests, res.elapsed_s, res.baud,
                               list(res.garbled), list(res.unresolved))

        def merged(summary) -> None:
            if isinstance(summary, ScanSummary):
                summary.new = len(set(self._meters) - before)

        on_item = callbacks.pop("on_item", None)
        on_finished = callbacks.pop("on_finished", None)
        task = self.run(name, work, kind=KIND_SCAN, origin=origin, on_item=self.add_meter,
                        on_finished=merged, **callbacks)
        if on_item is not None:
            task.item.connect(lambda m: on_item(self._meters.get(m.key, m)))
        if on_finished is not None:
            task.finished.connect(on_finished)
        return task

    # -- reading ------------------------------------------------------------------------------------
    def _profile(self, meter: KnownMeter | None = None):
        """The wake-up profile for a read: the connection's, without the preamble while the meter is awake."""
        from drivers.wakeup import PROFILES, profile_for_manufacturer

        spec = self._spec
        name = spec.profile if spec else "none"
        prof = PROFILES.get(name or "none")
        if prof is None or prof.name == "none":
            return None
        if prof.has_preamble and meter is not None:
            if prof.name == "optical-55":
                fam = profile_for_manufacturer(meter.manufacturer)
                if fam is not None and fam.has_preamble:
                    prof = fam.with_length(prof.preamble_ms)
            last = self._last_contact.get(meter.key)
            if last is not None and prof.awake_s and time.monotonic() - last < 0.6 * prof.awake_s:
                prof = replace(prof, preamble_byte=None, preamble_ms=0, pause_ms=0)   # still awake
        return prof

    def _read_plan(self, meter: KnownMeter) -> tuple[int | None, Any]:
        """(primary address, secondary mask): by primary address when it is unique among known meters."""
        a = meter.primary_address
        if a is not None and 1 <= a <= 250:
            same = [m for m in self._meters.values() if m.primary_address == a and m.key != meter.key]
            if not same:
                return a, None
        return None, meter.secondary_mask()

    def _reader(self, meter: KnownMeter) -> Callable:
        """A worker-side function ``(link, progress=None) -> Readout`` for ``meter``."""
        address, mask = self._read_plan(meter)
        profile = self._profile(meter)
        spec = self._spec or ConnectionSpec()
        key = meter.key
        transport_kind = "simulator" if spec.simulated else ("gateway" if spec.is_gateway else "serial")

        def read(link, progress=None) -> Readout:
            from drivers.ops import read_meter

            def prog(ev) -> None:
                if progress is not None:
                    progress(ev.done, ev.total, ev.note)
            res = read_meter(link, address=address, secondary=mask, profile=profile, progress=prog)
            first = res.telegrams[0]
            got = f"{first.identification}.{first.manufacturer}.{(first.version or 0):02X}.{(first.medium_code or 0):02X}"
            if got != key:
                from drivers import errors as e

                raise e.UnexpectedAnswer(f"another meter answered ({got}, not {key})")
            self._last_contact[key] = time.monotonic()
            return Readout(key, list(res.frames), list(res.telegrams), _dt.datetime.now(_dt.timezone.utc),
                           address=res.address if res.address is not None else address,
                           secondary_address=res.secondary_address, port=spec.url, baud=link.transport.baud,
                           transport=transport_kind, profile=res.profile, requests=res.requests,
                           elapsed_s=res.elapsed_s)
        return read

    def read_meter(self, meter: KnownMeter | str | None = None, *, origin: Any = None, **callbacks: Any) -> Task:
        """Read every telegram of ``meter`` (default: the selected one). Result: :class:`Readout`,
        also stored as the meter's ``last_readout`` and announced by ``readoutReady``."""
        m = self._resolve(meter)
        reader = self._reader(m)
        label = m.label

        def work(link, progress, cancel):
            from drivers import errors as e

            try:
                return reader(link, progress)
            except e.Cancelled:
                raise
            except e.BusError as exc:
                if cancel.is_set():
                    raise
                raise BusOperationError(describe_error(exc, port=self._port_label(), what=label), exc) from None

        on_finished = callbacks.pop("on_finished", None)
        task = self.run(f"Read {m.make or m.manufacturer} {m.identification}", work, kind=KIND_READ,
                        origin=origin, on_finished=self._store_readout, **callbacks)
        if on_finished is not None:
            task.finished.connect(on_finished)
        return task

    def read_address(self, address: int | None = None, secondary: str | None = None, *, origin: Any = None,
                     **callbacks: Any) -> Task:
        """Read a meter not in the list yet, by primary address or secondary address (``ID`` or
        ``ID.MAN.VV.MM``); it is added to the list. Result: :class:`Readout`."""
        from drivers.address import SecondaryMask

        mask = SecondaryMask.parse(secondary) if secondary else None
        if mask is None and address is None:
            raise ValueError("give a primary or a secondary address")
        profile = self._profile()
        spec = self._spec or ConnectionSpec()
        simulated = self.simulated
        transport_kind = "simulator" if spec.simulated else ("gateway" if spec.is_gateway else "serial")

        def work(link, progress, cancel):
            from drivers.ops import read_meter

            res = read_meter(link, address=None if mask else address, secondary=mask, profile=profile,
                             progress=lambda ev: progress(ev.done, ev.total, ev.note))
            first = res.telegrams[0]
            m = KnownMeter.from_telegram(first, address=res.address, simulated=simulated)
            self._last_contact[m.key] = time.monotonic()
            progress.item(m)
            return Readout(m.key, list(res.frames), list(res.telegrams), _dt.datetime.now(_dt.timezone.utc),
                           address=res.address, secondary_address=res.secondary_address, port=spec.url,
                           baud=link.transport.baud, transport=transport_kind, profile=res.profile,
                           requests=res.requests, elapsed_s=res.elapsed_s)

        on_finished = callbacks.pop("on_finished", None)
        what = f"address {address}" if mask is None else f"secondary {secondary}"
        task = self.run(f"Read {what}", work, kind=KIND_READ, origin=origin, on_item=self.add_meter,
                        on_finished=self._store_readout, **callbacks)
        if on_finished is not None:
            task.finished.connect(on_finished)
        return task

    def _store_readout(self, ro) -> None:
        if not isinstance(ro, Readout):
            return
        m = self._meters.get(ro.meter_key)
        if m is not None:
            m.last_readout, m.last_read_at, m.misses = ro, ro.read_at, 0
            if ro.address and 0 < ro.address <= 250 and m.primary_address is None:
                m.primary_address = ro.address
            self.meterChanged.emit(m)
        self.readoutReady.emit(ro)

    def _resolve(self, meter: KnownMeter | str | None) -> KnownMeter:
        if meter is None:
            m = self.selected
            if m is None:
                raise BusUnavailable("Select a meter first (Scan page: pick one from the list).")
            return m
        if isinstance(meter, str):
            m = self._meters.get(meter)
            if m is None:
                raise BusUnavailable(f"No meter {meter} in the list: scan first.")
            return m
        return self._meters.get(meter.key, meter)

    # -- live polling ------------------------------------------------------------------------------
    def poll_once(self, meter: KnownMeter | str, cancel: threading.Event | None = None,
                  wait_s: float = 5.0) -> Readout:
        """Worker side: one complete read of ``meter`` for live polling (blocking).

        Waits up to ``wait_s`` for the bus (a read or test in progress); during a
        scan it gives up at once. Raises with a one-line message on a miss.
        """
        m = self._resolve(meter)
        if self._lock.holder_kind == KIND_SCAN:
            raise BusOperationError(f"bus busy ({self._lock.holder})")
        reader = self._reader(m)
        with self._hold(f"Live poll {m.identification}", KIND_POLL, cancel, wait_s) as link:
            from drivers import errors as e

            try:
                return reader(link)
            except e.Cancelled:
                raise
            except e.PortError:
                raise
            except e.BusError as exc:
                raise BusOperationError(_short_miss(exc)) from None

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
                        lambda cancel: self._poll(key, cancel, poller), interval_s, parent)
        poller.sample.connect(lambda _t, ro: self._store_readout(ro))
        poller.missed.connect(lambda _t, _msg: self._count_miss(key))
        self._pollers.append(poller)
        poller.destroyed.connect(lambda *_: self._forget_poller(poller))
        return poller

    def _poll(self, key: str, cancel: threading.Event, poller) -> Readout:
        if self._link is None:
            raise BusOperationError("not connected" if self._state != STATE_LOST else "connection lost")
        return self.poll_once(key, cancel, wait_s=max(0.5, min(10.0, poller.interval_s)))

    def _forget_poller(self, poller) -> None:
        with contextlib.suppress(ValueError):
            self._pollers.remove(poller)

    def _count_miss(self, key: str) -> None:
        m = self._meters.get(key)
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
        address, mask = self._read_plan(m)
        profile = self._profile(m)
        key = m.key

        def work(link):
            from drivers.ops import set_primary_address

            return set_primary_address(link, new_address=int(new_address), address=address, secondary=mask,
                                       profile=profile)

        def done(w) -> None:
            km = self._meters.get(key)
            if km is not None and getattr(w, "ok", False):
                km.primary_address = int(new_address) or None
                self.meterChanged.emit(km)

        on_finished = callbacks.pop("on_finished", None)
        task = self.run(f"Set address of {m.identification} to {new_address}", work, kind=KIND_WRITE,
                        origin=origin, on_finished=done, **callbacks)
        if on_finished is not None:
            task.finished.connect(on_finished)
        return task

    def set_baud(self, meter: KnownMeter | str | None, new_baud: int, *, origin: Any = None,
                 **callbacks: Any) -> Task:
        """Switch ``meter`` to ``new_baud`` (the port follows; confirmed by a read). Result: WriteResult."""
        if new_baud not in BAUD_RATES:
            raise ValueError(f"baud must be one of {', '.join(map(str, BAUD_RATES))}")
        m = self._resolve(meter)
        address, mask = self._read_plan(m)
        profile = self._profile(m)

        def work(link):
            from drivers.ops import set_baud

            return set_baud(link, new_baud=int(new_baud), address=address, secondary=mask, profile=profile)

        def done(w) -> None:
            tr = self._transport
            if tr is not None and self._spec is not None and tr.baud != self._spec.baud:
                self._spec = replace(self._spec, baud=tr.baud)
                self.ctx.connection.update(baud=tr.baud)
                self._remember(self._spec)

        on_finished = callbacks.pop("on_finished", None)
        task = self.run(f"Set baud of {m.identification} to {new_baud}", work, kind=KIND_WRITE, origin=origin,
                        on_finished=done, **callbacks)
        if on_finished is not None:
            task.finished.connect(on_finished)
        return task


# --------------------------------------------------------------------------------------
# helpers (worker side)
# --------------------------------------------------------------------------------------

def _qapp():
    from PySide6.QtCore import QCoreApplication

    return QCoreApplication.instance()


def _close_quietly(tr) -> None:
    with contextlib.suppress(Exception):
        tr.close()


class _Waker:
    """Sends a profile's wake-up preamble before a scan and again before the meters fall asleep."""

    def __init__(self, transport, profile) -> None:
        self.transport = transport
        self.profile = profile if profile is not None and profile.has_preamble else None
        self.last = 0.0

    def wake(self) -> None:
        if self.profile is not None:
            from drivers.wakeup import wake

            wake(self.transport, self.profile)
            self.last = time.monotonic()

    def keep_awake(self) -> None:
        if self.profile is not None and self.profile.awake_s and \
                time.monotonic() - self.last > 0.6 * self.profile.awake_s:
            self.wake()


def _port_lost(message: str):
    from drivers import errors as e

    return e.PortLost(message)


def _short_miss(exc: BaseException) -> str:
    from drivers import errors as e

    if isinstance(exc, e.NoAnswer):
        return "no answer"
    if isinstance(exc, e.Collision):
        return "garbled answer (collision)"
    if isinstance(exc, e.ChecksumError):
        return "damaged answer"
    return " ".join(str(exc).split()) or type(exc).__name__


def _probe_line(link, profile, baud: int, simulated: bool) -> LineTestResult:
    """One baud rate: who answers the test address, or a wildcard selection."""
    from drivers import errors as e
    from drivers.link import ADDRESS_SELECTED, ADDRESS_TEST
    from drivers.scan import meter_from_frame
    from drivers.wakeup import wake

    if profile is not None and profile.has_preamble:
        wake(link.transport, profile)
    state = link.ping(ADDRESS_TEST, retries=1)
    if state == "ack":
        try:
            fm = meter_from_frame(link.req_ud2(ADDRESS_TEST), ADDRESS_TEST)
        except e.LinkError:
            return LineTestResult(True, baud, detail=f"One meter answers at {baud} Bd (it did not send its data).")
        m = KnownMeter.from_found(fm, found_by="read", simulated=simulated)
        m.primary_address = fm.primary_address if 0 < fm.primary_address <= 250 else None
        res = LineTestResult(True, baud, [f"{m.make} {m.identification} ({m.medium or 'meter'})"],
                             detail=f"{m.make} {m.identification} answers at {baud} Bd.")
        res._meters = [m]   # noqa: SLF001 - handed to the GUI thread with the result
        return res
    if state == "garbled":
        return LineTestResult(True, baud, several=True,
                              detail=f"Several meters answer at {baud} Bd: scan to list them.")
    from drivers.address import SecondaryMask
    from drivers.link import Probe

    p = link.probe(SecondaryMask())
    link.deselect()
    if p.outcome == Probe.SINGLE:
        try:
            fm = meter_from_frame(link.req_ud2(ADDRESS_SELECTED, retries=1), ADDRESS_SELECTED)
        except e.LinkError:
            return LineTestResult(True, baud, detail=f"One meter answers at {baud} Bd by secondary address.")
        m = KnownMeter.from_found(fm, found_by="secondary", simulated=simulated)
        res = LineTestResult(True, baud, [f"{m.make} {m.identification} ({m.medium or 'meter'})"],
                             detail=f"{m.make} {m.identification} answers at {baud} Bd (by secondary address).")
        res._meters = [m]   # noqa: SLF001
        return res
    if p.outcome == Probe.COLLISION:
        return LineTestResult(True, baud, several=True,
                              detail=f"Several meters answer at {baud} Bd: scan to list them.")
    return LineTestResult(False, baud, detail=f"Nothing answers at {baud} Bd.")


def bus_of(ctx) -> BusService:
    """The context's bus service (made on first use); same as ``ctx.bus``."""
    svc = getattr(ctx, "_bus_service", None)
    if svc is None:
        svc = BusService(ctx)
        ctx._bus_service = svc   # noqa: SLF001
    return svc


__all__ = ["BusService", "BusUnavailable", "BusBusy", "NotConnected", "BusOperationError", "ConnectionSpec",
           "LineTestResult", "Readout", "KnownMeter", "ScanSummary", "describe_error", "bus_of", "BAUD_RATES"]
