"""Import and export per docs/import-format.md, on SQLite and PostgreSQL."""
from __future__ import annotations

import csv
import datetime as dt

import openpyxl
import pytest

from app.storage.errors import ImportFileError, InvalidRows
from app.storage.tabular import CONTRACT_COLUMNS

from tests.helpers.register_rows import make_rows, write_csv
from tests.helpers.trust import recorded


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def event_count(reg):
    return len(reg.events(limit=10**6))


def test_import_stores_every_column_as_typed_values(reg, tmp_path):
    path = write_csv(tmp_path / "m.csv", [
        {"site": "North", "building": "Block A", "location": "Flat 12, riser cupboard", "monitoring_point": "CC1",
         "manufacturer": "Kamstrup", "model": "Multical 603", "serial": "6855817", "mid_class": "2",
         "qp_m3h": "1.5", "qp_qi_ratio": "100", "dn": "20", "install_date": "2019-03-04",
         "primary_address": "5", "secondary_address": "06855817", "battery_expiry": "2029-03-04",
         "flow_sensor_position": "return"},
        {"site": "North", "manufacturer": "Landis+Gyr", "model": "UH50", "serial": "A-1",
         "qi_m3h": "0.025", "qp_m3h": "2.5", "install_date": "2015"},
    ])
    report = reg.import_file(path, user="ann")
    assert (report.created, report.updated, report.unchanged, report.invalid) == (2, 0, 0, [])
    kam = reg.find_meter("kamstrup", "6855817")
    assert kam.site == "North" and kam.building == "Block A" and kam.monitoring_point == "CC1"
    assert kam.location == "Flat 12, riser cupboard"
    assert (kam.mid_class, kam.qp_m3h, kam.qp_qi_ratio, kam.dn) == (2, 1.5, 100.0, 20)
    assert kam.install_date == dt.date(2019, 3, 4) and not kam.install_year_only
    assert (kam.primary_address, kam.secondary_address) == (5, "06855817")
    assert kam.battery_expiry == dt.date(2029, 3, 4) and kam.flow_sensor_position == "return"
    assert kam.mbus_manufacturer == "KAM"          # derived from the make
    assert kam.qi_effective_m3h == pytest.approx(0.015)
    lg = reg.find_meter("LUG", "A-1")              # found by FLAG code too
    assert lg.install_date == dt.date(2015, 7, 1) and lg.install_year_only
    assert lg.contract_dict()["install_date"] == "2015"
    assert lg.primary_address is None and lg.secondary_address is None
    # the Annex A id gets its read interval; an own label does not
    points = {p["label"]: p for p in reg.list_monitoring_points("North")}
    assert points["CC1"]["mms_id"] == "CC1" and points["CC1"]["read_interval_min"] == 30


def test_headers_case_insensitive_trimmed_any_order_extra_columns_kept(reg, tmp_path):
    p = tmp_path / "h.csv"
    p.write_text(" Serial ;MODEL; Install_Date ;Colour;SITE;Manufacturer\n"
                 "123;M603;2020-05-06;red;S1;Kamstrup\n", encoding="utf-8")
    report = reg.import_file(p)
    assert report.created == 1 and report.extra_columns == ["colour"]
    m = reg.find_meter("Kamstrup", "123")
    assert m.model == "M603" and m.site == "S1" and m.extra == {"colour": "red"}
    header, rows = reg.export_rows()
    assert header == list(CONTRACT_COLUMNS) + ["colour"]
    assert list(rows)[0][-1] == "red"


def test_reimport_changes_nothing_and_logs_nothing(reg, tmp_path):
    path = write_csv(tmp_path / "m.csv", make_rows(300))
    first = reg.import_file(path)
    assert first.created == 300
    before = [m.to_dict() for m in reg.list_meters()]
    n_events = event_count(reg)
    second = reg.import_file(path)
    assert (second.created, second.updated, second.unchanged) == (0, 0, 300)
    assert [m.to_dict() for m in reg.list_meters()] == before
    assert event_count(reg) == n_events


