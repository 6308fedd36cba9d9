"""``heatmeter decode``: turn wired M-Bus telegrams (hex files) into values.

Only the standard library at module level; the decoder is imported when the
command runs (it is plain Python too, so startup stays light).
"""
from __future__ import annotations

import argparse
import sys


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "decode",
        help="decode M-Bus telegrams from hex files",
        description=("Decode wired M-Bus frames (EN 13757-2/-3). Each FILE holds one frame as hex bytes "
                     "(any whitespace, '#' comment lines). Without FILE, or with '-', the hex is read "
                     "from standard input."),
    )
    p.add_argument("files", nargs="*", metavar="FILE", help="hex file(s); '-' or none: standard input")
    p.add_argument("--jsonl", action="store_true",
                   help="one JSON object per file per line (shared/spec/decode-json.md)")
    p.set_defaults(func=run)


def _read(name: str) -> str:
    if name == "-":
        data = sys.stdin.buffer.read()
    else:
        with open(name, "rb") as fh:
            data = fh.read()
    return data.decode("latin-1")


def _os_error(name: str, exc: OSError) -> str:
    return "cannot read %s: %s" % (name, exc.strerror or exc.__class__.__name__)


def run(args: argparse.Namespace) -> int:
    from drivers.mbus.decoder import decode, parse_hex
    from drivers.mbus.errors import MBusError

    names = args.files or ["-"]
    if args.jsonl:
        return _run_jsonl(names, decode, parse_hex, MBusError)
    status = 0
    out = sys.stdout
    many = len(names) > 1
    for i, name in enumerate(names):
        try:
            telegram = decode(parse_hex(_read(name)))
        except MBusError as exc:
            print("heatmeter: %s: %s" % (name, exc), file=sys.stderr)
            status = 1
            continue
        except OSError as exc:
            print("heatmeter: %s" % _os_error(name, exc), file=sys.stderr)
            status = 1
            continue
        if many:
            out.write(("\n" if i else "") + "== %s\n" % name)
        out.write(format_telegram(telegram))
    out.flush()
    return status


def _run_jsonl(names, decode, parse_hex, MBusError) -> int:
    import json

    encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode
    lines = []
    status = 0
    for name in names:
        try:
            obj = {"file": name, "ok": True, "telegram": decode(parse_hex(_read(name))).to_json()}
        except MBusError as exc:
            obj = {"file": name, "ok": False, "error": str(exc)}
            status = 1
        except OSError as exc:
            obj = {"file": name, "ok": False, "error": _os_error(name, exc)}
            status = 1
        lines.append(encode(obj))
    lines.append("")
    sys.stdout.buffer.write("\n".join(lines).encode("utf-8"))
    sys.stdout.flush()
    return status


# ---------------------------------------------------------------------------
# human view

def _fmt_value(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return repr(v)
    return str(v)


def _table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [len(h) for h in headers]
    for r in rows:
        for i, c in enumerate(r):
            widths[i] = max(widths[i], len(c))
    right = {0, 2}                       # '#', value: right-aligned

    def line(cells):
        return "  ".join(c.rjust(widths[i]) if i in right else c.ljust(widths[i])
                         for i, c in enumerate(cells)).rstrip()
    out = [line(headers), line(["-" * w for w in widths])]
    out += [line(r) for r in rows]
    return "\n".join(out) + "\n"


def format_telegram(t) -> str:
    """A readable view of a Telegram: header first, then one row per record."""
    from drivers.mbus.frame import c_field_name

    head = []
    head.append(("frame", t.frame_type + ("" if t.c_field is None else
                                           "  C=0x%02X (%s)  A=%d" % (t.c_field, c_field_name(t.c_field), t.address))
                 + ("" if t.ci_field is None else "  CI=0x%02X" % t.ci_field)))
    if t.manufacturer is not None:
        head.append(("manufacturer", t.manufacturer))
    if t.identification is not None:
        head.append(("id", t.identification))
    if t.medium_code is not None:
        head.append(("medium", "%s (0x%02X)" % (t.medium, t.medium_code)))
    if t.version is not None:
        head.append(("version", str(t.version)))
    if t.access_number is not None:
        head.append(("access no.", str(t.access_number)))
    if t.status is not None:
        words = t.status_flags
        head.append(("status", "0x%02X %s" % (t.status, ", ".join(words) if words else "ok")))
    if t.application_error is not None:
        code = "" if t.application_error_code is None else " (code %d)" % t.application_error_code
        head.append(("application error", t.application_error.replace("_", " ") + code))
    if t.alarm_status is not None:
        head.append(("alarm status", "0x%02X" % t.alarm_status))
    if t.baud_rate is not None:
        head.append(("set baud rate", str(t.baud_rate)))
    if t.more_records_follow:
        head.append(("more records", "follow in the next telegram"))
    width = max(len(k) for k, _ in head)
    out = "".join("%s  %s\n" % (k.ljust(width), v) for k, v in head)
    if t.header is not None:
        rows = []
        for i, r in enumerate(t.records):
            extra = list(r.modifiers)
            if r.subject:
                extra.append("of " + r.subject)
            extra += r.flags
            if r.record_error and r.record_error != "none":
                extra.append("error: " + r.record_error)
            if r.action:
                extra.append("action: " + r.action)
            rows.append([str(i), r.quantity, _fmt_value(r.value), r.unit, str(r.storage), str(r.tariff),
                         str(r.subunit), r.function, ", ".join(extra)])
        out += "\n" + _table(["#", "quantity", "value", "unit", "storage", "tariff", "subunit", "function",
                              "modifiers"], rows)
        if t.manufacturer_data:
            out += "\nmanufacturer data (%d bytes): %s\n" % (len(t.manufacturer_data), t.manufacturer_data.hex(" ").upper())
    return out
