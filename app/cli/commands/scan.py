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
    p.add_argument("--no-baud-search", dest="baud_search", action="store_false",
                   help="when nothing answers, do not try the other baud rates (by default the line is tested at "
                        "each rate and the scan repeated at the one that answers)")
    p.set_defaults(func=run)


def run(args) -> int:
    import sys

    from app.cli.errors import UserError
    from app.cli.options import print_json
    from drivers import errors
    from drivers.session import messages

    if args.first > args.last:
        raise UserError(f"--from {args.first} is above --to {args.last}", 2)
    spec = _bus.spec_from_args(args)
    progress = _bus.StderrProgress(f"scan {args.mode}")
    found = []
    searched = False

    def on_item(meter) -> None:
        found.append(meter)
        progress.found(meter)

    def scan(session):
        if args.mode == "primary":
            return session.scan_primary(args.first, args.last, silent_retries=args.retry_silent,
                                        progress=progress, on_item=on_item)
        return session.scan_secondary(args.mask, silent_retries=args.retry_silent, progress=progress,
                                      on_item=on_item)

    with _bus.bus_errors(), _bus.open_session(spec) as session:
        try:
            summary = scan(session)
            if not summary.result.meters and args.baud_search:
                if session.transport.supports_baud_change():
                    line = session.test_line(search_bauds=True)
                    searched = not line.ok
                    if line.ok and line.baud != spec.baud:
                        progress.close()
                        print(f"heatmeter: {messages.scan_other_baud(spec.baud, line.baud)}", file=sys.stderr)
                        summary = scan(session)
                else:
                    progress.close()
                    print(f"heatmeter: {messages.scan_fixed_rate(spec.baud)}", file=sys.stderr)
        except errors.BusError as exc:
            progress.close()
            if found:                      # unplugged mid-scan: the meters found so far are not lost
                _print_partial(args, found, exc, print_json)
                raise UserError(f"{' '.join(str(exc).split()) or type(exc).__name__}; the {len(found)} meter"
                                f"{'s' if len(found) != 1 else ''} found before that are listed on stdout",
                                _status(exc)) from None
            raise
        except KeyboardInterrupt:
            progress.close()
            if found:
                _print_partial(args, found, "interrupted", print_json)
            raise
        finally:
            progress.close()
    res = summary.result
    if args.json:
        print_json(res.to_json())
    else:
        for m in res.meters:
            _print_meter(m)
        print(f"{len(res.meters)} meter(s), {res.requests} requests, {res.elapsed_s:.1f} s at {res.baud} baud")
    for mask in res.unresolved:
        print(f"heatmeter: warning: slaves matching {mask} could not be told apart", file=sys.stderr)
    for a in res.garbled:
        print(f"heatmeter: warning: garbled answers at primary address {a}: several meters on one address "
              f"(a collision until proven otherwise); {messages.FULL_ADDRESS_HINT}", file=sys.stderr)
    if not res.meters:
        where = f"addresses {args.first}..{args.last}" if args.mode == "primary" else "the secondary search"
        rates = "; nothing answers the line test at the other baud rates either" if searched else ""
        print(f"heatmeter: no meter answered ({where}{rates})", file=sys.stderr)
        return 1
    return 0


def _status(exc) -> int:
    from app.cli.errors import bus_status

    return bus_status(exc)


def _print_meter(m) -> None:
    print(f"{m.secondary_address}  {m.manufacturer:3}  version {m.version:3}  medium {m.medium_code:#04x} "
          f"{m.medium:14}  primary {m.primary_address}")


def _print_partial(args, found, exc, print_json) -> None:
    """The meters a scan found before it failed: human lines, or the scan document marked partial."""
    if args.json:
        print_json({"mode": args.mode, "baud": args.baud, "partial": True,
                    "error": " ".join(str(exc).split()) or type(exc).__name__,
                    "meters": [{"primary_address": m.primary_address or 0, "secondary_address": m.identification,
                                "manufacturer": m.manufacturer, "version": m.version, "medium_code": m.medium_code,
                                "medium": m.medium} for m in found]})
        return
    for m in found:
        print(f"{m.identification}  {m.manufacturer:3}  version {m.version:3}  medium {m.medium_code:#04x} "
              f"{m.medium:14}  primary {m.primary_address or 0}")
    print(f"{len(found)} meter(s) found before the scan stopped (partial)")
