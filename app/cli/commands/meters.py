"""``heatmeter meters``: the meter register (import, export, list, show, history, data protection)."""
from __future__ import annotations

import sys
from contextlib import contextmanager

from app.cli.errors import UserError
from app.cli.options import add_db, add_user, bounded_int, parse_date, print_json, safe, user_of


def register(subparsers) -> None:
    p = subparsers.add_parser("meters", help="the meter register: import, export, list, show, history, data protection",
                              description="The meter register (file format: docs/import-format.md). Every subcommand takes --db URL "
                                          "(default $HEATMETER_DB, else an SQLite file in the user data directory).")
    sub = p.add_subparsers(dest="meters_command", metavar="SUBCOMMAND", parser_class=type(p))
    p.set_defaults(func=lambda a: _help(p))

    def common(sp, json=True):
        add_db(sp)
        add_user(sp)
        if json:
            sp.add_argument("--json", action="store_true", help="print JSON on stdout")

    sp = sub.add_parser("import", help="import meters from a CSV or XLSX file (all or nothing)",
                        description="Import meters from a CSV (, ; or tab separated; UTF-8, UTF-16 with BOM or "
                                    "Windows-1252) or XLSX file (first sheet). All rows or none, unless "
                                    "--skip-invalid. The file format, mappings and date orders are in "
                                    "docs/import-format.md.")
    sp.add_argument("file", metavar="FILE", help="CSV (, ; or tab separated) or XLSX (first sheet)")
    sp.add_argument("--map", metavar="MAP.json", dest="map_file",
                    help='the file\'s headers -> register columns, e.g. {"Meter No": "serial", "Notes": null}')
    sp.add_argument("--date-order", choices=("dmy", "mdy", "ymd"),
                    help="how to read dates such as 03/04/2015 (day-month-year, month-day-year, year-month-day); "
                         "without it such dates are errors")
    sp.add_argument("--decimal-mark", choices=("auto", "point", "comma"), default="auto",
                    help="auto (default): a comma is a decimal mark unless commas separate the cells")
    sp.add_argument("--header-row", metavar="N", help="the header's row (1-based; default: found)")
    sp.add_argument("--skip-invalid", action="store_true",
                    help="store the valid rows; the invalid ones are listed, grouped by reason")
    sp.add_argument("--dry-run", action="store_true", help="check and count, store nothing")
    sp.add_argument("--progress", action="store_true", help="report progress on stderr while rows are written")
    common(sp)
    sp.set_defaults(func=cmd_import)

    sp = sub.add_parser("export", help="export the register as CSV or XLSX (round-trips through import)")
    g = sp.add_mutually_exclusive_group(required=True)
    g.add_argument("--csv", metavar="FILE", help="write CSV to FILE ('-' for stdout)")
    g.add_argument("--xlsx", metavar="FILE", help="write an XLSX workbook to FILE")
    sp.add_argument("--site", metavar="S", help="only this site")
    sp.add_argument("--include-personal", action="store_true",
                    help="add the personal columns: occupant_name, flat, customer_reference, notes and the columns "
                         "marked personal (left out by default; the export is logged)")
    common(sp, json=False)
    sp.set_defaults(func=cmd_export)

    sp = sub.add_parser("list", help="list meters sorted by manufacturer, serial")
    sp.add_argument("--site", metavar="S")
    sp.add_argument("--make", metavar="M", help="make as written, or the M-Bus FLAG code (KAM)")
    sp.add_argument("--model", metavar="M")
    sp.add_argument("--status", metavar="S", help="in_service, removed, spare, in_repair, at_lab, scrapped")
    sp.add_argument("--search", metavar="TEXT", help="words to find in make, model, serial, address, location, site")
    sp.add_argument("--include-restricted", action="store_true",
                    help="also list meters whose processing is restricted (MMS 2.2.5)")
    sp.add_argument("--limit", type=bounded_int(0, 100_000_000), metavar="N")
    sp.add_argument("--offset", type=bounded_int(0, 100_000_000), default=0, metavar="N")
    sp.add_argument("--full", action="store_true", help="with --json: every field, not only the CSV columns")
    common(sp)
    sp.set_defaults(func=cmd_list)

    for name, helptext, func in (
            ("show", "show one meter with its installations (reading its personal data is logged)", cmd_show),
            ("history", "the meter's event log: who changed, read or was refused what, when, before and after",
             cmd_history)):
        sp = sub.add_parser(name, help=helptext)
        sp.add_argument("manufacturer", metavar="MANUFACTURER", help="make as written (any case) or FLAG code")
        sp.add_argument("serial", metavar="SERIAL")
        sp.add_argument("--include-restricted", action="store_true",
                        help="show a meter whose processing is restricted (MMS 2.2.5); refused and logged otherwise")
        common(sp)
        sp.set_defaults(func=func)

    sp = sub.add_parser("personal-column", help="mark a spreadsheet column as personal data (or --off); "
                                                "without a name, list the columns marked")
    sp.add_argument("name", metavar="COLUMN", nargs="?")
    sp.add_argument("--off", action="store_true", help="no longer personal")
    common(sp)
    sp.set_defaults(func=cmd_personal_column)

    sp = sub.add_parser("erase-personal", help="erase occupant name, flat and customer reference (MMS 2.2.3)")
    _target(sp)
    sp.add_argument("--reason", metavar="TEXT", help="recorded in the event log")
    common(sp)
    sp.set_defaults(func=cmd_erase)

    for name, flag, helptext in (
            ("hold", "legal_hold", "set (or --off clear) a legal hold: personal data cannot be erased (MMS 2.2.4)"),
            ("restrict", "restrict_processing",
             "restrict (or --off release) processing: left out of exports and lists, still scheduled by id, "
             "never drawn for a lot (MMS 2.2.5)")):
        sp = sub.add_parser(name, help=helptext)
        sp.add_argument("manufacturer", metavar="MANUFACTURER")
        sp.add_argument("serial", metavar="SERIAL")
        sp.add_argument("--off", action="store_true", help="clear the flag")
        sp.add_argument("--reason", metavar="TEXT", help="recorded in the event log")
        common(sp)
        sp.set_defaults(func=cmd_flag, flag=flag)

    from app.cli.commands._maintenance import add_commands as add_maintenance_commands

    add_maintenance_commands(sub, common)

    sp = sub.add_parser("export-data", help="export the data held on meters or a site by date range (MMS 2.2.1/2.2.2)")
    sp.add_argument("--meter", nargs=2, action="append", metavar=("MANUFACTURER", "SERIAL"),
                    help="a meter (repeat for several)")
    sp.add_argument("--site", metavar="S", help="every meter of this site")
    sp.add_argument("--from", dest="date_from", metavar="YYYY-MM-DD", help="readouts from this day")
    sp.add_argument("--to", dest="date_to", metavar="YYYY-MM-DD", help="readouts up to this day (inclusive)")
    sp.add_argument("--fields", metavar="A,B,...",
                    help="columns to export (default all, the columns marked personal too; see docs/register.md)")
    sp.add_argument("--csv", metavar="FILE", required=True, help="output CSV ('-' for stdout)")
    sp.add_argument("--include-restricted", action="store_true", help="include meters whose processing is restricted")
    common(sp)
    sp.set_defaults(func=cmd_export_data)


