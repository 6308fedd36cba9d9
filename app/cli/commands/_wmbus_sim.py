"""``heatmeter simulate --wmbus``: simulated radio meters through a simulated iM871A or AMB8465 stick."""
from __future__ import annotations

import json
import os
import signal
import sys

from app.cli.errors import UserError


def run_wmbus(args) -> int:
    from drivers import errors
    from drivers.simulator.wmbus import RadioField, default_field, keys_csv
    from drivers.simulator.wmbus_dongles import WMBusSimServer

    if args.meters < 1:
        raise UserError("--meters must be at least 1", 2)
    if args.time_scale <= 0:
        raise UserError("--time-scale must be more than 0 for radio meters", 2)
    meters = default_field(args.meters, args.seed)
    if args.keys_out:
        try:
            fd = os.open(args.keys_out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(keys_csv(meters))
        except OSError as exc:
            raise UserError("cannot write %s: %s" % (args.keys_out, exc.strerror or exc), 2) from None
    server = WMBusSimServer(RadioField(meters, args.seed), args.dongle, speed=args.time_scale)
    try:
        if args.pty:
            server.open_pty(args.pty)
        if args.tcp:
            server.open_tcp(*args.tcp)
    except (OSError, errors.BusError) as exc:
        server.stop()
        raise UserError("cannot start the simulator: %s" % exc, 2) from None

    def _stop(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    ready = {"wmbus": True, "dongle": args.dongle, "meters": len(meters), "pty": server.pty_path}
    if server.tcp_address:
        ready["tcp"] = "%s:%d" % server.tcp_address
    if args.keys_out:
        ready["keys"] = args.keys_out
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
