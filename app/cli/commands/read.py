"""``heatmeter read``: read every telegram of one meter and decode it."""
from __future__ import annotations

from app.cli.commands import _bus
from app.cli.options import bounded_int


PROTOCOL_CHOICES = ("auto", "mbus", "iec62056-21", "kmp")


def register(sub) -> None:
    p = sub.add_parser("read", help="read one meter (all telegrams) by primary or secondary address, or by its "
                                    "optical eye (EN 62056-21, KMP)",
                       description="Read one meter: SND_NKE, then REQ_UD2 with the FCB toggled until a telegram "
                                   "without 'more records follow' (M-Bus); or the meter on the optical head in "
                                   "EN 62056-21 (Landis+Gyr UH50/T550) or KMP (Kamstrup MULTICAL). Exit status 0 "
                                   "on success, 1 when the meter did not answer, 2 for bad arguments or a port "
                                   "that cannot be opened.")
    _bus.add_common(p)
    _bus.add_meter(p, required=False)
    p.add_argument("--protocol", choices=PROTOCOL_CHOICES, default="auto",
                   help="mbus: by --address/--secondary; iec62056-21 or kmp: the meter on the optical head. "
                        "auto (default): mbus when an address is given, else the optical protocol of the make "
                        "--expect names (LUG: iec62056-21, KAM: kmp)")
    p.add_argument("--history", action="store_true",
                   help="also read the meter's stored values (M-Bus: the other telegram types by application "
                        "reset, --history-types) and put each with its date by storage number (\"history\" in "
                        "the JSON document)")
    p.add_argument("--history-types", default="enhanced_billing", metavar="T[,T...]",
                   help="telegram types to select with --history (EN 13757-3 sub-codes): enhanced_billing "
                        "(default), simple_billing, user_data, multi_tariff_billing, instantaneous, ... or none")
    opt = p.add_argument_group("EN 62056-21")
    opt.add_argument("--iec-mode", choices=("auto", "A", "B", "C"), default="auto",
                     help="protocol mode to insist on (default: the one the meter offers)")
    opt.add_argument("--max-baud", type=int, default=19200, metavar="B",
                     help="mode C: the highest data rate to select (the head's limit, default 19200)")
    p.add_argument("--expect", type=_bus.secondary_mask, metavar="ID",
                   help="the meter that must answer (ID or ID.MAN.VER.MEDIUM): when another one answers (a meter "
                        "replaced at its primary address) the read fails with status 1; a --secondary read is "
                        "always checked against its own mask")
    p.add_argument("--max-telegrams", type=bounded_int(1, 1000), default=64, metavar="N",
                   help="stop after N telegrams (default 64)")
    from app.cli.commands._keys import add_key_options

    keys = p.add_argument_group("encrypted meters (security modes 5 and 7)",
                                "telegrams are decrypted with the meter's key from --keys, else the key store; "
                                "without a key the header is shown and no records, a wrong key fails the read")
    add_key_options(keys)
    from app.cli.options import add_db, add_user

    save = p.add_argument_group("saving into the meter register")
    save.add_argument("--save", action="store_true",
                      help="store the readout (raw frames byte for byte and the decoded telegrams) against its "
                           "meter in the register, matched by manufacturer FLAG code and identification number")
    add_db(save)
    add_user(save)
    save.add_argument("--create", action="store_true",
                      help="with --save: create the meter from the readout when the register does not know it")
    save.add_argument("--site", metavar="NAME",
                      help="with --create: the site of the new meter (default: Unassigned)")
    p.set_defaults(func=run)


def read_document(args) -> dict:
    """Read the meter the arguments name and return the contract's JSON document."""
    return read_result(args).to_json()


def choose_protocol(args) -> str:
    """The protocol the options ask for (``--protocol auto``: see its help); a one-line error when the
    options do not say enough or contradict each other."""
    from app.cli.errors import UserError
    from drivers.address import WILD_MAN, manufacturer_name
    from drivers.protocols import MBUS, protocol_for

    proto = args.protocol
    if proto == "auto":
        if args.address is not None or args.secondary is not None:
            return MBUS
        want = args.expect
        flag = manufacturer_name(want.manufacturer) if want is not None and want.manufacturer != WILD_MAN else None
        proto = protocol_for(flag)
        if proto == MBUS:
            raise UserError("give --address N or --secondary ID (M-Bus), or --protocol iec62056-21|kmp (or "
                            "--expect ID.MAN of a Landis+Gyr or Kamstrup meter) to read the meter on the optical "
                            "head", 2)
        return proto
    if proto == MBUS and args.address is None and args.secondary is None:
        raise UserError("M-Bus needs --address N or --secondary ID", 2)
    if proto != MBUS and args.address is not None:
        raise UserError(f"--address goes with M-Bus; {proto} reads the meter on the optical head (check it with "
                        "--expect ID or --secondary ID)", 2)
    return proto


