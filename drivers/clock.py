"""Setting a meter's clock over M-Bus, confirmed by reading it back.

The write (EN 13757-3): SND_UD with CI 0x51 (data send) holding one data record,
DIF 0x04 (32-bit, storage 0, instantaneous) and VIF 0x6D (date and time, data
type F), the date-time in four bytes:

* byte 0: minute (bits 0-5), bit 7 IV (invalid, 0);
* byte 1: hour (bits 0-4), bits 5-6 hundred-year (0), bit 7 SU (summer time, 0);
* byte 2: day (bits 0-4), bits 5-7 the low three bits of the year (00-99);
* byte 3: month (bits 0-3), bits 4-7 the high four bits of the year.

Years 2000-2080 are written as 00-80 with hundred-year 0, the coding every meter
reads as 20yy. Type F has no seconds: ``to=None`` writes the host's local time
rounded to the nearest minute (at most 30 s off).

:func:`set_clock` reads the meter (who it is and its clock), writes once (no
automatic repeat: some makes count every reconfiguration), then reads the
clock back. **Tolerance**: the read-back must be within ``tolerance_s``
(default 90 s) of the written time plus the time elapsed since the write was
acknowledged - 60 s for the minute resolution of type F, 30 s for the exchanges
and a meter that applies the write at its next minute tick. Outcomes:

* ``confirmed`` - the read-back clock is the new time (also when the
  acknowledgement was lost on the way: the read-back decides);
* ``refused`` - no acknowledgement (or an error answer) and the clock unchanged;
* ``unchanged`` - acknowledged, but the clock still shows the old time (a meter
  whose clock the write does not move);
* ``off`` - the clock moved, but not to the time written;
* ``no_clock`` - the meter sends no date-time record: nothing is written,
  since nothing could confirm it;
* ``no_readback`` - the meter did not answer the read-back;
* ``not_agreed`` - ``before_write`` (the caller's check after the first read,
  e.g. a make that counts reconfigurations) held the write back: nothing written.

Every frame written and read is kept (``frames``: ("tx"|"rx", bytes)) as
evidence for the meter's history. :data:`RECONFIGURATION_LIMITS` holds the makes
known to count reconfigurations, for a warning before writing.
"""
from __future__ import annotations

import datetime as _dt
import time
from dataclasses import dataclass, field

from drivers import errors, framing
from drivers.address import SecondaryMask
from drivers.link import Link
from drivers.ops import address_meter
from drivers.wakeup import WakeupProfile, wake

DIF_32BIT = 0x04
VIF_DATETIME = 0x6D
DEFAULT_TOLERANCE_S = 90.0


def encode_type_f(when: _dt.datetime) -> bytes:
    """Four bytes of EN 13757-3 data type F for ``when`` (seconds dropped; years 2000-2080)."""
    if not 2000 <= when.year <= 2080:
        raise ValueError(f"year {when.year}: a meter clock can be set to 2000-2080 only")
    yy = when.year - 2000
    return bytes((when.minute & 0x3F, when.hour & 0x1F, when.day | (yy & 0x07) << 5,
                  when.month | (yy >> 3) << 4))


def datetime_record(when: _dt.datetime) -> bytes:
    """The data record of the write: DIF 0x04, VIF 0x6D, type F."""
    return bytes((DIF_32BIT, VIF_DATETIME)) + encode_type_f(when)


def clock_frame(address: int, when: _dt.datetime, *, fcb: bool = True) -> bytes:
    """The whole SND_UD long frame (CI 0x51) that sets the clock of the meter at ``address``."""
    return framing.long_frame(framing.c_snd_ud(fcb), address, framing.CI_DATA_SEND, datetime_record(when))


def local_naive(t: _dt.datetime) -> _dt.datetime:
    """A meter clock has no time zone: aware times are converted to the host's local time."""
    return t.astimezone().replace(tzinfo=None) if t.tzinfo is not None else t


def round_minute(t: _dt.datetime) -> _dt.datetime:
    base = t.replace(second=0, microsecond=0)
    return base + _dt.timedelta(minutes=1) if t.second >= 30 else base


# --- makes that count reconfigurations ------------------------------------------------

@dataclass(frozen=True)
class ReconfigurationLimit:
    """A make/model that logs every reconfiguration and permits only ``limit`` of them."""

    manufacturer: str          # FLAG code
    models: tuple              # model names it is known for
    limit: int
    what: str
    source: str


