"""The bus session: one connection to a meter bus, its lock, its meters, and the operations on it.

Plain Python (threads and callbacks, no Qt). The CLI uses it directly, one
operation after the other; the desktop app wraps it in a QObject
(``app.ui.bus.BusService``) that runs the operations in worker tasks.

* connection: :meth:`BusSession.open` / :meth:`close` by :class:`ConnectionSpec`,
  or :meth:`attach` / :meth:`detach` of a transport opened elsewhere (the
  simulated bus, a port opened in a worker);
* one operation on the wire at a time: :class:`BusLock`, FIFO. An operation
  takes its place with :meth:`begin` (refused with :class:`BusBusy` /
  :class:`NotConnected` when it cannot start) and leaves with :meth:`end`;
* every operation comes as a :class:`Job`, prepared on the caller's thread
  (the read plan and the wake-up profile are decided then) and run by
  :meth:`execute` (worker side): ``test_line_job``, ``scan_job``, ``read_job``,
  ``read_address_job``, ``optical_read_job``, ``history_job``, ``set_address_job``,
  ``set_baud_job``, ``set_clock_job``, ``custom_job``; the blocking shorthands
  ``test_line``, ``scan_primary``, ``scan_secondary``, ``read_meter``,
  ``read_address``, ``read_history``, ``set_address``, ``set_baud``,
  ``set_clock`` do both;
* the protocol: ``ConnectionSpec.protocol`` ``mbus``, or an optical protocol
  (EN 62056-21, KMP) that reads lend the port to (:mod:`drivers.session.meterside`);
  writes are M-Bus only;
* the read plan: by primary address when no other known meter shares it, else
  by full secondary address; the identity check: the meter that answers is the
  one asked for (:class:`drivers.errors.WrongMeter` otherwise);
* the wake-up: the connection's profile; through a generic optical head the
  family's profile once the make is known; no preamble while the meter is
  still awake (it answered less than 0.6 x its awake time ago);
* encrypted telegrams (security modes 5 and 7) are decrypted with the key
  lookup :attr:`BusSession.keys` (``keys(manufacturer, identification) ->
  bytes | None``: a key file, the key store, or both); without the meter's
  key a telegram keeps its header and no records, with a wrong one the read
  fails (:class:`drivers.errors.WrongKey`) and nothing is kept.

Errors: with ``describe_errors`` (the GUI) a driver error becomes a
:class:`BusOperationError` whose text is the one-line message of
:mod:`drivers.session.messages`; without (the CLI) the driver's typed errors
come through as they are. A port that goes away calls ``on_lost(message)``.
"""
from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

from drivers import errors as e
from drivers.session import messages, meterside, operations as ops
from drivers.session.errors import BusBusy, BusOperationError, NotConnected
from drivers.session.lock import BusLock
from drivers.session.types import (KIND_CONNECT, KIND_CUSTOM, KIND_POLL, KIND_READ, KIND_SCAN, KIND_TEST,
                                   KIND_WRITE, STATE_CONNECTED, STATE_CONNECTING, STATE_DISCONNECTED, STATE_LOST,
                                   ConnectionSpec, KnownMeter, KnownMeters, Readout)
from drivers.timing import BAUD_RATES

MAX_TELEGRAMS = 64
STILL_AWAKE_FRACTION = 0.6     # a meter counts as awake for this part of its awake time after its last answer


@dataclass
class Job:
    """One bus operation, prepared: ``work(link, report, cancel)`` runs it (worker side).

    ``describe(exc)`` gives the one-line message of a driver error (None: the
    port's generic one)."""

    name: str
    kind: str
    work: Callable[..., Any]
    describe: Callable[[BaseException], str] | None = None


@dataclass(eq=False)
class Operation:
    """A started operation's place on the bus (:meth:`BusSession.begin`); ``cancel`` is set by the caller."""

    name: str
    kind: str
    ticket: object | None = None
    cancel: Callable[[], None] | None = None


def _close_quietly(tr) -> None:
    with contextlib.suppress(Exception):
        tr.close()


