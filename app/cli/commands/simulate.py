"""``heatmeter simulate``: the built-in simulated M-Bus (demo mode, tests, benchmarks)."""
from __future__ import annotations

import argparse

from app.cli.options import bounded_float, bounded_int


def _host_port(s: str) -> tuple[str, int]:
    host, sep, port = s.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, not {s!r}")
    return (host.strip("[]") or "127.0.0.1", int(port))


def _probability(s: str) -> float:
    v = float(s)
    if not 0.0 <= v <= 1.0:
        raise argparse.ArgumentTypeError(f"a probability is 0..1, not {s}")
    return v


def register(sub) -> None:
    p = sub.add_parser("simulate", help="run the built-in simulated M-Bus on a pseudo-terminal or TCP port",
                       description="Start simulated heat, water and cooling meters whose registers move in time, "
                                   "on a pseudo-terminal (PATH becomes a link to its slave side) and/or a TCP "
                                   "port (a transparent gateway). Prints one JSON line when ready; runs until "
                                   "interrupted.")
    p.add_argument("--pty", metavar="PATH", help="make PATH a link to the slave side of a pseudo-terminal")
    p.add_argument("--tcp", type=_host_port, metavar="HOST:PORT", help="listen on HOST:PORT (port 0: any free)")
    p.add_argument("--meters", type=bounded_int(0, 250), default=12, metavar="N", help="number of meters of the default bus (12)")
    p.add_argument("--config", metavar="FILE", help="JSON bus description (see docs/bus.md); replaces --meters")
    p.add_argument("--seed", type=bounded_int(0, 2 ** 63 - 1), default=0, metavar="S", help="random seed (noise, answer delays, faults)")
    p.add_argument("--baud", type=bounded_int(300, 38400), default=2400, metavar="B", help="line baud of the TCP gateway (2400)")
    p.add_argument("--fast", action="store_true",
                   help="answer at once instead of with realistic line timing (for tests)")
    p.add_argument("--time-scale", type=bounded_float(0, 1_000_000), default=1.0, metavar="F",
                   help="simulated seconds per real second for the registers (default 1); 0 freezes registers and meter clocks")
    p.add_argument("--echo", action="store_true", help="echo every byte the master sends (like some converters)")
    p.add_argument("--lose", type=_probability, default=None, metavar="P",
                   help="every meter loses a data answer with probability P")
    p.add_argument("--corrupt", type=_probability, default=None, metavar="P",
                   help="every meter damages a data answer (bad checksum) with probability P")
    p.add_argument("--slow", action="store_true", help="every meter answers near the end of the response window")
    p.add_argument("--optical", metavar="ID|auto",
                   help="serve one meter's optical port instead of the bus: the meter with this identification, "
                        "or auto (the first with an optical port). Default bus: 71234567, a Kamstrup MULTICAL "
                        "speaking KMP; 62100013, a Landis+Gyr UH50 speaking EN 62056-21")
    p.add_argument("--state-file", metavar="FILE",
                   help="after each answer write the meters' registers and last sent records here (JSON)")
    # --- wireless M-Bus: simulated radio meters through a simulated USB stick (docs/wireless.md)
    w = p.add_argument_group("wireless M-Bus")
    w.add_argument("--wmbus", action="store_true",
                   help="simulate radio meters heard through a wireless M-Bus stick instead of a wired bus")
    w.add_argument("--dongle", choices=("im871a", "amb8465"), default="im871a", help="stick to simulate (im871a)")
    w.add_argument("--keys-out", metavar="FILE", help="write the simulated meters' keys here (CSV id,key)")
    p.set_defaults(func=run)


def run(args) -> int:
    import json
    import signal
    import sys

    from app.cli.errors import UserError
    from drivers import errors
    from drivers.simulator import build_server

    if not args.pty and not args.tcp:
        raise UserError("give --pty PATH and/or --tcp HOST:PORT", 2)
    if args.wmbus:
        from app.cli.commands._wmbus_sim import run_wmbus
        return run_wmbus(args)
    if args.meters < 1:
        raise UserError("--meters must be at least 1", 2)
    faults = {k: v for k, v in (("lose", args.lose), ("corrupt", args.corrupt), ("slow", args.slow or None))
              if v is not None}
    try:
        server = build_server(config=args.config, meters=args.meters, seed=args.seed, baud=args.baud,
                              fast=args.fast, time_scale=args.time_scale, echo=args.echo, faults=faults,
                              state_file=args.state_file, pty=args.pty, tcp=args.tcp, optical=args.optical)
    except (OSError, ValueError) as exc:
        raise UserError(f"cannot start the simulator: {exc}", 2) from None
    except errors.BusError as exc:
        raise UserError(str(exc), 2) from None

    def _stop(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    ready = {"pty": server.pty_path, "meters": len(server.bus.meters), "baud": args.baud}
    if args.optical:
        m = server.optical_meter
        ready["optical"] = {"identification": m.cfg.identification, "manufacturer": m.cfg.manufacturer,
                            "protocol": (m.cfg.optical or {}).get("protocol")}
    if server.tcp_address:
        ready["tcp"] = f"{server.tcp_address[0]}:{server.tcp_address[1]}"
    try:
        server.start()
        sys.stdout.write(json.dumps({"ready": ready}) + "\n")
        sys.stdout.flush()
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0
