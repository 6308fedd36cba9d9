"""Finding the slaves on a bus: primary scan and secondary wildcard search.

Both take a ``progress`` callback receiving :class:`ScanProgress` (done, total,
eta_s, requests, found: the meter found since the last call or None) and a
``cancel`` hook (threading.Event or callable) checked before every request.
Cancelling raises :class:`drivers.errors.Cancelled` whose ``partial``
attribute holds the meters found so far.

Primary scan: one SND_NKE per address (a silent address costs exactly the
request plus the response timeout, which is the physical floor), then a
REQ_UD2 to each address that acknowledged, to learn its secondary address.
A silent address is not retried by default (``silent_retries``): a scan's
addresses are nearly all silent, and retrying them would triple the scan time.
A garbled answer there means a collision until proven otherwise: the address
is reported in ``garbled`` (every meter that answered cleanly is listed too)
unless a few further clean exchanges all come from the same meter. One clean
read after garbled ones proves nothing: with several meters on an address and
answers lost on the line, a lone survivor answers cleanly now and then.

Secondary search: depth-first over the identification digits, most
significant first. A wildcard selection is sent with the window of the whole
response timeout and classified as nobody / one clean acknowledgement /
collision. One: the slave is read through address 253 (a garbled read means
two slaves acknowledged in perfect step, which is then treated as a
collision). Collision: every value 0-9 of the next wildcard digit is tried;
when those digits together found nobody (or only one slave) under a collision,
the slaves must carry a non-decimal nibble there, and the search also descends
with that digit kept as the wildcard. Once all eight digits are fixed and a
collision persists (the same identification number on several slaves,
typically from different manufacturers), the search goes on over the medium
byte (all 256 values), then the version byte (all 256), then the manufacturer
(the codes of :data:`KNOWN_MANUFACTURERS`, since 32 768 codes cannot be tried).
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Callable

from drivers import errors, framing
from drivers.address import WILD_BYTE, WILD_MAN, SecondaryAddress, SecondaryMask, manufacturer_code
from drivers.link import ADDRESS_SELECTED, Link, Probe

# Likely media first (heat, water, cooling, electricity, gas), then the rest.
_MEDIUM_ORDER = [0x04, 0x0C, 0x07, 0x06, 0x16, 0x15, 0x0D, 0x0A, 0x0B, 0x02, 0x03, 0x08, 0x00, 0x01, 0x05, 0x09,
                 0x0E, 0x0F, 0x17, 0x18, 0x19, 0x1A, 0x1B, 0x1C, 0x20, 0x21, 0x25, 0x28, 0x29]
# first pass: the medium codes EN 13757-3 defines or reserves for new media (0x00-0x3F)
MEDIUM_FIRST = _MEDIUM_ORDER + [m for m in range(0x40) if m not in _MEDIUM_ORDER]
# second pass, only when the first did not explain the collision
MEDIUM_REST = [m for m in range(0x40, 0xFF)]
VERSION_ORDER = [v for v in range(256) if v != WILD_BYTE]

# Manufacturers of wired M-Bus meters (heat, water, electricity, gas, converters).
KNOWN_MANUFACTURERS = (
    "KAM LUG ACW SLB SEN SPX SON EFE HYD DME ZRI ZRM LSE ELS ELV AMT TCH GWF SVM ITW ABB EMH EMU GMC PAD NZR REL "
    "SBC BMT APA QDS MAD WEH TEC RAM BER MTC DWZ ENG FIN GAV HAG HEI HMU IMT INV ISK JAN KNX LAN LGB MET MWU "
    "NIS NRM ONR PIK PRI RKE SAP SCH SIE SMT SOF SPL TIP UGI WZG ZEN ZAP AAA BEG BKT DZG EWT FML ICM INE ITF "
    "KAU KMB MAN MUL ORI PIP RAS SEC SEO STR TIC WMO").split()


@dataclass
class FoundMeter:
    primary_address: int
    secondary_address: str
    manufacturer: str
    version: int
    medium_code: int
    medium: str
    optical_profile: str | None = None

    def key(self) -> tuple:
        return (self.secondary_address, self.manufacturer, self.version, self.medium_code, self.primary_address)

    def to_json(self) -> dict:
        d = asdict(self)
        if d["optical_profile"] is None:
            d.pop("optical_profile")
        return d


@dataclass
class ScanProgress:
    done: int
    total: int
    eta_s: float | None
    requests: int
    found: FoundMeter | None = None
    note: str = ""


@dataclass
class ScanResult:
    mode: str
    baud: int
    requests: int
    elapsed_s: float
    meters: list[FoundMeter]
    unresolved: list[str] = field(default_factory=list)   # masks where a collision could not be split
    garbled: list[int] = field(default_factory=list)      # primary addresses with garbled answers

    def to_json(self) -> dict:
        d = {"mode": self.mode, "baud": self.baud, "requests": self.requests,
             "elapsed_s": round(self.elapsed_s, 3), "meters": [m.to_json() for m in self.meters]}
        if self.unresolved:
            d["unresolved_collisions"] = self.unresolved
        if self.garbled:
            d["garbled_addresses"] = self.garbled
        return d


ProgressCallback = Callable[[ScanProgress], None]


def _sort(meters: list[FoundMeter]) -> list[FoundMeter]:
    return sorted(meters, key=FoundMeter.key)


def meter_from_frame(frame: bytes, primary_address: int) -> FoundMeter:
    from drivers.makes import profile_for_manufacturer

    tg = framing.decode(frame)
    prof = profile_for_manufacturer(tg.manufacturer)
    return FoundMeter(primary_address=primary_address if primary_address != ADDRESS_SELECTED else tg.address,
                      secondary_address=tg.identification, manufacturer=tg.manufacturer,
                      version=tg.version, medium_code=tg.medium_code, medium=tg.medium,
                      optical_profile=prof.name if prof else None)


class _Clock:
    """Progress bookkeeping: done/total and an ETA from the mean time per request."""

    def __init__(self, link: Link, progress: ProgressCallback | None):
        self.link = link
        self.progress = progress
        self.t0 = time.monotonic()
        self.req0 = link.requests

    def report(self, done: int, total: int, found: FoundMeter | None = None, note: str = "") -> None:
        if self.progress is None:
            return
        elapsed = time.monotonic() - self.t0
        eta = None
        if done > 0 and total >= done:
            eta = elapsed / done * (total - done)
        self.progress(ScanProgress(done, total, eta, self.link.requests - self.req0, found, note))


def scan_primary(link: Link, *, first: int = 1, last: int = 250, identify: bool = True,
                 silent_retries: int = 0, progress: ProgressCallback | None = None,
                 baud: int | None = None) -> ScanResult:
    """Probe primary addresses ``first..last`` with SND_NKE; read each one that answers.

    A garbled answer (to the SND_NKE or to the read) means a collision until
    proven otherwise: the address goes into ``garbled`` unless
    :data:`CONFIRM_ROUNDS` further clean exchanges (SND_NKE and REQ_UD2) all
    come from the same meter. Every meter that did answer cleanly is listed
    all the same."""
    if not (0 <= first <= last <= 250):
        raise ValueError("primary addresses are 0..250 (first <= last)")
    clock = _Clock(link, progress)
    found: list[FoundMeter] = []
    garbled: list[int] = []
    total = last - first + 1
    req0 = link.requests
    t0 = time.monotonic()
    try:
        for i, address in enumerate(range(first, last + 1)):
            state = link.ping(address, retries=silent_retries)
            new: list[FoundMeter] = []
            if state != "none":
                if identify:
                    new, collision = _identify_address(link, address, suspect=state == "garbled")
                else:
                    collision = state == "garbled"
                    new = [] if collision else [FoundMeter(address, "", "", 0, 0, "")]
                if collision:
                    garbled.append(address)
                found.extend(new)
            if not new:
                clock.report(i + 1, total, None)
            for m in new:
                clock.report(i + 1, total, m)
    except errors.Cancelled as exc:
        exc.partial = _sort(found)
        raise
    return ScanResult("primary", baud or link.transport.baud, link.requests - req0, time.monotonic() - t0,
                      _sort(found), garbled=garbled)


# A garbled answer at a primary address is a collision until this many clean rounds (SND_NKE + REQ_UD2,
# each answered cleanly by the same meter) prove a single slave. A garbled acknowledgement (one byte, E5)
# or a second identity ends the proof; lost answers and damaged long frames only do not count (noise on a
# long frame is likelier than on one byte). CONFIRM_ATTEMPTS bounds the rounds tried.
CONFIRM_ROUNDS = 3
CONFIRM_ATTEMPTS = 6
_GARBLED = (errors.Collision, errors.ChecksumError, errors.UnexpectedAnswer)


def _identify_address(link: Link, address: int, *, suspect: bool) -> tuple[list[FoundMeter], bool]:
    """The meters that answered at ``address`` (read with REQ_UD2) and whether it is a collision.

    Each read is a single exchange (``retries=0``), so that every garbled answer is seen."""
    seen: dict[tuple, FoundMeter] = {}
    silent = False
    for _ in range(1 + link.retries):
        try:
            m = meter_from_frame(link.req_ud2(address, retries=0), address)
        except _GARBLED:
            suspect = True
            continue
        except errors.NoAnswer:
            silent = True
            continue
        seen[_identity_key(m)] = m
        break
    if not seen:
        if suspect:
            return [], True
        # acknowledged, but never sent its data: a meter is there all the same
        return ([FoundMeter(address, "", "", 0, 0, "")] if silent else []), False
    if suspect:
        suspect = not _confirm_single(link, address, seen)
    return list(seen.values()), suspect or len(seen) > 1


def _identity_key(m: FoundMeter) -> tuple:
    return (m.secondary_address, m.manufacturer, m.version, m.medium_code)


def _confirm_single(link: Link, address: int, seen: dict[tuple, FoundMeter]) -> bool:
    """True when CONFIRM_ROUNDS clean rounds at ``address`` all come from the one meter in ``seen``;
    another meter's clean answer is added to ``seen``."""
    clean = 0
    for _ in range(CONFIRM_ATTEMPTS):
        state = link.ping(address)
        if state == "garbled":
            return False
        if state == "none":
            continue
        try:
            m = meter_from_frame(link.req_ud2(address, retries=0), address)
        except (errors.NoAnswer, *_GARBLED):
            continue         # a damaged long frame may be line noise: only a garbled E5 or two ids prove it
        k = _identity_key(m)
        if k not in seen:
            seen[k] = m
            return False
        clean += 1
        if clean >= CONFIRM_ROUNDS:
            return True
    return False