def _help(p) -> int:
    p.print_help(sys.stderr)
    return 2


def _target(sp) -> None:
    sp.add_argument("manufacturer", metavar="MANUFACTURER", nargs="?")
    sp.add_argument("serial", metavar="SERIAL", nargs="?")
    sp.add_argument("--site", metavar="S", help="every meter of this site instead of one meter")


@contextmanager
def storage_errors():
    """Turn register errors into the CLI's one-line UserError."""
    from app.storage.errors import RegisterError

    try:
        yield
    except RegisterError as exc:
        raise UserError(str(exc), exc.status) from None


@contextmanager
def opened(args):
    from app.storage.register import open_register

    with storage_errors():
        reg = open_register(getattr(args, "db", None))
        try:
            yield reg
        finally:
            reg.close()


# ---- commands -----------------------------------------------------------------------

def _import_options(args):
    from app.storage.import_map import ImportOptions, load_mapping

    header_row = None
    if args.header_row is not None:
        text = args.header_row.strip()
        if not text.isdigit() or len(text) > 7 or not 1 <= int(text) <= 1_048_576:
            raise UserError(f"--header-row: a row number from 1 to 1,048,576, not {args.header_row!r}")
        header_row = int(text)
    mapping = load_mapping(args.map_file) if args.map_file else None
    return ImportOptions(mapping=mapping, date_order=args.date_order, decimal=args.decimal_mark,
                         header_row=header_row)


LIST_LINES = 20  # a report lists every refused line up to this many (--json lists them all)