class BusSession:
    """One bus connection and what happens on it. See the module docstring.

    ``readout_type``: the class readouts are made of (a subclass of
    :class:`Readout`); ``describe_errors``: turn driver errors into one-line
    :class:`BusOperationError` messages; ``on_lost(message)``: called (from the
    worker) when the port went away during an operation.
    """

    def __init__(self, *, readout_type: type[Readout] = Readout, describe_errors: bool = False,
                 on_lost: Callable[[str], None] | None = None, keys: Callable[[str, str], Any] | None = None) -> None:
        self.keys = keys        # key lookup for encrypted telegrams, read when a job is prepared
        self.lock = BusLock()
        self.meters = KnownMeters()
        self.readout_type = readout_type
        self.describe_errors = describe_errors
        self.on_lost = on_lost
        self.state = STATE_DISCONNECTED
        self._spec: ConnectionSpec | None = None
        self._transport = None
        self._link = None
        self._sim = None
        self._ops: list[Operation] = []
        self._last_contact: dict[str, float] = {}   # meter key -> monotonic time of its last answer

    # -- the connection ---------------------------------------------------------------------------
    @property
    def spec(self) -> ConnectionSpec | None:
        """The connection asked for last (also while lost, to reconnect)."""
        return self._spec

    @spec.setter
    def spec(self, spec: ConnectionSpec | None) -> None:
        self._spec = spec

    @property
    def transport(self):
        return self._transport

    @property
    def link(self):
        return self._link

    @property
    def sim(self):
        """The simulated bus (``drivers.simulator.SimBus``) of a simulated connection, else None."""
        return self._sim

    @property
    def connected(self) -> bool:
        return self._link is not None

    @property
    def simulated(self) -> bool:
        return bool(self._spec and self._spec.simulated)

    def port_label(self) -> str:
        spec = self._spec
        return "the simulated bus" if spec is None or spec.simulated else (spec.url or "the port")

    @staticmethod
    def open_transport(spec: ConnectionSpec):
        """Open the port ``spec`` names (blocking); the driver's typed errors when it cannot."""
        from drivers.transport import SerialTransport

        from drivers.protocols import check_protocol

        if spec.baud not in BAUD_RATES:
            raise ValueError(f"baud must be one of {', '.join(map(str, BAUD_RATES))}")
        check_protocol(spec.protocol)
        tr = SerialTransport(spec.url, spec.baud, echo=spec.echo,
                             timeout_s=None if spec.timeout_ms is None else spec.timeout_ms / 1000.0)
        return tr.open()

    def attach(self, transport, spec: ConnectionSpec, sim=None) -> None:
        """Use ``transport`` (already open) as the connection ``spec`` describes."""
        from drivers.link import Link

        self._transport = transport
        self._link = Link(transport, retries=spec.retries) if transport is not None else None
        self._spec = spec
        self._sim = sim
        self._last_contact.clear()
        if transport is not None:
            self.state = STATE_CONNECTED

    def detach(self, *, keep_sim: bool = False):
        """Let go of the transport (the caller closes it); the spec stays, to reconnect. Returns it.

        ``keep_sim``: the simulated bus stays reachable as :attr:`sim` (a lost connection)."""
        tr, self._transport, self._link = self._transport, None, None
        if not keep_sim:
            self._sim = None
        return tr

    def open(self, spec: ConnectionSpec) -> None:
        """Open ``spec`` (blocking) and use it; the previous connection is closed first."""
        self.close()
        self._spec = spec
        self.state = STATE_CONNECTING
        try:
            tr = self.open_transport(spec)
        except e.BusError as exc:
            self.state = STATE_DISCONNECTED
            if self.describe_errors:
                raise BusOperationError(messages.describe_error(exc, port=spec.url), exc) from None
            raise
        self.attach(tr, spec)

    def close(self) -> None:
        """Close the connection (blocking); known meters stay."""
        tr = self.detach()
        if tr is not None:
            _close_quietly(tr)
        self.state = STATE_DISCONNECTED

    def __enter__(self) -> BusSession:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def set_profile(self, profile: str) -> None:
        """Change the wake-up profile of the connection (from the next operation). ValueError for an unknown name."""
        from drivers.makes import get_profile

        get_profile(profile)
        if self._spec is not None:
            self._spec = replace(self._spec, profile=profile)
            self._last_contact.clear()

    def set_baud_of_spec(self, baud: int) -> bool:
        """The line now runs at ``baud`` (a line test found it, a write moved it): the spec follows."""
        if self._spec is not None and baud and baud != self._spec.baud:
            self._spec = replace(self._spec, baud=baud)
            return True
        return False

    # -- who may use the bus ----------------------------------------------------------------------
    def operations(self) -> list[Operation]:
        """The operations started and not ended (running or waiting for the bus), in order."""
        return list(self._ops)

    def check(self, kind: str, *, polling: bool = False) -> None:
        """Raise :class:`NotConnected` / :class:`BusBusy` when an operation of ``kind`` cannot start now."""
        if self._link is None:
            if self.state == STATE_LOST:
                raise NotConnected(messages.LOST)
            if self.state == STATE_CONNECTING:
                raise NotConnected(messages.CONNECTING)
            raise NotConnected(messages.NOT_CONNECTED)
        self.refuse_if_scanning()
        if kind == KIND_SCAN and polling:
            raise BusBusy(messages.POLLING_BLOCKS_SCAN)

    def refuse_if_scanning(self) -> None:
        for op in self._ops:
            if op.kind == KIND_SCAN:
                raise BusBusy(messages.scan_running(op.name))

    def begin(self, name: str, kind: str, *, polling: bool = False, on_wire: bool = True) -> Operation:
        """Take a place on the bus for an operation (checked first; ``on_wire`` False: a connect,
        which only counts as running). End it with :meth:`end`."""
        if on_wire:
            self.check(kind, polling=polling)
        else:
            self.refuse_if_scanning()
        op = Operation(name, kind, self.lock.enqueue() if on_wire else None)
        self._ops.append(op)
        return op

    def end(self, op: Operation) -> None:
        if op in self._ops:
            self._ops.remove(op)
        if op.ticket is not None:
            self.lock.discard(op.ticket)      # cancelled before it ran: free the place

    def cancel_all(self) -> None:
        for op in list(self._ops):
            if op.cancel is not None:
                op.cancel()

    @contextlib.contextmanager
    def hold(self, name: str, kind: str, cancel: threading.Event | None = None, wait_s: float | None = None,
             ticket: object | None = None) -> Iterator[Any]:
        """Worker side: wait for the bus, then yield the link; a lost port calls ``on_lost``."""
        if not self.lock.acquire(name, kind, cancel, wait_s, ticket):
            if cancel is not None and cancel.is_set():
                raise e.Cancelled("cancelled")
            raise BusOperationError(messages.bus_busy(self.lock.holder))
        try:
            link = self._link
            if link is None:
                raise BusOperationError(messages.NOT_CONNECTED_NOW)
            link.cancel = cancel
            try:
                yield link
            except Exception as exc:
                cause = exc.cause if isinstance(exc, BusOperationError) else exc
                if isinstance(cause, e.PortError) and not isinstance(cause, e.BaudNotSupported) \
                        and self.on_lost is not None:
                    self.on_lost(messages.one_line(cause))
                raise
            finally:
                link.cancel = None
        finally:
            self.lock.release()

    def execute(self, job: Job, *, report: Any = None, progress: Callable | None = None,
                on_item: Callable | None = None, cancel: threading.Event | None = None,
                op: Operation | None = None, wait_s: float | None = None) -> Any:
        """Run ``job`` alone on the wire (blocking, worker side) and return its result.

        ``report`` (with ``__call__(done, total, text)`` and ``item(obj)``) or the
        ``progress``/``on_item`` callbacks; ``cancel`` (a threading.Event) stops it
        within one response timeout (:class:`drivers.errors.Cancelled`); ``op``: the
        place taken with :meth:`begin`."""
        rep = report if report is not None else ops.Report(progress, on_item)
        with self.hold(job.name, job.kind, cancel, wait_s, op.ticket if op is not None else None) as link:
            try:
                return job.work(link, rep, cancel)
            except (BusOperationError, e.Cancelled):
                raise
            except e.BusError as exc:
                if cancel is not None and cancel.is_set() or not self.describe_errors:
                    raise
                text = job.describe(exc) if job.describe is not None else \
                    messages.describe_error(exc, port=self.port_label())
                raise BusOperationError(text, exc) from None

    # -- the wake-up profile and the read plan --------------------------------------------------
    def connection_profile(self):
        """The wake-up profile the connection asks for (None: wired M-Bus)."""
        spec = self._spec
        if spec is None:
            return None
        try:
            return spec.wakeup_profile()
        except ValueError:           # a profile name nobody knows any more (old settings)
            return None

    def profile_for(self, meter: KnownMeter | None = None, *, manufacturer: str | None = None,
                    key: str | None = None):
        """The wake-up profile to read a meter with: the connection's; through a generic optical
        head the family's (once the make is known); no preamble while the meter is still awake."""
        from drivers.makes import family_profile

        prof = self.connection_profile()
        if meter is not None:
            manufacturer, key = meter.manufacturer, meter.key
        if prof is None or not prof.has_preamble or not (manufacturer or key):
            return prof
        prof = family_profile(prof, manufacturer)
        last = self._last_contact.get(key) if key else None
        if last is not None and prof.awake_s and time.monotonic() - last < STILL_AWAKE_FRACTION * prof.awake_s:
            prof = prof.without_preamble()
        return prof

    def read_plan(self, meter: KnownMeter) -> tuple[int | None, Any]:
        """(primary address, secondary mask): by primary address when it is unique among the known meters
        of this bus (a meter last seen on another port does not count)."""
        a = meter.primary_address
        here = self.port_label()
        sharing = [m for m in self.meters.sharing_address(meter) if m.port in (None, here)]
        if a is not None and 1 <= a <= 250 and not sharing:
            return a, None
        return None, meter.secondary_mask()

    def _heard(self, key: str) -> None:
        self._last_contact[key] = time.monotonic()

    def _readout(self, key: str, res, link, address: int | None, spec: ConnectionSpec) -> Readout:
        return self.readout_type(key, list(res.frames), list(res.telegrams), ops.now_utc(),
                                 address=res.address if res.address is not None else address,
                                 secondary_address=res.secondary_address, port=spec.url, baud=link.transport.baud,
                                 transport=spec.transport_kind, profile=res.profile, requests=res.requests,
                                 elapsed_s=res.elapsed_s)

    # -- jobs (prepared on the caller's thread) --------------------------------------------------
    def custom_job(self, name: str, work: Callable[..., Any], kind: str = KIND_CUSTOM) -> Job:
        """Any work on the wire: ``work(link, report, cancel)``."""
        return Job(name, kind, work)

    def test_line_job(self, *, search_bauds: bool = True) -> Job:
        """What answers on the line, and at which baud rate (result :class:`LineTestResult`).

        Sends SND_NKE to the test address 254 (every meter answers: one clean E5
        means one meter, garbage means several) and, if one answered, reads it to
        name it; if nothing answers, a wildcard selection (secondary addressing)
        is tried. With ``search_bauds`` and silence, the other baud rates are tried
        (not through a ``socket://`` gateway, whose line rate is fixed) and the
        port is left at the first rate that answered.
        """
        profile, simulated = self.connection_profile(), self.simulated

        def work(link, report, cancel):
            return ops.test_line(link, report, cancel, profile=profile, simulated=simulated,
                                 search_bauds=search_bauds)
        return Job("Line test", KIND_TEST, work)

    def scan_job(self, mode: str = "primary", *, first: int = 1, last: int = 250, mask: str | Any = None,
                 silent_retries: int = 0) -> Job:
        """A primary scan ``first..last`` or a secondary (wildcard) search below ``mask`` (default:
        everything). Items: each :class:`KnownMeter` found, as found; result :class:`ScanSummary`."""
        from drivers.address import SecondaryMask

        if mode == "primary":
            if not (0 <= first <= last <= 250):
                raise ValueError("primary addresses are 0..250 (first <= last)")
            name = f"Primary scan {first}–{last}"
        elif mode == "secondary":
            name = "Secondary search"
        else:
            raise ValueError("a scan is 'primary' or 'secondary'")
        start = SecondaryMask.parse(mask) if isinstance(mask, str) and mask else (mask or None)
        profile, simulated, port = self.connection_profile(), self.simulated, self.port_label()

        def work(link, report, cancel):
            def describe(exc: BaseException, kept: int) -> BaseException:
                if not self.describe_errors or cancel is not None and cancel.is_set():
                    return exc
                return BusOperationError(messages.describe_error(exc, port=port, kept=kept), exc)
            return ops.scan(link, report, mode=mode, profile=profile, simulated=simulated, first=first, last=last,
                            start=start, silent_retries=silent_retries, describe=describe)
        return Job(name, KIND_SCAN, work)

    def read_job(self, meter: KnownMeter, *, max_telegrams: int = MAX_TELEGRAMS) -> Job:
        """Every telegram of a known meter, by its read plan, checked to come from that meter
        (on an optical connection: the protocol's readout of the meter on the head)."""
        if self._spec is not None and self._spec.optical:
            return self.optical_read_job(meter=meter)
        address, mask = self.read_plan(meter)
        profile = self.profile_for(meter)
        spec = self._spec or ConnectionSpec()
        key, label = meter.key, meter.label
        expect = meter.secondary_mask()
        keys = self.keys

        def work(link, report, cancel=None):
            res = ops.read_all(link, address=address, mask=mask, profile=profile, report=report,
                               max_telegrams=max_telegrams, keys=keys)
            ops.check_identity(res.telegrams[0], expect, key)
            self._heard(key)
            return self._readout(key, res, link, address, spec)
        return Job(f"Read {meter.make or meter.manufacturer} {meter.identification}", KIND_READ, work,
                   describe=lambda exc: messages.describe_error(exc, port=self.port_label(), what=label))

    def read_address_job(self, address: int | None = None, secondary: str | Any = None, *,
                         expect: str | Any = None, max_telegrams: int = MAX_TELEGRAMS,
                         options: dict | None = None) -> Job:
        """Every telegram of a meter not in the list, by primary address or secondary address
        (``ID``, ``ID.MAN.VV.MM``, or a :class:`SecondaryMask`). ``expect``: the meter that must
        answer (a secondary address, wildcards allowed); by default the secondary address read.
        Items: the :class:`KnownMeter` read; result :class:`Readout`. On an optical connection the
        meter on the head is read in the connection's protocol (``address`` is not used there; ``options``
        are the protocol's, e.g. EN 62056-21 ``mode`` and ``max_baud``)."""
        from drivers.address import SecondaryMask

        mask = SecondaryMask.parse(secondary) if isinstance(secondary, str) and secondary else (secondary or None)
        want = SecondaryMask.parse(expect) if isinstance(expect, str) and expect else (expect or mask)
        if self._spec is not None and self._spec.optical:
            return self.optical_read_job(expect=want, options=options)
        if mask is None and address is None:
            raise ValueError("give a primary or a secondary address")
        man = _mask_manufacturer(want)
        profile = self.profile_for(manufacturer=man, key=str(want) if want is not None and want.exact else None)
        spec = self._spec or ConnectionSpec()
        simulated = self.simulated
        keys = self.keys

        def work(link, report, cancel=None):
            res = ops.read_all(link, address=address, mask=mask, profile=profile, report=report,
                               max_telegrams=max_telegrams, keys=keys)
            first = res.telegrams[0]
            ops.check_identity(first, want, str(want) if want is not None else "")
            m = KnownMeter.from_telegram(first, address=res.address, simulated=simulated)
            self._heard(m.key)
            report.item(m)
            return self._readout(m.key, res, link, None, spec)
        what = f"address {address}" if mask is None else f"secondary {secondary}"
        return Job(f"Read {what}", KIND_READ, work)

    def set_address_job(self, new_address: int, *, meter: KnownMeter | None = None, address: int | None = None,
                        secondary: str | Any = None) -> Job:
        """Give a meter a new primary address, confirmed by a read there, after checking that no other
        meter answers at it (:func:`drivers.session.writes.set_address_checked`: nothing is written onto an
        address in use). Result: ``drivers.ops.WriteResult``."""
        from drivers.session.writes import set_address_checked

        if not 0 <= int(new_address) <= 250:
            raise ValueError("the new primary address must be 0..250")
        address, mask, profile, who = self._write_target(meter, address, secondary)

        def work(link, report, cancel=None):
            return set_address_checked(link, new_address=int(new_address), address=address, mask=mask,
                                       profile=profile, target=who)
        return Job(f"Set address of {who} to {new_address}", KIND_WRITE, work)

    def set_baud_job(self, new_baud: int, *, meter: KnownMeter | None = None, address: int | None = None,
                     secondary: str | Any = None) -> Job:
        """Switch a meter to ``new_baud`` (the port follows; confirmed by a read). Result: WriteResult."""
        from drivers.ops import set_baud

        if new_baud not in BAUD_RATES:
            raise ValueError(f"baud must be one of {', '.join(map(str, BAUD_RATES))}")
        address, mask, profile, who = self._write_target(meter, address, secondary)

        def work(link, report, cancel=None):
            return set_baud(link, new_baud=int(new_baud), address=address, secondary=mask, profile=profile)
        return Job(f"Set baud of {who} to {new_baud}", KIND_WRITE, work)

    def _write_target(self, meter, address, secondary):
        from drivers.address import SecondaryMask

        if self._spec is not None and self._spec.optical:
            raise ValueError(messages.MBUS_ONLY_WRITES)
        if meter is not None:
            address, mask = self.read_plan(meter)
            return address, mask, self.profile_for(meter), meter.identification
        mask = SecondaryMask.parse(secondary) if isinstance(secondary, str) and secondary else (secondary or None)
        if mask is None and address is None:
            raise ValueError("give a primary or a secondary address")
        profile = self.profile_for(manufacturer=_mask_manufacturer(mask))
        return (None if mask is not None else address), mask, profile, \
            (f"address {address}" if mask is None else str(mask))

    def optical_read_job(self, protocol: str | None = None, *, meter: KnownMeter | None = None,
                         expect: str | Any = None, options: dict | None = None) -> Job:
        """The meter on the optical head, read in ``protocol`` (default: the connection's; EN 62056-21 or
        KMP) on the session's port. ``meter`` / ``expect``: the meter that must answer (identification and
        manufacturer compared). Items: the :class:`KnownMeter`; result :class:`Readout` (``protocol``,
        ``tx_frames``, ``mode``)."""
        from drivers.address import SecondaryMask
        from drivers.protocols import get_protocol

        spec = self._spec or ConnectionSpec()
        name = protocol or spec.protocol
        get_protocol(name)                       # ValueError for "mbus" or an unknown name
        want = meter.secondary_mask() if meter is not None else \
            (SecondaryMask.parse(expect) if isinstance(expect, str) and expect else (expect or None))
        label = meter.label if meter is not None else (str(want) if want is not None else "")
        simulated = self.simulated

        def work(link, report, cancel=None):
            ro = meterside.optical_read(link, report, cancel, protocol=name, options=options)
            tel = ro.telegrams[0]
            meterside.check_optical_identity(tel, want, label)
            m = meterside.optical_meter(tel, self.meters, simulated=simulated) if meter is None else meter
            self._heard(m.key)
            report.item(m)
            return self.readout_type(m.key, list(ro.frames), list(ro.telegrams), ops.now_utc(),
                                     address=m.primary_address, secondary_address=tel.identification,
                                     port=spec.url, baud=ro.baud, transport=spec.transport_kind, profile=None,
                                     requests=ro.requests, elapsed_s=ro.elapsed_s, protocol=name,
                                     tx_frames=list(ro.tx_frames), mode=ro.mode)
        who = f"{meter.make or meter.manufacturer} {meter.identification}" if meter is not None else "the optical head"
        return Job(f"Read {who} ({name})", KIND_READ, work,
                   describe=lambda exc: messages.describe_error(exc, port=self.port_label(), what=label))

    def history_job(self, meter: KnownMeter | None = None, *, address: int | None = None,
                    secondary: str | Any = None, expect: str | Any = None,
                    types: tuple = ("enhanced_billing",), max_telegrams: int = MAX_TELEGRAMS) -> Job:
        """The meter's stored values: its standard telegrams, then each telegram type of ``types``
        selected by an application reset with its EN 13757-3 sub-code (M-Bus; an optical connection
        reads the protocol's readout, whose stored values are the history). Result :class:`Readout`
        with ``selections``; :meth:`Readout.history` puts each value with its date."""
        from drivers.address import SecondaryMask
        from drivers.history import reset_subcode

        if self._spec is not None and self._spec.optical:
            return self.optical_read_job(meter=meter, expect=expect or secondary)
        for kind in types:
            reset_subcode(kind)                  # ValueError for a type nobody knows
        if meter is not None:
            address, mask = self.read_plan(meter)
            want, key_label = meter.secondary_mask(), meter.label
            profile = self.profile_for(meter)
        else:
            mask = SecondaryMask.parse(secondary) if isinstance(secondary, str) and secondary else (secondary or None)
            if mask is None and address is None:
                raise ValueError("give a primary or a secondary address")
            want = SecondaryMask.parse(expect) if isinstance(expect, str) and expect else (expect or mask)
            key_label = str(want) if want is not None else ""
            profile = self.profile_for(manufacturer=_mask_manufacturer(want))
        spec = self._spec or ConnectionSpec()
        simulated = self.simulated
        keys = self.keys

        def work(link, report, cancel=None):
            res = meterside.history_read(link, report, address=address, mask=mask, profile=profile, types=types,
                                         max_telegrams=max_telegrams, keys=keys)
            std = res.standard
            key = ops.check_identity(std.telegrams[0], want, key_label)
            m = meter or KnownMeter.from_telegram(std.telegrams[0], address=std.address, simulated=simulated)
            self._heard(m.key)
            report.item(m)
            ro = self._readout(key if meter is None else meter.key, std, link, address, spec)
            ro.frames, ro.telegrams, ro.selections = list(res.frames), list(res.telegrams), list(res.selections)
            ro.requests, ro.elapsed_s = res.requests, res.elapsed_s
            return ro
        who = f"{meter.make or meter.manufacturer} {meter.identification}" if meter is not None else \
            (f"address {address}" if mask is None else f"secondary {secondary}")
        return Job(f"Read history of {who}", KIND_READ, work,
                   describe=lambda exc: messages.describe_error(exc, port=self.port_label(), what=key_label))

    def reconfiguration_warning(self, meter: KnownMeter | None = None, *, manufacturer: str | None = None,
                                model: str | None = None) -> dict | None:
        """The warning to show before writing to this meter when its make counts reconfigurations
        (MULTICAL 403: 25), else None; see :func:`drivers.session.meterside.reconfiguration_warning`."""
        if meter is not None:
            manufacturer, model = meter.manufacturer, model or meter.model
        return meterside.reconfiguration_warning(manufacturer, model)

    def set_clock_job(self, meter: KnownMeter | None = None, *, address: int | None = None,
                      secondary: str | Any = None, to=None, tolerance_s: float = 90.0, agreed: bool = False,
                      model: str | None = None) -> Job:
        """Set the meter's clock (EN 13757-3, SND_UD CI 0x51, DIF 0x04 VIF 0x6D), confirmed by a read-back
        within ``tolerance_s``. ``to``: a datetime (naive: local), None: the laptop's clock. A meter whose
        make counts reconfigurations is not written unless ``agreed``
        (:class:`drivers.session.meterside.ReconfigurationNotAgreed`, with the warning). ``model``: the
        meter's model where the caller knows it (the register). Result :class:`drivers.clock.ClockWriteResult`
        (``evidence()`` for the register)."""
        address, mask, profile, who = self._write_target(meter, address, secondary)
        model = model or (meter.model if meter is not None else None)

        def work(link, report, cancel=None):
            return meterside.clock_write(link, address=address, mask=mask, profile=profile, to=to,
                                         tolerance_s=tolerance_s, agreed=agreed, model=model)
        return Job(f"Set clock of {who}", KIND_WRITE, work)

    def find_baud_job(self, address: int | None = None, secondary: str | Any = None) -> Job:
        """At which other baud rate the meter at ``address`` (or ``secondary``) answers: after a read that
        got no answer. Result: the baud rate, or None (also on a gateway, whose line rate is fixed)."""
        from drivers.address import SecondaryMask

        mask = SecondaryMask.parse(secondary) if isinstance(secondary, str) and secondary else (secondary or None)
        if mask is None and address is None:
            raise ValueError("give a primary or a secondary address")
        profile = self.profile_for(manufacturer=_mask_manufacturer(mask))

        def work(link, report, cancel=None):
            return ops.find_meter_baud(link, cancel, address=address, mask=mask, profile=profile)
        return Job("Baud rate search", KIND_TEST, work)

    # -- blocking shorthands (the CLI) -----------------------------------------------------------
    def test_line(self, *, search_bauds: bool = True, **run: Any):
        return self.execute(self.test_line_job(search_bauds=search_bauds), **run)

    def scan_primary(self, first: int = 1, last: int = 250, *, silent_retries: int = 0, **run: Any):
        return self.execute(self.scan_job("primary", first=first, last=last, silent_retries=silent_retries), **run)

    def scan_secondary(self, mask: str | Any = None, *, silent_retries: int = 0, **run: Any):
        return self.execute(self.scan_job("secondary", mask=mask, silent_retries=silent_retries), **run)

    def read_meter(self, meter: KnownMeter, *, max_telegrams: int = MAX_TELEGRAMS, **run: Any) -> Readout:
        return self.execute(self.read_job(meter, max_telegrams=max_telegrams), **run)

    def read_address(self, address: int | None = None, secondary: str | Any = None, *, expect: str | Any = None,
                     max_telegrams: int = MAX_TELEGRAMS, options: dict | None = None, **run: Any) -> Readout:
        return self.execute(self.read_address_job(address, secondary, expect=expect, max_telegrams=max_telegrams,
                                                  options=options), **run)

    def find_baud(self, address: int | None = None, secondary: str | Any = None, **run: Any) -> int | None:
        return self.execute(self.find_baud_job(address, secondary), **run)

    def set_address(self, new_address: int, **target_and_run: Any):
        target = {k: target_and_run.pop(k) for k in ("meter", "address", "secondary") if k in target_and_run}
        return self.execute(self.set_address_job(new_address, **target), **target_and_run)

    def read_history(self, address: int | None = None, secondary: str | Any = None, *, expect: str | Any = None,
                     types: tuple = ("enhanced_billing",), max_telegrams: int = MAX_TELEGRAMS, **run: Any) -> Readout:
        return self.execute(self.history_job(address=address, secondary=secondary, expect=expect, types=types,
                                             max_telegrams=max_telegrams), **run)

    def set_clock(self, **target_and_run: Any):
        keys = ("meter", "address", "secondary", "to", "tolerance_s", "agreed", "model")
        target = {k: target_and_run.pop(k) for k in keys if k in target_and_run}
        return self.execute(self.set_clock_job(**target), **target_and_run)

    def set_baud(self, new_baud: int, **target_and_run: Any):
        target = {k: target_and_run.pop(k) for k in ("meter", "address", "secondary") if k in target_and_run}
        return self.execute(self.set_baud_job(new_baud, **target), **target_and_run)

    # -- live polling ------------------------------------------------------------------------------
    def poll(self, meter: KnownMeter, cancel: threading.Event | None = None, wait_s: float = 5.0) -> Readout:
        """Worker side: one complete read of ``meter`` for live polling (blocking).

        Waits up to ``wait_s`` for the bus (a read or test in progress); during a
        scan it gives up at once. Raises :class:`BusOperationError` with a few
        words on a miss (a lost port comes through as the driver's error).
        """
        if self._link is None:
            raise BusOperationError(messages.poll_not_connected(self.state == STATE_LOST))
        if self.lock.holder_kind == KIND_SCAN:
            raise BusOperationError(messages.poll_busy(self.lock.holder))
        job = self.read_job(meter)
        with self.hold(f"Live poll {meter.identification}", KIND_POLL, cancel, wait_s) as link:
            try:
                return job.work(link, ops.Report(), cancel)
            except (e.Cancelled, e.PortError):
                raise
            except e.BusError as exc:
                raise BusOperationError(messages.short_miss(exc)) from None


def _mask_manufacturer(mask) -> str | None:
    """The FLAG code a secondary mask names (None: a wildcard)."""
    from drivers.address import WILD_MAN, manufacturer_name

    if mask is None or mask.manufacturer == WILD_MAN:
        return None
    try:
        return manufacturer_name(mask.manufacturer)
    except (ValueError, TypeError):
        return None


__all__ = ["BusSession", "Job", "Operation", "MAX_TELEGRAMS", "KIND_CONNECT", "KIND_TEST", "KIND_SCAN",
           "KIND_READ", "KIND_POLL", "KIND_WRITE", "KIND_CUSTOM"]
