"""``heatmeter meters recalibrate|replace|battery``: record the year's maintenance work (maintenance-cycle spec).

    heatmeter meters recalibrate MANUFACTURER SERIAL --on YYYY-MM-DD --verdict pass|fail
            [--error-pct X] [--points FILE] [--lab TEXT] [--certificate TEXT]
    heatmeter meters replace MANUFACTURER SERIAL --on YYYY-MM-DD --new-serial S
            [--new-manufacturer M] [--new-model X] [--reason TEXT]
    heatmeter meters battery MANUFACTURER SERIAL --replaced-on YYYY-MM-DD [--expiry YYYY-MM-DD]

Registered under ``heatmeter meters`` by ``app.cli.commands.meters``. A
refused command changes nothing (one line on stderr, exit 2).
"""
from __future__ import annotations

import math
import sys

from app.cli.errors import UserError
from app.cli.options import parse_date, print_json, user_of


def add_commands(sub, common) -> None:
    sp = sub.add_parser("recalibrate", help="record a recalibration of a meter (pass restarts its 10 years)",
                        description="Record a recalibration of the complete meter. --verdict pass restarts the "
                                    "meter's 10-year clock on that date (MMS 1.3.3); fail puts it on the replacement "
                                    "list, due at once, and it never counts as recalibrated in any evidence.")
    _meter(sp)
    sp.add_argument("--on", metavar="YYYY-MM-DD", required=True, help="date of the recalibration")
    sp.add_argument("--verdict", required=True, metavar="pass|fail",
                    help="pass or fail against the initial-verification MPE (MMS 1.2.6)")
    sp.add_argument("--error-pct", type=float, metavar="X", help="the error found, in %% (single figure)")
    sp.add_argument("--points", metavar="FILE", help="calibration points JSON (as for lots record --points)")
    sp.add_argument("--lab", metavar="TEXT", help="test laboratory")
    sp.add_argument("--certificate", metavar="TEXT", help="certificate number")
    sp.add_argument("--notes", metavar="TEXT")
    common(sp)
    sp.set_defaults(func=cmd_recalibrate)

    sp = sub.add_parser("replace", help="record that a meter was replaced by a new one at its place",
                        description="The old meter leaves service on that date and keeps its whole history; the "
                                    "new meter takes its place (site, building, location, monitoring point, primary "
                                    "address) with the old one's rating unless given, installed on that date; its "
                                    "history starts with a create event naming the meter it replaced.")
    _meter(sp)
    sp.add_argument("--on", metavar="YYYY-MM-DD", required=True, help="date of the replacement")
    sp.add_argument("--new-serial", metavar="S", required=True, help="serial number of the new meter")
    sp.add_argument("--new-manufacturer", metavar="M", help="make of the new meter (default: the old one's)")
    sp.add_argument("--new-model", metavar="X", help="model of the new meter (default: the old one's)")
    sp.add_argument("--new-mid-class", type=int, metavar="N", help="MID class of the new meter (default: the old one's)")
    sp.add_argument("--new-qp", type=float, metavar="M3H", help="qp of the new meter in m³/h (default: the old one's)")
    sp.add_argument("--new-battery-expiry", metavar="YYYY-MM-DD", help="the new meter's expected battery end of life")
    sp.add_argument("--reason", metavar="TEXT", help="why (kept with the old installation)")
    common(sp)
    sp.set_defaults(func=cmd_replace)

    sp = sub.add_parser("battery", help="record a battery change",
                        description="The battery was changed. --expiry sets the new expected end of life; without "
                                    "it, the meter's own remaining-battery-lifetime record in a readout saved after "
                                    "the change, else the battery calculator with the meter's battery data; else it "
                                    "is required.")
    _meter(sp)
    sp.add_argument("--replaced-on", metavar="YYYY-MM-DD", required=True, help="date of the change")
    sp.add_argument("--expiry", metavar="YYYY-MM-DD", help="the new battery's expected end of life")
    sp.add_argument("--notes", metavar="TEXT")
    common(sp)
    sp.set_defaults(func=cmd_battery)


def _meter(sp) -> None:
    sp.add_argument("manufacturer", metavar="MANUFACTURER", help="make as written (any case) or FLAG code")
    sp.add_argument("serial", metavar="SERIAL")


def _required_date(text: str, what: str):
    d = parse_date(text, what)
    if d is None:
        raise UserError(f"{what}: missing (YYYY-MM-DD)")
    return d


def _run(args, fn):
    from app.cli.commands._open import opened

    with opened(args) as reg:
        return fn(reg)


def _report(args, done: dict, text: str) -> int:
    if args.json:
        print_json(done)
    else:
        print(text)
    return 0


def cmd_recalibrate(args) -> int:
    from app.services import maintenance as mt

    on = _required_date(args.on, "--on")
    if args.verdict not in ("pass", "fail"):
        raise UserError(f"--verdict: must be pass or fail, not {args.verdict!r}")
    if args.error_pct is not None and not math.isfinite(args.error_pct):
        raise UserError("--error-pct: must be a finite number")
    points = None
    if args.points:
        from app.cli.commands._open import errors
        from app.storage.planning import read_points_json

        with errors():
            points = read_points_json(args.points)["points"]
    done = _run(args, lambda reg: mt.recalibrate(
        reg, args.manufacturer, args.serial, on=on, verdict=args.verdict, error_pct=args.error_pct, points=points,
        lab=args.lab, certificate=args.certificate, notes=args.notes, user=user_of(args)))
    text = (f"recalibrated {done['manufacturer']} {done['serial']} on {done['on']}: {done['verdict']}"
            + (": its 10 years start again" if done["verdict"] == "pass" else ": on the replacement list, due now"))
    return _report(args, done, text)


def cmd_replace(args) -> int:
    from app.services import maintenance as mt

    on = _required_date(args.on, "--on")
    fields = {}
    if args.new_mid_class is not None:
        if args.new_mid_class not in (1, 2, 3):
            raise UserError(f"--new-mid-class: must be 1, 2 or 3, not {args.new_mid_class}")
        fields["mid_class"] = args.new_mid_class
    if args.new_qp is not None:
        if not (math.isfinite(args.new_qp) and args.new_qp > 0):
            raise UserError("--new-qp: must be a positive number")
        fields["qp_m3h"] = args.new_qp
    if args.new_battery_expiry:
        fields["battery_expiry"] = _required_date(args.new_battery_expiry, "--new-battery-expiry").isoformat()
    done = _run(args, lambda reg: mt.replace(
        reg, args.manufacturer, args.serial, on=on, new_serial=args.new_serial,
        new_manufacturer=args.new_manufacturer, new_model=args.new_model, reason=args.reason, new_fields=fields,
        user=user_of(args)))
    return _report(args, done, f"replaced {done['manufacturer']} {done['serial']} on {done['on']} by "
                               f"{done['new_manufacturer']} {done['new_serial']} (meter id {done['new_meter_id']})")


def cmd_battery(args) -> int:
    from app.services import maintenance as mt

    on = _required_date(args.replaced_on, "--replaced-on")
    expiry = parse_date(args.expiry, "--expiry")
    done = _run(args, lambda reg: mt.battery(reg, args.manufacturer, args.serial, replaced_on=on, expiry=expiry,
                                             notes=args.notes, user=user_of(args)))
    src = "" if done.get("expiry_source") == "given" else f" (from the {done.get('expiry_source')})"
    return _report(args, done, f"battery of {done['manufacturer']} {done['serial']} changed on {done['on']}: "
                               f"new end of life {done['battery_expiry']}{src}")


__all__ = ["add_commands"]
del sys
