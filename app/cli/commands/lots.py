"""``heatmeter lots``: ISO 2859-1 sampling lots of the register (MMS 1.3.3-1.3.5).

form → draw → record → verdict; ``list`` and ``show`` to look. The rules live
in ``app.core`` (lots, sampling, metrology); ``app.storage.planning`` reads and
stores; ``app.services.planner`` is the workflow the Planner page shares.
docs/planning.md describes the commands and what is stored.
"""
from __future__ import annotations

import datetime as dt
import sys
import textwrap

from app.cli.commands._open import opened
from app.cli.errors import UserError
from app.cli.options import add_db, add_user, bounded_int, parse_date, print_json, user_of

KEY_FIELDS = ("manufacturer", "model", "qp_m3h", "install_year", "site", "accuracy_class")
LEVELS = ("S-1", "S-2", "S-3", "S-4", "I", "II", "III")
INSPECTIONS = ("normal", "tightened", "reduced")
SUBASSEMBLIES = ("flow_sensor", "temperature_pair", "calculator", "complete_meter")


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "lots", help="sampling lots: form, draw, record results, verdict (MMS 1.3.3-1.3.5, ISO 2859-1)",
        description="Sampling lots of the register: form lots of the meters due for 9- or 13-year sampling, "
                    "draw the sample with a seed, record test results, decide the verdict. "
                    "See docs/planning.md.")
    sub = p.add_subparsers(dest="lots_command", metavar="SUBCOMMAND", parser_class=type(p))
    p.set_defaults(func=lambda a: _help(p))

    def common(sp):
        add_db(sp)
        add_user(sp)
        sp.add_argument("--json", action="store_true", help="print one JSON object on stdout")

    sp = sub.add_parser("form", help="form lots of the meters due for sampling, and store them",
                        description="Group the meters due for the sampling round by the lot key (default: same "
                                    "manufacturer, model, qp and install year). Meters with an unknown install "
                                    "date or re-installed after repair are listed apart, never pooled. Each lot "
                                    "is stored with its members and its ISO 2859-1 plan.")
    sp.add_argument("--key", metavar="F,F,...", default="manufacturer,model,qp_m3h,install_year",
                    help=f"lot key fields, from {', '.join(KEY_FIELDS)} (default manufacturer,model,qp_m3h,install_year)")
    sp.add_argument("--site", metavar="S", help="only meters of this site")
    sp.add_argument("--as-of", metavar="YYYY-MM-DD", help="planning date (default today)")
    sp.add_argument("--round", type=int, choices=(9, 13), default=9, dest="sampling_round",
                    help="sampling round: 9 (first, MMS 1.3.3.1) or 13 years (second, after a passed 9-year lot)")
    sp.add_argument("--window-months", type=bounded_int(0, 1200), default=12, metavar="N",
                    help="meters reaching the round's age within N months of --as-of (default 12)")
    sp.add_argument("--all", action="store_true", dest="all_meters",
                    help="every meter in service whatever its age (lot state still counts)")
    sp.add_argument("--level", default="II", metavar="LEVEL", help="ISO 2859-1 inspection level (default II)")
    sp.add_argument("--aql", default="4.0", metavar="AQL", help="AQL printed in ISO 2859-1 Table 2 (default 4.0)")
    sp.add_argument("--inspection", default="normal", metavar="KIND", help="normal, tightened, reduced (default normal)")
    sp.add_argument("--lead-months", type=int, default=4, metavar="N",
                    help="months from forming a lot to its verdict (draw, fetch, test, decide); a lot with meters "
                         "reaching their deadline sooner gets a warning (default 4)")
    sp.add_argument("--dry-run", action="store_true", help="show the lots without storing them")
    common(sp)
    sp.set_defaults(func=cmd_form)

    sp = sub.add_parser("list", help="every lot with its state")
    common(sp)
    sp.set_defaults(func=cmd_list)

    sp = sub.add_parser("show", help="one lot: key, plan, members, draw, results, verdict")
    sp.add_argument("lot", metavar="LOT", help="lot number (see lots list)")
    common(sp)
    sp.set_defaults(func=cmd_show)

    sp = sub.add_parser("draw", help="draw the lot's sample plus spares with a seed (reproducible)")
    sp.add_argument("lot", metavar="LOT")
    sp.add_argument("--seed", required=True, metavar="N", help="integer seed of the draw (record it)")
    sp.add_argument("--spares", metavar="K", help="spares drawn beside the sample (default a quarter of n, at least 2)")
    sp.add_argument("--force", action="store_true",
                    help="draw again although the lot was drawn (its earlier draw and results are discarded; logged)")
    common(sp)
    sp.set_defaults(func=cmd_draw)

    sp = sub.add_parser("record", help="enter test results of drawn meters",
                        description="Enter results of the drawn meters: a single error figure, calibration points "
                                    "(judged with the calibration calculator against 2x the initial MPE, from the "
                                    "meter's class, qp, qp/qi, Δθmin/Δθmax in the register), inaccessible, or a "
                                    "test lab's results CSV (columns in docs/planning.md). All or nothing.")
    sp.add_argument("lot", metavar="LOT")
    sp.add_argument("--meter", nargs=2, metavar=("MANUFACTURER", "SERIAL"), help="the tested meter")
    g = sp.add_mutually_exclusive_group()
    g.add_argument("--error-pct", metavar="X", help="single error figure of the meter, %% (signed)")
    g.add_argument("--points", metavar="FILE.json", help="calibration points: a JSON list of "
                                                          "{error_pct, q_m3h?, dtheta_k?, interval?}")
    g.add_argument("--inaccessible", action="store_true", help="the meter could not be reached (a spare stands in)")
    g.add_argument("--file", metavar="RESULTS.csv", help="a results CSV for several meters")
    sp.add_argument("--q-m3h", metavar="Q", help="with --error-pct: flow of the figure (default the meter's qp)")
    sp.add_argument("--dtheta-k", metavar="K", help="with --error-pct: temperature difference (default the meter's Δθmax)")
    sp.add_argument("--mpe-pct", metavar="P", help="with --error-pct: the initial-verification MPE to apply "
                                                   "(instead of computing it)")
    sp.add_argument("--subassembly", choices=SUBASSEMBLIES, help="what was tested (default complete_meter)")
    sp.add_argument("--tested-on", metavar="YYYY-MM-DD", help="test date (default today)")
    sp.add_argument("--lab", metavar="NAME")
    sp.add_argument("--certificate", metavar="NO")
    sp.add_argument("--replace", action="store_true", help="correct a result already recorded (logged)")
    common(sp)
    sp.set_defaults(func=cmd_record)

    from app.cli.commands._lots_work import add_commands as add_work_commands

    add_work_commands(sub, common)

    sp = sub.add_parser("verdict", help="decide the lot (MMS 1.3.5) and show what follows for each member")
    sp.add_argument("lot", metavar="LOT")
    sp.add_argument("--date", metavar="YYYY-MM-DD", help="date of the verdict (default today)")
    sp.add_argument("--dry-run", action="store_true", help="show the verdict without storing it")
    common(sp)
    sp.set_defaults(func=cmd_verdict)


