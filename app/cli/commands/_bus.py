"""Options and helpers shared by the bus commands (scan, read, set-address, set-baud).

Not a command itself (the leading underscore keeps it out of discovery).
Only the standard library is imported at module level.
"""
from __future__ import annotations

import argparse
import contextlib
import sys
import time

BAUDS = (300, 600, 1200, 2400, 4800, 9600, 19200, 38400)


def add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--port", required=True, metavar="URL",
                   help="device path (/dev/ttyUSB0, COM3, a pty), socket://HOST:PORT or rfc2217://HOST:PORT")
    p.add_argument("--baud", type=int, default=2400, choices=BAUDS, metavar="B",
                   help="line baud rate: 300, 2400 (default), 9600, 19200, 38400 (also 600, 1200, 4800)")
    p.add_argument("--timeout-ms", type=_positive_int, metavar="MS",
                   help="response timeout (default: 330 bit times + 50 ms, EN 13757-2)")
    p.add_argument("--retries", type=_non_negative_int, default=2, metavar="N",
                   help="repeat a request that got no answer or a garbled one N times (default 2)")
    p.add_argument("--wakeup", action="store_true",
                   help="optical head: send the 0x55 wake-up preamble before the first request")
    p.add_argument("--wakeup-ms", type=_positive_int, default=None, metavar="MS",
                   help="length of the wake-up preamble (default 2200)")
    p.add_argument("--profile", metavar="NAME",
                   help="meter-family profile: none, no-reset, optical-55, engelmann, sensus, diehl, kamstrup, nul")
    p.add_argument("--echo", choices=("auto", "on", "off"), default="auto",
                   help="strip the echo of converters/heads that echo the request (default: detect)")
    p.add_argument("--json", action="store_true", help="print one JSON document on stdout")


def _positive_int(s: str) -> int:
    v = int(s)
    if v <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, not {s}")
    return v


def _non_negative_int(s: str) -> int:
    v = int(s)
    if v < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {s}")
    return v


def primary_address(s: str) -> int:
    try:
        v = int(s, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {s}") from None
    if not 0 <= v <= 250:
        raise argparse.ArgumentTypeError(f"primary addresses are 0..250, not {v}")
    return v


def secondary_mask(s: str):
    from drivers.address import SecondaryMask
    try:
        return SecondaryMask.parse(s)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_meter(p: argparse.ArgumentParser, address_help: str = "primary address 0..250") -> None:
    """The meter a command talks to: ``--address N`` or ``--secondary ID`` (one of them)."""
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--address", type=primary_address, metavar="N", help=address_help)
    who.add_argument("--secondary", type=secondary_mask, metavar="ID",
                     help="secondary address: 8 digits, or ID.MAN.VER.MEDIUM (e.g. 12345678.KAM.1B.04)")


def report_write(args, res, doc: dict, done: str, what: str) -> int:
    """The end of a confirmed write: the JSON document or ``done`` when confirmed; otherwise a
    one-line error naming ``what`` was not confirmed, and status 1."""
    import sys

    from app.cli.options import print_json

    if args.json:
        print_json(doc)
    elif res.ok:
        print(done)
    if not res.ok:
        print(f"heatmeter: {what} not confirmed: {res.detail}", file=sys.stderr)
        return 1
    return 0


def profile_from_args(args):
    """The wake-up profile the user asked for (None: the default wired behaviour)."""
    from app.cli.errors import UserError
    from drivers.wakeup import get_profile

    prof = None
    if args.profile:
        try:
            prof = get_profile(args.profile)
        except ValueError as exc:
            raise UserError(str(exc), 2) from None
    if args.wakeup and (prof is None or not prof.has_preamble):
        prof = get_profile("optical-55") if prof is None else prof.__class__(**{
            **prof.__dict__, "preamble_byte": 0x55, "preamble_ms": 2200})
    if prof is not None and args.wakeup_ms is not None and prof.has_preamble:
        prof = prof.with_length(args.wakeup_ms)
    return prof


@contextlib.contextmanager
def bus_errors():
    """Map the bus stack's typed errors to one-line user errors with the contract's statuses."""
    from app.cli.errors import UserError
    from drivers import errors

    try:
        yield
    except errors.BusError as exc:
        raise UserError(str(exc) or exc.__class__.__name__, exc.status) from None
    except ValueError as exc:
        raise UserError(str(exc), 2) from None


def open_link(args):
    """Open the transport and the link the arguments describe (a context manager for both)."""
    from drivers.link import Link
    from drivers.transport import SerialTransport

    tr = SerialTransport(args.port, args.baud,
                         timeout_s=None if args.timeout_ms is None else args.timeout_ms / 1000.0,
                         echo=args.echo)
    tr.open()
    return tr, Link(tr, retries=args.retries)


class StderrProgress:
    """Progress lines on stderr: rewritten in place on a terminal, a few plain lines otherwise."""

    def __init__(self, label: str):
        self.label = label
        self.tty = sys.stderr.isatty()
        self.last_pct = -1
        self.last_t = 0.0

    def __call__(self, ev) -> None:
        found = getattr(ev, "found", None)
        total = ev.total or 0
        pct = int(100 * ev.done / total) if total else 0
        eta = "" if ev.eta_s is None else f", eta {ev.eta_s:.0f} s"
        line = f"{self.label}: {ev.done}/{total or '?'}{eta}"
        if found is not None:
            sec = getattr(found, "secondary_address", "")
            line_found = f"{self.label}: found {sec} {getattr(found, 'manufacturer', '')} " \
                         f"at primary address {getattr(found, 'primary_address', '')}"
            if self.tty:
                sys.stderr.write("\r\033[K" + line_found + "\n")
            else:
                sys.stderr.write(line_found + "\n")
        now = time.monotonic()
        if self.tty:
            if now - self.last_t > 0.1:
                sys.stderr.write("\r\033[K" + line)
                self.last_t = now
        elif pct // 25 != self.last_pct // 25 and total:
            sys.stderr.write(line + "\n")
            self.last_pct = pct
        sys.stderr.flush()

    def close(self) -> None:
        if self.tty:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()
