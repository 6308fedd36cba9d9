"""Inputs that once gave tracebacks, each a one-line error with its exit status (docs/cli.md).

Each case runs the real ``heatmeter`` command in its own process (what a user sees), and checks:
the exit status, exactly one line on stderr, no "Traceback", and the words that tell the user what
is wrong. Where an output is JSON it must parse.
"""
from __future__ import annotations

import json
import subprocess
import threading
from pathlib import Path

import pytest

from tests.helpers.cli import run_cli
from tests.helpers.disk import FillingDisk
from tests.helpers.register_rows import make_rows, write_csv


def one_line(p: subprocess.CompletedProcess, status: int, *words: str) -> None:
    assert "Traceback" not in p.stderr and "Exception ignored" not in p.stderr, p.stderr
    assert p.returncode == status, (p.returncode, p.stderr)
    assert p.stderr.count("\n") == 1 and p.stderr.startswith("heatmeter"), p.stderr
    for w in words:
        assert w in p.stderr, (w, p.stderr)


def calc(tmp_path: Path, kind: str, data: str | bytes, *extra: str) -> subprocess.CompletedProcess:
    f = tmp_path / "in.json"
    f.write_bytes(data if isinstance(data, bytes) else data.encode())
    return run_cli("calc", kind, "-i", f, "--json", *extra)


SIZING = ('{"application": "heating", "design_power_kw": 100, "flow_temp_c": %s, "return_temp_c": 40, '
          '"min_power_kw": 10, "meter_position": "return", "catalogue": [{"qp_m3h": 1.5, "ratio": 100, "dn": 15}]}')


@pytest.mark.parametrize("kind, data, words", [
    ("heat-coefficient", '{"hot_c": 900, "cold_c": 10, "position": "flow"}', ["hot_c", "900"]),
    ("heat-coefficient", '{"hot_c": 70, "cold_c": -300, "position": "flow"}', ["cold_c", "-300"]),
    ("heat-coefficient", '{"hot_c": 70, "cold_c": 10, "position": "flow", "pressure_mpa": 500}', ["500 MPa"]),
    ("sizing", SIZING % "1e308", ["flow_temp_c"]),
    ("sizing", SIZING % "700", ["flow_temp_c", "700"]),
    ("mpe", '{"class": 2, "qp_m3h": 1' + "0" * 5000 + '}', ["not valid JSON"]),
    ("mpe", '{"class": 2, "qp_m3h": 1e400, "ratio": 100}', ["qp_m3h"]),
    ("mpe", '{"class": 2, "qp_m3h": NaN, "ratio": 100}', ["NaN"]),
])
def test_calculator_inputs_out_of_range(tmp_path, kind, data, words):
    one_line(calc(tmp_path, kind, data), 2, *words)


def test_mpe_never_prints_infinity(tmp_path):
    p = calc(tmp_path, "mpe", '{"class": 2, "qp_m3h": 1.5, "ratio": 100, "q_m3h": 1e-320, "dtheta_k": 20, '
                             '"dtheta_min_k": 3, "dtheta_max_k": 80}')
    one_line(p, 2, "ef_uncapped")
    assert p.stdout == ""  # no half JSON either
    ok = calc(tmp_path, "mpe", '{"class": 2, "qp_m3h": 1.5, "ratio": 100, "q_m3h": 0.015, "dtheta_k": 20, '
                              '"dtheta_min_k": 3}')
    assert ok.returncode == 0 and json.loads(ok.stdout)["ef"] == 4.0  # 2 + 0.02 * 1.5 / 0.015, below the cap 5


def test_non_utf8_and_deeply_nested_json(tmp_path):
    one_line(calc(tmp_path, "mpe", b"\xff\xfe{\x00}\x00"), 2, "not UTF-8")
    one_line(calc(tmp_path, "mpe", "[" * 100000), 2, "nested too deeply")


@pytest.fixture
def db(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'r.db'}"
    p = run_cli("meters", "import", write_csv(tmp_path / "m.csv", make_rows(300)), "--db", url)
    assert p.returncode == 0, p.stderr
    return url


