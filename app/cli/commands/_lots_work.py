"""``heatmeter lots alias`` (the model alias table) and ``heatmeter lots send`` (meters off to the test lab).

    heatmeter lots alias list
    heatmeter lots alias add MANUFACTURER ALIAS MODEL     # "MC403" is the model "MULTICAL 403" of Kamstrup
    heatmeter lots alias remove ID
    heatmeter lots send LOT [--meter MANUFACTURER SERIAL ...] [--on DATE]   # default: every meter of the sample

Registered under ``heatmeter lots`` by ``app.cli.commands.lots``.
"""
from __future__ import annotations

import datetime as dt

from app.cli.errors import UserError
from app.cli.options import parse_date, print_json, user_of


def add_commands(sub, common) -> None:
    sp = sub.add_parser("alias", help="the model alias table lots compare models through",
                        description="Spellings that differ only in case, spaces or punctuation are one model "
                                    "anyway; the alias table says that other names are the same model (MC403 is "
                                    "MULTICAL 403). Shipped rows come from resources/model_aliases.csv; rows added "
                                    "here are kept in the register, for everyone using it, and win.")
    asub = sp.add_subparsers(dest="alias_command", metavar="ACTION", parser_class=type(sp))
    sp.set_defaults(func=lambda a: _help(sp))
    ap = asub.add_parser("list", help="every alias in force (shipped and the register's)")
    common(ap)
    ap.set_defaults(func=cmd_alias_list)
    ap = asub.add_parser("add", help="add an alias (kept in the register, logged)")
    ap.add_argument("manufacturer", metavar="MANUFACTURER", help="make or FLAG code ('' for every make)")
    ap.add_argument("alias", metavar="ALIAS", help="the other name")
    ap.add_argument("model", metavar="MODEL", help="the model it names")
    ap.add_argument("--notes", metavar="TEXT")
    common(ap)
    ap.set_defaults(func=cmd_alias_add)
    ap = asub.add_parser("remove", help="remove one of the register's aliases (logged)")
    ap.add_argument("id", metavar="ID", type=int)
    common(ap)
    ap.set_defaults(func=cmd_alias_remove)

    sp = sub.add_parser("send", help="mark drawn meters as sent to the test lab (until their result is recorded)")
    sp.add_argument("lot", metavar="LOT")
    sp.add_argument("--meter", nargs=2, action="append", metavar=("MANUFACTURER", "SERIAL"),
                    help="a drawn meter (repeat for several; default every meter of the sample not yet sent)")
    sp.add_argument("--on", metavar="YYYY-MM-DD", help="date they left (default today)")
    common(sp)
    sp.set_defaults(func=cmd_send)


def _help(p) -> int:
    import sys

    p.print_help(sys.stderr)
    return 2


def cmd_alias_list(args) -> int:
    from app.cli.commands._open import opened
    from app.core.lot_keys import shipped_aliases

    with opened(args) as reg:
        mine = reg.model_aliases()
    rows = [{"id": None, "manufacturer": a.manufacturer, "alias": a.alias, "model": a.model, "source": "shipped"}
            for a in shipped_aliases().rows]
    rows += [{"id": a["id"], "manufacturer": a["manufacturer"], "alias": a["alias"], "model": a["model"],
              "source": "register", "created_by": a["created_by"], "created_at": a["created_at"]} for a in mine]
    if args.json:
        print_json(rows)
        return 0
    for r in rows:
        ident = f"{r['id']:>4}" if r["id"] is not None else "   -"
        print(f"{ident}  {r['source']:<8}  {r['manufacturer'] or '(any make)':<10} {r['alias']!r} = {r['model']!r}")
    return 0


def cmd_alias_add(args) -> int:
    from app.cli.commands._open import opened

    with opened(args) as reg:
        aid = reg.add_model_alias(args.manufacturer, args.alias, args.model, notes=args.notes, user=user_of(args))
    if args.json:
        print_json({"id": aid, "manufacturer": args.manufacturer, "alias": args.alias, "model": args.model})
    else:
        print(f"alias {aid}: {args.alias!r} is the model {args.model!r} of {args.manufacturer or 'every make'}")
    return 0


def cmd_alias_remove(args) -> int:
    from app.cli.commands._open import opened

    with opened(args) as reg:
        reg.remove_model_alias(args.id, user=user_of(args))
    if args.json:
        print_json({"removed": args.id})
    else:
        print(f"alias {args.id} removed")
    return 0


def cmd_send(args) -> int:
    from app.cli.commands._open import lot_number, opened
    from app.storage import planning

    lot_id = lot_number(args.lot)
    on = parse_date(args.on, "--on") or dt.date.today()
    with opened(args) as reg:
        shown = planning.show_lot(reg, lot_id)
        if shown["draw"] is None:
            raise UserError(f"lot {lot_id} has not been drawn yet (heatmeter lots draw {lot_id} --seed N)")
        drawn = shown["draw"]["meters"]
        if args.meter:
            ids = []
            for make, serial in args.meter:
                rec = reg.find_meter(make, serial)
                ids.append(rec.id)
        else:
            ids = [m["meter_id"] for m in drawn if not m["spare"] and m["status"] == "drawn"]
        n = reg.send_to_lab(lot_id, ids, on=on, user=user_of(args))
    if args.json:
        print_json({"lot_id": lot_id, "sent": n, "on": on.isoformat()})
    else:
        print(f"lot {lot_id}: {n} meter(s) marked as at the lab since {on.isoformat()}")
    return 0
