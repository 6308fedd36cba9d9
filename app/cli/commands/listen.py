"""``heatmeter listen``: print the wireless M-Bus telegrams a receiver hears, decoded, one JSON line each."""
from __future__ import annotations

import argparse

from app.cli.errors import UserError
from app.cli.options import bounded_float


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "listen", help="receive wireless M-Bus telegrams through a USB stick or rtl-wmbus",
        description="Receive wireless M-Bus (EN 13757-4 / OMS) telegrams through an IMST iM871A or Amber AMB8465 "
                    "USB stick, or the text lines of rtl-wmbus (a file, a pipe, '-' for standard input, or "
                    "socket://HOST:PORT), and print each one decoded. Stops after --seconds or on Ctrl-C. "
                    "Encrypted telegrams are decrypted with --keys and the key store (docs/wireless.md).")
    p.add_argument("--port", required=True, metavar="URL",
                   help="serial device, socket://HOST:PORT or rfc2217://HOST:PORT; for rtl-wmbus a file, pipe or '-'")
    p.add_argument("--dongle", choices=("im871a", "amb8465", "rtl-wmbus"),
                   help="receiver kind (default: detected from the USB device)")
    p.add_argument("--mode", choices=("t1", "c1", "s1"), default="t1", help="radio mode (default t1)")
    p.add_argument("--seconds", type=bounded_float(0.001, 31_536_000), metavar="N", help="stop after N seconds")
    p.add_argument("--json", action="store_true", help="one JSON object per telegram per line")
    from app.cli.commands._keys import add_key_options
    add_key_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import json
    import sys
    import time

    from app.cli.commands._keys import key_lookup
    from app.storage.keystore import KeyStoreError
    from drivers import errors
    from drivers.mbus.errors import MBusError
    from drivers.receivers import ReceiverError, open_receiver
    from drivers.wmbus.decoder import decode_wmbus

    if args.seconds is not None and args.seconds <= 0:
        raise UserError("--seconds must be more than 0", 2)
    keys = key_lookup(args)
    try:
        receiver = open_receiver(args.port, args.dongle, args.mode)
    except (errors.BusError, ReceiverError) as exc:
        raise UserError(str(exc), 2) from None
    encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode
    deadline = None if args.seconds is None else time.monotonic() + args.seconds
    heard = 0
    out = sys.stdout
    try:
        while True:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                break
            h = receiver.receive(left if left is not None else 1.0)
            if h is None:
                if receiver.is_open and getattr(receiver, "_eof", False):
                    break
                continue
            heard += 1
            obj = {"received_at": h.received_at.isoformat(timespec="milliseconds"), "rssi_dbm": h.rssi_dbm}
            if h.rssi_raw is not None and h.rssi_dbm is None:
                obj["rssi_raw"] = h.rssi_raw
            if h.mode:
                obj["mode"] = h.mode
            try:
                t = decode_wmbus(h.telegram, keys, crc=h.crc, rssi_dbm=h.rssi_dbm)
                obj.update({"ok": True, "telegram": t.to_json()})
            except MBusError as exc:
                obj.update({"ok": False, "error": str(exc), "raw": h.telegram.hex().upper()})
            except KeyStoreError as exc:
                raise UserError(str(exc), 2) from None
            if args.json:
                out.write(encode(obj) + "\n")
            else:
                out.write(_line(obj) + "\n")
            out.flush()
    except KeyboardInterrupt:
        pass
    except (errors.BusError, ReceiverError) as exc:
        raise UserError(str(exc), 2) from None
    finally:
        receiver.close()
    return 0 if heard else 1          # like the bus commands: 1 = nothing heard


def _line(obj: dict) -> str:
    rssi = "" if obj.get("rssi_dbm") is None else " %6.1f dBm" % obj["rssi_dbm"]
    if not obj["ok"]:
        return "%s%s  error: %s" % (obj["received_at"], rssi, obj["error"])
    t = obj["telegram"]
    enc = t.get("encryption", {})
    state = "decrypted" if enc.get("decrypted") else (enc.get("reason") or ("plain" if not enc.get("mode") else ""))
    vals = ", ".join("%s %s %s" % (r["quantity"], r["value"], r["unit"]) for r in t.get("records", [])[:4]
                     if r.get("storage") == 0)
    return "%s%s  %s %s  %s  mode %s %s  %s" % (obj["received_at"], rssi, t.get("manufacturer"),
                                               t.get("identification"), t.get("medium"), enc.get("mode"), state, vals)
