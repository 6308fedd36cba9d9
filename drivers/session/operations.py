"""The session's operations on an open link (worker side, blocking): line test, scan, read, writes.

Each function talks to the meters through :mod:`drivers.ops` and
:mod:`drivers.scan` and reports through a :class:`Report` (``report(done,
total, text)`` for progress, ``report.item(obj)`` for a result found on the
way: a meter). The session (:mod:`drivers.session.core`) decides the read plan
and the wake-up profile before calling them, and holds the bus meanwhile.
"""
from __future__ import annotations

import datetime as _dt
import time
from collections.abc import Callable
from typing import Any

from drivers import errors as e
from drivers.session import messages
from drivers.session.types import BAUD_SEARCH_ORDER, KnownMeter, LineTestResult, ScanSummary, meter_key


class Report:
    """Progress and items of an operation: ``report(done, total, text)``, ``report.item(obj)``.

    Built from two optional callbacks; the GUI passes its worker task's
    reporter instead (it has the same two methods)."""

    def __init__(self, progress: Callable[[Any, Any, str], None] | None = None,
                 on_item: Callable[[Any], None] | None = None) -> None:
        self._progress = progress
        self._on_item = on_item

    def __call__(self, done: Any, total: Any = None, text: str = "") -> None:
        if self._progress is not None:
            self._progress(done, total, text)

    def item(self, obj: Any) -> None:
        if self._on_item is not None:
            self._on_item(obj)


def identity_of(tg) -> str:
    """``ID.MAN.VV.MM`` of a decoded telegram."""
    return meter_key(tg.identification, tg.manufacturer, tg.version, tg.medium_code)


def check_identity(tg, expect, expected_label: str) -> str:
    """The identity check: the meter that answered is the one asked for (``expect``: a
    :class:`drivers.address.SecondaryMask`, wildcards allowed). Returns the key of the
    meter that answered; raises :class:`drivers.errors.WrongMeter` otherwise."""
    from drivers.address import SecondaryAddress

    got = identity_of(tg)
    if expect is not None:
        addr = SecondaryAddress(tg.identification, tg.manufacturer, tg.version or 0, tg.medium_code or 0)
        try:
            ok = expect.matches(addr)
        except (ValueError, TypeError):      # a manufacturer code that is no FLAG code
            ok = False
        if not ok:
            raise e.WrongMeter(messages.wrong_meter(got, expected_label), got=got, expected=expected_label)
    return got


def read_all(link, *, address: int | None, mask, profile, report: Report, max_telegrams: int, keys=None):
    """Every telegram of one meter (:func:`drivers.ops.read_meter`) with progress on ``report``;
    encrypted telegrams decrypted with the key lookup ``keys``."""
    from drivers.ops import read_meter

    def prog(ev) -> None:
        report(ev.done, ev.total, ev.note)
    return read_meter(link, address=None if mask is not None else address, secondary=mask, profile=profile,
                      progress=prog, max_telegrams=max_telegrams, keys=keys)


def now_utc() -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc)


class Waker:
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


# --- line test ------------------------------------------------------------------------------------

def probe_line(link, profile, baud: int, simulated: bool) -> LineTestResult:
    """One baud rate: who answers the test address, or a wildcard selection."""
    from drivers.address import SecondaryMask
    from drivers.link import ADDRESS_SELECTED, ADDRESS_TEST, Probe
    from drivers.scan import meter_from_frame
    from drivers.wakeup import wake

    if profile is not None and profile.has_preamble:
        wake(link.transport, profile)
    state = link.ping(ADDRESS_TEST, retries=1)
    if state == "ack":
        try:
            fm = meter_from_frame(link.req_ud2(ADDRESS_TEST), ADDRESS_TEST)
        except e.LinkError:
            return LineTestResult(True, baud, detail=messages.line_one_silent(baud))
        m = KnownMeter.from_found(fm, found_by="read", simulated=simulated)
        m.primary_address = fm.primary_address if 0 < fm.primary_address <= 250 else None
        return LineTestResult(True, baud, [f"{m.make} {m.identification} ({m.medium or 'meter'})"],
                              detail=messages.line_one(f"{m.make} {m.identification}", baud), meters=[m])
    if state == "garbled":
        return LineTestResult(True, baud, several=True, detail=messages.line_several(baud))
    p = link.probe(SecondaryMask())
    link.deselect()
    if p.outcome == Probe.SINGLE:
        try:
            fm = meter_from_frame(link.req_ud2(ADDRESS_SELECTED, retries=1), ADDRESS_SELECTED)
        except e.LinkError:
            return LineTestResult(True, baud, detail=messages.line_one_secondary_silent(baud))
        m = KnownMeter.from_found(fm, found_by="secondary", simulated=simulated)
        return LineTestResult(True, baud, [f"{m.make} {m.identification} ({m.medium or 'meter'})"],
                              detail=messages.line_one(f"{m.make} {m.identification}", baud, secondary=True),
                              meters=[m])
    if p.outcome == Probe.COLLISION:
        return LineTestResult(True, baud, several=True, detail=messages.line_several(baud))
    return LineTestResult(False, baud, detail=messages.line_nothing_at(baud))


