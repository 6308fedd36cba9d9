"""``heatmeter decode``: turn wired M-Bus frames and wireless M-Bus telegrams (hex files) into values.

Only the standard library at module level; the decoder is imported when the
command runs (it is plain Python too, so startup stays light).
"""
from __future__ import annotations

import argparse
import os
import sys

from app.cli.errors import UserError


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "decode",
        help="decode M-Bus telegrams from hex files",
        description=("Decode wired M-Bus frames (EN 13757-2/-3) and wireless M-Bus telegrams (EN 13757-4, "
                     "L-field first, with or without block CRCs), told apart from the bytes. Each FILE holds "
                     "one telegram as hex bytes (any whitespace, '#' comment lines). Without FILE, or with '-', "
                     "the hex is read from standard input. Encrypted telegrams are decrypted with --keys and "
                     "the key store (see docs/wireless.md)."),
    )
    p.add_argument("files", nargs="*", metavar="FILE", help="hex file(s); '-' or none: standard input")
    p.add_argument("--jsonl", action="store_true",
                   help="one JSON object per file per line, in the given order (see docs/decoder.md)")
    # --- keys for encrypted telegrams (docs/wireless.md)
    from app.cli.commands._keys import add_key_options
    add_key_options(p)
    p.set_defaults(func=run)


#: A telegram is at most a few hundred bytes (a few kB of hex with comments); more is not a telegram file.
MAX_INPUT_BYTES = 1_000_000


class _TooLarge(OSError):
    pass


def _read(name: str) -> bytes:
    if name == "-":
        data = sys.stdin.buffer.read(MAX_INPUT_BYTES + 1)
    else:
        fd = os.open(name, os.O_RDONLY)
        try:
            chunks = []
            size = 0
            while size <= MAX_INPUT_BYTES:  # /dev/zero, a FIFO that never ends: stop reading
                chunk = os.read(fd, 65536)
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
        finally:
            os.close(fd)
        data = b"".join(chunks)
    if len(data) > MAX_INPUT_BYTES:
        raise _TooLarge(0, f"more than {MAX_INPUT_BYTES:,} bytes: not a telegram file")
    return data


def _os_error(name: str, exc: OSError) -> str:
    return "cannot read %s: %s" % (name, exc.strerror or exc.__class__.__name__)


def _internal_error(exc: Exception) -> str:
    text = " ".join(str(exc).split())[:200]
    return "internal decoder error (please report this frame): %s: %s" % (exc.__class__.__name__, text)


def run(args: argparse.Namespace) -> int:
    from drivers.mbus.decoder import parse_hex
    from drivers.mbus.errors import MBusError

    decode = _decoder(args)
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
        except UserError:
            raise
        except Exception as exc:      # a decoder bug: one line, and go on with the next file
            print("heatmeter: %s: %s" % (name, _internal_error(exc)), file=sys.stderr)
            status = 1
            continue
        if many:
            out.write(("\n" if i else "") + "== %s\n" % name)
        out.write(format_telegram(telegram))
    out.flush()
    return status


def _decoder(args):
    """decode(bytes) -> Telegram for wired and wireless telegrams, with the keys of --keys and the key store."""
    from app.cli.commands._keys import key_lookup
    from app.cli.errors import UserError
    from app.storage.keystore import KeyStoreError
    from drivers.wmbus.decoder import decode_any

    keys = key_lookup(args)
    if keys is None:
        return decode_any

    def lookup(manufacturer, identification):
        try:
            return keys(manufacturer, identification)
        except KeyStoreError as exc:           # a locked or damaged store ends the run: one line, status 2
            raise UserError(str(exc), 2) from None
    return lambda data: decode_any(data, lookup)


