"""Evidence a commissioning gathers beside its readouts: photos of its steps, the clock write of the
clock step, and the substation's other point for the approach temperature.

* Photos (HNTAS evidence items E20/E30 ask for photographs): :func:`add_photo`
  attaches JPEG or PNG bytes to a step of the draft record (``installation``,
  ``checklist:<item key>``, ``clock`` ...), stored in the register with their
  SHA-256; :func:`photos`, :func:`remove_photo`. A photo needs the draft record
  (the meter placed, step 2).
* The clock step: after ``drivers.clock`` wrote the meter's clock (through the
  bus service), :func:`record_clock_write` keeps the write (before, after,
  frames) in the meter's history with the record's id, and the state keeps what
  the certificate shows (``state.clock``).
* :func:`substation_partner`: for a substation's intake (SS1) or offtake (SS2),
  the signed record of the other one at the same site and building and its mean
  return temperature (``state.partner``), for HNTAS SS-KPI-12.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from app.services.commissioning.state import CommissioningState, annex_point

PHOTO_STEPS_WORDS = {"installation": "Installation", "place": "Place", "clock": "Meter clock",
                     "observation": "Observation"}


def step_words(step: str) -> str:
    """``checklist:straight_lengths`` -> ``Checklist: straight lengths``."""
    if step.startswith("checklist:"):
        return "Checklist: " + step.split(":", 1)[1].replace("_", " ")
    return PHOTO_STEPS_WORDS.get(step, step.replace("_", " "))


def _user(user: str | None) -> str:
    if user:
        return user
    from app.storage.register import default_user

    return default_user()


def add_photo(reg, state: CommissioningState, data: bytes, *, step: str, filename: str | None = None,
              caption: str | None = None, taken_at: dt.datetime | None = None,
              user: str | None = None) -> dict[str, Any]:
    """Attach a photo to ``step`` of the draft record (see the module docstring); the photo without its
    bytes. ``InputError`` before the record exists; the register's errors for a file that is not a photo
    or a signed record."""
    from app.core.errors import InputError

    if state.record_id is None:
        raise InputError("photo", "Place the meter first (step 2): photos are kept with the register's record.")
    return reg.add_commissioning_photo(state.record_id, data, step=step, filename=filename, caption=caption,
                                       taken_at=taken_at, user=_user(user))


def photos(reg, state: CommissioningState, *, with_data: bool = False) -> list[dict[str, Any]]:
    """The record's photos in the order added ([] before the record exists)."""
    if state.record_id is None:
        return []
    return reg.commissioning_photos(state.record_id, with_data=with_data)


def remove_photo(reg, state: CommissioningState, photo_id: int, *, user: str | None = None) -> None:
    reg.remove_commissioning_photo(photo_id, user=_user(user))


def record_clock_write(reg, state: CommissioningState, result, *, user: str | None = None, port: str | None = None,
                       transport: str | None = None) -> dict[str, Any]:
    """Keep the clock write ``result`` (``drivers.clock.ClockWriteResult``) in the meter's history as
    evidence of the record, and in the state for the certificate. Returns ``state.clock``."""
    from app.services import meter_writes

    iso = (lambda t: t.isoformat(timespec="seconds") if t else None)
    state.clock = {"ok": result.ok, "outcome": result.outcome, "detail": result.detail,
                   "before": iso(result.before), "after": iso(result.after), "target": iso(result.target),
                   "host_before": iso(result.host_before), "host_after": iso(result.host_after),
                   "offset_before_s": result.offset_before_s, "offset_after_s": result.offset_after_s,
                   "tolerance_s": result.tolerance_s, "acknowledged": result.acknowledged,
                   "reconfiguration": result.reconfiguration, "frames": len(result.frames)}
    if state.meter_id is not None:
        saved = meter_writes.record_write(reg, result, user=_user(user), port=port, transport=transport,
                                          meter_id=state.meter_id, commissioning_id=state.record_id)
        if saved and saved.get("status") == "saved":
            state.clock["write_id"] = saved["write_id"]
    return state.clock


def substation_partner(reg, state: CommissioningState) -> dict[str, Any] | None:
    """For SS1 (or SS2): the newest signed record of SS2 (or SS1) at the same site and building, as
    ``{"record_id", "point", "mean_return_c", "ended"}`` (also set as ``state.partner``), or None."""
    mp, _interval = annex_point(state)
    if mp not in ("SS1", "SS2") or not state.place.get("site"):
        state.partner = None
        return None
    other = "SS2" if mp == "SS1" else "SS1"
    rec = reg.commissioning_at_point(state.place["site"], other, building=state.place.get("building"),
                                     exclude_id=state.record_id)
    obs = ((rec or {}).get("plausibility") or {}).get("observation") or {}
    kpis = obs.get("kpis") or {}
    if rec is None or kpis.get("mean_return_c") is None:
        state.partner = None
        return None
    state.partner = {"record_id": rec["id"], "point": other, "mean_return_c": kpis["mean_return_c"],
                     "ended": obs.get("ended")}
    return state.partner


__all__ = ["add_photo", "photos", "remove_photo", "record_clock_write", "substation_partner", "step_words"]
