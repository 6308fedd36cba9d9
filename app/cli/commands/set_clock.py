"""``heatmeter set-clock``: set a meter's date and time (EN 13757-3), confirmed by reading it back."""
from __future__ import annotations

import datetime as dt

from app.cli.commands import _bus


def register(sub) -> None:
    p = sub.add_parser("set-clock", help="set a meter's clock (confirmed by reading it back)",
                       description="Read the meter (who it is, its clock), write the date and time once "
                                   "(SND_UD, CI 0x51, DIF 0x04 VIF 0x6D, data type F: to the minute) and read it "
                                   "back: confirmed when the read-back is within the tolerance of the time "
                                   "written. A meter whose make counts its reconfigurations (Kamstrup MULTICAL "
                                   "403: only 25) is not written without --yes. Exit 0 when confirmed, 1 when "
                                   "the meter did not answer, refused the write or its clock did not move to the "
                                   "time written, 2 for bad arguments, the port, or a write that needs --yes.")
    _bus.add_common(p)
    _bus.add_meter(p)
    p.add_argument("--to", default="now", metavar="now|ISO",
                   help="the time to set: now (default: the laptop's clock, rounded to the minute) or an ISO "
                        "date-time (2026-03-15T14:30, local time; with an offset it is converted to local time); "
                        "2000-2080")
    p.add_argument("--tolerance-s", type=_tolerance, default=90.0, metavar="S",
                   help="how far the read-back may be from the time written plus the time elapsed (default 90 s: "
                        "60 s for the minute resolution of the clock record, 30 s for the exchanges)")
    p.add_argument("--yes", action="store_true",
                   help="agree to write to a meter that counts its reconfigurations (each write uses one)")
    p.add_argument("--model", metavar="NAME",
                   help="the meter's model where you know it (e.g. 'MULTICAL 403'): decides whether the "
                        "reconfiguration warning surely applies")
    _bus.add_save_write(p)
    p.set_defaults(func=run)


def _tolerance(s: str) -> float:
    import argparse

    try:
        v = float(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {s}") from None
    if not 0 < v <= 86400:
        raise argparse.ArgumentTypeError(f"the tolerance is 0..86400 s, not {s}")
    return v


def parse_to(text: str) -> dt.datetime | None:
    """``now`` -> None (the laptop's clock at the write); an ISO date-time; a one-line error otherwise."""
    from app.cli.errors import UserError
    from drivers.clock import encode_type_f, local_naive

    if text.strip().lower() == "now":
        return None
    try:
        when = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise UserError(f"--to: {text!r} is not 'now' or an ISO date-time (e.g. 2026-03-15T14:30)", 2) from None
    try:
        encode_type_f(local_naive(when))
    except ValueError as exc:
        raise UserError(f"--to: {exc}", 2) from None
    return when


def run(args) -> int:
    import sys

    from app.cli.errors import UserError
    from app.cli.options import print_json
    from drivers.session import ReconfigurationNotAgreed

    to = parse_to(args.to)
    spec = _bus.spec_from_args(args)
    try:
        with _bus.bus_errors(spec), _bus.open_session(spec) as session:
            res = session.set_clock(address=args.address, secondary=args.secondary, to=to,
                                    tolerance_s=args.tolerance_s, agreed=args.yes, model=args.model)
    except ReconfigurationNotAgreed as exc:
        if args.json and exc.result is not None:
            print_json(exc.result.to_json())
        raise UserError(f"{exc}: nothing written; add --yes to write anyway", 2) from None
    doc = res.to_json()
    if args.secondary is not None:
        doc["secondary"] = str(args.secondary)
    if res.reconfiguration and not args.json:
        print(f"warning: {res.reconfiguration['message']}", file=sys.stderr)
    fmt = (lambda t: t.strftime("%Y-%m-%d %H:%M:%S") if t else "?")
    who = doc.get("secondary_address")
    if res.ok:
        done = (f"meter {who}: clock {fmt(res.before)} -> {fmt(res.after)} (written {fmt(res.target)}, read back "
                f"within {res.tolerance_s:.0f} s; laptop {fmt(res.host_after)})")
    else:
        done = ""
    return _bus.report_write(args, res, doc, done, f"clock of meter {who}")
