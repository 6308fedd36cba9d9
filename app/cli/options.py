"""Options and output helpers shared by several commands."""
from __future__ import annotations

import argparse
import datetime as dt
import json
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
    parser.add_argument("--user", metavar="NAME", help="name recorded in the event log (default: the OS user)")


def print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(tidy_floats(obj), ensure_ascii=False, separators=(",", ":")) + "\n")


def user_of(args) -> str:
    """The name for the event log: ``--user``, else the OS user."""
    from app.storage.register import default_user

    return getattr(args, "user", None) or default_user()


def parse_date(text: str | None, what: str) -> dt.date | None:
    """An ISO date option (None when not given); a one-line error naming the option otherwise."""
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise UserError(f"{what}: bad date {text!r} (expected YYYY-MM-DD)") from None
