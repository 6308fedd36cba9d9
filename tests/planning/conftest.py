"""Fixtures of the planning tests: the same tests on SQLite and on PostgreSQL."""
from __future__ import annotations

import pytest


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request, tmp_path) -> str:
    """An empty register database: an SQLite file, or a fresh PostgreSQL database (``pg_url``)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'register.db'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def cli(capsys):
    """Run ``heatmeter ARGS`` in-process; returns (exit status, stdout, stderr)."""
    from app.cli.main import main

    def run(*args: str):
        capsys.readouterr()
        status = main([str(a) for a in args])
        out = capsys.readouterr()
        return status, out.out, out.err

    return run