RECONFIGURATION_LIMITS = (
    ReconfigurationLimit(
        "KAM", ("MULTICAL 403",), 25,
        "every reconfiguration (SETUP loop or METERTOOL HCW) is logged in the meter; only 25 are permitted. "
        "The clock can also be set through the modules; whether that counts is not stated, so treat it as one.",
        "Kamstrup MULTICAL 403 technical description (5512-1689), 6.4 \"TEST loop\": "
        "\"every reconfiguration is logged in MULTICAL 403 (only 25 reconfigurations permitted)\""),
)


def reconfiguration_limit(flag: str | None, model: str | None = None) -> tuple[ReconfigurationLimit, bool] | None:
    """The limit that may apply to a meter, and whether it surely does (its model is known to count).

    A Kamstrup meter of unknown model gets the MULTICAL 403 limit with ``False``:
    warn that it may count ("if this is a MULTICAL 403 ...").
    """
    if not flag:
        return None
    for lim in RECONFIGURATION_LIMITS:
        if lim.manufacturer == flag.upper():
            if model and any(m.lower() in model.lower() for m in lim.models):
                return lim, True
            if model is None or not model.strip() or model.lower().startswith("unknown"):
                return lim, False
    return None


# --- the operation -------------------------------------------------------------------

@dataclass
class ClockWriteResult:
    ok: bool
    outcome: str
    acknowledged: bool
    target: _dt.datetime | None
    before: _dt.datetime | None = None          # the meter's clock before the write
    after: _dt.datetime | None = None           # the meter's clock read back
    host_before: _dt.datetime | None = None     # host local time at the first read
    host_after: _dt.datetime | None = None      # host local time at the read-back
    tolerance_s: float = DEFAULT_TOLERANCE_S
    detail: str = ""
    identity: dict = field(default_factory=dict)
    frames: list = field(default_factory=list)  # ("tx" | "rx", bytes), in order
    requests: int = 0
    reconfiguration: dict | None = None         # the warning for a make that counts reconfigurations

    @property
    def confirmed(self) -> bool:
        return self.outcome == "confirmed"

    @property
    def offset_before_s(self) -> float | None:
        """Meter clock minus host clock before the write (seconds)."""
        if self.before is None or self.host_before is None:
            return None
        return (self.before - self.host_before).total_seconds()

    @property
    def offset_after_s(self) -> float | None:
        if self.after is None or self.host_after is None:
            return None
        return (self.after - self.host_after).total_seconds()

    def to_json(self) -> dict:
        iso = (lambda t: t.isoformat(timespec="seconds") if t else None)
        return {"ok": self.ok, "outcome": self.outcome, "acknowledged": self.acknowledged,
                "confirmed": self.confirmed, "target": iso(self.target), "before": iso(self.before),
                "after": iso(self.after), "host_before": iso(self.host_before), "host_after": iso(self.host_after),
                "offset_before_s": self.offset_before_s, "offset_after_s": self.offset_after_s,
                "tolerance_s": self.tolerance_s, "detail": self.detail, **self.identity,
                "frames": [{"direction": d, "hex": f.hex().upper()} for d, f in self.frames],
                "requests": self.requests, "reconfiguration": self.reconfiguration}

    def evidence(self) -> dict:
        """The write as the register keeps it (``Register.record_meter_write``): what, before, after, frames."""
        iso = (lambda t: t.isoformat(timespec="seconds") if t else None)
        return {"kind": "clock", "ok": self.ok, "outcome": self.outcome, "detail": self.detail,
                "before": {"clock": iso(self.before), "host": iso(self.host_before),
                           "offset_s": self.offset_before_s},
                "after": {"clock": iso(self.after), "host": iso(self.host_after), "offset_s": self.offset_after_s,
                          "written": iso(self.target), "acknowledged": self.acknowledged,
                          "tolerance_s": self.tolerance_s},
                "manufacturer": self.identity.get("manufacturer"),
                "identification": self.identity.get("secondary_address"),
                "frames": [(d, bytes(f)) for d, f in self.frames]}


def meter_clock(telegram) -> _dt.datetime | None:
    """The meter's date-time: the first ``datetime`` record of storage 0 without modifiers."""
    for r in getattr(telegram, "records", []) or []:
        if r.quantity == "datetime" and r.storage == 0 and not r.modifiers and not r.subject \
                and isinstance(r.value, str):
            try:
                return _dt.datetime.fromisoformat(r.value)
            except ValueError:
                continue
    return None


