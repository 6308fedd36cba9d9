"""Options and output helpers shared by several commands."""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def add_db(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db", metavar="URL",
        help="register database (SQLAlchemy URL); default $HEATMETER_DB, else an SQLite file in the user data directory",
    )


def add_user(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--user", metavar="NAME", help="name recorded in the event log (default: the OS user)")


def print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n")