def test_dates_beyond_the_calendar(tmp_path, db):
    one_line(run_cli("schedule", "--as-of", "9999-12-31", "--db", db), 2, "--as-of", "9999-12-31")
    rows = make_rows(2)
    rows[1]["install_date"] = "9999-12-31"
    p = run_cli("meters", "import", write_csv(tmp_path / "d.csv", rows), "--db", db)
    one_line(p, 1, "install_date", "out of range")
    assert "line 3" in p.stdout


@pytest.mark.parametrize("args, words", [
    (["meters", "list", "--limit", "99999999999999999999"], ["--limit"]),
    (["lots", "form", "--window-months", "99999999999"], ["--window-months"]),
    (["sample-plan", "--lot-size", "50", "--oc", "--oc-points", "100000000"], ["--oc-points"]),
    (["sample-plan", "--lot-size", "99999999999999999999999", "--oc"], ["lot-size"]),
    (["lots", "show", "99999999999999999999"], ["LOT"]),
])
def test_huge_numbers(db, args, words):
    one_line(run_cli(*args, "--db", db) if args[0] != "sample-plan" else run_cli(*args), 2, *words)


def test_lots_record_refuses_a_decimal_comma(db):
    one_line(run_cli("lots", "record", "1", "--meter", "Kamstrup", "1", "--error-pct", "0,4", "--db", db), 2,
             "error-pct", "'0,4'")


def test_decode_of_an_endless_file_stops():
    p = run_cli("decode", "/dev/zero", timeout=30)
    one_line(p, 1, "not a telegram file")


def test_an_endless_mapping_file_is_refused_not_read_to_the_end(tmp_path, db):
    rows = tmp_path / "m.csv"
    write_csv(rows, make_rows(3))
    one_line(run_cli("meters", "import", str(rows), "--map", "/dev/zero", "--dry-run", "--db", db, timeout=60), 2,
             "/dev/zero", "not a mapping file")


def test_a_lot_number_no_database_key_holds_is_no_such_lot(tmp_path, db):
    one_line(run_cli("jobs", "export", "--lot", "99999999999999999999", "--csv", str(tmp_path / "j.csv"),
                     "--db", db), 2, "no lot 99999999999999999999")
    assert not (tmp_path / "j.csv").exists()


def test_a_damaged_database_is_one_line_and_db_status_says_so(tmp_path, db):
    path = Path(db.removeprefix("sqlite:///"))
    import sqlite3

    con = sqlite3.connect(path)
    try:
        root = con.execute("select rootpage from sqlite_master where name = 'meters'").fetchone()[0]
        pages = con.execute("pragma page_count").fetchone()[0]
    finally:
        con.close()
    with path.open("r+b") as f:  # scribble over the meters' pages, not the schema
        for page in range(root + 2, min(pages, root + 12)):
            f.seek((page - 1) * 4096 + 8)
            f.write(b"\xff" * 2000)
    one_line(run_cli("meters", "list", "--db", db, "--json"), 2, "damaged")
    p = run_cli("db", "status", "--db", db)
    one_line(p, 2, "DAMAGED")  # the schema may read back up to date: the pages are checked too
    assert "SELECT" not in p.stderr


