"""EN 13757-2 link layer (master side): requests, FCB/FCV, retries, selection.

:class:`Link` drives one transport. It sends SND_NKE, REQ_UD2 / REQ_UD1 with
the frame count bit handled per slave, SND_UD (application reset, writes),
selects slaves by secondary address (CI 0x52) and probes wildcard masks.
Frames are built and parsed by :mod:`drivers.mbus` (through the thin adapter
:mod:`drivers.framing`); this module only does the dialogue.

FCB: after SND_NKE the next request with FCV=1 carries FCB=1; the bit toggles
after every successful exchange with that slave and is kept unchanged when a
request is repeated (no answer, bad checksum), so a slave whose answer was lost
resends the same telegram instead of skipping to the next one. State is per
slave (primary address, or the selected secondary address).

Every request checks the cancel hook first, so a caller's Cancel takes effect
within one response timeout.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Callable, Union

from drivers import errors, framing
from drivers.address import SecondaryMask

ADDRESS_SELECTED = 253     # the slave selected by secondary address
ADDRESS_TEST = 254         # every slave answers (point to point only)
ADDRESS_BROADCAST = 255    # every slave listens, none answers

CancelLike = Union[threading.Event, Callable[[], bool], None]


def is_cancelled(cancel: CancelLike) -> bool:
    if cancel is None:
        return False
    if hasattr(cancel, "is_set"):
        return cancel.is_set()
    return bool(cancel())


@dataclass(frozen=True)
class Probe:
    """What a wildcard selection got back."""

    NONE = "none"
    SINGLE = "single"
    COLLISION = "collision"

    outcome: str
    raw: bytes = b""


class Link:
    """The master side of the link layer on an open transport.

    ``retries``: extra attempts of a request that got no answer or a garbled
    one. ``cancel``: threading.Event or callable checked before each request.
    ``on_request``: called with (frame) for each frame sent (counting, logging);
    ``on_response``: with the bytes received for it (empty: silence), e.g. to keep
    a write's frames as evidence.
    """

    def __init__(self, transport, *, retries: int = 2, cancel: CancelLike = None,
                 on_request: Callable[[bytes], None] | None = None,
                 on_response: Callable[[bytes], None] | None = None):
        self.transport = transport
        self.retries = retries
        self.cancel = cancel
        self.on_request = on_request
        self.on_response = on_response
        self.requests = 0
        self._fcb: dict[object, bool] = {}
        self._selected: SecondaryMask | None = None

    # --- plumbing -------------------------------------------------------------
    def check_cancel(self) -> None:
        if is_cancelled(self.cancel):
            raise errors.Cancelled("cancelled")

    def _send(self, frame: bytes, listen: str = "frame", timeout_s: float | None = None) -> bytes:
        self.check_cancel()
        self.requests += 1
        if self.on_request:
            self.on_request(frame)
        raw = self.transport.transact(frame, listen=listen, timeout_s=timeout_s)
        if self.on_response:
            self.on_response(raw)
        return raw

    def _exchange(self, frame: bytes, *, expect: str, retries: int | None = None,
                  timeout_s: float | None = None, what: str = "") -> bytes:
        """Send, classify, retry. ``expect``: "ack" (single E5) or "frame" (a long frame) or "any"."""
        attempts = 1 + (self.retries if retries is None else retries)
        last: errors.LinkError | None = None
        for _ in range(attempts):
            raw = self._send(frame, timeout_s=timeout_s)
            try:
                answer = framing.classify_answer(raw)
            except errors.LinkError as exc:
                last = exc
                continue
            if expect == "ack" and not answer.is_ack:
                last = errors.UnexpectedAnswer(f"{what}: expected an acknowledgement, got a {answer.kind} frame")
                continue
            if expect == "frame" and answer.kind != "long":
                last = errors.UnexpectedAnswer(f"{what}: expected a long frame, got {answer.kind}")
                continue
            return answer.data
        assert last is not None
        if what and isinstance(last, errors.NoAnswer):
            raise errors.NoAnswer(f"{what}: no answer") from None
        if what:
            raise type(last)(f"{what}: {last}") from None
        raise last

    def _key(self, address: int) -> object:
        if address == ADDRESS_SELECTED and self._selected is not None:
            return ("sec", str(self._selected))
        return address

    def _next_fcb(self, address: int) -> bool:
        return self._fcb.get(self._key(address), True)

    def _toggle(self, address: int) -> None:
        k = self._key(address)
        self._fcb[k] = not self._fcb.get(k, True)

    # --- requests -------------------------------------------------------------
    def snd_nke(self, address: int, *, retries: int | None = None) -> None:
        """Reset a slave's link layer (expects E5). Next FCB for it is 1."""
        self._exchange(framing.short_frame(framing.C_SND_NKE, address), expect="ack", retries=retries,
                       what=f"address {address}")
        self._fcb[self._key(address)] = True

    def snd_nke_quiet(self, address: int) -> bytes:
        """SND_NKE without expecting an answer (resetting the selected slave, broadcast)."""
        raw = self._send(framing.short_frame(framing.C_SND_NKE, address),
                         listen="none" if address == ADDRESS_BROADCAST else "frame")
        self._fcb[self._key(address)] = True
        return raw

    def ping(self, address: int, *, retries: int = 0) -> str:
        """SND_NKE as a probe: "ack", "none", or "garbled" (several answers or a damaged one)."""
        raw = self._send(framing.short_frame(framing.C_SND_NKE, address))
        for _ in range(retries):
            if raw:
                break
            raw = self._send(framing.short_frame(framing.C_SND_NKE, address))
        if not raw:
            return "none"
        self._fcb[self._key(address)] = True
        try:
            ans = framing.classify_answer(raw)
        except errors.LinkError:
            return "garbled"
        return "ack" if ans.is_ack else "garbled"

    def req_ud2(self, address: int, *, retries: int | None = None) -> bytes:
        """Request class 2 data; returns the RSP_UD frame bytes."""
        fcb = self._next_fcb(address)
        frame = framing.short_frame(framing.c_req_ud2(fcb), address)
        data = self._exchange(frame, expect="frame", retries=retries, what=f"address {address}")
        self._toggle(address)
        return data

    def req_ud1(self, address: int, *, retries: int | None = None) -> bytes:
        """Request class 1 (alarm) data; returns E5 (nothing pending) or the answer frame."""
        fcb = self._next_fcb(address)
        frame = framing.short_frame(framing.c_req_ud1(fcb), address)
        data = self._exchange(frame, expect="any", retries=retries, what=f"address {address}")
        self._toggle(address)
        return data

    def snd_ud(self, address: int, ci: int, payload: bytes = b"", *, retries: int | None = None) -> None:
        """Send user data (long frame, or a control frame when there is no payload); expects E5."""
        fcb = self._next_fcb(address)
        c = framing.c_snd_ud(fcb)
        frame = framing.long_frame(c, address, ci, payload) if payload else framing.control_frame(c, address, ci)
        self._exchange(frame, expect="ack", retries=retries, what=f"address {address}")
        self._toggle(address)

    def application_reset(self, address: int, subcode: int | None = None) -> None:
        """SND_UD with CI 0x50 (optionally with the reset sub-code byte)."""
        self.snd_ud(address, framing.CI_APPLICATION_RESET, b"" if subcode is None else bytes([subcode]))

    # --- secondary addressing ---------------------------------------------------
    def select(self, mask: SecondaryMask, *, retries: int | None = None) -> None:
        """Select the slave(s) matching ``mask``; address 253 then talks to it (expects one E5)."""
        frame = framing.selection_frame(mask)
        self._exchange(frame, expect="ack", retries=retries, what=f"secondary {mask}")
        self._selected = mask
        self._fcb[self._key(ADDRESS_SELECTED)] = True

    def probe(self, mask: SecondaryMask, *, silent_retries: int = 0, garbled_retries: int = 0) -> Probe:
        """Send a wildcard selection and listen to the whole response window.

        NONE: nobody answered. SINGLE: exactly one clean E5. COLLISION: anything
        else (several E5, overlapping answers, garbage). A garbled answer may also
        be line noise, so it is repeated ``garbled_retries`` times; a garbled
        answer that turns into silence or a clean E5 on repetition is taken as such.
        """
        frame = framing.selection_frame(mask)
        self._selected = mask
        self._fcb[self._key(ADDRESS_SELECTED)] = True
        outcome = Probe.NONE
        raw = b""
        for attempt in range(1 + max(silent_retries, garbled_retries)):
            raw = self._send(frame, listen="window")
            if not raw:
                outcome = Probe.NONE
                if attempt >= silent_retries:
                    break
                continue
            if framing.is_single_ack(raw):
                return Probe(Probe.SINGLE, raw)
            outcome = Probe.COLLISION
            if attempt >= garbled_retries:
                break
        return Probe(outcome, raw)

    def deselect(self) -> None:
        self._selected = None
