"""Recording the year's maintenance work, the same for the CLI, the meter page, the register page's bulk
actions and a lab's or contractor's results file (maintenance-cycle spec, "Recording the work").

    from app.services import maintenance as mt
    mt.recalibrate(reg, "Kamstrup", "123", on=date(2025, 5, 2), verdict="pass", lab="Lab A", user="ann")
    mt.replace(reg, "Kamstrup", "123", on=date(2025, 5, 2), new_serial="987", user="ann")
    mt.battery(reg, "Kamstrup", "123", replaced_on=date(2025, 5, 2), user="ann")   # expiry worked out

Each function finds the meter, checks what the register cannot (a verdict
that contradicts the calibration points, a battery end of life nobody can
tell) and stores through ``Register.record_work`` (one transaction, all or
nothing, an event per meter change). Errors are ``RegisterError`` (one line,
exit status) or ``InputError`` (naming the key).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from app.core.errors import InputError
from app.storage.errors import NotFound, ValidationError
from app.storage.records import MeterRecord
from app.storage.register import Register, WorkItem

#: Meter spreadsheet columns (kept in the meter's ``extra``) the battery calculator reads (docs/calc-battery.md).
BATTERY_COLUMNS = ("battery_capacity_mah", "standby_current_ua", "mbus_charge_per_readout_mas",
                   "display_current_ua", "radio_charge_per_telegram_mas", "radio_interval_s")


def find(reg: Register, manufacturer: str, serial: str) -> MeterRecord:
    """The meter (make as written, any case, or FLAG code); a one-line error when there is none."""
    try:
        return reg.find_meter(manufacturer, serial)
    except NotFound:
        raise ValidationError(f"no meter {manufacturer} {serial} in the register") from None


def judge_points(rec: MeterRecord, points: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The calibration calculator's verdict of a recalibration's points against the initial-verification MPE
    (MMS 1.2.6) of the meter (its class, qp, qp/qi, Δθ limits from the register)."""
    from app.core.calcjson import run as calc_run
    from app.storage.planning.results import spec_input

    d = {**spec_input(rec), "subassembly": "complete_meter", "points": [dict(p) for p in points]}
    return calc_run("calibration", d)


def recalibration_item(reg: Register, rec: MeterRecord, *, on: dt.date, verdict: str, error_pct: float | None = None,
                       points: Sequence[dict[str, Any]] | None = None, lab: str | None = None,
                       certificate: str | None = None, notes: str | None = None,
                       expected_version: int | None = None, where: str | None = None) -> WorkItem:
    """The work item of a recalibration; with ``points`` the calculator must agree with ``verdict``."""
    if verdict not in ("pass", "fail"):
        raise InputError("verdict", f"must be pass or fail, not {verdict!r}")
    result = None
    inputs: dict[str, Any] = {}
    if points:
        try:
            result = judge_points(rec, points)
        except InputError as exc:
            raise ValidationError(f"{where + ': ' if where else ''}meter {rec.label}: {exc}") from None
        computed = result.get("initial_verdict")
        if computed in ("pass", "fail") and computed != verdict:
            raise ValidationError(f"{where + ': ' if where else ''}meter {rec.label}: the verdict is {verdict} but "
                                  f"the points {'pass' if computed == 'pass' else 'fail'} the initial-verification "
                                  "MPE: check the figures")
        inputs = {"judged_by": "calibration calculator, initial-verification MPE"}
    return WorkItem("recalibrate", rec.id, on, expected_version, verdict=verdict, error_pct=error_pct,
                    points=list(points or []), result=result, inputs=inputs, lab=lab, certificate=certificate,
                    notes=notes, where=where)


def recalibrate(reg: Register, manufacturer: str, serial: str, *, on: dt.date, verdict: str,
                error_pct: float | None = None, points: Sequence[dict[str, Any]] | None = None,
                lab: str | None = None, certificate: str | None = None, notes: str | None = None,
                user: str | None = None) -> dict[str, Any]:
    rec = find(reg, manufacturer, serial)
    item = recalibration_item(reg, rec, on=on, verdict=verdict, error_pct=error_pct, points=points, lab=lab,
                              certificate=certificate, notes=notes)
    return reg.record_work([item], user=user)[0]


def replace(reg: Register, manufacturer: str, serial: str, *, on: dt.date, new_serial: str,
            new_manufacturer: str | None = None, new_model: str | None = None, reason: str | None = None,
            new_fields: dict[str, Any] | None = None, user: str | None = None) -> dict[str, Any]:
    rec = find(reg, manufacturer, serial)
    return reg.record_work([WorkItem("replace", rec.id, on, new_serial=new_serial, new_manufacturer=new_manufacturer,
                                     new_model=new_model, reason=reason, new_fields=dict(new_fields or {}))],
                           user=user)[0]


@dataclass
class BatteryEstimate:
    expiry: dt.date | None
    source: str            # "given", "meter readout", "battery calculator", or "" (none)
    detail: str = ""
    inputs: dict[str, Any] = field(default_factory=dict)


