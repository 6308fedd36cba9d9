"""Fixtures of the register tests: the same tests on SQLite and on PostgreSQL."""
from __future__ import annotations

import uuid
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


@pytest.fixture(scope="session")
def pg_template(pg_server_url):
    """A PostgreSQL database migrated to the head once; each ``reg`` test gets a copy of it."""
    import psycopg
    from sqlalchemy.engine import make_url

    from app.storage import migrate
    from app.storage.db import make_engine

    admin = make_url(pg_server_url)
    conninfo = admin.set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"hm_tpl_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    engine = make_engine(admin.set(database=name).render_as_string(hide_password=False))
    migrate.ensure_schema(engine)
    engine.dispose()
    yield admin, conninfo, name
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def reg(request, tmp_path):
    """An open, empty register at the latest schema: SQLite file or PostgreSQL database."""
    from app.storage.register import open_register

    if request.param == "sqlite":
        r = open_register(f"sqlite:///{tmp_path / 'register.db'}")
        yield r
        r.close()
        return
    import psycopg

    admin, conninfo, template = request.getfixturevalue("pg_template")
    name = f"hm_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    r = open_register(admin.set(database=name).render_as_string(hide_password=False))
    yield r
    r.close()
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def corpus_frame():
    """A real Kamstrup Multical 601 telegram (libmbus test frame) and its expected decode."""
    import json

    hexfile = DATA / "mbus-corpus" / "kamstrup_multical_601.hex"
    raw = bytes.fromhex("".join(ln for ln in hexfile.read_text().splitlines() if not ln.startswith("#")))
    decoded = json.loads((DATA / "mbus-corpus" / "kamstrup_multical_601.expected.json").read_text())
    return raw, decoded