def _history_types(args) -> tuple:
    from app.cli.errors import UserError
    from drivers.history import TELEGRAM_TYPES

    text = (args.history_types or "").strip()
    if text in ("", "none"):
        return ()
    kinds = tuple(k.strip() for k in text.split(",") if k.strip())
    bad = [k for k in kinds if k not in TELEGRAM_TYPES]
    if bad:
        raise UserError(f"--history-types: unknown telegram type {bad[0]!r} (one of {', '.join(TELEGRAM_TYPES)})", 2)
    return kinds


def read_result(args):
    """Read the meter the arguments name through the bus session: a ``drivers.session.Readout`` (raw
    frames and decoded telegrams), with the wake-up profile of the meter's family and the identity check;
    with ``--history`` the other telegram types too (``selections``)."""
    from app.cli.commands._keys import read_keys
    from app.cli.errors import UserError
    from app.storage.keystore import KeyStoreError
    from drivers import errors

    protocol = choose_protocol(args)
    spec = _bus.spec_from_args(args, protocol=protocol)
    keys = read_keys(args)
    types = _history_types(args) if args.history else ()
    options = {"mode": args.iec_mode, "max_baud": args.max_baud} if protocol == "iec62056-21" else None
    progress = _bus.StderrProgress("read")
    with _bus.bus_errors(spec, secondary=args.secondary), _bus.open_session(spec) as session:
        session.keys = keys
        try:
            if args.history and protocol == "mbus":
                return session.read_history(args.address, args.secondary, expect=args.expect, types=types,
                                            max_telegrams=args.max_telegrams, progress=progress)
            return session.read_address(args.address, args.secondary, expect=args.expect,
                                        max_telegrams=args.max_telegrams, options=options, progress=progress)
        except errors.NoAnswer as exc:
            if protocol == "mbus":
                _other_baud(session, args, spec, exc)
            raise
        except KeyStoreError as exc:            # a damaged store entry, the keyring gone meanwhile
            raise UserError(str(exc), 2) from None
        finally:
            progress.close()


def _other_baud(session, args, spec, exc) -> None:
    """After no answer: does the meter answer at another baud rate? Say so (exit 1), else mark the
    error as searched so that the hint leads elsewhere."""
    from app.cli.errors import UserError
    from drivers.session.messages import other_baud

    if not session.transport.supports_baud_change():
        return
    found = session.find_baud(args.address, args.secondary)
    if found is not None:
        raise UserError(f"{' '.join(str(exc).split())}; {other_baud(spec.baud, found)}", 1) from None
    exc.searched_bauds = True


def save_readout(args, res) -> dict:
    """Store ``res`` in the register (``--save``) through ``app.services.readouts``; returns what was saved.

    Without a matching meter: with ``--create`` the meter is created from the
    readout (make from the FLAG code, model from the version byte where known,
    serial = identification, site ``--site`` or "Unassigned") and the readout
    saved; without it the proposal is printed and the command fails (status 1).
    """
    from app.cli.commands.meters import opened, storage_errors
    from app.cli.options import user_of
    from app.services import readouts

    ev = readouts.Evidence.from_readout(res)
    with opened(args) as reg, storage_errors():
        out = readouts.save_or_create(reg, ev, user=user_of(args), create=args.create, site=args.site,
                                      source="heatmeter read --create")
    if out.status == "no_match":
        return {"status": "no_match", "proposal": out.proposal, "meter_label": ev.label}
    m = out.meter
    return {"status": out.status, "readout_id": out.readout_id, "created": out.created,
            "matched_by": out.matched_by, "meter": {"id": m.id, "manufacturer": m.manufacturer, "serial": m.serial,
                                                   "mbus_manufacturer": m.mbus_manufacturer},
            "frames": len(ev.frames), "telegrams": len(ev.telegrams)}


def print_history(res) -> None:
    """The history as a table: one row per storage number (its date), one column per register."""
    h = res.history()
    for s in res.selections:
        state = "acknowledged" if s.acknowledged else "not acknowledged"
        print(f"{s.kind.replace('_', ' ')} telegrams (sub-code 0x{s.subcode:02X}): {state}, "
              f"{len(s.telegrams)} telegram(s){'; ' + s.detail if s.detail else ''}")
    stored = [s for s in h.series if any(p.storage for p in s.points)]
    if not stored:
        print("no stored values (storage numbers above 0) in this readout")
        return
    names = [_series_name(s) for s in stored]
    storages = sorted({p.storage for s in stored for p in s.points})
    print("storage  date        " + "  ".join(f"{n:>18}" for n in names))
    for st in storages:
        cells = []
        for s in stored:
            v = next((p.value for p in s.points if p.storage == st), "")
            cells.append(f"{v!s:>18}")
        print(f"{st:7}  {(h.dates.get(st) or '?')[:10]:10}  " + "  ".join(cells))
    for note in h.notes:
        print(f"note: {note}")


