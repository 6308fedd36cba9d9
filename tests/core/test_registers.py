"""Registers in words and units a person reads (app.core.registers)."""
from __future__ import annotations

import pytest

from app.core.registers import medium_words, register_name, scaled


def rec(quantity, value, unit, modifiers=(), subject=None):
    return {"quantity": quantity, "value": value, "unit": unit, "modifiers": list(modifiers), "subject": subject}


@pytest.mark.parametrize("record,medium,name", [
    (rec("energy", 1, "Wh"), "heat_outlet", "Heat energy"),
    (rec("energy", 1, "Wh"), "heat_inlet", "Heat energy"),
    (rec("energy", 1, "Wh"), "cooling_outlet", "Cooling energy"),
    (rec("energy", 1, "Wh"), "cooling_inlet", "Cooling energy"),
    (rec("energy", 1, "Wh"), "heat_cooling", "Heat energy"),
    (rec("energy", 1, "Wh", ["accumulation_negative"]), "heat_cooling", "Cooling energy"),
    (rec("energy", 1, "Wh", ["accumulation_positive"]), "heat_cooling", "Heat energy"),
    (rec("energy", 1, "Wh"), "electricity", "Energy"),
    (rec("power", 1, "W"), "cooling_outlet", "Cooling power"),
    (rec("power", 1, "W"), "heat_outlet", "Power"),
    (rec("flow_temperature", 70.1, "degC"), "heat_outlet", "Flow temperature"),
    (rec("on_time", 3600, "s"), "heat_outlet", "On time"),
    (rec("volume", 1, "m3", subject="return"), "heat_outlet", "Volume of return"),
])
def test_register_names(record, medium, name):
    assert register_name(record, medium) == name


@pytest.mark.parametrize("record,value,unit", [
    (rec("energy", 15235000, "Wh"), "15 235", "kWh"),          # the CLI used to print "15235000 Wh"
    (rec("energy", 20448000.0, "Wh"), "20 448", "kWh"),
    (rec("energy", 1_500_000_000, "Wh"), "1 500", "MWh"),        # a million kWh and up: MWh
    (rec("energy", 999_999_000, "Wh"), "999 999", "kWh"),
    (rec("energy", 36_000_000_000, "J"), "36", "GJ"),
    (rec("power", 31400, "W"), "31.4", "kW"),
    (rec("on_time", 34560000, "s"), "9 600", "h"),                # 34 560 000 s / 3600
    (rec("operating_time", 5400, "s"), "1.5", "h"),
    (rec("flow_temperature", 71.52, "degC"), "71.52", "°C"),
    (rec("volume", 419.77, "m3"), "419.77", "m³"),
    (rec("temperature_difference", -5.0, "K"), "-5", "K"),
    (rec("datetime", "2026-03-01T14:03", "none"), "2026-03-01 14:03", ""),
    (rec("energy", None, "Wh"), "—", "kWh"),
])
def test_values_in_the_units_on_the_meter(record, value, unit):
    got = scaled(record, group=" ")
    assert got == (value, unit)


def test_kwh_kept_when_asked():
    assert scaled(rec("energy", 1_500_000_000, "Wh"), large=False, group=" ") == ("1 500 000", "kWh")


def test_medium_in_words():
    assert medium_words("heat_outlet") == "Heat (volume in return)"
    assert medium_words("cooling_inlet") == "Cooling (volume in flow)"
    assert medium_words("radio_converter_meter_side") == "Radio converter meter side"
    assert medium_words(None) == ""