class _Search:
    def __init__(self, link: Link, progress: ProgressCallback | None, silent_retries: int,
                 manufacturers: tuple[str, ...]):
        self.link = link
        self.clock = _Clock(link, progress)
        self.silent_retries = silent_retries
        self.manufacturers = manufacturers
        self.found: dict[str, FoundMeter] = {}
        self.unresolved: list[str] = []
        self.done = 0
        self.pending = 1      # probes known to be still ahead (for the ETA)

    def _progress(self, new: FoundMeter | None = None) -> None:
        self.clock.report(self.done, self.done + self.pending, new)

    def probe(self, mask: SecondaryMask) -> Probe:
        p = self.link.probe(mask, silent_retries=self.silent_retries)
        self.done += 1
        self.pending = max(0, self.pending - 1)
        return p

    def read_selected(self, mask: SecondaryMask) -> FoundMeter | None:
        """Read the slave that alone acknowledged ``mask``; None if two answered in step."""
        try:
            frame = self.link.req_ud2(ADDRESS_SELECTED, retries=1)
        except (errors.Collision, errors.ChecksumError, errors.UnexpectedAnswer):
            return None                      # two in step, or a late answer in the way: split further
        except errors.NoAnswer:
            # acknowledged the selection but not the read: some meters answer only after a link
            # reset. SND_NKE to 253 resets (and deselects) it; select it again and ask once more.
            try:
                self.link.snd_nke_quiet(ADDRESS_SELECTED)
                self.link.select(mask, retries=0)
                frame = self.link.req_ud2(ADDRESS_SELECTED, retries=1)
            except errors.NoAnswer:
                return FoundMeter(-1, mask.digits, "", mask.version, mask.medium, "")
            except errors.LinkError:
                return None
        try:
            m = meter_from_frame(frame, ADDRESS_SELECTED)
        except errors.LinkError:
            return None
        addr = SecondaryAddress(m.secondary_address, m.manufacturer, m.version, m.medium_code)
        if not mask.matches(addr):
            return None
        return m

    def record(self, m: FoundMeter) -> None:
        k = f"{m.secondary_address}.{m.manufacturer}.{m.version}.{m.medium_code}"
        if k not in self.found:
            self.found[k] = m
            self._progress(m)

    def visit(self, mask: SecondaryMask, kept: frozenset = frozenset()) -> int:
        """Explore ``mask``; returns how many distinct slaves were found under it.

        ``kept``: digit positions that stay wildcards on purpose (non-decimal nibbles).
        """
        outcome = self.probe(mask)
        self._progress()
        if outcome.outcome == Probe.NONE:
            return 0
        before = len(self.found)
        if outcome.outcome == Probe.SINGLE:
            m = self.read_selected(mask)
            if m is not None:
                self.record(m)
                return len(self.found) - before
        # collision (or a single that turned out to be two in step)
        self.split(mask, kept)
        return len(self.found) - before

    def split(self, mask: SecondaryMask, kept: frozenset, medium_done: bool = False) -> None:
        free = [i for i, c in enumerate(mask.digits) if c == "F" and i not in kept]
        if free:
            pos = free[0]
            self.pending += 10
            hits = 0
            for d in "0123456789":
                hits += self.visit(mask.with_digit(pos, d), kept)
            if hits <= 1:
                # A collision that the decimal digits do not explain: some slave has a
                # non-decimal nibble here (or its answer was lost). Keep the wildcard
                # at this digit and split on the next one instead.
                self.split(mask, kept | {pos})
            return
        # all eight digits fixed: medium, version, manufacturer
        if mask.medium == WILD_BYTE and not medium_done:
            self.pending += len(MEDIUM_FIRST)
            hits = 0
            for med in MEDIUM_FIRST:
                hits += self.visit(SecondaryMask(mask.digits, mask.manufacturer, mask.version, med), kept)
            if hits <= 1:
                self.pending += len(MEDIUM_REST)
                for med in MEDIUM_REST:
                    hits += self.visit(SecondaryMask(mask.digits, mask.manufacturer, mask.version, med), kept)
            if hits <= 1:
                # the slaves share the medium too: split on the version byte
                self.split(SecondaryMask(mask.digits, mask.manufacturer, mask.version, WILD_BYTE), kept,
                           medium_done=True)
            return
        if mask.version == WILD_BYTE:
            self.pending += len(VERSION_ORDER)
            hits = 0
            for ver in VERSION_ORDER:
                hits += self.visit(SecondaryMask(mask.digits, mask.manufacturer, ver, mask.medium), kept)
            if hits <= 1 and mask.manufacturer == WILD_MAN:
                self.split_manufacturer(mask, kept)
            return
        if mask.manufacturer == WILD_MAN:
            self.split_manufacturer(mask, kept)
            return
        self.unresolved.append(str(mask))

    def split_manufacturer(self, mask: SecondaryMask, kept: frozenset) -> None:
        self.pending += len(self.manufacturers)
        hits = 0
        for man in self.manufacturers:
            hits += self.visit(SecondaryMask(mask.digits, manufacturer_code(man), mask.version, mask.medium), kept)
        if hits <= 1:
            self.unresolved.append(str(mask))


def scan_secondary(link: Link, *, start: SecondaryMask | None = None, silent_retries: int = 0,
                   progress: ProgressCallback | None = None, manufacturers: tuple[str, ...] = tuple(KNOWN_MANUFACTURERS),
                   baud: int | None = None) -> ScanResult:
    """Find every slave matching ``start`` (default: everything) by wildcard selection."""
    start = start or SecondaryMask()
    search = _Search(link, progress, silent_retries, manufacturers)
    req0 = link.requests
    t0 = time.monotonic()
    try:
        search.visit(start)
    except errors.Cancelled as exc:
        exc.partial = _sort(list(search.found.values()))
        raise
    finally:
        link.deselect()
    return ScanResult("secondary", baud or link.transport.baud, link.requests - req0, time.monotonic() - t0,
                      _sort(list(search.found.values())), unresolved=search.unresolved)
