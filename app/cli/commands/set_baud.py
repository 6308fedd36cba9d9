"""``heatmeter set-baud``: switch a meter to another baud rate, confirmed by a read at that rate."""
from __future__ import annotations

from app.cli.commands import _bus


def register(sub) -> None:
    p = sub.add_parser("set-baud", help="set a meter's baud rate (confirmed by a read at the new rate)",
                       description="Send SND_UD with CI 0xB8-0xBF, switch the port to the new rate and read "
                                   "the meter there. Exit 0 when confirmed, 1 when not acknowledged or not "
                                   "confirmed (the meter falls back by itself), 2 for bad arguments or the port.")
    _bus.add_common(p)
    _bus.add_meter(p)
    p.add_argument("--new-baud", type=int, required=True, choices=_bus.BAUDS, metavar="B",
                   help="one of " + ", ".join(map(str, _bus.BAUDS)))
    _bus.add_save_write(p)
    p.set_defaults(func=run)


def run(args) -> int:
    spec = _bus.spec_from_args(args)
    with _bus.bus_errors(secondary=args.secondary), _bus.open_session(spec) as session:
        res = session.set_baud(args.new_baud, address=args.address, secondary=args.secondary)
    doc = res.to_json()
    return _bus.report_write(args, res, doc, f"meter {doc.get('secondary_address')}: {res.before.get('baud')} -> "
                             f"{args.new_baud} baud (confirmed by a read at {args.new_baud} baud)", "new baud rate")
