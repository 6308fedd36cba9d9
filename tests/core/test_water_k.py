"""Heat coefficient k against Kamstrup's published conventional true energy.

Source: Kamstrup A/S, MULTICAL 302 Technische Beschreibung 5512-1335_F1_DE_12.2016,
§14.4 "Berechnung der wahren Energie": conventional true energy in Wh per
0.1 m³ at the most frequent verification points, flow sensor in the inlet
(Vorlauf) and in the outlet (Rücklauf), EN 1434-1 formula at 16 bar.
"""
import pytest

from app.core.calcjson import run
from app.core.water import density_kg_m3, heat_coefficient_kj_m3k

# (t1 °C, t2 °C, Wh/0.1 m³ with the flow sensor in the inlet, ... in the outlet)
KAMSTRUP_TRUE_ENERGY = [
    (42, 40, 230.11, 230.29),
    (43, 40, 345.02, 345.43),
    (53, 50, 343.62, 344.11),
    (50, 40, 1146.70, 1151.55),
    (70, 50, 2272.03, 2295.86),
    (80, 60, 2261.08, 2287.57),
    (160, 40, 12793.12, 13988.44),
    (160, 20, 14900.00, 16390.83),
]


@pytest.mark.parametrize("t1,t2,inlet,outlet", KAMSTRUP_TRUE_ENERGY)
def test_conventional_true_energy_matches_kamstrup_table(t1, t2, inlet, outlet):
    got_in = run("heat-coefficient", {"hot_c": t1, "cold_c": t2, "position": "flow"})["energy_wh_per_0_1m3"]
    got_out = run("heat-coefficient", {"hot_c": t1, "cold_c": t2, "position": "return"})["energy_wh_per_0_1m3"]
    # The table is printed to 0.01 Wh.
    assert got_in == pytest.approx(inlet, abs=0.006)
    assert got_out == pytest.approx(outlet, abs=0.006)


def test_k_units_are_consistent():
    r = run("heat-coefficient", {"hot_c": 70, "cold_c": 50, "position": "return"})
    assert r["k_kwh_m3k"] == pytest.approx(r["k_kj_m3k"] / 3600)
    assert r["energy_wh_per_0_1m3"] == pytest.approx(0.1 * r["k_kj_m3k"] * 20 / 3.6)


def test_density_is_not_a_constant():
    # IAPWS-IF97 at 1.6 MPa: water at 80 °C is about 972 kg/m³, far from 1000.
    assert 970 < density_kg_m3(80.0) < 974
    assert heat_coefficient_kj_m3k(80, 60, "flow") < heat_coefficient_kj_m3k(80, 60, "return")


def test_steam_is_refused_naming_the_key():
    from app.core.errors import InputError

    with pytest.raises(InputError) as exc:
        run("heat-coefficient", {"hot_c": 250, "cold_c": 40, "position": "flow"})
    assert exc.value.key == "hot_c"
