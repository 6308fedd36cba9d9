"""``heatmeter db``: where the register lives, its schema, its integrity, its roles, its backups."""
from __future__ import annotations

import sys

from app.cli.errors import UserError
from app.cli.options import add_db, print_json, safe


def register(subparsers) -> None:
    p = subparsers.add_parser("db", help="the register database: status, upgrade, verify, roles, backup, restore",
                              description="The register database (--db URL, else $HEATMETER_DB, else an SQLite "
                                          "file in the user data directory).")
    sub = p.add_subparsers(dest="db_command", metavar="SUBCOMMAND", parser_class=type(p))
    p.set_defaults(func=lambda a: (p.print_help(sys.stderr), 2)[1])

    def sp(name, helptext, func):
        s = sub.add_parser(name, help=helptext)
        add_db(s)
        s.add_argument("--json", action="store_true", help="print JSON on stdout")
        s.set_defaults(func=func)
        return s

    s = sp("status", "the database URL, its schema revision and whether it reads back sound (changes nothing)",
           cmd_status)
    s.add_argument("--quick", action="store_true", help="skip the check of every page (SQLite)")
    sp("upgrade", "create the database or migrate it to the latest revision", cmd_upgrade)
    sp("verify", "check that no event, telegram, decode, signed record, lot or calibration was changed "
                 "outside heatmeter (exit 1 and one line per problem)", cmd_verify)
    s = sp("roles", "PostgreSQL: create the roles heatmeter_technician, _planner, _dpo, _admin and their grants",
           cmd_roles)
    s.add_argument("--member", action="append", default=[], metavar="LOGIN=ROLE",
                   help="also make an existing login role a member of technician, planner, dpo or admin "
                        "(repeatable)")
    s = sp("backup", "write a backup of the register to FILE (SQLite online backup; PostgreSQL pg_dump)", cmd_backup)
    s.add_argument("file", metavar="FILE")
    s = sp("restore", "replace the register by the backup FILE, if FILE verifies (the current register is saved "
                      "next to FILE first)", cmd_restore)
    s.add_argument("file", metavar="FILE")
    sp("vacuum", "rewrite the tables holding personal data so that erased values leave the files", cmd_vacuum)


def _open(args, migrate_schema: bool = True):
    from app.storage.errors import RegisterError
    from app.storage.register import open_register

    try:
        return open_register(args.db, migrate_schema=migrate_schema)
    except RegisterError as exc:
        raise UserError(str(exc), exc.status) from None


def _errors(fn):
    from app.storage.errors import RegisterError

    try:
        return fn()
    except RegisterError as exc:
        raise UserError(str(exc), exc.status) from None


def cmd_status(args) -> int:
    reg = _open(args, migrate_schema=False)
    try:
        st = _errors(reg.schema_status)
        damage = None if args.quick else _errors(reg.check_integrity)
    finally:
        reg.close()
    st["url"] = reg.url
    st["damaged"] = damage
    if args.json:
        print_json(st)
    else:
        state = ("up to date" if st["up_to_date"] else "empty (created on first use)" if st["current"] is None
                 else "older: migrated on next use" if st["known"] else "NEWER than this heatmeter")
        ro = "; read-only (the file cannot be written: nothing can be changed)" if st["read_only"] else ""
        print(f"{st['url']}: revision {st['current'] or '-'} (latest {st['head']}): {state}{ro}")
    if damage:
        raise UserError(f"database {st['url']} is DAMAGED ({damage}): restore it from a backup", 2)
    return 0 if st["known"] else 2


def cmd_upgrade(args) -> int:
    from app.storage.migrate import schema_status

    reg = _open(args, migrate_schema=False)
    try:
        before = _errors(reg.schema_status)["current"]
        reg.close()
        reg = _open(args, migrate_schema=True)
        st = _errors(lambda: schema_status(reg.engine))
    finally:
        reg.close()
    if args.json:
        print_json({"url": reg.url, "from": before, "to": st["current"]})
    else:
        print(f"{reg.url}: revision {before or '-'} -> {st['current']}")
    return 0


def cmd_verify(args) -> int:
    reg = _open(args)
    try:
        rep = _errors(reg.verify_integrity)
    finally:
        reg.close()
    if args.json:
        print_json(rep.to_dict())
    elif rep.ok:
        print(f"verified: {rep.events} events, {rep.evidence} evidence items")
        print(f"chain end: event {rep.head_id}, {rep.head_hash}", file=sys.stderr)
    else:
        for p in rep.problems:
            print(safe(p.line()))
    return 0 if rep.ok else 1


def cmd_roles(args) -> int:
    from app.storage import roles

    members = []
    for m in args.member:
        login, sep, role = m.partition("=")
        if not sep or not login or not role:
            raise UserError(f"--member {m!r}: expected LOGIN=ROLE, e.g. alice=technician")
        members.append((login.strip(), role.strip()))
    reg = _open(args)
    try:
        if reg.is_sqlite:
            raise UserError("db roles is for PostgreSQL: an SQLite register is a file; who may use it is who may "
                            "read and write the file (the event log names the OS user)")

        def apply():
            with reg.engine.begin() as conn:
                return roles.apply_roles(conn, members)

        try:
            res = _errors(apply)
        except (ValueError, LookupError) as exc:
            raise UserError(str(exc)) from None
        except Exception as exc:  # e.g. the role connected may not create roles
            first = str(getattr(exc, "orig", exc)).strip().splitlines()
            raise UserError(f"cannot set up the roles: {first[0] if first else exc} (connect as the register's "
                            "owner, a role that may create roles)", 1) from None
    finally:
        reg.close()
    if args.json:
        print_json(res)
    else:
        made = f"created {', '.join(res['created'])}; " if res["created"] else ""
        print(f"{made}grants given on {res['tables']} tables to {', '.join(res['groups'])}")
        for login, group in res["members"]:
            print(f"{login} is a member of {group}")
    return 0


def cmd_backup(args) -> int:
    from app.storage import backup

    res = _errors(lambda: backup.backup(args.db, args.file))
    if args.json:
        print_json(res)
    else:
        state = "verified" if res["verified"] else f"DOES NOT VERIFY ({len(res['problems'])} problem(s))"
        print(f"backup written to {res['file']}: {res['events']} events, {res['evidence']} evidence items, {state}; "
              f"chain end: event {res['chain_end']['event_id']}, {res['chain_end']['hash']}")
        for line in res["problems"]:
            print(f"heatmeter: {safe(line)}", file=sys.stderr)
    return 0


def cmd_restore(args) -> int:
    from app.storage import backup

    res = _errors(lambda: backup.restore(args.db, args.file))
    if args.json:
        print_json(res)
    else:
        saved = f"; the register as it was is saved in {res['previous_saved_to']}" if res["previous_saved_to"] else ""
        print(f"restored {res['file']} into {res['register']}: verified {res['events']} events, "
              f"{res['evidence']} evidence items{saved}")
    return 0


def cmd_vacuum(args) -> int:
    reg = _open(args)
    try:
        left = _errors(reg.purge_erased)
    finally:
        reg.close()
    if args.json:
        print_json({"url": reg.url, "remaining": left})
    else:
        print(f"{reg.url}: tables rewritten")
        for line in left:
            print(f"heatmeter: still to go: {line}", file=sys.stderr)
    return 0
