"""Shared test set-up: offscreen Qt, no thread outliving its test, the PostgreSQL server of the register tests.

Helpers shared by several test modules live in ``tests/helpers/``; fixtures live in the conftest files.
"""
from __future__ import annotations

import gc
import os
import uuid

import pytest

from tests.helpers.leaks import ThreadWatch

pytest_plugins = ["pytester"]   # tests/test_harness.py runs small test files through the harness

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Never touch the real user's data directory or settings from a test.
os.environ.setdefault("HEATMETER_DB", "")

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(autouse=True)
def no_leaked_threads():
    """Fail the test if it leaves a Python thread, a QThread or a pool's runnable running.

    Runs around every test and is torn down after the test's own fixtures (windows closed,
    runners shut down, simulators stopped). A thread that is ending gets a short grace, by
    joining it; one still running then fails the test, named, with where it is blocked.
    """
    watch = ThreadWatch().arm()
    yield
    # What the test dropped goes now, so that a file or connection it left open (a ResourceWarning,
    # an error here) is reported against this test and not a later one. What is still alive then
    # (modules, longer-scoped fixtures) is frozen out of later collections: each collection only
    # looks at one test's objects (a full one over the suite's heap took ~0.5 s a test).
    gc.collect()
    gc.freeze()
    leaked = watch.leaks()
    if leaked:
        pytest.fail("the test left threads running:\n  " + "\n  ".join(leaked), pytrace=False)


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
