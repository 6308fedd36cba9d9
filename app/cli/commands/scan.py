"""``heatmeter scan``: find the meters on a bus (primary scan or secondary wildcard search)."""
from __future__ import annotations

from app.cli.commands import _bus
from app.cli.options import bounded_int


def register(sub) -> None:
    p = sub.add_parser("scan", help="find the meters on an M-Bus (primary addresses or secondary search)",
                       description="Find the meters on an M-Bus. Exit status 0 when meters were found, "
                                   "1 when none answered, 2 for bad arguments or a port that cannot be opened.")
    _bus.add_common(p)
    p.add_argument("--mode", choices=("primary", "secondary"), default="primary",
                   help="primary: probe addresses --from..--to with SND_NKE; secondary: wildcard search")
    p.add_argument("--from", dest="first", type=_bus.primary_address, default=1, metavar="N",
                   help="first primary address (default 1; 0 is allowed)")
    p.add_argument("--to", dest="last", type=_bus.primary_address, default=250, metavar="N",
                   help="last primary address (default 250)")
    p.add_argument("--mask", type=_bus.secondary_mask, metavar="ID",
                   help="secondary search: only slaves matching this mask (e.g. 1234FFFF)")
    p.add_argument("--retry-silent", type=bounded_int(0, 100), default=0, metavar="N",
                   help="also repeat probes that got no answer N times (slow; for lossy lines)")
    p.set_defaults(func=run)


def run(args) -> int:
    import sys

    from app.cli.errors import UserError
    from app.cli.options import print_json

    if args.first > args.last:
        raise UserError(f"--from {args.first} is above --to {args.last}", 2)
    spec = _bus.spec_from_args(args)
    progress = _bus.StderrProgress(f"scan {args.mode}")
    with _bus.bus_errors(), _bus.open_session(spec) as session:
        try:
            if args.mode == "primary":
                summary = session.scan_primary(args.first, args.last, silent_retries=args.retry_silent,
                                               progress=progress, on_item=progress.found)
            else:
                summary = session.scan_secondary(args.mask, silent_retries=args.retry_silent,
                                                 progress=progress, on_item=progress.found)
        finally:
            progress.close()
    res = summary.result
    if args.json:
        print_json(res.to_json())
    else:
        for m in res.meters:
            print(f"{m.secondary_address}  {m.manufacturer:3}  version {m.version:3}  medium {m.medium_code:#04x} "
                  f"{m.medium:14}  primary {m.primary_address}")
        print(f"{len(res.meters)} meter(s), {res.requests} requests, {res.elapsed_s:.1f} s at {res.baud} baud")
    for mask in res.unresolved:
        print(f"heatmeter: warning: slaves matching {mask} could not be told apart", file=sys.stderr)
    for a in res.garbled:
        print(f"heatmeter: warning: garbled answers at primary address {a} (several meters on one address?)",
              file=sys.stderr)
    if not res.meters:
        where = f"addresses {args.first}..{args.last}" if args.mode == "primary" else "the secondary search"
        print(f"heatmeter: no meter answered ({where})", file=sys.stderr)
        return 1
    return 0
