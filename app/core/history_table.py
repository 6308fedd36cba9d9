"""A meter's history (:func:`drivers.history.history`) as the pages and the exports show it.

Plain Python. Each series (one register: quantity, tariff, subunit, function,
modifiers) gets a display name and a unit people read: energy in kWh (from Wh
or J), power in kW, volume in m³, flow in m³/h, temperatures in °C, times in
hours. :func:`wide_table` gives one row per storage number (its date, then one
column per series); :func:`series_points` the (date, value) pairs of one series
for a chart. Cumulative registers (energy, volume, on time) also give their
increase per stored period (:func:`increments`).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

# canonical unit -> (shown unit, divisor)
DISPLAY_UNITS: dict[str, tuple[str, float]] = {
    "Wh": ("kWh", 1000.0), "J": ("kWh", 3.6e6), "W": ("kW", 1000.0), "J/h": ("kW", 3.6e6),
    "m3": ("m³", 1.0), "m3/h": ("m³/h", 1.0), "degC": ("°C", 1.0), "K": ("K", 1.0), "s": ("h", 3600.0),
    "bar": ("bar", 1.0), "m3*degC": ("m³·°C", 1.0), "kg": ("kg", 1.0), "kg/h": ("kg/h", 1.0),
}
CUMULATIVE = ("energy", "volume", "on_time", "error_time", "flow_time", "operating_time")


@dataclass(frozen=True)
class ShownSeries:
    """One series of a history with its display name, unit and divisor."""

    key: tuple
    name: str
    unit: str
    divisor: float
    cumulative: bool
    series: Any                    # drivers.history.HistorySeries

    @property
    def title(self) -> str:
        return f"{self.name} ({self.unit})" if self.unit else self.name

    def value(self, raw: Any) -> float | None:
        if isinstance(raw, bool) or not isinstance(raw, (int, float)):
            return None
        return raw / self.divisor


def _words(name: str) -> str:
    text = name.replace("_", " ")
    return text[:1].upper() + text[1:]


def shown_series(history) -> list[ShownSeries]:
    """The history's series with names and units for people, those with stored values first."""
    out = []
    for s in history.series:
        unit, div = DISPLAY_UNITS.get(s.unit, (s.unit, 1.0))
        name = _words(s.quantity)
        extra = []
        if s.function != "instantaneous":
            extra.append(s.function)
        if s.tariff:
            extra.append(f"tariff {s.tariff}")
        if s.subunit:
            extra.append(f"subunit {s.subunit}")
        if "accumulation_negative" in s.modifiers:
            extra.append("cooling")
        extra += [m.replace("_", " ") for m in s.modifiers if m != "accumulation_negative"]
        if extra:
            name += ", " + ", ".join(extra)
        out.append(ShownSeries(s.key, name, unit, div, s.quantity in CUMULATIVE and s.function == "instantaneous",
                               s))
    out.sort(key=lambda x: (not any(p.storage for p in x.series.points), x.name))
    return out


def storages(history) -> list[int]:
    return sorted({p.storage for s in history.series for p in s.points})


def wide_table(history) -> tuple[list[str], list[list[Any]]]:
    """Header and rows: one row per storage number (storage, date, one column per series, in display
    units; empty where the series has no value for that storage)."""
    shown = shown_series(history)
    header = ["Storage", "Date"] + [s.title for s in shown]
    rows = []
    for st in storages(history):
        row: list[Any] = [st, history.dates.get(st) or ""]
        for s in shown:
            p = next((p for p in s.series.points if p.storage == st), None)
            v = s.value(p.value) if p is not None else None
            row.append("" if v is None else v)
        rows.append(row)
    return header, rows


def parse_date(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        return None


def series_points(s: ShownSeries, history) -> list[tuple[dt.datetime, float, int]]:
    """(date, value in display units, storage) of one series, oldest first; values without a date
    are left out (a chart needs a time)."""
    out = []
    for p in s.series.points:
        t = parse_date(p.date or history.dates.get(p.storage))
        v = s.value(p.value)
        if t is not None and v is not None:
            out.append((t, v, p.storage))
    out.sort(key=lambda x: x[0])
    return out


def increments(points: list[tuple[dt.datetime, float, int]]) -> list[tuple[dt.datetime, dt.datetime, float]]:
    """(from, to, increase) between consecutive points of a cumulative register: what was used in each
    stored period (a negative increase stays: the register went backwards, or was replaced)."""
    return [(a[0], b[0], b[1] - a[1]) for a, b in zip(points, points[1:])]
