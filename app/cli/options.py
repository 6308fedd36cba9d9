"""Options and output helpers shared by several commands."""
from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import sys
from typing import Any

from app.cli.errors import UserError
from app.core.numbers import tidy_floats


def add_db(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db", metavar="URL",
        help="register database (SQLAlchemy URL); default $HEATMETER_DB, else an SQLite file in the user data directory",
    )


def add_user(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--user", metavar="NAME",
                        help="name recorded in the event log (SQLite only; default: the OS user). On PostgreSQL "
                             "the event log records the database role you connect as")


def check_user(args) -> None:
    """``--user`` is refused on PostgreSQL: there the event log names the role that connected."""
    if not getattr(args, "user", None):
        return
    from app.storage.db import parse_url, resolve_url
    from app.storage.errors import RegisterError

    try:
        backend = parse_url(resolve_url(getattr(args, "db", None))).get_backend_name()
    except RegisterError:
        return  # the command reports the bad URL itself
    if backend != "sqlite":
        raise UserError("--user is not accepted on PostgreSQL: every event records the database role you connect "
                        "as (connect as your own role, e.g. postgresql+psycopg://NAME@HOST/DB)")


# C0 and C1 control characters (ESC starts terminal escape sequences; CSI 0x9b does in some terminals), DEL
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def safe(value: Any) -> str:
    """Text for the terminal: control characters and escape sequences shown escaped (``\\x1b``), never
    acted on."""
    s = "" if value is None else str(value)
    return _CONTROL.sub(lambda m: {"\t": "\\t", "\n": "\\n", "\r": "\\r"}.get(m.group(), f"\\x{ord(m.group()):02x}"),
                        s)


def print_json(obj: Any) -> None:
    """One JSON document on stdout, on one line; always valid JSON (no NaN or Infinity: a one-line error
    instead), floats without the binary noise of arithmetic (``app.core.numbers.tidy_floats``); DEL and C1
    control characters escaped too (json escapes the C0 ones)."""
    try:
        text = json.dumps(tidy_floats(obj), ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except ValueError:
        raise UserError("the result holds a number JSON cannot carry (infinite or not a number); "
                        "check the inputs", 2) from None
    sys.stdout.write(re.sub("[\x7f-\x9f]", lambda m: f"\\u{ord(m.group()):04x}", text) + "\n")


def non_negative_int(text: str) -> int:
    """An argparse type: a whole number >= 0 (``--limit -1`` is refused)."""
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if n < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {n}")
    return n


def user_of(args) -> str:
    """The name for the event log: ``--user``, else the OS user."""
    from app.storage.register import default_user

    return getattr(args, "user", None) or default_user()


#: Dates the tool plans with: meters are installed, tested and replaced within these years.
MIN_YEAR, MAX_YEAR = 1900, 2200


def parse_date(text: str | None, what: str) -> dt.date | None:
    """An ISO date option (None when not given); a one-line error naming the option otherwise."""
    if not text:
        return None
    try:
        d = dt.date.fromisoformat(text.strip())
    except ValueError:
        raise UserError(f"{what}: bad date {text[:40]!r} (expected YYYY-MM-DD)") from None
    if not MIN_YEAR <= d.year <= MAX_YEAR:
        raise UserError(f"{what}: {d.isoformat()} is outside the years {MIN_YEAR}..{MAX_YEAR}")
    return d


def bounded_int(lo: int, hi: int):
    """An argparse ``type``: a whole number from ``lo`` to ``hi`` (argparse reports anything else in one line)."""
    def convert(text: str) -> int:
        t = text.strip()
        if not t.lstrip("+-").isdigit() or len(t) > 20:
            raise argparse.ArgumentTypeError(f"must be a whole number from {lo:,} to {hi:,}, not {text[:30]!r}")
        n = int(t)
        if not lo <= n <= hi:
            raise argparse.ArgumentTypeError(f"must be from {lo:,} to {hi:,}, not {n:,}")
        return n
    convert.__name__ = "whole number"
    return convert


def bounded_float(lo: float, hi: float):
    """An argparse ``type``: a finite number from ``lo`` to ``hi``."""
    def convert(text: str) -> float:
        try:
            x = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a number, not {text[:30]!r}") from None
        if not lo <= x <= hi:  # also NaN and infinities
            raise argparse.ArgumentTypeError(f"must be from {lo:g} to {hi:g}, not {text[:30]!r}")
        return x
    convert.__name__ = "number"
    return convert
