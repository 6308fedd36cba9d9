"""Options and helpers shared by the bus commands (scan, read, set-address, set-baud).

Not a command itself (the leading underscore keeps it out of discovery). Every
bus command talks through one :class:`drivers.session.BusSession` (the same
session the desktop app uses: read plan, wake-up profile choice, identity
check); this module builds its :class:`~drivers.session.ConnectionSpec` from
the options and turns the session's errors into one-line messages and exit
statuses (:func:`app.cli.errors.bus_status`).
"""
from __future__ import annotations

import argparse
import contextlib
import sys
import time

from drivers.timing import BAUD_RATES as BAUDS


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
    p.add_argument("--profile", metavar="NAME", help="wake-up / meter-family profile: " + ", ".join(profile_names()))
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


def add_meter(p: argparse.ArgumentParser, address_help: str = "primary address 0..250", *,
              required: bool = True) -> None:
    """The meter a command talks to: ``--address N`` or ``--secondary ID`` (one of them)."""
    who = p.add_mutually_exclusive_group(required=required)
    who.add_argument("--address", type=primary_address, metavar="N", help=address_help)
    who.add_argument("--secondary", type=secondary_mask, metavar="ID",
                     help="secondary address: 8 digits, ID.MAN, or ID.MAN.VER.MEDIUM (e.g. 12345678.KAM.1B.04)")


def add_save_write(p: argparse.ArgumentParser) -> None:
    """``--save`` (+ ``--db``, ``--user``): keep the write in the meter's history in the register."""
    from app.cli.options import add_db, add_user

    save = p.add_argument_group("keeping the write in the meter register")
    save.add_argument("--save", action="store_true",
                      help="keep the write (before, after, every frame sent and received) in the meter's history in "
                           "the register, matched by FLAG code and identification; a confirmed address or baud "
                           "write also updates the register's record")
    add_db(save)
    add_user(save)


def save_write(args, res) -> dict | None:
    """With ``--save``: keep a write (its result) in the register (``app.services.meter_writes``).
    Returns what was stored (None without ``--save`` or when nothing was written); a meter the register
    does not know: ``{"status": "no_match"}``."""
    if not getattr(args, "save", False):
        return None
    from app.cli.commands.meters import opened, storage_errors
    from app.cli.options import user_of
    from app.services import meter_writes

    with opened(args) as reg, storage_errors():
        return meter_writes.record_write(reg, res, user=user_of(args), port=getattr(args, "port", None))


def report_write(args, res, doc: dict, done: str, what: str) -> int:
    """The end of a write: the JSON document or ``done`` when confirmed; otherwise a one-line error
    naming ``what`` was not confirmed, and status 1. With ``--save`` the write (confirmed or not) is
    kept in the register first; a meter the register does not know makes it status 1 too."""
    from app.cli.options import print_json

    saved = save_write(args, res)
    if saved is not None:
        doc["register"] = saved
    if args.json:
        print_json(doc)
    elif res.ok:
        print(done)
    if saved is not None and saved["status"] == "saved" and not args.json:
        print(f"kept in the register: write {saved['write_id']} of meter {saved['meter_id']}")
    if not res.ok:
        print(f"heatmeter: {what} not confirmed: {res.detail}", file=sys.stderr)
        return 1
    if saved is not None and saved["status"] == "no_match":
        print(f"heatmeter: meter {saved.get('manufacturer')} {saved.get('identification')} is not in the register: "
              "the write is done but not kept there", file=sys.stderr)
        return 1
    return 0


def profile_names() -> list[str]:
    """The wake-up table's names (generic profiles, then each make's family profile)."""
    from drivers.makes import profiles

    return list(profiles())


def spec_from_args(args, protocol: str = "mbus"):
    """The :class:`drivers.session.ConnectionSpec` the options describe (a bad profile name: status 2)."""
    from app.cli.errors import UserError
    from drivers.session import ConnectionSpec

    spec = ConnectionSpec(args.port, args.baud, profile=args.profile or "none", timeout_ms=args.timeout_ms,
                          retries=args.retries, echo=args.echo, wakeup=bool(args.wakeup),
                          preamble_ms=args.wakeup_ms, protocol=protocol)
    try:
        spec.wakeup_profile()
    except ValueError as exc:
        raise UserError(str(exc), 2) from None
    return spec


@contextlib.contextmanager
def bus_errors(spec=None, secondary=None, searched_bauds: bool = False):
    """Map the bus session's typed errors to one-line user errors with the contract's statuses.

    With ``spec``, a meter that did not answer without a wake-up gets the hint to try one; with
    ``secondary`` (the mask the meter was asked for by), a collision of a shared id the hint to give
    the full ``ID.MAN.VV.MM``."""
    from app.cli.errors import UserError, bus_status
    from drivers import errors
    from drivers.session.messages import cli_hint

    try:
        yield
    except errors.Cancelled:
        raise UserError("cancelled", bus_status(errors.Cancelled())) from None
    except errors.BusError as exc:
        prof = spec.wakeup_profile() if spec is not None else None
        hint = "" if spec is not None and spec.optical else \
            cli_hint(exc, has_preamble=spec is None or (prof is not None and prof.has_preamble),
                     secondary=secondary, searched_bauds=getattr(exc, "searched_bauds", searched_bauds))
        raise UserError((str(exc) or exc.__class__.__name__) + hint, bus_status(exc)) from None
    except ValueError as exc:
        raise UserError(str(exc), 2) from None


@contextlib.contextmanager
def open_session(spec):
    """A :class:`drivers.session.BusSession` on the port ``spec`` names, closed at the end."""
    from drivers.session import BusSession

    session = BusSession()
    session.open(spec)
    try:
        yield session
    finally:
        session.close()


class StderrProgress:
    """Progress lines on stderr: rewritten in place on a terminal, a few plain lines otherwise.

    Called as the session's ``progress(done, total, text)``; :meth:`found` takes
    the meters a scan finds (the session's ``on_item``)."""

    def __init__(self, label: str):
        self.label = label
        self.tty = sys.stderr.isatty()
        self.last_pct = -1
        self.last_t = 0.0
        self.t0 = time.monotonic()

    def __call__(self, done, total=None, text: str = "") -> None:
        total = total or 0
        pct = int(100 * done / total) if total else 0
        eta = ""
        if total and done:
            eta = f", eta {(time.monotonic() - self.t0) / done * max(0, total - done):.0f} s"
        line = f"{self.label}: {done}/{total or '?'}{eta}"
        now = time.monotonic()
        if self.tty:
            if now - self.last_t > 0.1:
                sys.stderr.write("\r\033[K" + line)
                self.last_t = now
        elif pct // 25 != self.last_pct // 25 and total:
            sys.stderr.write(line + "\n")
            self.last_pct = pct
        sys.stderr.flush()

    def found(self, meter) -> None:
        line = f"{self.label}: found {meter.identification} {meter.manufacturer} " \
               f"at primary address {meter.primary_address or 0}"
        sys.stderr.write(("\r\033[K" if self.tty else "") + line + "\n")
        sys.stderr.flush()

    def close(self) -> None:
        if self.tty:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()