def _run_jsonl(names, decode, parse_hex, MBusError) -> int:
    import gc
    import json

    encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode
    # Everything imported so far lives until exit: keep it out of the collector's scans, which
    # otherwise revisit it again and again while thousands of small records come and go.
    gc.freeze()
    lines = []
    status = 0
    for name in names:
        try:
            telegram = decode(parse_hex(_read(name)))
        except MBusError as exc:
            lines.append(encode({"file": name, "ok": False, "error": str(exc)}))
            status = 1
            continue
        except OSError as exc:
            lines.append(encode({"file": name, "ok": False, "error": _os_error(name, exc)}))
            status = 1
            continue
        except UserError:
            raise
        except Exception as exc:      # a decoder bug must not cost the other files their answer
            lines.append(encode({"file": name, "ok": False, "error": _internal_error(exc)}))
            status = 1
            continue
        lines.append(telegram_json_line(name, telegram, encode))
    lines.append("")
    sys.stdout.buffer.write("\n".join(lines).encode("utf-8"))
    sys.stdout.flush()
    return status


def telegram_json_line(name: str, telegram, encode) -> str:
    """``encode({"file": name, "ok": True, "telegram": telegram.to_json()})``, built faster.

    The json module's encoder spends most of its time on the many small record
    objects; their keys and most strings are fixed here, so records are written
    with one string format each (strings still escaped by json's own escaper).
    Equivalence with the plain encoding is checked by the tests.
    """
    head = encode({"file": name, "ok": True, "telegram": telegram.header_json()})
    if not telegram.lists_records:
        return head
    recs = ",".join([_record_json(r, encode) for r in telegram.records])
    return head[:-2] + ',"records":[' + recs + "]}}"


_MIDDLE: dict = {}    # (function, quantity, unit) -> '"function":...,"unit":...,"value":' (a small vocabulary)
_EXTRA_FIELDS = ("modifiers", "subject", "flags", "record_error", "action")


def _middle(key: tuple) -> str:
    from json.encoder import encode_basestring as esc   # C-accelerated, the encoder's own escaper
    if len(_MIDDLE) > 4096:
        _MIDDLE.clear()
    out = _MIDDLE[key] = '"function":%s,"quantity":%s,"unit":%s,"value":' % (esc(key[0]), esc(key[1]), esc(key[2]))
    return out


def _record_json(r, encode) -> str:
    v = r.value
    c = v.__class__
    if c is int:
        vs = int.__repr__(v)
    elif c is float:
        vs = float.__repr__(v)        # what json writes for a float (values are always finite)
    elif v is None:
        vs = "null"
    else:
        vs = encode(v)
    key = (r.function, r.quantity, r.unit)
    s = '{"storage":%d,"tariff":%d,"subunit":%d,%s%s,"raw":"%s"' % (
        r.storage, r.tariff, r.subunit, _MIDDLE.get(key) or _middle(key), vs, r.raw.hex().upper())
    if r.modifiers or r.flags or r.subject is not None or r.record_error is not None or r.action is not None:
        full = r.to_json()
        s += "," + encode({k: full[k] for k in _EXTRA_FIELDS if k in full})[1:-1]
    return s + "}"


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
    head.append(("frame", t.frame_type + ("" if t.c_field is None or t.link is not None else
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
    if t.ci_field is not None:
        enc = t.encryption
        head.append(("encryption", "mode %s, %s" % (enc["mode"], "decrypted" if enc["decrypted"] else
                                                     enc.get("reason") or enc.get("note") or "not encrypted")))
    if t.link is not None:
        head.append(("radio link", "%s %s, C=0x%02X, format %s%s" % (
            t.link.manufacturer, t.link.identification, t.link.c_field, t.frame_format,
            "" if t.rssi_dbm is None else ", %.0f dBm" % t.rssi_dbm)))
    width = max(len(k) for k, _ in head)
    out = "".join("%s  %s\n" % (k.ljust(width), v) for k, v in head)
    if t.lists_records:
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
        if rows:
            out += "\n" + _table(["#", "quantity", "value", "unit", "storage", "tariff", "subunit", "function",
                                  "modifiers"], rows)
        else:
            out += "\n(no records)\n"
        if t.manufacturer_data:
            out += "\nmanufacturer data (%d bytes): %s\n" % (len(t.manufacturer_data), t.manufacturer_data.hex(" ").upper())
    return out