@pytest.mark.postgres
def test_two_imports_of_one_new_file_at_once_on_postgresql(pg_url, tmp_path):
    src = write_csv(tmp_path / "m.csv", make_rows(3000))
    assert run_cli("db", "upgrade", "--db", pg_url).returncode == 0
    results: list[subprocess.CompletedProcess] = []
    go = threading.Barrier(2)

    def one():
        go.wait()
        results.append(run_cli("meters", "import", src, "--db", pg_url, "--json", timeout=120))

    threads = [threading.Thread(target=one) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for p in results:
        assert p.returncode == 0 and "Traceback" not in p.stderr, p.stderr
    created = sorted(json.loads(p.stdout)["created"] for p in results)
    unchanged = sorted(json.loads(p.stdout)["unchanged"] for p in results)
    assert created == [0, 3000] and unchanged == [0, 3000]


def test_row_with_more_cells_than_the_header_and_a_nul_byte(tmp_path, db):
    rows = make_rows(3000)
    p = write_csv(tmp_path / "x.csv", rows)
    lines = p.read_text(encoding="utf-8").splitlines()
    lines[2] += ",5"                        # one cell more than the header, on line 3
    lines[2500] = lines[2500].replace(",", ",\x00", 1)  # a NUL byte well after the first 64 KiB, line 2501
    assert len("\n".join(lines[:2500]).encode()) > 65536
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    r = run_cli("meters", "import", p, "--db", db)
    one_line(r, 1, "2 invalid rows", "more cells than the header", "NUL byte")
    assert "line 3" in r.stdout and "line 2501" in r.stdout


def test_a_50_mb_cell_is_refused_in_one_line(tmp_path, db):
    p = tmp_path / "big.csv"
    with p.open("w", encoding="utf-8") as f:
        f.write("site,manufacturer,model,serial,install_date,notes\n")
        f.write("S,Kamstrup,M,1,2020-01-01,\"" + "x" * 50_000_000 + "\"\n")
    one_line(run_cli("meters", "import", p, "--db", db, timeout=120), 2, "longer than")
    assert len(json.loads(run_cli("meters", "list", "--db", db, "--json").stdout)) == 300  # nothing stored


def test_a_tiny_xlsx_claiming_the_whole_sheet_is_refused_at_once(tmp_path, db):
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws["A1"] = "site"
    ws["XFD1048576"] = "x"
    p = tmp_path / "huge.xlsx"
    wb.save(p)
    assert p.stat().st_size < 10_000
    one_line(run_cli("meters", "import", p, "--db", db, timeout=60), 2, "16,384 columns")


def test_a_results_file_with_a_decimal_comma_in_a_comma_file_is_refused(tmp_path):
    from app.storage.errors import ValidationError
    from app.storage.planning.results_file import read_results_csv

    comma = tmp_path / "r.csv"
    comma.write_text("manufacturer,serial,error_pct\nKamstrup,1,0,4\n")
    with pytest.raises(ValidationError, match="line 2: 4 cells, the header has 3"):
        read_results_csv(comma)
    semi = tmp_path / "s.csv"
    semi.write_text("manufacturer;serial;error_pct\nKamstrup;1;0,4\n")
    assert read_results_csv(semi)[0].error_pct == 0.4


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_a_failed_export_on_a_full_disk_keeps_the_earlier_file(tmp_path, db, monkeypatch, capsys, kind):
    """The disk fills up half-way through an export: one line, the earlier file as it was, no partial
    file, and no "Exception ignored" from the workbook writer (the test harness fails on one)."""
    import os

    from app.cli.main import main
    from app.storage import safe_export

    real = os.fdopen
    monkeypatch.setattr(safe_export.os, "fdopen", lambda fd, *a, **k: FillingDisk(real(fd, *a, **k), 5_000))
    out = tmp_path / f"meters.{kind}"
    out.write_bytes(b"the earlier export")
    status = main(["meters", "export", f"--{kind}", str(out), "--db", db])
    err = capsys.readouterr().err
    assert status == 2 and err.count("\n") == 1 and "No space left on device" in err and str(out) in err
    assert out.read_bytes() == b"the earlier export"
    assert [x.name for x in tmp_path.iterdir() if x.name.startswith(".meters")] == []


@pytest.mark.parametrize("argv", [
    ["meters", "import", "/dev/zero", "--dry-run"],
    ["meters", "recalibrate", "Kamstrup", "10000000", "--on", "2024-01-01", "--verdict", "pass", "--points",
     "/dev/zero"],
    ["lots", "record", "1", "--file", "/dev/zero"],
    ["jobs", "import", "/dev/zero"],
])
def test_a_device_named_as_an_input_file_is_refused_in_one_line(db, argv):
    one_line(run_cli(*argv, "--db", db, timeout=60), 2, "/dev/zero", "not a file")