def battery_expiry(reg: Register, rec: MeterRecord, replaced_on: dt.date) -> BatteryEstimate:
    """The new battery's expected end of life when nobody gave it.

    1. The meter's own remaining-battery-lifetime record (VIF extension FD 74,
       EN 13757-3) in a readout saved on or after the change: read time +
       remaining days.
    2. The battery calculator (``app.core.battery``, docs/calc-battery.md) with
       the meter's battery data (spreadsheet columns ``battery_capacity_mah``,
       ``standby_current_ua`` and optionally the charges per readout) and the
       read interval its monitoring point needs (MMS Annex A): the change date
       + the expected life.
    Else none (the caller asks for ``--expiry``).
    """
    best = None
    for r in reg.readouts(rec.id):
        at = r.get("read_at")
        if at is None or at.date() < replaced_on:
            continue
        for tel in r.get("decoded") or []:
            for x in tel.get("records", []):
                if x.get("quantity") == "remaining_battery_lifetime" and isinstance(x.get("value"), (int, float)):
                    if (x.get("storage") or 0) == 0 and x["value"] > 0:
                        seconds = float(x["value"]) if (x.get("unit") or "s") == "s" else float(x["value"]) * 86400
                        best = (at, at.date() + dt.timedelta(days=round(seconds / 86400)))
    if best is not None:
        return BatteryEstimate(best[1], "meter readout",
                               f"remaining battery lifetime read from the meter on {best[0].date().isoformat()}")
    extra = {k.strip().lower(): v for k, v in (rec.extra or {}).items()}
    if all(str(extra.get(k, "")).strip() for k in BATTERY_COLUMNS[:2]):
        from app.core.battery import BatteryInput, battery_life, read_interval_for_monitoring_point

        try:
            _mp, interval = read_interval_for_monitoring_point(rec.monitoring_point or "")
        except InputError:
            interval = 30  # MMS Annex A's slower read frequency when the point is not an Annex A id
        vals = {}
        for k in BATTERY_COLUMNS:
            t = str(extra.get(k, "")).strip().replace(",", ".")
            if t:
                try:
                    vals[k] = float(t)
                except ValueError:
                    return BatteryEstimate(None, "", f"battery data: {k} {extra[k]!r} is not a number")
        res = battery_life(BatteryInput(
            capacity_mah=vals["battery_capacity_mah"], standby_current_ua=vals["standby_current_ua"],
            read_interval_min=interval, mbus_charge_per_readout_mas=vals.get("mbus_charge_per_readout_mas", 0.0),
            display_current_ua=vals.get("display_current_ua", 0.0),
            radio_charge_per_telegram_mas=vals.get("radio_charge_per_telegram_mas", 0.0),
            radio_interval_s=vals.get("radio_interval_s"), battery_date=replaced_on))
        return BatteryEstimate(res.expected_failure_date, "battery calculator",
                               f"expected life {res.expected_life_years:.1f} years at a {interval}-minute read "
                               "interval", {**vals, "read_interval_min": interval})
    return BatteryEstimate(None, "")


def battery_item(reg: Register, rec: MeterRecord, *, replaced_on: dt.date, expiry: dt.date | None = None,
                 notes: str | None = None, expected_version: int | None = None,
                 where: str | None = None) -> tuple[WorkItem, BatteryEstimate]:
    est = BatteryEstimate(expiry, "given") if expiry is not None else battery_expiry(reg, rec, replaced_on)
    if est.expiry is None:
        why = f" ({est.detail})" if est.detail else ""
        raise ValidationError(f"{where + ': ' if where else ''}meter {rec.label}: give the new battery's expected end "
                              f"of life (--expiry YYYY-MM-DD): no saved readout after the change reports the "
                              f"remaining battery lifetime and the register has no battery data for it{why}")
    return WorkItem("battery", rec.id, replaced_on, expected_version, expiry=est.expiry,
                    notes=notes or (f"expiry from the {est.source}: {est.detail}" if est.source != "given" else None),
                    where=where), est


def battery(reg: Register, manufacturer: str, serial: str, *, replaced_on: dt.date, expiry: dt.date | None = None,
            notes: str | None = None, user: str | None = None) -> dict[str, Any]:
    rec = find(reg, manufacturer, serial)
    item, est = battery_item(reg, rec, replaced_on=replaced_on, expiry=expiry, notes=notes)
    done = reg.record_work([item], user=user)[0]
    done["expiry_source"] = est.source
    return done


def record_for_meters(reg: Register, targets: Sequence[tuple[int, int | None]], kind: str, on: dt.date, *,
                      verdict: str | None = None, error_pct: float | None = None, lab: str | None = None,
                      certificate: str | None = None, new_serial: str | None = None,
                      new_manufacturer: str | None = None, new_model: str | None = None,
                      expiry: dt.date | None = None, notes: str | None = None,
                      user: str | None = None) -> list[dict[str, Any]]:
    """The same work on several meters, one date (the register page's bulk action, the meter page's buttons):
    ``targets`` are (meter id, the version the page loaded). All or nothing; a meter changed since it was
    loaded is refused (``ConflictError``) and nothing is stored."""
    if kind == "replace" and len(targets) != 1:
        raise ValidationError("a replacement is recorded one meter at a time (each new meter has its own serial)")
    recs = {r.id: r for r in reg.meters_by_id([mid for mid, _v in targets])}
    items: list[WorkItem] = []
    for mid, version in targets:
        rec = recs.get(mid)
        if rec is None:
            raise ValidationError(f"meter {mid} is no longer in the register")
        if kind == "recalibrate":
            items.append(recalibration_item(reg, rec, on=on, verdict=verdict or "", error_pct=error_pct, lab=lab,
                                            certificate=certificate, notes=notes, expected_version=version))
        elif kind == "battery":
            items.append(battery_item(reg, rec, replaced_on=on, expiry=expiry, notes=notes,
                                      expected_version=version)[0])
        elif kind == "replace":
            items.append(WorkItem("replace", rec.id, on, version, new_serial=new_serial,
                                  new_manufacturer=new_manufacturer, new_model=new_model, reason=notes))
        elif kind == "no_access":
            items.append(WorkItem("no_access", rec.id, on, version, notes=notes))
        else:
            raise InputError("kind", f"must be recalibrate, battery, replace or no_access, not {kind!r}")
    return reg.record_work(items, user=user)