def cmd_import(args) -> int:
    from app.storage.errors import InvalidRows

    def progress(done: int, total: int) -> None:
        print(f"heatmeter: import: {done}/{total} rows written", file=sys.stderr, flush=True)

    with storage_errors():
        options = _import_options(args)  # a bad mapping is refused before the register is opened
    with opened(args) as reg:
        try:
            report = reg.import_file(args.file, options=options, skip_invalid=args.skip_invalid, user=user_of(args),
                                     progress=progress if args.progress else None, dry_run=args.dry_run)
        except InvalidRows as exc:
            if args.json:
                print_json(exc.report.to_dict())
            else:
                _print_report(exc.report, stored=False)
            raise UserError(str(exc), exc.status) from None
    if args.json:
        print_json(report.to_dict())
    else:
        _print_report(report, stored=report.stored)
    if report.kept_erased and report.stored:
        print(f"heatmeter: {len(report.kept_erased)} meter(s) had their personal data erased: the file's personal "
              "values for them were not stored (enter a new occupant on the meter itself)", file=sys.stderr)
    return 0


def _print_report(report, *, stored: bool) -> None:
    """The summary on stdout: how the file was read, what is (or would be) stored, what is not, by reason."""
    w = sys.stdout.write
    for note in report.notes:
        w(f"{report.file}: {note}\n")
    n_bad = len(report.invalid)
    if stored or not n_bad:
        verb = "" if stored else " (dry run: nothing stored)"
        moved = f" ({report.moved:,} moved)" if report.moved else ""
        w(f"{report.file}: {report.rows:,} rows: {report.created:,} created, {report.updated:,} updated{moved}, "
          f"{report.unchanged:,} unchanged" + (f", {n_bad:,} invalid rows left out" if n_bad else "") + f"{verb}\n")
        if report.extra_columns:
            w(f"extra columns kept with each meter: {', '.join(safe(c) for c in report.extra_columns)}\n")
    else:
        w(f"{report.file}: {report.rows:,} rows: {n_bad:,} invalid, nothing stored\n")
    if n_bad:
        w(("left out" if stored else "not stored") + ", by reason:\n")
        for g, n, lines in report.problem_groups():
            shown = ", ".join(map(str, lines)) + (", ..." if n > len(lines) else "")
            w(f"  {g}: {n:,} row{'s' if n != 1 else ''} ({'line' if n == 1 else 'e.g. lines'} {shown})\n")
        if n_bad <= LIST_LINES:
            for line, reason in report.invalid:
                w(f"  line {line}: {reason}\n")
        else:
            w(f"  (--json lists all {n_bad:,} lines)\n")


def cmd_export(args) -> int:
    with opened(args) as reg, storage_errors():
        if args.csv:
            n = reg.export_csv(sys.stdout if args.csv == "-" else args.csv, site=args.site,
                               include_personal=args.include_personal, user=user_of(args))
        else:
            n = reg.export_xlsx(args.xlsx, site=args.site, include_personal=args.include_personal,
                                user=user_of(args))
    print(f"heatmeter: exported {n} meters", file=sys.stderr)
    return 0


def cmd_list(args) -> int:
    with opened(args) as reg, storage_errors():
        meters = reg.list_meters(site=args.site, make=args.make, model=args.model, status=args.status,
                                 search=args.search, include_restricted=args.include_restricted, limit=args.limit,
                                 offset=args.offset)
    if args.json:
        print_json([m.to_json(full=args.full) for m in meters])
        return 0
    rows = [[m.manufacturer, m.serial, m.model, m.site, m.monitoring_point or "", m.location or "",
             m.contract_dict()["install_date"] or "", m.status + (" (restricted)" if m.restrict_processing else "")]
            for m in meters]
    _table(["manufacturer", "serial", "model", "site", "point", "location", "installed", "status"], rows)
    print(f"{len(meters)} meter{'s' if len(meters) != 1 else ''}", file=sys.stderr)
    return 0


def _table(headers, rows) -> None:
    rows = [[safe(c) for c in r] for r in rows]
    widths = [len(h) for h in headers]
    for r in rows:
        widths = [max(w, len(str(c))) for w, c in zip(widths, r)]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip())
    for r in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip())


def _asked(reg, args):
    """The meter named on the command line; a restricted one is refused (and the refusal logged)
    unless --include-restricted."""
    from app.storage.errors import ReadOnlyRegister

    m = reg.find_meter(args.manufacturer, args.serial)
    if m.restrict_processing and not args.include_restricted:
        try:
            reg.log_refused([m.id], f"meters {args.meters_command}", "processing restricted", user=user_of(args))
        except ReadOnlyRegister:
            pass
        raise UserError(f"meter {safe(m.label)}: processing is restricted (MMS 2.2.5); give --include-restricted "
                        "to see it anyway (logged)", 1)
    return m