def _help(p) -> int:
    p.print_help(sys.stderr)
    return 2


# ---- shared helpers -------------------------------------------------------------------

def parse_int(text: str | None, what: str) -> int | None:
    if text is None:
        return None
    try:
        n = int(text, 10) if len(text) <= 20 else None
    except ValueError:
        n = None
    if n is None or not -(2 ** 62) <= n <= 2 ** 62:
        raise UserError(f"{what}: must be a whole number (at most 19 digits), not {text[:30]!r}")
    return n


def parse_float(text: str | None, what: str) -> float | None:
    if text is None:
        return None
    try:
        v = float(text)
    except ValueError:
        hint = " (the decimal mark is a point)" if "," in text else ""
        raise UserError(f"{what}: must be a number{hint}, not {text[:30]!r}") from None
    if v != v or v in (float("inf"), float("-inf")):
        raise UserError(f"{what}: must be a finite number, not {text[:30]!r}")
    return v


def _lot_id(args) -> int:
    n = parse_int(args.lot, "LOT")
    if n < 1:
        raise UserError(f"LOT: no lot {n} (lot numbers start at 1)")
    return n


def _meter(d: dict) -> str:
    return f"{d['manufacturer']} {d['serial']}"


def _count(n: int, what: str) -> str:
    return f"{n} {what}{'' if n == 1 else 's'}"


