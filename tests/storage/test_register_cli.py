"""``heatmeter meters`` and ``heatmeter db``: contract output and one-line errors."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from app.cli.main import main
from app.storage.tabular import CONTRACT_COLUMNS

from tests.helpers.register_rows import make_rows, write_csv

REPO = Path(__file__).resolve().parents[2]


def run(capsys, *argv):
    status = main(list(argv))
    out = capsys.readouterr()
    return status, out.out, out.err


def test_import_list_show_history_json(db_url, tmp_path, capsys):
    rows = make_rows(12)
    src = write_csv(tmp_path / "m.csv", rows)
    sqlite = db_url.startswith("sqlite")
    status, out, _ = run(capsys, "meters", "import", str(src), "--db", db_url, *(["--user", "ann"] if sqlite else []),
                         "--json")
    assert status == 0 and json.loads(out)["created"] == 12
    status, out, _ = run(capsys, "meters", "list", "--db", db_url, "--json")
    listed = json.loads(out)
    assert status == 0 and len(listed) == 12
    assert all(list(m) == list(CONTRACT_COLUMNS) for m in listed)
    assert [(m["manufacturer"].casefold(), m["serial"]) for m in listed] == sorted(
        (r["manufacturer"].casefold(), r["serial"]) for r in rows)
    assert any(m["building"] is None for m in listed)  # absent values are null
    status, out, _ = run(capsys, "meters", "list", "--db", db_url, "--site", "Site 1", "--json")
    assert {m["site"] for m in json.loads(out)} == {"Site 1"}
    m0 = rows[0]
    status, out, _ = run(capsys, "meters", "show", m0["manufacturer"].upper(), m0["serial"], "--db", db_url, "--json")
    shown = json.loads(out)
    assert status == 0 and shown["serial"] == m0["serial"] and len(shown["installations"]) == 1
    status, out, _ = run(capsys, "meters", "history", m0["manufacturer"], m0["serial"], "--db", db_url, "--json")
    [ev] = json.loads(out)
    from sqlalchemy.engine import make_url

    assert ev["user"] == ("ann" if sqlite else make_url(db_url).username)
    assert ev["action"] == "create" and ev["before"] is None
    assert ev["after"]["serial"] == m0["serial"] and ev["at"].endswith("Z")
    status, _, err = run(capsys, "meters", "show", "Nobody", "1", "--db", db_url)
    assert status == 1 and err.count("\n") == 1


def test_bad_csv_names_each_line_and_stores_nothing(sqlite_url, tmp_path, capsys):
    rows = make_rows(4)
    rows[1]["install_date"] = "2019-13-01"
    rows[2]["primary_address"] = "300"
    rows[3]["serial"] = ""
    status, out, err = run(capsys, "meters", "import", str(write_csv(tmp_path / "b.csv", rows)), "--db", sqlite_url)
    assert status == 1
    assert "line 3: install_date: bad date '2019-13-01'" in out
    assert "line 4: primary_address 300 out of range 0..250" in out
    assert "line 5: empty serial" in out
    assert "  install_date: no such day: 1 row (line 3)" in out and "  empty serial: 1 row (line 5)" in out
    assert err.count("\n") == 1 and "3 invalid rows, nothing stored" in err
    status, out, _ = run(capsys, "meters", "list", "--db", sqlite_url, "--json")
    assert json.loads(out) == []


def test_export_csv_and_data_protection_commands(sqlite_url, tmp_path, capsys):
    src = write_csv(tmp_path / "m.csv", make_rows(5))
    run(capsys, "meters", "import", str(src), "--db", sqlite_url)
    out = tmp_path / "out.csv"
    status, _, _ = run(capsys, "meters", "export", "--csv", str(out), "--db", sqlite_url)
    assert status == 0 and out.read_text().splitlines()[0] == ",".join(CONTRACT_COLUMNS)
    make, serial = make_rows(5)[0]["manufacturer"], make_rows(5)[0]["serial"]
    assert run(capsys, "meters", "restrict", make, serial, "--db", sqlite_url)[0] == 0
    status, text, _ = run(capsys, "meters", "list", "--db", sqlite_url, "--json")
    assert len(json.loads(text)) == 4
    assert run(capsys, "meters", "hold", make, serial, "--db", sqlite_url)[0] == 0
    status, _, err = run(capsys, "meters", "erase-personal", make, serial, "--db", sqlite_url)
    assert status == 1 and "legal hold" in err and err.count("\n") == 1
    run(capsys, "meters", "hold", make, serial, "--off", "--db", sqlite_url)
    assert run(capsys, "meters", "erase-personal", make, serial, "--db", sqlite_url)[0] == 0
    d = tmp_path / "d.csv"
    status, _, err = run(capsys, "meters", "export-data", "--site", "Site 0", "--fields", "serial,site",
                         "--csv", str(d), "--db", sqlite_url, "--include-restricted")
    assert status == 0 and d.read_text().splitlines()[0] == "serial,site"
    status, _, err = run(capsys, "meters", "history", make, serial, "--db", sqlite_url, "--json")
    assert status == 1 and "processing is restricted" in err and err.count("\n") == 1  # refused, and logged:
    status, out, err = run(capsys, "meters", "history", make, serial, "--db", sqlite_url, "--json",
                           "--include-restricted")
    actions = [(e["action"], (e["after"] or {}).get("reason")) for e in json.loads(out)]
    assert status == 0 and ("refused", "processing restricted") in actions and ("refused", "legal hold") in actions


def test_db_status_and_upgrade(sqlite_url, capsys):
    status, out, _ = run(capsys, "db", "status", "--db", sqlite_url, "--json")
    assert status == 0 and json.loads(out)["current"] is None
    status, out, _ = run(capsys, "db", "upgrade", "--db", sqlite_url, "--json")
    from app.storage.migrate import head_revision

    assert status == 0 and json.loads(out) == {"url": sqlite_url, "from": None, "to": head_revision()}
    status, out, _ = run(capsys, "db", "status", "--db", sqlite_url, "--json")
    assert json.loads(out)["up_to_date"] is True


@pytest.mark.parametrize("args, fragment", [
    (["meters", "list", "--db", "postgresql+psycopg://nobody:secret@127.0.0.1:1/x"], "cannot open database"),
    (["meters", "list", "--db", "not a url"], "not a database URL"),
    (["meters", "import", "{bin}", "--db", "{db}"], "not a CSV or XLSX file"),
])
def test_one_line_errors_in_a_real_process(tmp_path, args, fragment):
    binary = tmp_path / "photo.csv"
    binary.write_bytes(bytes(range(256)) * 4)
    db = f"sqlite:///{tmp_path / 'r.db'}"
    argv = [a.format(bin=binary, db=db) for a in args]
    p = subprocess.run([sys.executable, "-m", "app", *argv], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert p.returncode == 2
    assert p.stderr.count("\n") == 1 and fragment in p.stderr and "Traceback" not in p.stderr
    assert "secret" not in p.stderr


def test_meters_command_module_imports_only_the_stdlib():
    code = ("import sys, app.cli.commands.meters, app.cli.commands.db; "
            "print(any(m.split('.')[0] in ('sqlalchemy', 'alembic', 'openpyxl', 'PySide6') for m in sys.modules))")
    p = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert p.stdout.strip() == "False"