def _personal_read(reg, args, m, what: str, fields) -> bool:
    """Log that personal data of ``m`` is about to be shown; False when it cannot be logged (read-only)."""
    from app.storage.errors import ReadOnlyRegister

    try:
        reg.log_access([m.id], what, fields=list(fields), user=user_of(args))
        return True
    except ReadOnlyRegister:
        print("heatmeter: personal data hidden: the register is read-only, so reading it could not be logged",
              file=sys.stderr)
        return False


def cmd_show(args) -> int:
    from app.storage.records import PERSONAL_FIELDS

    with opened(args) as reg, storage_errors():
        m = _asked(reg, args)
        inst = reg.installations(m.id)
        nread = len(reg.readouts(m.id))
        ncal = len(reg.calibration_results(m.id))
        nwrites = len(reg.meter_writes(m.id))
        coms = reg.list_commissioning(meter_id=m.id)
        if m.has_personal_data:
            shown = [f for f in PERSONAL_FIELDS if getattr(m, f)] + sorted(m.personal_extra or {})
            if not _personal_read(reg, args, m, "meters show", shown):
                for f in PERSONAL_FIELDS:
                    setattr(m, f, None)
                m.personal_extra = {}
        links = reg.replacement_links(m.id)
    if args.json:
        d = m.to_json(full=True)
        d.update(installations=inst, readouts=nread, meter_writes=nwrites, calibration_results=ncal,
                 commissioning=[{"id": c["id"], "status": c["status"], "current_step": c["current_step"]} for c in coms],
                 **links)
        print_json(d)
        return 0
    d = m.to_json(full=True)
    for k, v in d.items():
        if k in ("install_date_iso", "extra", "personal_extra") or v in (None, "", {}, False) and k not in ("legal_hold",):
            continue
        print(f"{k}: {safe(v)}")
    for k, v in (m.extra or {}).items():
        print(f"{safe(k)} (extra column): {safe(v)}")
    for k, v in (m.personal_extra or {}).items():
        print(f"{safe(k)} (personal column): {safe(v)}")
    print("installations:")
    for i in inst:
        where = ", ".join(safe(x) for x in (i["site"], i["building"], i["monitoring_point"], i["location"]) if x)
        until = i["removed_on"] or "now"
        print(f"  {i['installed_on'] or '?'} .. {until}: {where}" + (f" ({safe(i['removal_reason'])})" if i["removal_reason"] else ""))
    if links["replaced_by"]:
        b = links["replaced_by"]
        print(f"replaced by: {safe(b['manufacturer'])} {safe(b['serial'])} on {b['on']} (meter id {b['meter_id']})")
    for o in links["replaces"]:
        print(f"replaces: {safe(o['manufacturer'])} {safe(o['serial'])} on {o['on']} (meter id {o['meter_id']})")
    print(f"readouts: {nread}; writes to the meter: {nwrites}; calibration results: {ncal}; "
          f"commissioning records: {len(coms)}")
    return 0


def cmd_history(args) -> int:
    from app.storage.integrity import ERASED, PERSONAL

    with opened(args) as reg, storage_errors():
        m = _asked(reg, args)
        events = reg.history(m.id)
        shown = sorted({k for e in events for d in (e["before"], e["after"]) if isinstance(d, dict)
                        for k, v in d.items() if k in _PERSONAL_KEYS and v not in (None, PERSONAL, ERASED)})
        if shown and not _personal_read(reg, args, m, "meters history", shown):
            events = [{**e, "before": _hide(e["before"]), "after": _hide(e["after"])} for e in events]
        elif shown:
            events = reg.history(m.id)  # with the access just logged
    if args.json:
        print_json(events)
        return 0
    for e in events:
        changes = ""
        if e["after"]:
            before = e["before"] or {}
            parts = []
            for k, v in e["after"].items():
                if k == "version":
                    continue
                parts.append(f"{k}: {before[k]!r} -> {v!r}" if k in before else f"{k}={v!r}")
            changes = "; ".join(parts)
        src = f" [{e['source']}]" if e["source"] else ""
        print(safe(f"{e['at']}  {e['user']}  {e['action']} {e['entity']}{src}  {changes}"))
    return 0


