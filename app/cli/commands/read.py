"""``heatmeter read``: read every telegram of one meter and decode it."""
from __future__ import annotations

from app.cli.commands import _bus


def register(sub) -> None:
    p = sub.add_parser("read", help="read one meter (all telegrams) by primary or secondary address",
                       description="Read one meter: SND_NKE, then REQ_UD2 with the FCB toggled until a telegram "
                                   "without 'more records follow'. Exit status 0 on success, 1 when the meter "
                                   "did not answer, 2 for bad arguments or a port that cannot be opened.")
    _bus.add_common(p)
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--address", type=_bus.primary_address, metavar="N", help="primary address 0..250")
    who.add_argument("--secondary", type=_bus.secondary_mask, metavar="ID",
                     help="secondary address: 8 digits, or ID.MAN.VER.MEDIUM (e.g. 12345678.KAM.1B.04)")
    p.add_argument("--max-telegrams", type=int, default=64, metavar="N", help="stop after N telegrams (default 64)")
    p.set_defaults(func=run)


def read_document(args) -> dict:
    """Read the meter the arguments name and return the contract's JSON document."""
    from drivers.ops import read_meter

    profile = _bus.profile_from_args(args)
    progress = _bus.StderrProgress("read")
    with _bus.bus_errors():
        tr, link = _bus.open_link(args)
        with tr:
            try:
                res = read_meter(link, address=args.address, secondary=args.secondary, profile=profile,
                                 progress=progress, max_telegrams=args.max_telegrams)
            except Exception as exc:
                from drivers import errors
                if isinstance(exc, errors.NoAnswer) and (profile is None or not profile.has_preamble):
                    raise errors.NoAnswer(f"{exc} (a battery meter on an optical head may need --wakeup)") \
                        from None
                raise
            finally:
                progress.close()
    return res.to_json()


def run(args) -> int:
    from app.cli.options import print_json

    doc = read_document(args)
    # (saving the reading into the meter register belongs here, once the register exists)
    if args.json:
        print_json(doc)
    else:
        print(f"meter {doc['secondary_address']} at address {doc['address']}: "
              f"{len(doc['telegrams'])} telegram(s), {len(doc['records'])} record(s)")
        for r in doc["records"]:
            extra = "".join(f" {k}={r[k]}" for k in ("storage", "tariff", "subunit") if r.get(k))
            extra += "".join(f" {m}" for m in r.get("modifiers", ()))
            print(f"  {r['quantity']:24} {r['value']!s:>20} {r['unit']:5} {r['function']}{extra}")
    return 0