def _wrapped(label: str, items: list[str]) -> str:
    return textwrap.fill(", ".join(items), width=100, initial_indent=f"  {label}: ",
                         subsequent_indent=" " * (len(label) + 4))


# ---- commands -------------------------------------------------------------------------

def cmd_form(args) -> int:
    key = [f.strip() for f in args.key.split(",") if f.strip()]
    for f in key:
        if f not in KEY_FIELDS:
            raise UserError(f"key: {f!r} is not a lot key field ({', '.join(KEY_FIELDS)})")
    if not key:
        raise UserError("key: give at least one field")
    if args.level not in LEVELS:
        raise UserError(f"level: must be one of {', '.join(LEVELS)}, not {args.level!r}")
    if args.inspection not in INSPECTIONS:
        raise UserError(f"inspection: must be one of {', '.join(INSPECTIONS)}, not {args.inspection!r}")
    aql = parse_float(args.aql, "aql")
    if args.window_months < 0:
        raise UserError("window-months: must not be negative")
    if args.lead_months < 0:
        raise UserError("lead-months: must not be negative")
    as_of = parse_date(args.as_of, "--as-of") or dt.date.today()
    from app.services import planner

    with opened(args) as reg:
        f = planner.form_lots(reg, as_of=as_of, sampling_round=args.sampling_round, window_months=args.window_months,
                               key=key, site=args.site, all_meters=args.all_meters, level=args.level, aql=aql,
                               inspection=args.inspection, dry_run=args.dry_run, user=user_of(args),
                               lead_months=args.lead_months)
    if args.json:
        print_json(f.as_dict())
    else:
        w = sys.stdout.write
        what = "every meter" if f.all_meters else (f"meters reaching {f.sampling_round} years by "
                                                    f"{f.window_end.isoformat()}")
        w(f"lot key: {', '.join(f.key_fields)}; round {f.sampling_round} years; {what}"
          f"{' at ' + f.site if f.site else ''}\n")
        for lot in f.lots:
            plan = lot["plan"]
            ident = f"lot {lot['id']}" if lot["id"] is not None else "lot (not stored)"
            full = " (every meter)" if plan.get("full_inspection") else ""
            w(f"{ident}: {' | '.join(str(v) for v in lot['key'].values())}: {_count(lot['size'], 'meter')}; sample "
              f"{plan['sample_size']}{full}, accept with <= {plan['acceptance_number']} defective "
              f"(code {plan['code_letter']}, plan {plan['plan_letter']})\n")
            for field, spellings in (lot.get("merged") or {}).items():
                w(_wrapped(f"merged {field} spellings", spellings) + "\n")
            for warn in lot.get("warnings") or []:
                w(f"  WARNING: {warn['text']}\n")
            w(_wrapped("members", sorted(_meter(m) for m in lot["members"])) + "\n")
        if f.apart:
            w(f"listed apart, not pooled ({len(f.apart)}):\n")
            for a in f.apart:
                w(f"  {_meter(a)} ({a['site']}): {a['reason']}\n")
        if f.not_eligible:
            w("not eligible: " + ", ".join(f"{k} {v}" for k, v in sorted(f.not_eligible.items())) + "\n")
        n = sum(lot["size"] for lot in f.lots)
        state = "stored" if f.stored else "not stored (--dry-run)" if args.dry_run else "nothing stored"
        w(f"{len(f.lots)} lots, {n} meters; {state}\n")
    if not f.lots:
        print(f"heatmeter: no lot formed: no meter is due for {f.sampling_round}-year sampling by "
              f"{f.window_end.isoformat()}" + (f" at site {f.site!r}" if f.site else ""), file=sys.stderr)
        return 1
    return 0


