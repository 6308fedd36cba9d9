"""``heatmeter survey``: the connectivity surveys (MMS 2.1.9) saved in the register, listed and read back.

    heatmeter survey list [--site S] [--json]
    heatmeter survey show ID [--json] [--csv FILE]

A survey is made on the Radio page (it listens at each location); here it is read back, judged again with
the thresholds it was saved with, and checked against the digest of its telegrams: ``show`` exits 1 when
they no longer match (altered since saved). See docs/wireless.md.
"""
from __future__ import annotations

import os
import sys

from app.cli.errors import UserError
from app.cli.options import add_db, print_json, safe


def register(subparsers) -> None:
    p = subparsers.add_parser("survey", help="connectivity surveys saved in the register: list, show, CSV",
                              description="The radio connectivity surveys (MMS 2.1.9) saved with their sites: "
                                          "list them, or read one back judged again with the thresholds it was "
                                          "saved with, its telegrams checked against their digest.")
    sub = p.add_subparsers(dest="survey_command", metavar="SUBCOMMAND", parser_class=type(p))
    p.set_defaults(func=lambda a: (p.print_help(sys.stderr), 2)[1])
    sp = sub.add_parser("list", help="the saved surveys, newest first")
    sp.add_argument("--site", metavar="S", help="only the surveys of this site")
    sp.add_argument("--json", action="store_true", help="one JSON document")
    add_db(sp)
    sp.set_defaults(func=cmd_list)
    sp = sub.add_parser("show", help="one survey: receiver, thresholds, locations, every meter's verdict",
                        description="One saved survey, judged again with the thresholds it was saved with. Exit "
                                    "status 1 when its telegrams no longer match the digest saved with them.")
    sp.add_argument("survey_id", metavar="ID", help="the survey's number (heatmeter survey list)")
    sp.add_argument("--json", action="store_true", help="one JSON document")
    sp.add_argument("--csv", metavar="FILE", help="write one row per meter and location (as the Radio page's CSV)")
    add_db(sp)
    sp.set_defaults(func=cmd_show)


def _when(v) -> str:
    return "-" if v is None else v.strftime("%Y-%m-%d %H:%M")


def _utc_text(iso: str | None) -> str:
    """``2026-03-02 09:00 UTC`` from the ISO text of a UTC time (naive or not)."""
    import datetime as dt

    return "-" if iso is None else dt.datetime.fromisoformat(iso).strftime("%Y-%m-%d %H:%M UTC")


def cmd_list(args) -> int:
    from app.cli.commands._open import opened

    with opened(args) as reg:
        rows = reg.list_surveys(site=args.site)
    if args.json:
        print_json({"surveys": [{**r, **{k: None if r[k] is None else r[k].isoformat(timespec="seconds")
                                         for k in ("started_at", "ended_at", "created_at")}} for r in rows]})
        return 0
    if not rows:
        where = f" of site {safe(args.site)}" if args.site else ""
        print(f"heatmeter: no survey{where} saved", file=sys.stderr)
        return 0
    print(f"{'ID':>5}  {'SITE':<24} {'SURVEY':<20} {'STARTED (UTC)':<16}  {'LOCATIONS':>9} {'TELEGRAMS':>9}  "
          "RECEIVER")
    for r in rows:
        receiver = " ".join(x for x in (r["dongle"], (r["mode"] or "").upper()) if x) or "-"
        print(f"{r['id']:>5}  {safe(r['site'])[:24]:<24} {safe(r['name'] or '-')[:20]:<20} "
              f"{_when(r['started_at']):<16}  {r['locations']:>9} {r['telegrams']:>9}  {safe(receiver)}")
    return 0


def _survey_id(text: str) -> int:
    t = text.strip()
    if not t.isdigit() or len(t) > 18 or int(t) < 1:
        raise UserError(f"ID: a survey number (heatmeter survey list), not {text[:30]!r}")
    return int(t)


def cmd_show(args) -> int:
    from app.cli.commands._open import errors, opened
    from app.services import surveys

    sid = _survey_id(args.survey_id)
    if args.csv and not os.path.isdir(os.path.dirname(os.path.abspath(args.csv))):
        raise UserError(f"cannot write {args.csv}: no folder {os.path.dirname(os.path.abspath(args.csv))}")
    with opened(args) as reg:
        saved = surveys.load_survey(reg, sid)
    if args.csv:
        with errors():  # a file that cannot be written: one line, the earlier file kept
            n = surveys.write_csv(args.csv, saved.result)
        if not args.json:
            print(f"heatmeter: {n} row(s) written to {args.csv}", file=sys.stderr)
    data = surveys.summary_json(saved)
    if args.json:
        print_json(data)
    else:
        _print_survey(data)
    if not saved.digest_ok:
        raise UserError(f"survey {sid}: its telegrams no longer match the digest saved with them (altered since "
                        "saved; heatmeter db verify names the rows)", 1)
    return 0


def _print_survey(d: dict) -> None:
    st = d["settings"]
    title = f"survey {d['id']}: {safe(d['site'])}" + (f", {safe(d['name'])}" if d["name"] else "")
    print(title)
    print(f"  by {safe(d['technician'] or '-')}; saved by {safe(d['saved_by'] or '-')} on {_utc_text(d['saved_at'])}")
    print(f"  listened from {_utc_text(d['started_at'])} to {_utc_text(d['ended_at'])}")
    receiver = " ".join(str(x) for x in (st.get("dongle"), (st.get("mode") or "").upper()) if x) or "-"
    sens = "not calibrated" if st.get("sensitivity_dbm") is None else f"{st['sensitivity_dbm']:g} dBm"
    print(f"  receiver {safe(receiver)}, sensitivity {sens}; reliable when the median RSSI is at least "
          f"{st['margin_db']:g} dB above it and {st['min_ratio'] * 100:g} % of the telegrams expected are heard")
    print(f"  telegrams match their digest: {'yes' if d['digest_ok'] else 'NO (altered since saved)'}")
    print("  verdicts: " + ", ".join(f"{k} {v}" for k, v in d["counts"].items()))
    print("locations:")
    for loc in d["locations"]:
        where = ", ".join(f"{k} {safe(loc[k])}" for k in ("floor", "flat", "riser") if loc[k])
        print(f"  {safe(loc['name'])}{' (' + where + ')' if where else ''}: {loc['telegrams']} telegram(s) in "
              f"{loc['listened_s'] if loc['listened_s'] is not None else '-'} s")
    print(f"{'METER':<16} {'VERDICT':<14} {'BEST LOCATION':<20} {'MARGIN dB':>9} {'HEARD':>6}  WHY")
    for m in d["meters"]:
        margin = "-" if m["margin_db"] is None else f"{m['margin_db']:+.1f}"
        heard = "-" if m["heard_ratio"] is None else f"{m['heard_ratio'] * 100:.0f} %"
        print(f"{safe(m['meter']):<16} {m['verdict']:<14} {safe(m['best_location'] or '-')[:20]:<20} {margin:>9} "
              f"{heard:>6}  {safe(m['reason'] or ('no telegram at any location' if m['best_location'] is None else ''))}")
