"""``heatmeter sample-plan``: ISO 2859-1 single sampling plan for a lot (MMS 1.3.4)."""
from __future__ import annotations

import sys

from app.cli.options import bounded_int

LEVELS = ("S-1", "S-2", "S-3", "S-4", "I", "II", "III")
INSPECTIONS = ("normal", "tightened", "reduced")
MAX_LOT = 100_000_000  # ISO 2859-1's last row is "500,001 and over"; no register holds more meters


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "sample-plan", help="ISO 2859-1 sampling plan for a lot (default: level II, AQL 4.0, normal)",
        description="ISO 2859-1 single sampling plan: code letter (Table 1), plan after the arrows of Table 2-A/2-B/2-C.")
    p.add_argument("--lot-size", required=True, metavar="N", help="number of meters in the lot")
    p.add_argument("--level", default="II", metavar="LEVEL", help="inspection level: S-1, S-2, S-3, S-4, I, II, III (default II)")
    p.add_argument("--aql", default="4.0", metavar="AQL", help="acceptance quality limit printed in Table 2, 0.010 ... 1000 (default 4.0)")
    p.add_argument("--inspection", default="normal", metavar="KIND", help="normal, tightened or reduced (default normal)")
    p.add_argument("--oc", action="store_true", help="add the plan's OC curve (binomial and hypergeometric) as 'oc_curve'")
    p.add_argument("--oc-points", type=bounded_int(2, 1001), default=51, metavar="K",
                   help="points of the OC curve, 2 to 1001 (default 51)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def run(args) -> int:
    from app.cli.errors import UserError

    try:
        lot_size = int(args.lot_size, 10) if len(args.lot_size) <= 20 else None
    except ValueError:
        lot_size = None
    if lot_size is None:
        raise UserError(f"lot-size: must be a whole number, not {args.lot_size[:30]!r}", 2)
    if not 1 <= lot_size <= MAX_LOT:
        raise UserError(f"lot-size: must be from 1 to {MAX_LOT:,}, not {lot_size:,}", 2)
    if args.level not in LEVELS:
        raise UserError(f"level: must be one of {', '.join(LEVELS)}, not {args.level!r}", 2)
    if args.inspection not in INSPECTIONS:
        raise UserError(f"inspection: must be one of {', '.join(INSPECTIONS)}, not {args.inspection!r}", 2)
    try:
        aql = float(args.aql)
    except ValueError:
        raise UserError(f"aql: must be a number printed in ISO 2859-1 Table 2, not {args.aql[:30]!r}", 2) from None
    if args.oc and args.oc_points < 2:
        raise UserError("oc-points: must be at least 2", 2)

    from app.cli.options import print_json
    from app.core.errors import InputError
    from app.core.sampling import oc_curve, sampling_plan

    try:
        plan = sampling_plan(lot_size, args.level, aql, args.inspection)
    except InputError as exc:
        key = {"lot_size": "lot-size"}.get(exc.key, exc.key)
        raise UserError(f"{key}: {exc.message}", 2) from None
    out = plan.as_dict()
    if args.oc:
        out["oc_curve"] = oc_curve(plan.sample_size, plan.acceptance_number,
                                   lot_size=lot_size, points=args.oc_points)
    if args.json:
        print_json(out)
        return 0
    w = sys.stdout.write
    w(f"lot of {lot_size}: level {plan.level}, AQL {plan.aql:g}, {plan.inspection} inspection\n")
    w(f"code letter {plan.code_letter}" + (f" -> plan {plan.plan_letter} (arrows)" if plan.plan_letter != plan.code_letter else "") + "\n")
    if plan.full_inspection:
        w(f"inspect all {plan.sample_size} meters (the plan's n = {plan.table_sample_size} is not smaller than the lot)\n")
    else:
        w(f"sample {plan.sample_size} meters ({plan.sampling_fraction:.1%} of the lot)\n")
    w(f"accept the lot with at most {plan.acceptance_number} defective; reject with {plan.rejection_number} or more\n")
    if args.oc:
        w("p      Pa(binomial)  Pa(hypergeometric)\n")
        for row in out["oc_curve"]:
            w(f"{row['p']:<6.4f} {row['pa_binomial']:<13.4f} {row.get('pa_hypergeometric', float('nan')):.4f}\n")
    return 0
