"""Current values are picked from real corpus telegrams, in the names' units."""
from pathlib import Path

import pytest

from app.core.readings import current_readings
from drivers.mbus.decoder import decode, parse_hex

CORPUS = Path(__file__).resolve().parent.parent / "data" / "mbus-corpus"


def readings_of(name):
    return current_readings(decode(parse_hex((CORPUS / name).read_text())).records)


def test_kamstrup_601_current_values():
    r = readings_of("kamstrup_multical_601.hex")
    # 0406 E7910000: 37351 kWh; 0414 2CDB0000: 561.08 m3 (values of the corpus' expected decode)
    assert r.energy_kwh == pytest.approx(37351.0)
    assert r.volume_m3 == pytest.approx(561.08)
    assert r.t_flow_c is not None and r.t_return_c is not None
    assert r.fabrication_number == "06855817"
    assert r.meter_time is not None and r.meter_time.startswith("20")


def test_json_dicts_and_objects_agree():
    tel = decode(parse_hex((CORPUS / "kamstrup_multical_601.hex").read_text()))
    assert current_readings(tel.records) == current_readings([r.to_json() for r in tel.records])


def test_heating_and_cooling_registers_are_apart():
    recs = [
        {"storage": 0, "tariff": 0, "subunit": 0, "function": "instantaneous", "quantity": "energy",
         "unit": "Wh", "value": 5_000_000, "modifiers": ["accumulation_negative"]},
        {"storage": 0, "tariff": 0, "subunit": 0, "function": "instantaneous", "quantity": "energy",
         "unit": "J", "value": 3.6e9, "modifiers": ["accumulation_positive"]},
        {"storage": 1, "tariff": 0, "subunit": 0, "function": "instantaneous", "quantity": "energy",
         "unit": "Wh", "value": 1, "modifiers": []},
        {"storage": 0, "tariff": 0, "subunit": 0, "function": "instantaneous", "quantity": "power",
         "unit": "J/h", "value": 7.2e6},
    ]
    r = current_readings(recs)
    assert r.cooling_energy_kwh == pytest.approx(5000.0)
    assert r.energy_kwh == pytest.approx(1000.0)
    assert r.power_kw == pytest.approx(2.0)


def test_difference_when_meter_sends_no_dtheta():
    recs = [{"function": "instantaneous", "quantity": "flow_temperature", "unit": "degC", "value": 70.5},
            {"function": "instantaneous", "quantity": "return_temperature", "unit": "degC", "value": 40.0}]
    r = current_readings(recs)
    assert r.dtheta_k is None and r.dtheta_or_difference_k == pytest.approx(30.5)
