"""Fixtures of the register tests: the same tests on SQLite and on PostgreSQL."""
from __future__ import annotations

from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parent.parent / "data"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request, tmp_path) -> str:
    """An empty register database: an SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'register.db'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    """A second, SQLite-only register (never the same file as ``db_url``)."""
    return f"sqlite:///{tmp_path / 'other.db'}"


@pytest.fixture
def reg(db_url):
    from app.storage.register import open_register

    r = open_register(db_url)
    yield r
    r.close()


@pytest.fixture
def corpus_frame():
    """A real Kamstrup Multical 601 telegram (libmbus test frame) and its expected decode."""
    import json

    hexfile = DATA / "mbus-corpus" / "kamstrup_multical_601.hex"
    raw = bytes.fromhex("".join(ln for ln in hexfile.read_text().splitlines() if not ln.startswith("#")))
    decoded = json.loads((DATA / "mbus-corpus" / "kamstrup_multical_601.expected.json").read_text())
    return raw, decoded
