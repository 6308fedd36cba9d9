"""Migrations (first revision -> head -> back), newer databases refused, crash safety, locking."""
from __future__ import annotations

import datetime as dt
import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import text

from app.storage import migrate
from app.storage.db import make_engine
from app.storage.errors import ConflictError, DatabaseLocked, DatabaseTooNew
from app.storage.register import open_register

from tests.helpers.register_rows import make_rows, write_csv
from tests.helpers.trust import recorded

REPO = Path(__file__).resolve().parents[2]


def test_migrated_schema_equals_the_models(db_url):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from app.storage.models import Base

    engine = make_engine(db_url)
    migrate.ensure_schema(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    engine.dispose()
    assert diff == []
    assert migrate.known_revisions()[0] == "0001" and len(migrate.known_revisions()) >= 2


_CONSTRAINTS = ("CONSTRAINT", "PRIMARY KEY", "UNIQUE", "FOREIGN KEY", "CHECK")


def _normal(sql: str | None):
    """A CREATE TABLE statement with its columns in order and its constraints as a set (a table the
    migrations rebuilt on SQLite lists its constraints in no fixed order); other statements as they are."""
    if not sql or not sql.startswith("CREATE TABLE"):
        return sql
    head, _, body = sql.partition("(")
    items = [i.strip() for i in body.rstrip().removesuffix(";").rstrip().removesuffix(")").split(", \n")]
    return (head.strip(), tuple(i for i in items if not i.startswith(_CONSTRAINTS)),
            frozenset(i for i in items if i.startswith(_CONSTRAINTS)))


def _statements(script: str) -> set:
    return {_normal(st) for st in migrate._statements(script)}


def _sqlite_contents(path: Path) -> tuple[set, dict]:
    con = sqlite3.connect(path)
    try:
        master = {(t, n, tn, _normal(sql)) for t, n, tn, sql in con.execute(
            "SELECT type, name, tbl_name, sql FROM sqlite_master")}
        rows = {name: sorted(con.execute(f'SELECT * FROM "{name}"'))
                for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    finally:
        con.close()
    return master, rows


def test_new_sqlite_register_is_exactly_what_the_migrations_build(tmp_path):
    """A new SQLite register is made from the stored schema, not by running each migration: it must hold
    the same tables, indexes and rows as a file migrated to the head, and the stored schema must be the
    one the current migrations give (regenerate it with ``python -m app.storage.migrate``)."""
    assert migrate.HEAD == migrate.head_revision()
    assert _statements(migrate.SQLITE_SCHEMA.read_text(encoding="utf-8")) == \
        _statements(migrate.sqlite_schema_script()), "app/storage/sqlite_schema.sql is stale: run " \
                                                     "python -m app.storage.migrate"
    migrated = make_engine(f"sqlite:///{tmp_path / 'migrated.db'}")
    migrate.upgrade(migrated, "head")
    migrated.dispose()
    made = make_engine(f"sqlite:///{tmp_path / 'made.db'}")
    assert migrate.ensure_schema(made) is None
    with made.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == migrate.HEAD
    made.dispose()
    assert _sqlite_contents(tmp_path / "made.db") == _sqlite_contents(tmp_path / "migrated.db")
    assert len(_sqlite_contents(tmp_path / "made.db")[0]) > 30
    # and the next opening finds it at the head: nothing to do
    again = make_engine(f"sqlite:///{tmp_path / 'made.db'}")
    assert migrate.ensure_schema(again) == migrate.HEAD
    again.dispose()


def test_several_processes_making_the_same_new_register_at_once_all_open_it(tmp_path):
    db = tmp_path / "r.db"
    code = ("from app.storage.register import open_register; "
            f"r = open_register({f'sqlite:///{db}'!r}); print(r.count_meters()); r.close()")
    procs = [subprocess.Popen([sys.executable, "-c", code], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(4)]
    results = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, [err for _out, err in results]
    assert [out.strip() for out, _err in results] == ["0"] * 4
    migrated = make_engine(f"sqlite:///{tmp_path / 'migrated.db'}")
    migrate.upgrade(migrated, "head")
    migrated.dispose()
    assert _sqlite_contents(db) == _sqlite_contents(tmp_path / "migrated.db")


def test_opening_a_register_at_the_head_does_not_load_the_migrations(tmp_path):
    db = tmp_path / "r.db"
    code = ("import sys; from app.storage.register import open_register; "
            f"r = open_register({f'sqlite:///{db}'!r}); r.close(); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'alembic'))")
    for _ in range(2):  # made new, then opened at the head
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
        assert out.stdout.strip() == "[]", out.stdout


def test_first_revision_with_data_upgrades_and_downgrades_intact(db_url):
    first = migrate.known_revisions()[0]
    engine = make_engine(db_url)
    migrate.upgrade(engine, first)
    with engine.begin() as c:  # data written by the first revision's schema, in plain SQL
        c.execute(text("INSERT INTO sites (id, name) VALUES (1, 'North')"))
        c.execute(text(
            "INSERT INTO meters (id, manufacturer, manufacturer_key, mbus_manufacturer, model, serial, qp_m3h, "
            "install_date, install_year_only, status, site_id, location, created_at, updated_at, version) VALUES "
            "(7, 'Kamstrup', 'kamstrup', 'KAM', 'Multical 603', '123', 1.5, '2019-03-04', :f, 'in_service', 1, "
            "'Flat 1', '2019-03-04 10:00:00', '2019-03-04 10:00:00', 1)"), {"f": False})
        c.execute(text("INSERT INTO installations (meter_id, site_id, location, installed_on, year_only) "
                       "VALUES (7, 1, 'Flat 1', '2019-03-04', :f)"), {"f": False})
        c.execute(text("INSERT INTO events (at, \"user\", entity, entity_id, meter_id, action) "
                       "VALUES ('2019-03-04 10:00:00', 'ann', 'meters', 7, 7, 'create')"))
    engine.dispose()
    with open_register(db_url) as reg:  # opening an older database migrates it
        assert reg.schema_status()["current"] == migrate.head_revision()
        m = reg.find_meter("Kamstrup", "123")
        assert (m.id, m.qp_m3h, m.install_date, m.location, m.site) == (7, 1.5, dt.date(2019, 3, 4), "Flat 1", "North")
        assert m.legal_hold is False and m.restrict_processing is False and m.occupant_name is None
        assert [e["user"] for e in reg.history(7)] == ["ann"]  # as written before the chain: kept
        reg.set_legal_hold(7, user="bob")  # the new revision's columns work
        reg.add_calibration_result(7, tested_on=dt.date(2024, 1, 1), subassembly="complete_meter",
                                   points=[{"error_pct": 0.5}])
    engine = make_engine(db_url)
    migrate.downgrade(engine, first)
    with engine.connect() as c:
        row = c.execute(text("SELECT serial, qp_m3h, location FROM meters WHERE id = 7")).one()
        n_events = c.execute(text("SELECT count(*) FROM events")).scalar()
        tables = set(c.dialect.get_table_names(c))
    engine.dispose()
    assert tuple(row) == ("123", 1.5, "Flat 1") and n_events == 3
    assert "calibration_results" not in tables and "meters" in tables


def test_newer_database_is_refused(db_url):
    open_register(db_url).close()
    engine = make_engine(db_url)
    with engine.begin() as c:
        c.execute(text("UPDATE alembic_version SET version_num = 'ffff9999'"))
    engine.dispose()
    with pytest.raises(DatabaseTooNew) as exc:
        open_register(db_url)
    assert "ffff9999" in str(exc.value) and "newer" in str(exc.value)


def _import_cmd(db: str, csv_path: Path, *extra: str):
    return [sys.executable, "-m", "app", "meters", "import", str(csv_path), "--db", db, "--progress", *extra]


def test_killed_import_leaves_none_or_all_of_its_rows(tmp_path):
    db = tmp_path / "register.db"
    url = f"sqlite:///{db}"
    first = write_csv(tmp_path / "first.csv", make_rows(50, seed=1, serial_base=1_000_000))
    big = write_csv(tmp_path / "big.csv", make_rows(30_000, seed=2, serial_base=50_000_000))
    with open_register(url) as reg:
        assert reg.import_file(first).created == 50
    proc = subprocess.Popen(_import_cmd(url, big), cwd=REPO, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            text=True)
    try:
        line = proc.stderr.readline()  # printed after the first chunk is written, inside the transaction
        assert "rows written" in line, line
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL  # it died mid-import
    con = sqlite3.connect(db)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        big_rows = con.execute("SELECT count(*) FROM meters WHERE serial >= '50000000'").fetchone()[0]
        first_rows = con.execute("SELECT count(*) FROM meters WHERE serial < '50000000'").fetchone()[0]
        # an import's create events are kept per batch of meters (revision 0004): count the meters they name
        events = con.execute("SELECT coalesce(sum(meter_count), 0) FROM event_batches").fetchone()[0]
    finally:
        con.close()
    assert big_rows in (0, 30_000)
    assert first_rows == 50 and events == 50 + big_rows
    with open_register(url) as reg:  # and the register still works: the import can be run again
        assert reg.import_file(big).created == 30_000 - big_rows


def test_locked_sqlite_file_is_a_one_line_error(tmp_path):
    db = tmp_path / "register.db"
    url = f"sqlite:///{db}?timeout=0.2"
    src = write_csv(tmp_path / "m.csv", make_rows(5))
    open_register(url).close()
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with open_register(url) as reg:
            with pytest.raises(DatabaseLocked) as exc:
                reg.import_file(src)
        assert "locked" in str(exc.value) and "\n" not in str(exc.value)
        p = subprocess.run([sys.executable, "-m", "app", "meters", "import", str(src), "--db", url],
                           cwd=REPO, capture_output=True, text=True, timeout=60)
        assert p.returncode == 2
        assert p.stderr.count("\n") == 1 and "is locked" in p.stderr and "Traceback" not in p.stderr
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    with open_register(url) as reg:
        assert reg.count_meters() == 0  # nothing half-written


def test_stale_save_is_refused_naming_what_changed(reg, tmp_path):
    reg.import_file(write_csv(tmp_path / "m.csv", make_rows(1)))
    loaded = reg.list_meters()[0]
    reg.update_meter(loaded.id, {"qp_m3h": 2.5, "location": "Riser 2"}, expected_version=loaded.version, user="alice")
    with pytest.raises(ConflictError) as exc:
        reg.update_meter(loaded.id, {"qp_m3h": 1.5, "dn": 25}, expected_version=loaded.version, user="bob")
    msg = str(exc.value)
    assert recorded(reg, "alice") in msg and "qp_m3h: theirs 2.5 vs yours 1.5" in msg
    assert "location: theirs 'Riser 2' (you did not change it)" in msg
    assert ("qp_m3h", 2.5, 1.5) in exc.value.changes
    now = reg.get_meter(loaded.id)
    assert now.qp_m3h == 2.5 and now.dn == loaded.dn and now.version == loaded.version + 1


@pytest.mark.postgres
def test_two_sessions_edit_the_same_meter_exactly_one_wins(pg_url, tmp_path):
    setup = open_register(pg_url)
    setup.import_file(write_csv(tmp_path / "m.csv", make_rows(1)))
    meter = setup.list_meters()[0]
    setup.close()
    a, b = open_register(pg_url), open_register(pg_url)  # two separate connection pools: two planners
    barrier = threading.Barrier(2)
    outcome: dict[str, object] = {}

    def edit(name, reg, value):
        barrier.wait()
        try:
            outcome[name] = reg.update_meter(meter.id, {"qp_m3h": value}, expected_version=meter.version, user=name)
        except ConflictError as exc:
            outcome[name] = exc

    try:
        threads = [threading.Thread(target=edit, args=("alice", a, 6.0)),
                   threading.Thread(target=edit, args=("bob", b, 10.0))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        winners = [k for k, v in outcome.items() if not isinstance(v, ConflictError)]
        losers = [k for k, v in outcome.items() if isinstance(v, ConflictError)]
        assert len(winners) == 1 and len(losers) == 1
        won, lost = winners[0], losers[0]
        theirs = 6.0 if won == "alice" else 10.0
        yours = 10.0 if won == "alice" else 6.0
        assert f"qp_m3h: theirs {theirs} vs yours {yours}" in str(outcome[lost])
        final = a.get_meter(meter.id)
        assert final.qp_m3h == theirs and final.version == meter.version + 1
        assert [e["after"]["qp_m3h"] for e in a.history(meter.id) if e["action"] == "update"] == [theirs]
    finally:
        a.close()
        b.close()