def test_export_round_trips_same_rows_sorted_by_manufacturer_serial(reg, tmp_path, sqlite_url):
    from app.storage.register import open_register

    rows = make_rows(200)
    src = write_csv(tmp_path / "in.csv", rows)
    reg.import_file(src)
    out = tmp_path / "out.csv"
    assert reg.export_csv(out) == 200
    got = read_csv(out)
    assert got[0] == list(CONTRACT_COLUMNS)
    expected = sorted(([("" if r[c] is None else str(r[c])) for c in CONTRACT_COLUMNS] for r in rows),
                      key=lambda r: (r[4].casefold(), r[6]))
    # same values: numbers compare as numbers (e.g. "250" and "250.0"), the rest as text
    assert len(got) - 1 == len(expected)
    for g, e in zip(got[1:], expected):
        for col, a, b in zip(CONTRACT_COLUMNS, g, e):
            if col in ("qp_m3h", "qi_m3h", "qp_qi_ratio") and a and b:
                assert float(a) == float(b), (col, g, e)
            else:
                assert a == b, (col, g, e)
    # and the export imports into an empty register giving the same export again
    other = open_register(sqlite_url)
    try:
        assert other.import_file(out).created == 200
        again = tmp_path / "again.csv"
        other.export_csv(again)
        assert read_csv(again) == got
    finally:
        other.close()


def test_export_of_the_meters_shown_takes_any_number_of_ids(reg, tmp_path):
    """The Register page exports "the meters shown" by id: 100,000 ids are more than PostgreSQL's
    65,535 parameters per statement (and than some SQLite builds' 32,766)."""
    reg.import_file(write_csv(tmp_path / "in.csv", make_rows(50)))
    ids = [m.id for m in reg.list_meters()]
    chosen = ids[::2]
    unknown = range(max(ids) + 1, max(ids) + 100_001)
    out = tmp_path / "out.csv"
    assert reg.export_csv(out, meter_ids=[*chosen, *unknown]) == len(chosen)
    serials = {r[CONTRACT_COLUMNS.index("serial")] for r in read_csv(out)[1:]}
    assert serials == {m.serial for m in reg.list_meters() if m.id in set(chosen)}
    assert reg.export_csv(out, meter_ids=chosen[:3]) == 3

