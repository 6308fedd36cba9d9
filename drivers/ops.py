"""Meter operations on a link: read every telegram, set the primary address, set the baud rate.

These are what the CLI and the GUI's worker call. Each takes a ``progress``
callback (:class:`OpProgress`) and honours the link's cancel hook before
every request. Writes are confirmed by reading the meter back at its new
address / baud rate and checking it is the same meter; a write that is not
confirmed returns ``ok=False`` with the reason, it is never reported as done.
"""
from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from typing import Callable

from drivers import errors, framing
from drivers.address import SecondaryMask
from drivers.link import ADDRESS_SELECTED, Link
from drivers.makes import family_profile, profile_for_manufacturer
from drivers.wakeup import WakeupProfile, wake

MAX_TELEGRAMS = 64


@dataclass
class OpProgress:
    done: int
    total: int | None        # None while the number of telegrams is unknown
    eta_s: float | None
    note: str = ""


ProgressCallback = Callable[[OpProgress], None]


@dataclass
class ReadResult:
    address: int | None
    secondary_address: str | None
    frames: list[bytes]
    telegrams: list            # decoded telegrams (drivers.mbus)
    profile: str | None = None
    suggested_profile: str | None = None
    requests: int = 0
    elapsed_s: float = 0.0

    @property
    def records(self) -> list:
        out = []
        for t in self.telegrams:
            out.extend(t.records)
        return out

    def to_json(self) -> dict:
        tel = [t.to_json() for t in self.telegrams]
        recs = [r for t in tel for r in t.get("records", [])]
        return {"address": self.address, "secondary_address": self.secondary_address,
                "telegrams": tel, "records": recs}


def _identity(tg) -> tuple:
    return (tg.identification, tg.manufacturer, tg.version, tg.medium_code)


def _target(link: Link, address: int | None, secondary: SecondaryMask | None, reset: bool) -> int:
    if secondary is not None:
        link.select(secondary)
        if reset:
            # SND_NKE to 253 resets the selected slave (and may deselect it): select again after it
            link.snd_nke_quiet(ADDRESS_SELECTED)
            link.select(secondary)
        return ADDRESS_SELECTED
    if address is None:
        raise ValueError("give a primary or a secondary address")
    if reset:
        link.snd_nke(address)
    return address


def address_meter(link: Link, *, address: int | None = None, secondary: SecondaryMask | None = None,
                  reset: bool = True) -> int:
    """Reset (and select) one meter; the address to talk to it at (253 when selected by secondary address)."""
    return _target(link, address, secondary, reset)


def read_meter(link: Link, *, address: int | None = None, secondary: SecondaryMask | None = None,
               profile: WakeupProfile | None = None, progress: ProgressCallback | None = None,
               max_telegrams: int = MAX_TELEGRAMS, keys=None) -> ReadResult:
    """Read all telegrams of one meter (REQ_UD2 with FCB toggled until no DIF 0x1F).

    ``keys``: key lookup for encrypted telegrams (:func:`drivers.framing.decode`)."""
    t0 = time.monotonic()
    req0 = link.requests
    reset = True if profile is None else profile.reset_before_read
    if profile is not None and profile.has_preamble:
        wake(link.transport, profile)
    last_exchange = time.monotonic()
    target = _target(link, address, secondary, reset)
    frames: list[bytes] = []
    telegrams: list = []
    while True:
        if profile is not None and profile.has_preamble and profile.awake_s and \
                time.monotonic() - last_exchange > 0.8 * profile.awake_s:
            wake(link.transport, profile)            # it dozed off during a long readout
        frame = link.req_ud2(target)
        last_exchange = time.monotonic()
        tg = framing.decode(frame, keys)
        if telegrams and secondary is None and _identity(tg) != _identity(telegrams[0]):
            raise errors.Collision(f"address {address}: telegrams from different meters (shared address?)")
        if not telegrams:
            # a generic wake-up worked: from now on follow the family's profile (its awake time)
            profile = family_profile(profile, tg.manufacturer)
        frames.append(frame)
        telegrams.append(tg)
        more = bool(getattr(tg, "more_records_follow", False))
        if progress:
            n = len(telegrams)
            per = (time.monotonic() - t0) / n
            progress(OpProgress(n, None if more else n, per if more else 0.0, f"telegram {n}"))
        if not more:
            break
        if len(telegrams) >= max_telegrams:
            raise errors.UnexpectedAnswer(f"more than {max_telegrams} telegrams: the meter never says it is done")
    first = telegrams[0]
    suggested = profile_for_manufacturer(first.manufacturer)
    return ReadResult(address=first.address if target == ADDRESS_SELECTED else address,
                      secondary_address=first.identification, frames=frames, telegrams=telegrams,
                      profile=profile.name if profile else None,
                      suggested_profile=suggested.name if suggested else None,
                      requests=link.requests - req0, elapsed_s=time.monotonic() - t0)


