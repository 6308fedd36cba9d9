"""A throw-away PostgreSQL database for a benchmark run."""
from __future__ import annotations

import uuid


def pg_database(server_url: str):
    import psycopg
    from sqlalchemy.engine import make_url

    admin = make_url(server_url)
    name = f"hm_bench_{uuid.uuid4().hex[:8]}"
    conninfo = admin.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}"')

    def drop():
        with psycopg.connect(conninfo, autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return admin.set(database=name).render_as_string(hide_password=False), drop

