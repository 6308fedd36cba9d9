"""Shared test set-up: offscreen Qt, the PostgreSQL server of the register tests."""
from __future__ import annotations

import os
import uuid

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Never touch the real user's data directory or settings from a test.
os.environ.setdefault("HEATMETER_DB", "")

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _server_url() -> str | None:
    return os.environ.get("HEATMETER_TEST_PG") or None


@pytest.fixture(scope="session")
def pg_server_url() -> str:
    """URL of a PostgreSQL database we may create databases from (a superuser role).

    In CI the server is required: its absence fails the run instead of skipping.
    """
    url = _server_url()
    if url is None:
        if IN_CI:
            pytest.fail("HEATMETER_TEST_PG is not set in CI: .ci/run must start PostgreSQL")
        pytest.skip("no PostgreSQL server (set HEATMETER_TEST_PG to run these tests)")
    return url


@pytest.fixture
def pg_url(pg_server_url: str):
    """A fresh, empty PostgreSQL database for one test; dropped afterwards."""
    import psycopg
    from sqlalchemy.engine import make_url

    admin = make_url(pg_server_url)
    name = f"hm_test_{uuid.uuid4().hex[:12]}"
    conninfo = admin.set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        if IN_CI:
            pytest.fail(f"PostgreSQL unreachable in CI: {exc}")
        pytest.skip(f"PostgreSQL unreachable: {exc}")
    yield admin.set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _pdf_text(path) -> str:
    """All text of a PDF, whitespace collapsed to single spaces and ligatures undone."""
    import re
    import unicodedata

    import pypdf

    text = " ".join(page.extract_text() or "" for page in pypdf.PdfReader(str(path)).pages)
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text)).strip()


@pytest.fixture
def pdf_text():
    """``pdf_text(path)``: a PDF's text for assertions (see ``_pdf_text``)."""
    return _pdf_text