def cmd_list(args) -> int:
    from app.services import planner

    with opened(args) as reg:
        lots = planner.list_lots(reg)
    if args.json:
        print_json(lots)
        return 0
    if not lots:
        print("no lots (heatmeter lots form)", file=sys.stderr)
        return 0
    for lot in lots:
        verdict = f"{lot['verdict']} on {lot['decided_on']}" if lot["verdict"] else lot["status"]
        print(f"{lot['id']:>5}  {lot['purpose'] or '-':<13} {lot['name'] or '':<45} {lot['lot_size']:>6} meters  "
              f"n={lot['sample_size']} Ac={lot['acceptance_number']}  drawn {lot['drawn']}, results "
              f"{lot['results']} ({lot['defectives']} defective)  {verdict}")
    return 0


def cmd_show(args) -> int:
    from app.services import planner

    lot_id = _lot_id(args)
    with opened(args) as reg:
        d = planner.show_lot(reg, lot_id)
    if args.json:
        print_json(d)
        return 0
    w = sys.stdout.write
    w(f"lot {d['id']}: {d['name']} ({d['purpose']})\n")
    w("key: " + ", ".join(f"{k}={v}" for k, v in d["key"].items()) + "\n")
    w(f"formed {d['formed_at']} by {d['formed_by']}; {d['lot_size']} meters; status {d['status']}\n")
    p = d["plan"] or {}
    w(f"plan: level {p.get('level')}, AQL {p.get('aql')}, {p.get('inspection')}; code {p.get('code_letter')}, "
      f"plan {p.get('plan_letter')}; n={d['sample_size']}, Ac={d['acceptance_number']}, Re={d['rejection_number']}\n")
    w(_wrapped("members", sorted(_meter(m) for m in d["members"])) + "\n")
    if d["draw"]:
        dr = d["draw"]
        sample = [_meter(m) + (f" [{m['status']}]" if m["status"] != "drawn" else "") for m in dr["meters"] if not m["spare"]]
        spares = [_meter(m) + (f" [{m['status']}]" if m["status"] != "drawn" else "") for m in dr["meters"] if m["spare"]]
        check = {True: "reproduces", False: "DOES NOT reproduce", None: "cannot be checked"}[dr["reproduced"]]
        w(f"draw: seed {dr['seed']} ({check} from the stored seed and members)\n")
        w(_wrapped("sample", sample) + "\n")
        if spares:
            w(_wrapped("spares", spares) + "\n")
    else:
        w("not drawn yet\n")
    for r in d["results_list"]:
        if r["inaccessible"]:
            w(f"  {_meter(r)}: inaccessible\n")
        else:
            w(f"  {_meter(r)}: {r['error_pct']:+.2f} % (limit {r['limit_pct']:.2f} %) "
              f"{'DEFECTIVE' if r['defective'] else 'ok'}  tested {r['tested_on']}\n")
    v = d["verdict_record"]
    if v:
        w(f"verdict: {v['verdict']} on {v['decided_on']} by {v['decided_by']}: {v['defectives']} defective of "
          f"{v['sample_tested']} (Ac {v['acceptance_number']}); {v['notes']}\n")
    return 0


def cmd_draw(args) -> int:
    from app.services import planner

    lot_id = _lot_id(args)
    seed = parse_int(args.seed, "seed")
    spares = parse_int(args.spares, "spares")
    if spares is not None and not 0 <= spares <= 100_000:
        raise UserError("spares: must be from 0 to 100,000")
    with opened(args) as reg:
        d = planner.draw_lot(reg, lot_id, seed, spares=spares, force=args.force, user=user_of(args))
    if args.json:
        print_json(d)
        return 0
    w = sys.stdout.write
    w(f"lot {lot_id}: drew {d['sample_size']} of {d['lot_size']} meters + {len(d['spares'])} spares with seed "
      f"{d['seed']}{' (earlier draw discarded)' if d['redrawn'] else ''}\n")
    for i, m in enumerate(d["sample"], 1):
        w(f"  {i:>3}. {_meter(m)}  ({m['site']})\n")
    for i, m in enumerate(d["spares"], 1):
        w(f"  spare {i}. {_meter(m)}  ({m['site']})\n")
    return 0