@contextlib.contextmanager
def recording(link: Link):
    """Keep every frame sent and every answer received on ``link`` meanwhile: yields the list of
    ("tx" | "rx", bytes) in order (a silence is not listed). The link's own hooks still run."""
    frames: list[tuple[str, bytes]] = []
    on_req, on_resp = link.on_request, link.on_response

    def tx(frame: bytes) -> None:
        frames.append(("tx", bytes(frame)))
        if on_req:
            on_req(frame)

    def rx(raw: bytes) -> None:
        if raw:
            frames.append(("rx", bytes(raw)))
        if on_resp:
            on_resp(raw)
    link.on_request, link.on_response = tx, rx
    try:
        yield frames
    finally:
        link.on_request, link.on_response = on_req, on_resp


@dataclass
class WriteResult:
    ok: bool
    acknowledged: bool
    confirmed: bool
    detail: str = ""
    before: dict = field(default_factory=dict)
    after: dict = field(default_factory=dict)
    requests: int = 0
    kind: str = ""                                   # "address" | "baud"
    frames: list = field(default_factory=list)       # ("tx" | "rx", bytes) in order: the evidence

    def evidence(self) -> dict:
        """The write as the register keeps it (``Register.record_meter_write``): what, before, after, frames."""
        if self.kind == "address":
            before, after = {"address": self.before.get("address")}, {"address": self.after.get("new_address")}
        else:
            before, after = {"baud": self.before.get("baud")}, {"baud": self.after.get("new_baud")}
        after["acknowledged"] = self.acknowledged
        return {"kind": self.kind, "ok": self.ok, "outcome": "confirmed" if self.ok else
                ("not_confirmed" if self.acknowledged else "refused"), "detail": self.detail,
                "before": before, "after": after, "manufacturer": self.before.get("manufacturer"),
                "identification": self.before.get("secondary_address"),
                "frames": [(d, bytes(f)) for d, f in self.frames]}

    def to_json(self) -> dict:
        d = {"ok": self.ok, "acknowledged": self.acknowledged, "confirmed": self.confirmed}
        d.update(self.before)
        d.update(self.after)
        if self.detail:
            d["detail"] = self.detail
        d["requests"] = self.requests
        return d


def _identify(link: Link, target: int) -> tuple:
    return _identity(framing.decode(link.req_ud2(target)))


def set_primary_address(link: Link, *, new_address: int, address: int | None = None,
                        secondary: SecondaryMask | None = None,
                        profile: WakeupProfile | None = None) -> WriteResult:
    """SND_UD CI 0x51 with DIF 0x01 VIF 0x7A; confirmed by a read at the new address.
    Every frame sent and received is in the result's ``frames``."""
    if not 0 <= new_address <= 250:
        raise ValueError("the new primary address must be 0..250")
    with recording(link) as frames:
        res = _set_primary_address(link, new_address, address, secondary, profile)
    res.kind, res.frames = "address", frames
    return res


