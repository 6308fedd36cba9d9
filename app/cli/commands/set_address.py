"""``heatmeter set-address``: give a meter a new primary address, confirmed by a read there."""
from __future__ import annotations

from app.cli.commands import _bus


def register(sub) -> None:
    p = sub.add_parser("set-address", help="set a meter's primary address (confirmed by a read at the new one)",
                       description="Check that no meter answers at the new primary address, write it (SND_UD, "
                                   "CI 0x51, DIF 0x01 VIF 0x7A) and read the meter back there. Exit 0 when "
                                   "confirmed, 1 when the new address is in use (nothing written), the meter "
                                   "did not acknowledge or the read-back failed, 2 for bad arguments or the "
                                   "port. Meters sharing an address: give --secondary ID.MAN.VV.MM.")
    _bus.add_common(p)
    _bus.add_meter(p, "current primary address")
    p.add_argument("--new-address", type=_bus.primary_address, required=True, metavar="M",
                   help="new primary address 0..250")
    _bus.add_save_write(p)
    p.set_defaults(func=run)


def run(args) -> int:
    spec = _bus.spec_from_args(args)
    with _bus.bus_errors(secondary=args.secondary), _bus.open_session(spec) as session:
        res = session.set_address(args.new_address, address=args.address, secondary=args.secondary)
    doc = res.to_json()
    if args.secondary is not None:
        doc["secondary"] = str(args.secondary)
    before = res.before.get("address")
    done = (f"meter {doc.get('secondary_address')}: primary address {'?' if before is None else before} -> "
            f"{args.new_address} (confirmed by a read there)"
            if res.acknowledged else f"meter {doc.get('secondary_address')} {res.detail}")
    return _bus.report_write(args, res, doc, done, "new address")