def set_clock(link: Link, *, address: int | None = None, secondary: SecondaryMask | None = None,
              to: _dt.datetime | None = None, profile: WakeupProfile | None = None,
              tolerance_s: float = DEFAULT_TOLERANCE_S, now=None, before_write=None) -> ClockWriteResult:
    """Write the meter's date-time and confirm it by reading it back (see the module docstring).

    ``to``: the time to set (naive: local time; aware: converted to local time;
    seconds are dropped), ``None``: the host's clock now, rounded to the minute.
    ``now``: the host clock (a callable returning a naive local datetime; tests).
    ``before_write(telegram)``: called with the meter's first telegram before the
    write; a non-empty string it returns holds the write back (outcome
    ``not_agreed``, the string as ``detail``).
    """
    clock_now = now or _dt.datetime.now
    frames: list[tuple[str, bytes]] = []
    hook = link.on_request
    req0 = link.requests

    def record_tx(frame: bytes) -> None:
        frames.append(("tx", bytes(frame)))
        if hook:
            hook(frame)

    link.on_request = record_tx
    try:
        res = _write_and_confirm(link, address, secondary, to, profile, tolerance_s, clock_now, frames, before_write)
    finally:
        link.on_request = hook
    res.requests = link.requests - req0
    return res


def _write_and_confirm(link: Link, address, secondary, to, profile, tolerance_s, clock_now,
                       frames: list, before_write=None) -> ClockWriteResult:
    if profile is not None and profile.has_preamble:
        wake(link.transport, profile)
    target_addr = address_meter(link, address=address, secondary=secondary, reset=True)
    first = link.req_ud2(target_addr)
    frames.append(("rx", first))
    host_before = clock_now().replace(microsecond=0)
    tg = framing.decode(first)
    before = meter_clock(tg)
    identity = {"address": address, "secondary_address": tg.identification, "manufacturer": tg.manufacturer}
    res = ClockWriteResult(False, "no_clock", False, None, before, None, host_before, None, tolerance_s,
                           identity=identity, frames=frames)
    if before is None:
        res.detail = "the meter sends no date-time record: a clock write could not be confirmed, nothing written"
        return res
    when = round_minute(clock_now()) if to is None else local_naive(to).replace(second=0, microsecond=0)
    encode_type_f(when)                               # raises for a year the meter cannot hold
    res.target = when
    held = before_write(tg) if before_write is not None else None
    if held:
        res.outcome, res.detail = "not_agreed", str(held)
        return res
    ack_error = ""
    try:
        link.snd_ud(target_addr, framing.CI_DATA_SEND, datetime_record(when), retries=0)
        res.acknowledged = True
        frames.append(("rx", framing.ACK))
    except errors.LinkError as exc:
        ack_error = str(exc)
    t_write = time.monotonic()
    try:
        # reset (and select) again: a multi-telegram meter then answers its first telegram, with the clock
        target_addr = address_meter(link, address=address, secondary=secondary, reset=True)
        back = link.req_ud2(target_addr)
    except errors.LinkError as exc:
        res.outcome = "no_readback"
        res.detail = f"{'acknowledged' if res.acknowledged else 'not acknowledged'}; no read-back: {exc}"
        return res
    frames.append(("rx", back))
    res.host_after = clock_now().replace(microsecond=0)
    elapsed = time.monotonic() - t_write
    tg2 = framing.decode(back)
    if (tg2.identification, tg2.manufacturer) != (tg.identification, tg.manufacturer):
        res.outcome = "off"
        res.detail = f"the read-back came from another meter ({tg2.identification} {tg2.manufacturer})"
        return res
    after = meter_clock(tg2)
    res.after = after
    if after is None:
        res.outcome = "no_readback"
        res.detail = "the read-back has no date-time record"
        return res
    dev = abs((after - (when + _dt.timedelta(seconds=elapsed))).total_seconds())
    host_elapsed = (res.host_after - host_before).total_seconds()
    moved = abs((after - (before + _dt.timedelta(seconds=host_elapsed))).total_seconds()) > tolerance_s
    if dev <= tolerance_s:
        res.ok, res.outcome = True, "confirmed"
        res.detail = "" if res.acknowledged else f"confirmed by the read-back (acknowledgement lost: {ack_error})"
    elif not moved:
        res.outcome = "unchanged" if res.acknowledged else "refused"
        res.detail = (f"acknowledged, but the meter's clock still reads {after.isoformat(timespec='minutes')} "
                      f"(written {when.isoformat(timespec='minutes')})" if res.acknowledged else
                      f"the meter did not accept the write ({ack_error}); its clock still reads "
                      f"{after.isoformat(timespec='minutes')}")
    else:
        res.outcome = "off"
        res.detail = (f"the clock moved to {after.isoformat(timespec='minutes')}, {dev:.0f} s from the "
                      f"{when.isoformat(timespec='minutes')} written (tolerance {tolerance_s:.0f} s)")
    return res