def _set_primary_address(link: Link, new_address: int, address: int | None, secondary: SecondaryMask | None,
                         profile: WakeupProfile | None) -> WriteResult:
    req0 = link.requests
    if profile is not None and profile.has_preamble:
        wake(link.transport, profile)
    target = _target(link, address, secondary, reset=True)
    tg = framing.decode(link.req_ud2(target))
    ident = _identity(tg)
    before = {"address": address if address is not None else getattr(tg, "address", None),
              "secondary_address": ident[0], "manufacturer": ident[1]}
    after = {"new_address": new_address}
    try:
        link.snd_ud(target, framing.CI_DATA_SEND, bytes([0x01, 0x7A, new_address]))
    except errors.LinkError as exc:
        return WriteResult(False, False, False, f"not acknowledged: {exc}", before, after, link.requests - req0)
    try:
        link.snd_nke(new_address)
        got = _identify(link, new_address)
    except errors.LinkError as exc:
        return WriteResult(False, True, False, f"acknowledged, but no read at address {new_address}: {exc}",
                           before, after, link.requests - req0)
    if got != ident:
        return WriteResult(False, True, False,
                           f"address {new_address} answers as {got[0]} {got[1]}, not {ident[0]} {ident[1]}",
                           before, after, link.requests - req0)
    return WriteResult(True, True, True, "", before, after, link.requests - req0)


def set_baud(link: Link, *, new_baud: int, address: int | None = None, secondary: SecondaryMask | None = None,
             profile: WakeupProfile | None = None) -> WriteResult:
    """SND_UD control frame with CI 0xB8-0xBF; confirmed by a read at the new baud rate.

    The slave acknowledges at the old rate and switches. If the transport cannot
    change its line rate (a socket:// gateway), the write cannot be confirmed.
    Every frame sent and received is in the result's ``frames``.
    """
    if new_baud not in framing.CI_BY_BAUD:
        raise ValueError(f"no CI for {new_baud} baud")
    with recording(link) as frames:
        res = _set_baud(link, new_baud, address, secondary, profile)
    res.kind, res.frames = "baud", frames
    return res


def _set_baud(link: Link, new_baud: int, address: int | None, secondary: SecondaryMask | None,
              profile: WakeupProfile | None) -> WriteResult:
    req0 = link.requests
    tr = link.transport
    old_baud = tr.baud
    if profile is not None and profile.has_preamble:
        wake(tr, profile)
    target = _target(link, address, secondary, reset=True)
    ident = _identify(link, target)
    before = {"address": address, "secondary_address": ident[0], "manufacturer": ident[1], "baud": old_baud}
    after = {"new_baud": new_baud}
    try:
        link.snd_ud(target, framing.CI_BY_BAUD[new_baud])
    except errors.LinkError as exc:
        return WriteResult(False, False, False, f"not acknowledged: {exc}", before, after, link.requests - req0)
    if not tr.supports_baud_change():
        return WriteResult(False, True, False,
                           f"acknowledged, but {tr.url} cannot change its line baud rate to confirm "
                           "(set the gateway to the new rate, or use rfc2217://)", before, after,
                           link.requests - req0)
    tr.set_baud(new_baud)
    try:
        if secondary is not None:
            link.select(secondary)
            got = _identify(link, ADDRESS_SELECTED)
        else:
            link.snd_nke(address)
            got = _identify(link, address)
    except errors.LinkError as exc:
        return WriteResult(False, True, False, f"acknowledged, but no read at {new_baud} baud: {exc}",
                           before, after, link.requests - req0)
    if got != ident:
        return WriteResult(False, True, False, f"at {new_baud} baud another meter answers ({got[0]} {got[1]})",
                           before, after, link.requests - req0)
    return WriteResult(True, True, True, "", before, after, link.requests - req0)
