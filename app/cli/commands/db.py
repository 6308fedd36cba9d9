"""``heatmeter db``: where the register lives and which schema revision it has."""
from __future__ import annotations

import sys

from app.cli.errors import UserError
from app.cli.options import add_db, print_json


def register(subparsers) -> None:
    p = subparsers.add_parser("db", help="the register database: status, upgrade",
                              description="The register database (--db URL, else $HEATMETER_DB, else an SQLite "
                                          "file in the user data directory).")
    sub = p.add_subparsers(dest="db_command", metavar="SUBCOMMAND", parser_class=type(p))
    p.set_defaults(func=lambda a: (p.print_help(sys.stderr), 2)[1])
    sp = sub.add_parser("status", help="the database URL, its schema revision and whether it reads back sound "
                                       "(changes nothing)")
    add_db(sp)
    sp.add_argument("--quick", action="store_true", help="skip the check of every page (SQLite)")
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(func=cmd_status)
    sp = sub.add_parser("upgrade", help="create the database or migrate it to the latest revision")
    add_db(sp)
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(func=cmd_upgrade)


def _open(args, migrate_schema: bool):
    from app.storage.errors import RegisterError
    from app.storage.register import open_register

    try:
        return open_register(args.db, migrate_schema=migrate_schema)
    except RegisterError as exc:
        raise UserError(str(exc), exc.status) from None


def cmd_status(args) -> int:
    from app.storage.errors import RegisterError

    reg = _open(args, migrate_schema=False)
    try:
        st = reg.schema_status()
        damage = None if args.quick else reg.check_integrity()
    except RegisterError as exc:
        raise UserError(str(exc), exc.status) from None
    finally:
        reg.close()
    st["url"] = reg.url
    st["damaged"] = damage
    if args.json:
        print_json(st)
    else:
        state = ("up to date" if st["up_to_date"] else "empty (created on first use)" if st["current"] is None
                 else "older: migrated on next use" if st["known"] else "NEWER than this heatmeter")
        print(f"{st['url']}: revision {st['current'] or '-'} (latest {st['head']}): {state}")
    if damage:
        raise UserError(f"database {st['url']} is DAMAGED ({damage}): restore it from a backup", 2)
    return 0 if st["known"] else 2


def cmd_upgrade(args) -> int:
    from app.storage.errors import RegisterError
    from app.storage.migrate import schema_status

    reg = _open(args, migrate_schema=False)
    try:
        before = reg.schema_status()["current"]
        reg.close()
        reg = _open(args, migrate_schema=True)
        st = schema_status(reg.engine)
    except RegisterError as exc:
        raise UserError(str(exc), exc.status) from None
    finally:
        reg.close()
    if args.json:
        print_json({"url": reg.url, "from": before, "to": st["current"]})
    else:
        print(f"{reg.url}: revision {before or '-'} -> {st['current']}")
    return 0
