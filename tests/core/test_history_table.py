"""A history shown to people: units, one row per storage number, the series of a chart, increments."""
import datetime as dt

from app.core.history_table import increments, series_points, shown_series, wide_table
from drivers.history import history


def rec(quantity, value, storage=0, unit="", **kw) -> dict:
    return {"quantity": quantity, "value": value, "storage": storage, "unit": unit, "tariff": 0, "subunit": 0,
            "function": "instantaneous", **kw}


TEL = {"records": [
    rec("energy", 15_234_000, 0, "Wh"), rec("datetime", "2026-03-15T10:20:00"),
    rec("energy", 14_800_000, 1, "Wh"), rec("date", "2026-03-01", 1),
    rec("energy", 14_100_000, 2, "Wh"), rec("date", "2026-02-01", 2),
    rec("volume", 400.5, 1, "m3"), rec("power", 33_100, 0, "W", function="maximum"),
    rec("energy", 3.6e9, 1, "J", tariff=1),                      # 3.6e9 J = 1000 kWh, on tariff 1
]}


def test_units_and_names_for_people():
    shown = {s.title: s for s in shown_series(history([TEL]))}
    assert {"Energy (kWh)", "Energy, tariff 1 (kWh)", "Volume (m³)", "Power, maximum (kW)"} <= set(shown)
    assert shown["Energy (kWh)"].cumulative and not shown["Power, maximum (kW)"].cumulative


def test_one_row_per_storage_number():
    header, rows = wide_table(history([TEL]))
    assert header[:2] == ["Storage", "Date"]
    col = {h: i for i, h in enumerate(header)}
    by = {r[0]: r for r in rows}
    assert [r[0] for r in rows] == [0, 1, 2]
    assert by[0][1] == "2026-03-15T10:20:00" and by[1][1] == "2026-03-01" and by[2][1] == "2026-02-01"
    assert by[1][col["Energy (kWh)"]] == 14_800.0 and by[2][col["Energy (kWh)"]] == 14_100.0
    assert by[1][col["Energy, tariff 1 (kWh)"]] == 1000.0
    assert by[0][col["Power, maximum (kW)"]] == 33.1 and by[2][col["Volume (m³)"]] == ""


def test_chart_points_and_the_increase_per_period():
    h = history([TEL])
    energy = next(s for s in shown_series(h) if s.title == "Energy (kWh)")
    pts = series_points(energy, h)
    assert [(t.date(), v) for t, v, _s in pts] == [(dt.date(2026, 2, 1), 14_100.0), (dt.date(2026, 3, 1), 14_800.0),
                                                   (dt.date(2026, 3, 15), 15_234.0)]
    inc = increments(pts)
    assert [round(v, 3) for _a, _b, v in inc] == [700.0, 434.0]   # February, then March so far