def test_line(link, report: Report, cancel, *, profile, simulated: bool, search_bauds: bool) -> LineTestResult:
    """What answers on the line, and at which baud rate (see :meth:`BusSession.test_line`)."""
    from drivers.link import is_cancelled

    tr = link.transport
    t0 = time.monotonic()
    req0 = link.requests
    start_baud = tr.baud
    bauds = [start_baud]
    if search_bauds and tr.supports_baud_change():
        bauds += [b for b in BAUD_SEARCH_ORDER if b != start_baud]
    tried = []
    for i, baud in enumerate(bauds):
        if is_cancelled(cancel):
            break
        if baud != tr.baud:
            try:
                tr.set_baud(baud)
            except e.BaudNotSupported:
                continue
        tried.append(baud)
        report(i, len(bauds), f"listening at {baud} Bd")
        res = probe_line(link, profile, baud, simulated)
        if res.ok:
            res.tried = tried
            res.requests = link.requests - req0
            res.elapsed_s = time.monotonic() - t0
            if baud != start_baud:
                res.detail += messages.line_moved(start_baud, baud)
            return res
    if tr.baud != start_baud:
        try:
            tr.set_baud(start_baud)
        except e.BusError:
            pass
    return LineTestResult(False, start_baud, detail=messages.line_nothing(tried), tried=tried,
                          requests=link.requests - req0, elapsed_s=time.monotonic() - t0)


def find_meter_baud(link, cancel, *, address: int | None, mask, profile) -> int | None:
    """The other baud rate at which the meter at ``address`` (or matching ``mask``) answers, or None.

    Tries :data:`BAUD_SEARCH_ORDER` (not the current rate) with one SND_NKE or selection each; the
    port goes back to its rate afterwards. Nothing is tried on a transport with a fixed line rate."""
    from drivers.address import SecondaryMask
    from drivers.link import Probe, is_cancelled
    from drivers.wakeup import wake

    tr = link.transport
    start = tr.baud
    if not tr.supports_baud_change():
        return None
    found = None
    try:
        for baud in BAUD_SEARCH_ORDER:
            if baud == start or is_cancelled(cancel):
                continue
            try:
                tr.set_baud(baud)
            except e.BaudNotSupported:
                continue
            if profile is not None and profile.has_preamble:
                wake(tr, profile)
            if mask is not None:
                answered = link.probe(mask if isinstance(mask, SecondaryMask) else SecondaryMask.parse(mask)
                                      ).outcome != Probe.NONE
                link.deselect()
            else:
                answered = link.ping(address) != "none"
            if answered:
                found = baud
                break
    finally:
        if tr.baud != start:
            try:
                tr.set_baud(start)
            except e.BusError:
                pass
    return found


# --- scans -----------------------------------------------------------------------------------------

def scan(link, report: Report, *, mode: str, profile, simulated: bool, first: int = 1, last: int = 250,
         start=None, silent_retries: int = 0, describe: Callable[[BaseException, int], BaseException] | None = None
         ) -> ScanSummary:
    """A primary scan (``first..last``) or a secondary search (below ``start``); every meter found is
    handed to ``report.item`` as a :class:`KnownMeter` as soon as it is found.

    ``describe(exc, kept)``: turns a bus error into the exception to raise (the
    count of meters found so far goes into the message); None raises it as is."""
    from drivers.scan import scan_primary, scan_secondary

    found: list[KnownMeter] = []

    def on_progress(ev) -> None:
        if ev.found is not None and ev.found.secondary_address:
            m = KnownMeter.from_found(ev.found, found_by=mode, simulated=simulated)
            found.append(m)
            report.item(m)
        if mode == "primary":
            text = f"address {first + ev.done - 1} · {len(found)} found"
        else:
            text = f"{ev.done} selections · {len(found)} found"
        report(ev.done, ev.total, text)

    waker = Waker(link.transport, profile)
    waker.wake()

    def on_progress_awake(ev) -> None:
        on_progress(ev)
        waker.keep_awake()      # between two requests: re-send the preamble before meters doze off
    try:
        if mode == "primary":
            res = scan_primary(link, first=first, last=last, silent_retries=silent_retries,
                               progress=on_progress_awake)
        else:
            res = scan_secondary(link, start=start, silent_retries=silent_retries, progress=on_progress_awake)
    except e.Cancelled:
        raise
    except e.BusError as exc:
        if describe is None:
            raise
        err = describe(exc, len(found))
        if err is exc:
            raise
        raise err from None
    # meters the progress events did not carry (none expected): hand them over too
    keys = {m.key for m in found}
    for fm in res.meters:
        if fm.secondary_address:
            m = KnownMeter.from_found(fm, found_by=mode, simulated=simulated)
            if m.key not in keys:
                report.item(m)
                found.append(m)
    return ScanSummary(mode, len(res.meters), 0, res.requests, res.elapsed_s, res.baud,
                       list(res.garbled), list(res.unresolved), result=res)