def cmd_record(args) -> int:
    from app.services import planner

    lot_id = _lot_id(args)
    tested_on = parse_date(args.tested_on, "--tested-on")
    singles = (args.q_m3h, args.dtheta_k, args.mpe_pct)
    if args.file:
        if args.meter or any(v is not None for v in singles):
            raise UserError("--file takes the meters and figures from the file: no --meter, --q-m3h, --dtheta-k, --mpe-pct")
    else:
        if not args.meter:
            raise UserError("give --meter MANUFACTURER SERIAL with --error-pct, --points or --inaccessible, or --file")
        if args.error_pct is None and args.points is None and not args.inaccessible:
            raise UserError("give --error-pct X, --points FILE.json or --inaccessible for the meter")
        if args.error_pct is None and any(v is not None for v in singles):
            raise UserError("--q-m3h, --dtheta-k and --mpe-pct go with --error-pct")
    with opened(args) as reg:
        if args.file:
            entries = planner.read_results_file(args.file, subassembly=args.subassembly, lab=args.lab,
                                                certificate=args.certificate)
        else:
            make, serial = args.meter
            e = planner.result_entry(make, serial, subassembly=args.subassembly, tested_on=tested_on, lab=args.lab,
                                     certificate=args.certificate)
            if args.inaccessible:
                e.inaccessible = True
            elif args.points:
                data = planner.read_points_file(args.points)
                e.points = data["points"]
                e.subassembly = args.subassembly or data.get("subassembly")
                e.apply_guard_band = bool(data.get("apply_guard_band", False))
                e.test_uncertainty_pct = data.get("test_uncertainty_pct")
            else:
                e.error_pct = parse_float(args.error_pct, "error-pct")
                e.q_m3h = parse_float(args.q_m3h, "q-m3h")
                e.dtheta_k = parse_float(args.dtheta_k, "dtheta-k")
                e.mpe_initial_pct = parse_float(args.mpe_pct, "mpe-pct")
            entries = [e]
        out = planner.record_results(reg, lot_id, entries, tested_on=tested_on, replace_existing=args.replace,
                                     user=user_of(args))
    if args.json:
        print_json(out)
        return 0
    for r in out["recorded"]:
        if r["basis"] == "inaccessible":
            what = "inaccessible"
        else:
            what = (f"{r['error_pct']:+.2f} % against {r['limit_pct']:.2f} %: "
                    f"{'DEFECTIVE' if r['defective'] else 'ok'}")
        print(f"lot {lot_id}: {_meter(r)}{' (spare)' if r['spare'] else ''}: {what}"
              + (" (replaces the earlier result)" if r["replaced"] else ""))
    return 0


def cmd_verdict(args) -> int:
    from app.services import planner

    lot_id = _lot_id(args)
    on = parse_date(args.date, "--date")
    with opened(args) as reg:
        v = planner.decide_lot(reg, lot_id, on=on, store=not args.dry_run, user=user_of(args))
    if args.json:
        print_json(v)
    else:
        w = sys.stdout.write
        w(f"lot {lot_id} ({v['name']}), {v['sampling_round']}-year sampling: {v['verdict'].upper()} - "
          f"{v['defectives']} defective of {v['tested']} tested (n={v['sample_size']}, Ac={v['acceptance_number']}, "
          f"Re={v['rejection_number']}){'; stored' if v['stored'] else ''}\n")
        if v["verdict"] == "pass":
            w(f"every member may stay in service to {14 if v['sampling_round'] == 9 else 18} years after "
              "installation:\n")
            for m in sorted(v["members"], key=_meter):
                w(f"  {_meter(m)}: retain until {m['retain_until']}\n")
        elif v["verdict"] == "fail":
            w("replacement list (recalibrate or replace):\n")
            for m in sorted(v["members"], key=_meter):
                w(f"  {_meter(m)} ({m['site']}): by {m['replace_by']}\n")
    if v["verdict"] == "incomplete":
        print(f"heatmeter: lot {lot_id}: verdict incomplete: {v['tested']} of {v['sample_size']} meters tested; "
              "record more results (spares stand in for inaccessible meters); nothing stored", file=sys.stderr)
        return 1
    return 0
