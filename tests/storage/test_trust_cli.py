"""What the terminal shows and what the CLI refuses: control characters escaped, search words taken literally,
negative limits refused, a read-only file read (and said so), backups that restore only when they verify."""
from __future__ import annotations

import json
import shutil

import pytest
from sqlalchemy import text

from app.cli.main import main
from app.storage.register import open_register

from tests.helpers.register_rows import make_rows, write_csv
from tests.helpers.trust import tamper


def run(capsys, *argv):
    try:
        status = main(list(argv))
    except SystemExit as exc:  # argparse refuses bad options itself
        status = exc.code
    out = capsys.readouterr()
    return status, out.out, out.err


@pytest.fixture
def loaded(sqlite_url, tmp_path, capsys):
    rows = make_rows(6)
    rows[0]["location"] = "Flat 1 \x1b[31mRED\x1b[0m\x07"
    rows[1]["serial"] = "12_34"
    rows[2]["serial"] = "12A34"
    rows[3]["location"] = "100% riser"
    rows[4]["location"] = "1000 riser"
    for r in rows:
        r["occupant_name"] = "Ann \x1b]0;pwned\x07 Smith"
    status, _, err = run(capsys, "meters", "import", str(write_csv(tmp_path / "m.csv", rows, columns=list(rows[0]))),
                         "--db", sqlite_url, "--user", "eve\x1b[2J")
    assert status == 0, err
    return rows


def test_control_characters_are_shown_escaped(sqlite_url, loaded, capsys):
    status, out, _ = run(capsys, "meters", "list", "--db", sqlite_url)
    assert status == 0 and "\x1b" not in out and "\x07" not in out
    assert "Flat 1 \\x1b[31mRED\\x1b[0m\\x07" in out
    r = loaded[0]
    status, out, _ = run(capsys, "meters", "show", r["manufacturer"], r["serial"], "--db", sqlite_url)
    assert "\x1b" not in out and "occupant_name: Ann \\x1b]0;pwned\\x07 Smith" in out
    status, out, _ = run(capsys, "meters", "history", r["manufacturer"], r["serial"], "--db", sqlite_url)
    assert "\x1b" not in out and "eve\\x1b[2J" in out
    status, out, _ = run(capsys, "meters", "history", r["manufacturer"], r["serial"], "--db", sqlite_url, "--json")
    assert "\x1b" not in out and json.loads(out)[0]["user"] == "eve\x1b[2J"  # the JSON escapes it, the value stays


@pytest.mark.parametrize("word, serials", [("12_34", ["12_34"]), ("100%", ["10000003"]), ("_", ["12_34"])])
def test_search_words_are_literal(sqlite_url, loaded, capsys, word, serials):
    status, out, _ = run(capsys, "meters", "list", "--db", sqlite_url, "--search", word, "--json")
    assert status == 0 and [m["serial"] for m in json.loads(out)] == serials


@pytest.mark.parametrize("option", ["--limit", "--offset"])
def test_negative_limits_are_refused(sqlite_url, capsys, option):
    status, _, err = run(capsys, "meters", "list", "--db", sqlite_url, option, "-1")
    assert status == 2 and err.count("\n") == 1 and "must be from 0" in err


def test_a_read_only_file_is_read_and_says_so(sqlite_url, loaded, capsys, monkeypatch, tmp_path):
    """As the test may run as root (who writes anyway), the file is made read-only for heatmeter by
    answering os.access as a read-only file would; SQLite then opens it read-only itself."""
    import os

    import app.storage.db as db

    path = sqlite_url.removeprefix("sqlite:///")
    real = os.access
    monkeypatch.setattr(db.os, "access", lambda p, mode: False if (str(p) == path and mode == os.W_OK)
                        else real(p, mode))
    status, out, _ = run(capsys, "db", "status", "--db", sqlite_url)
    assert status == 0 and "read-only" in out and "up to date" in out
    status, out, _ = run(capsys, "meters", "list", "--db", sqlite_url, "--json")
    assert status == 0 and len(json.loads(out)) == 6
    status, _, err = run(capsys, "meters", "import", str(write_csv(tmp_path / "n.csv", make_rows(2, serial_base=7))),
                         "--db", sqlite_url)
    assert status == 1 and err.count("\n") == 1 and "read-only" in err
    r = loaded[0]
    status, out, err = run(capsys, "meters", "show", r["manufacturer"], r["serial"], "--db", sqlite_url)
    assert status == 0 and "Smith" not in out and "personal data hidden" in err  # the access could not be logged
    with open_register(sqlite_url) as reg:
        assert reg.read_only and reg.verify_integrity().ok
    monkeypatch.undo()
    with open_register(sqlite_url) as reg:  # nothing was written
        assert not reg.read_only and [e["action"] for e in reg.history(reg.find_meter(r["manufacturer"],
                                                                                       r["serial"]).id)] == ["create"]