def test_xlsx_import_and_export_round_trip(reg, tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Site", "Manufacturer", "Model", "Serial", "Install_Date", "Secondary_Address", "qp_m3h", "Battery_Expiry"])
    ws.append(["S", "Kamstrup", "M603", 42, dt.datetime(2018, 4, 5), 1234567, 1.5, "2028-01-01"])
    ws.append(["S", "Sontex", "531", "0042", 2016, "00000099", None, None])
    ws.append([None, None, None, None, None, None, None, None])  # blank row is ignored
    src = tmp_path / "in.xlsx"
    wb.save(src)
    report = reg.import_file(src)
    assert report.kind == "xlsx" and report.created == 2
    k = reg.find_meter("Kamstrup", "42")
    assert k.install_date == dt.date(2018, 4, 5) and k.secondary_address == "01234567"  # zeros restored
    s = reg.find_meter("Sontex", "0042")
    assert s.install_year_only and s.install_date.year == 2016
    out = tmp_path / "out.xlsx"
    assert reg.export_xlsx(out) == 2
    wb2 = openpyxl.load_workbook(out, read_only=True)   # read-only: holds the file open until closed
    try:
        values = [list(r) for r in wb2.worksheets[0].iter_rows(values_only=True)]
    finally:
        wb2.close()
    assert values[0] == list(CONTRACT_COLUMNS)
    assert values[1][6] == "42" and values[1][12] == "2018-04-05" and values[1][14] == "01234567"
    assert values[2][6] == "0042" and values[2][12] == "2016"
    assert reg.import_file(out).unchanged == 2  # the export re-imports as the same meters


def test_bad_rows_name_their_lines_and_nothing_is_stored(reg, tmp_path):
    good = make_rows(3)
    bad = [dict(good[0], serial="900", install_date="2019-02-30"),
           dict(good[1], serial="901", primary_address="251"),
           dict(good[2], serial="")]
    path = write_csv(tmp_path / "bad.csv", good + bad)
    with pytest.raises(InvalidRows) as exc:
        reg.import_file(path)
    invalid = dict(exc.value.report.invalid)
    assert sorted(invalid) == [5, 6, 7]       # header is line 1, the three good rows lines 2-4
    assert "bad date" in invalid[5] and "2019-02-30" in invalid[5]
    assert "primary_address 251 out of range" in invalid[6]
    assert invalid[7] == "empty serial"
    assert reg.count_meters(include_restricted=True) == 0
    assert event_count(reg) == 0


def test_more_bad_values_are_reported(reg, tmp_path):
    rows = make_rows(6)
    rows[0]["secondary_address"] = "1234"
    rows[1]["mid_class"] = "4"
    rows[2]["flow_sensor_position"] = "sideways"
    rows[3]["qp_m3h"] = "fast"
    rows[4]["battery_expiry"] = "31/12/2030"
    rows[5] = dict(rows[0], secondary_address=None)  # same meter twice
    path = write_csv(tmp_path / "bad.csv", rows)
    with pytest.raises(InvalidRows) as exc:
        reg.import_file(path)
    invalid = dict(exc.value.report.invalid)
    assert "secondary_address '1234' must be 8 digits" in invalid[2]
    assert "mid_class" in invalid[3]
    assert "flow_sensor_position" in invalid[4]
    assert "not a number" in invalid[5]
    assert "battery_expiry" in invalid[6]
    assert "duplicate" in invalid[7] and "line 2" in invalid[7]


def test_skip_invalid_stores_the_valid_rows(reg, tmp_path):
    rows = make_rows(4)
    rows[1]["install_date"] = "soon"
    report = reg.import_file(write_csv(tmp_path / "m.csv", rows), skip_invalid=True)
    assert report.created == 3 and [ln for ln, _ in report.invalid] == [3]
    assert reg.count_meters() == 3


@pytest.mark.parametrize("content, message", [
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not a CSV or XLSX file"),
    (b"PK\x03\x04garbage", "not a CSV or XLSX file"),
    (b"just some words\n", "not a CSV file"),
    (b"site,model,serial\nS,M,1\n", "missing required columns manufacturer, install_date"),
    (b"", "empty file"),
])
def test_files_that_are_not_a_register_sheet(sqlite_url, tmp_path, content, message):
    from app.storage.register import open_register

    p = tmp_path / "f.csv"
    p.write_bytes(content)
    with open_register(sqlite_url) as r:
        with pytest.raises(ImportFileError) as exc:
            r.import_file(p)
    assert message in str(exc.value) and "\n" not in str(exc.value)


def test_reimport_with_changes_updates_and_logs_before_after(reg, tmp_path):
    rows = make_rows(3)
    reg.import_file(write_csv(tmp_path / "a.csv", rows), user="ann")
    m0 = reg.find_meter(rows[0]["manufacturer"], rows[0]["serial"])
    rows[0]["dn"] = 50
    rows[0]["mid_class"] = 3
    report = reg.import_file(write_csv(tmp_path / "b.csv", rows), user="bob")
    assert (report.updated, report.unchanged) == (1, 2)
    m1 = reg.find_meter(rows[0]["manufacturer"], rows[0]["serial"])
    assert m1.dn == 50 and m1.version == m0.version + 1
    last = reg.history(m1.id)[-1]
    assert last["user"] == recorded(reg, "bob") and last["action"] == "update" and last["source"] == "b.csv"
    assert last["before"] == {"dn": m0.dn, "mid_class": m0.mid_class}
    assert last["after"] == {"dn": 50, "mid_class": 3, "version": m0.version + 1}


def test_columns_absent_from_a_file_are_left_alone(reg, tmp_path):
    rows = make_rows(2)
    reg.import_file(write_csv(tmp_path / "a.csv", rows))
    slim = [{k: r[k] for k in ("site", "manufacturer", "model", "serial", "install_date")} for r in rows]
    report = reg.import_file(write_csv(tmp_path / "b.csv", slim, columns=list(slim[0])))
    assert report.unchanged == 2
    assert reg.find_meter(rows[1]["manufacturer"], rows[1]["serial"]).qp_m3h == rows[1]["qp_m3h"]


def test_a_moved_meter_keeps_its_installation_history(reg, tmp_path):
    rows = make_rows(1)
    rows[0].update(site="North", location="Flat 1", install_date="2015-01-01")
    reg.import_file(write_csv(tmp_path / "a.csv", rows))
    rows[0].update(location="Flat 9", install_date="2021-06-01")
    report = reg.import_file(write_csv(tmp_path / "b.csv", rows))
    assert report.moved == 1
    m = reg.find_meter(rows[0]["manufacturer"], rows[0]["serial"])
    inst = reg.installations(m.id)
    assert [(i["location"], i["installed_on"], i["removed_on"]) for i in inst] == [
        ("Flat 1", "2015-01-01", "2021-06-01"), ("Flat 9", "2021-06-01", None)]
