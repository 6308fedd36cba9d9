"""The session's meter-side operations (worker side, blocking): optical reads, history, clock.

* :func:`optical_read` - one meter through its optical eye, in an optical
  protocol of :mod:`drivers.protocols` (EN 62056-21, KMP), on the session's
  port (lent to the protocol for the read and given back afterwards);
* :func:`history_read` - the standard telegrams and the other telegram types
  (application reset sub-codes, :func:`drivers.history.read_history`);
* :func:`clock_write` - the meter's date-time written per EN 13757-3 and read
  back (:func:`drivers.clock.set_clock`), held back before the write when the
  meter counts reconfigurations and the user has not agreed
  (:func:`reconfiguration_warning`).

The session (:mod:`drivers.session.core`) builds the jobs that call these and
makes the :class:`~drivers.session.types.Readout`.
"""
from __future__ import annotations

import dataclasses
from typing import Any

from drivers import errors as e
from drivers.session import messages
from drivers.session.types import KnownMeter, meter_key


def optical_read(link, report, cancel, *, protocol: str, options: dict | None = None):
    """Read the meter on the optical head in ``protocol`` (an :class:`drivers.optical.readout.OpticalReadout`)."""
    from drivers.protocols import get_protocol

    proto = get_protocol(protocol)

    def prog(ev) -> None:
        report(ev.done, ev.total, ev.note)
    line = proto.borrow(link.transport, cancel=cancel)
    try:
        return proto.read(line, progress=prog, **(options or {}))
    finally:
        line.close()


def optical_identity(tel) -> tuple[str | None, str | None]:
    """(identification, FLAG code) an optical telegram names."""
    return tel.identification, tel.manufacturer


def check_optical_identity(tel, expect, expected_label: str) -> None:
    """The optical meter is the one asked for: ``expect`` (a :class:`drivers.address.SecondaryMask`)
    compared on identification and manufacturer only (an optical readout has no version or medium
    byte). Raises :class:`drivers.errors.WrongMeter` otherwise."""
    from drivers.address import WILD_BYTE, SecondaryAddress

    if expect is None:
        return
    ident, man = optical_identity(tel)
    got = f"{ident or '?'}.{man or '?'}"
    if not ident or not man:
        raise e.WrongMeter(messages.optical_anonymous(expected_label), got=got, expected=expected_label)
    mask = dataclasses.replace(expect, version=WILD_BYTE, medium=WILD_BYTE)
    try:
        ok = mask.matches(SecondaryAddress(ident, man, 0, 0))
    except (ValueError, TypeError):
        ok = False
    if not ok:
        raise e.WrongMeter(messages.wrong_meter(got, expected_label), got=got, expected=expected_label)


def optical_meter(tel, known, *, simulated: bool) -> KnownMeter:
    """The known meter an optical readout comes from (same identification and make), or a new one."""
    ident, man = optical_identity(tel)
    for m in known.sorted():
        if m.identification == ident and m.manufacturer == man:
            return m
    return KnownMeter.from_telegram(tel, address=None, found_by="read", simulated=simulated)


def optical_key(tel, known) -> str:
    ident, man = optical_identity(tel)
    for m in known.sorted():
        if m.identification == ident and m.manufacturer == man:
            return m.key
    return meter_key(ident or "?", man or "?", tel.version, tel.medium_code)


def history_read(link, report, *, address: int | None, mask, profile, types: tuple, max_telegrams: int,
                 keys=None):
    """The standard readout and the telegram types ``types`` (:class:`drivers.history.HistoryReadResult`)."""
    from drivers.history import read_history

    def prog(ev) -> None:
        report(ev.done, ev.total, ev.note)
    return read_history(link, address=None if mask is not None else address, secondary=mask, types=tuple(types),
                        profile=profile, progress=prog, max_telegrams=max_telegrams, keys=keys)


# --- the clock -------------------------------------------------------------------------------------

def reconfiguration_warning(flag: str | None, model: str | None) -> dict[str, Any] | None:
    """What to tell the user before a write to a meter that counts its reconfigurations, or None.

    ``{"manufacturer", "model", "limit", "sure", "what", "source", "message"}``: ``sure`` False
    when the model is not known and the make has a model that counts (a Kamstrup meter of unknown
    model: "if this is a MULTICAL 403 ...")."""
    from drivers.clock import reconfiguration_limit
    from drivers.makes import make_name

    hit = reconfiguration_limit(flag, model)
    if hit is None:
        return None
    lim, sure = hit
    return {"manufacturer": lim.manufacturer, "model": model, "models": list(lim.models), "limit": lim.limit,
            "sure": sure, "what": lim.what, "source": lim.source,
            "message": messages.reconfiguration(make_name(flag) or flag or "", model, lim.models, lim.limit, sure)}


class ReconfigurationNotAgreed(Exception):
    """The meter counts reconfigurations and the write was not agreed to: nothing was written.

    Not a bus error (the bus worked): it passes the session's error mapping unchanged, with the
    warning (``warning``) and the result of the first read (``result``: ``outcome`` ``not_agreed``)."""

    def __init__(self, message: str, warning: dict[str, Any], result=None) -> None:
        super().__init__(message)
        self.warning = warning
        self.result = result


def clock_write(link, *, address: int | None, mask, profile, to=None, tolerance_s: float,
                agreed: bool, model: str | None = None):
    """Write the meter's clock and read it back (:class:`drivers.clock.ClockWriteResult`).

    After the first read (who the meter is) and before the write: a make that
    counts reconfigurations (:func:`reconfiguration_warning` from its FLAG code and
    ``model``, else the model its version byte names) stops the operation with
    :class:`ReconfigurationNotAgreed` unless ``agreed``. The result carries the
    warning (``reconfiguration``) either way.
    """
    from drivers.clock import set_clock
    from drivers.makes import model_name

    seen: dict[str, Any] = {}

    def guard(tg) -> str | None:
        mdl = model or model_name(tg.manufacturer, tg.version)
        warn = reconfiguration_warning(tg.manufacturer, mdl)
        seen["warning"] = warn
        if warn is not None and not agreed:
            return warn["message"]
        return None

    res = set_clock(link, address=None if mask is not None else address, secondary=mask, to=to, profile=profile,
                    tolerance_s=tolerance_s, before_write=guard)
    res.reconfiguration = seen.get("warning")
    if res.outcome == "not_agreed":
        raise ReconfigurationNotAgreed(res.detail, res.reconfiguration or {}, res)
    return res