def test_backup_and_restore_sqlite(sqlite_url, loaded, capsys, tmp_path):
    backup = tmp_path / "backup.db"
    status, out, _ = run(capsys, "db", "backup", str(backup), "--db", sqlite_url, "--json")
    doc = json.loads(out)
    assert status == 0 and doc["verified"] and doc["events"] >= 1
    with open_register(sqlite_url) as reg:
        m = reg.list_meters()[0]
        reg.update_meter(m.id, {"qp_m3h": 42.0}, expected_version=m.version)
    status, out, _ = run(capsys, "db", "restore", str(backup), "--db", sqlite_url)
    assert status == 0 and "restored" in out
    with open_register(sqlite_url) as reg:
        assert reg.get_meter(m.id).qp_m3h == m.qp_m3h and reg.verify_integrity().ok
    saved = list(tmp_path.glob("backup.db.before-restore-*"))
    assert len(saved) == 1
    with open_register(f"sqlite:///{saved[0]}") as reg:
        assert reg.get_meter(m.id).qp_m3h == 42.0  # the register as it was before the restore


def test_a_backup_that_does_not_verify_is_refused(sqlite_url, loaded, capsys, tmp_path):
    forged = tmp_path / "forged.db"
    shutil.copyfile(sqlite_url.removeprefix("sqlite:///"), forged)
    with open_register(f"sqlite:///{forged}") as reg:
        tamper(reg, "UPDATE events SET \"user\" = 'mallory' WHERE id = 1")
    with open_register(sqlite_url) as reg:
        m = reg.list_meters()[0]
        reg.update_meter(m.id, {"qp_m3h": 42.0}, expected_version=m.version)
    status, _, err = run(capsys, "db", "restore", str(forged), "--db", sqlite_url)
    assert status == 1 and err.count("\n") == 1 and "does not verify" in err and "events 1: altered" in err
    with open_register(sqlite_url) as reg:
        assert reg.get_meter(m.id).qp_m3h == 42.0  # nothing restored
    status, _, err = run(capsys, "db", "restore", str(tmp_path / "none.db"), "--db", sqlite_url)
    assert status == 1 and "no backup file" in err


@pytest.mark.postgres
def test_backup_and_restore_postgresql(pg_url, tmp_path, capsys):
    if shutil.which("pg_dump") is None:
        pytest.skip("pg_dump is not installed here")
    with open_register(pg_url) as reg:
        reg.import_file(write_csv(tmp_path / "m.csv", make_rows(5)))
        m = reg.list_meters()[0]
    dump = tmp_path / "register.dump"
    status, out, err = run(capsys, "db", "backup", str(dump), "--db", pg_url)
    assert status == 0 and "verified" in out, err
    with open_register(pg_url) as reg:
        reg.update_meter(m.id, {"qp_m3h": 42.0}, expected_version=m.version)
        tamper(reg, "UPDATE events SET source = 'forged' WHERE id = 1")
    bad = tmp_path / "bad.dump"
    status, out, _ = run(capsys, "db", "backup", str(bad), "--db", pg_url)
    assert status == 0 and "DOES NOT VERIFY" in out  # a backup is still made: it is the register as it is
    status, _, err = run(capsys, "db", "restore", str(bad), "--db", pg_url)
    assert status == 1 and "does not verify" in err and err.count("\n") == 1
    status, out, err = run(capsys, "db", "restore", str(dump), "--db", pg_url)
    assert status == 0, err
    with open_register(pg_url) as reg:
        assert reg.get_meter(m.id).qp_m3h == m.qp_m3h and reg.verify_integrity().ok
        with reg.engine.connect() as c:  # the trigger naming the role came back with the schema
            assert c.execute(text("SELECT count(*) FROM pg_trigger WHERE tgname = 'events_user'")).scalar() == 1


@pytest.mark.postgres
def test_backup_of_postgresql_without_the_tools_is_one_line(pg_url, tmp_path, capsys, monkeypatch):
    if not pg_url:
        pytest.skip("no server")
    monkeypatch.setattr(shutil, "which", lambda name: None)
    status, _, err = run(capsys, "db", "backup", str(tmp_path / "x.dump"), "--db", pg_url)
    assert status == 1 and err.count("\n") == 1 and "pg_dump not found" in err
