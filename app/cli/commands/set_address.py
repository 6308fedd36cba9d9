"""``heatmeter set-address``: give a meter a new primary address, confirmed by a read there."""
from __future__ import annotations

from app.cli.commands import _bus


def register(sub) -> None:
    p = sub.add_parser("set-address", help="set a meter's primary address (confirmed by a read at the new one)",
                       description="Write a new primary address (SND_UD, CI 0x51, DIF 0x01 VIF 0x7A) and read "
                                   "the meter back there. Exit 0 when confirmed, 1 when the meter did not "
                                   "acknowledge or the read-back failed, 2 for bad arguments or the port.")
    _bus.add_common(p)
    _bus.add_meter(p, "current primary address")
    p.add_argument("--new-address", type=_bus.primary_address, required=True, metavar="M",
                   help="new primary address 0..250")
    _bus.add_save_write(p)
    p.set_defaults(func=run)


def run(args) -> int:
    spec = _bus.spec_from_args(args)
    with _bus.bus_errors(), _bus.open_session(spec) as session:
        res = session.set_address(args.new_address, address=args.address, secondary=args.secondary)
    doc = res.to_json()
    if args.secondary is not None:
        doc["secondary"] = str(args.secondary)
    before = res.before.get("address")
    return _bus.report_write(args, res, doc, f"meter {doc.get('secondary_address')}: primary address "
                             f"{'?' if before is None else before} -> {args.new_address} (confirmed by a read there)",
                             "new address")