_PERSONAL_KEYS = ("occupant_name", "flat", "customer_reference", "notes", "personal_extra")


def _hide(d):
    from app.storage.integrity import PERSONAL

    if not isinstance(d, dict):
        return d
    return {k: (PERSONAL if k in _PERSONAL_KEYS and v is not None else v) for k, v in d.items()}


def _meter_ids(reg, args) -> list[int]:
    if args.site and (args.manufacturer or args.serial):
        raise UserError("give either MANUFACTURER SERIAL or --site, not both")
    if args.site:
        ms = reg.list_meters(site=args.site, include_restricted=True)
        if not ms:
            raise UserError(f"no meters at site {args.site!r}", 1)
        return [m.id for m in ms]
    if not (args.manufacturer and args.serial):
        raise UserError("give MANUFACTURER SERIAL or --site")
    return [reg.find_meter(args.manufacturer, args.serial).id]


def cmd_erase(args) -> int:
    with opened(args) as reg, storage_errors():
        ids = _meter_ids(reg, args)
        report = reg.erase_personal_data(ids if args.site else ids[0], user=user_of(args), reason=args.reason)
    if args.json:
        print_json({"erased": report.erased, "held": report.held, "events_scrubbed": report.events_scrubbed,
                    "remaining": report.remaining})
    else:
        print(f"personal data erased on {len(report.erased)} meter(s); {report.events_scrubbed} event log entries scrubbed")
        if report.held:
            print(f"{len(report.held)} meter(s) under legal hold left untouched (refusal logged)", file=sys.stderr)
    for line in report.remaining:
        print(f"heatmeter: still to go: {line}", file=sys.stderr)
    return 1 if report.held and not report.erased else 0


def cmd_flag(args) -> int:
    with opened(args) as reg, storage_errors():
        m = reg.find_meter(args.manufacturer, args.serial)
        setter = reg.set_legal_hold if args.flag == "legal_hold" else reg.set_restrict_processing
        m = setter(m.id, not args.off, user=user_of(args), reason=args.reason)
    value = getattr(m, args.flag)
    erased = m.personal_erased_at.isoformat(timespec="seconds") + "Z" if m.personal_erased_at else None
    if args.json:
        print_json({"manufacturer": m.manufacturer, "serial": m.serial, args.flag: value, "personal_erased_at": erased})
    else:
        note = f" (its personal data was erased at {erased})" if erased and args.flag == "legal_hold" and value else ""
        print(f"{safe(m.manufacturer)} {safe(m.serial)}: {args.flag.replace('_', ' ')} {'on' if value else 'off'}{note}")
    return 0


def cmd_personal_column(args) -> int:
    with opened(args) as reg, storage_errors():
        if args.name:
            n = reg.mark_personal_column(args.name, not args.off, user=user_of(args))
        cols = reg.personal_columns()
    if args.json:
        print_json({"personal_columns": cols, **({"meters": n} if args.name else {})})
    else:
        if args.name:
            print(f"column {safe(args.name)}: {'personal' if not args.off else 'no longer personal'} "
                  f"({n} meter(s) hold a value)")
        print("columns marked personal: " + (", ".join(safe(c) for c in cols) or "none"))
    return 0


def cmd_export_data(args) -> int:
    fields = [f.strip() for f in args.fields.split(",") if f.strip()] if args.fields else None
    d_from, d_to = parse_date(args.date_from, "--from"), parse_date(args.date_to, "--to")
    if d_from and d_to and d_from > d_to:
        raise UserError("--from is after --to")
    if not args.meter and not args.site:
        raise UserError("give --meter MANUFACTURER SERIAL (repeatable) or --site S")
    with opened(args) as reg, storage_errors():
        ids = [reg.find_meter(mf, sn).id for mf, sn in args.meter] if args.meter else None
        out = sys.stdout if args.csv == "-" else args.csv
        res = reg.export_personal_data(out, meter_ids=ids, site=args.site, date_from=d_from, date_to=d_to,
                                       fields=fields, include_restricted=args.include_restricted, user=user_of(args))
    if args.json and args.csv != "-":
        print_json(res)
    else:
        print(f"heatmeter: exported {res['rows']} rows for {res['meters']} meter(s)", file=sys.stderr)
    if res["restricted_left_out"]:
        print(f"heatmeter: {len(res['restricted_left_out'])} meter(s) with restricted processing left out "
              "(--include-restricted to include)", file=sys.stderr)
    return 0