def _series_name(s) -> str:
    extra = "".join(f" {k[0]}{v}" for k, v in (("tariff", s.tariff), ("subunit", s.subunit)) if v)
    fn = "" if s.function == "instantaneous" else f" {s.function}"
    return f"{s.quantity}{extra}{fn} [{s.unit}]"[:18]


def run(args) -> int:
    from app.cli.errors import UserError
    from app.cli.options import print_json

    if (args.create or args.site) and not args.save:
        raise UserError("--create and --site go with --save", 2)
    res = read_result(args)
    doc = res.to_json(history=args.history)
    saved = save_readout(args, res) if args.save else None
    if args.json:
        if saved is not None:
            doc["register"] = {k: v for k, v in saved.items() if k != "meter_label"}
        print_json(doc)
    else:
        print_human(doc)
        if args.history:
            print_history(res)
        if saved is not None and saved["status"] == "no_match":
            print("not in the register; --create would add it as: "
                  + ", ".join(f"{k}={v}" for k, v in saved["proposal"].items() if v is not None))
        elif saved is not None:
            m = saved["meter"]
            print(f"saved to the register: readout {saved['readout_id']} of {m['manufacturer']} {m['serial']}"
                  f"{' (meter created)' if saved['created'] else ''}, {saved['frames']} frame(s)")
    if saved is not None and saved["status"] == "no_match":
        raise UserError(f"meter {saved['meter_label']} is not in the register: nothing saved "
                        "(add --create to create it from this readout)", 1)
    return 0


def print_human(doc: dict) -> None:
    """The readout as a technician reads it: who, then one line per record with its telegram number, the
    register's name (heat or cooling energy kept apart, MMS 1.1.13) and its value in kWh / MWh, kW, m³,
    °C, hours (``app.core.registers``)."""
    from app.core.registers import FUNCTION_WORDS, medium_words, other_modifiers, register_name, scaled
    from drivers.makes import make_name, model_name

    tel = doc["telegrams"]
    first = tel[0] if tel else {}
    man = first.get("manufacturer") or ""
    model = model_name(man, first.get("version"))
    who = ", ".join(x for x in (f"{make_name(man) or man} ({man})", model,
                                f"version 0x{first.get('version') or 0:02X}", medium_words(first.get("medium"))) if x)
    where = f"address {doc['address']}" if doc.get("address") not in (None, 253) else "secondary address"
    if doc.get("protocol"):             # read through the optical head
        where = (f"the optical head by {doc['protocol']}{' mode ' + doc['mode'] if doc.get('mode') else ''}, "
                 f"{doc.get('baud')} Bd")
        model = first.get("model")
        who = ", ".join(x for x in (f"{make_name(man) or man} ({man})", model) if x)
    print(f"meter {doc['secondary_address']} at {where}: {who}; "
          f"{len(tel)} telegram{'s' if len(tel) != 1 else ''}, {len(doc['records'])} records")
    for n, t in enumerate(tel, 1):
        enc = t.get("encryption") or {}
        if enc.get("reason"):
            hint = " (give the meter's key with --keys or heatmeter keys import)" if enc["reason"] == "no key" else ""
            print(f"  telegram {n}: encrypted (security mode {enc.get('mode')}), {enc['reason']}: "
                  f"records withheld{hint}")
    rows = [("tel", "register", "value", "unit", "stored", "details")]
    for n, t in enumerate(tel, start=1):
        for r in t.get("records") or []:
            value, unit = scaled(r, group=" ")
            details = [f"tariff {r['tariff']}" for _ in (1,) if r.get("tariff")]
            details += [f"subunit {r['subunit']}" for _ in (1,) if r.get("subunit")]
            if r.get("function") not in (None, "instantaneous"):
                details.append(FUNCTION_WORDS.get(r["function"], r["function"]))
            details += other_modifiers(r)
            if r.get("register"):                  # an optical data set / register: its own name
                details.append(f"[{r['register']}]")
            rows.append((str(n), register_name(r, t.get("medium")), value, unit,
                         str(r["storage"]) if r.get("storage") else "", ", ".join(details)))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        tel_no, name, value, unit, stored, details = row
        line = (f"  {tel_no:>{widths[0]}}  {name:<{widths[1]}}  {value:>{widths[2]}} {unit:<{widths[3]}}  "
                f"{stored:>{widths[4]}}  {details}")
        print(line.rstrip())
