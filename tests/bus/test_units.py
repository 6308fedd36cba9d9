"""Pieces of the bus stack on their own: water k, register integration, masks, wired-AND collisions, timing."""
from __future__ import annotations

import random

import pytest

from drivers import timing
from drivers.address import SecondaryAddress, SecondaryMask
from drivers.simulator.bus import superpose
from drivers.simulator.physics import Drift, HydraulicState, k_kwh_m3k, power_w


def test_response_timeout_per_en13757_2():
    assert timing.response_timeout_s(2400) == pytest.approx(330 / 2400 + 0.05)
    assert timing.response_timeout_s(300) == pytest.approx(1.15)
    assert timing.frame_time_s(5, 2400) == pytest.approx(55 / 2400)


def test_heat_coefficient_is_physical():
    # EN 1434 k for volume in the return pipe at 70/50 degC is about 1.15 kWh/(m3 K) (rho*cp/3600)
    k = k_kwh_m3k(70.0, 50.0)
    assert 1.14 < k < 1.16
    # water is lighter when hot: the same volume carries less heat when measured in the flow pipe
    assert k_kwh_m3k(70.0, 50.0, volume_at_flow=True) < k
    # cold water is denser: k of a cooling meter at 7/12 degC is larger
    assert k_kwh_m3k(12.0, 7.0) > k
    assert power_w(1.0, 70.0, 50.0) == pytest.approx(k * 20 * 1000)


def test_energy_integrates_power_and_volume_integrates_flow():
    st = HydraulicState(kind="heat", flow=Drift(1.5, 0.0), theta_flow=Drift(80.0, 0.0), dtheta=Drift(25.0, 0.0))
    st.advance(3600.0, random.Random(1))
    assert st.volume_m3 == pytest.approx(1.5)
    assert st.energy_wh == pytest.approx(power_w(1.5, 80.0, 55.0) * 1.0)
    assert st.power_w == pytest.approx(power_w(1.5, 80.0, 55.0))


def test_noisy_registers_stay_consistent():
    st = HydraulicState(kind="heat", flow=Drift(0.8, 0.2, 300), theta_flow=Drift(70, 3, 600), dtheta=Drift(20, 4, 600))
    rng = random.Random(7)
    e_prev = v_prev = 0.0
    e_sum = 0.0
    for _ in range(200):
        p0 = st.power_w
        st.advance(60.0, rng)
        e_sum += 0.5 * (p0 + st.power_w) * 60 / 3600
        assert st.energy_wh >= e_prev and st.volume_m3 >= v_prev
        e_prev, v_prev = st.energy_wh, st.volume_m3
    assert st.energy_wh == pytest.approx(e_sum, rel=1e-9)


def test_cooling_meter_counts_cooling_energy():
    st = HydraulicState(kind="cooling", flow=Drift(2.0, 0.0), theta_flow=Drift(7.0, 0.0), dtheta=Drift(-5.0, 0.0))
    st.advance(1800.0, random.Random(0))
    assert st.energy_wh == 0
    assert st.cooling_energy_wh == pytest.approx(-power_w(2.0, 7.0, 12.0) * 0.5)


def test_mask_payload_round_trip_and_wildcards():
    m = SecondaryMask.parse("1234FFFF.KAM.1B.04")
    assert SecondaryMask.from_payload(m.payload()) == m
    assert m.payload()[:4] == bytes([0xFF, 0xFF, 0x34, 0x12])
    from drivers import framing
    from drivers.mbus import parse_frame
    assert parse_frame(framing.selection_frame(m)).data == m.payload()   # the slave side parses what we send
    kam = SecondaryAddress("12345678", "KAM", 0x1B, 0x04)
    assert m.matches(kam)
    assert not m.matches(SecondaryAddress("12345678", "GWF", 0x1B, 0x04))
    assert SecondaryMask().matches(kam)
    assert not SecondaryMask("12345679").matches(kam)
    with pytest.raises(ValueError):
        SecondaryMask.parse("1234567")


def test_wired_and_of_answers():
    # one slave: its bytes come through unchanged
    assert bytes(b for _, b in superpose([(11, b"\xE5")])) == b"\xE5"
    # two slaves in perfect step: the same E5 (that is why a single ACK is verified by a read)
    assert bytes(b for _, b in superpose([(20, b"\xE5"), (20, b"\xE5")])) == b"\xE5"
    # out of step: garbage, never a clean single E5
    out = bytes(b for _, b in superpose([(11, b"\xE5"), (16, b"\xE5")]))
    assert out != b"\xE5"
    # far apart: two characters
    assert bytes(b for _, b in superpose([(11, b"\xE5"), (40, b"\xE5")])) == b"\xE5\xE5"


def test_a_frozen_bus_freezes_the_meters_clocks_too(tmp_path):
    """``--time-scale 0`` promises identical reads: the date-time records may not tick either."""
    import datetime as dt
    import json

    from drivers.simulator import build_server

    cfg = tmp_path / "bus.json"
    cfg.write_text(json.dumps({"meters": [{"identification": "12345678", "manufacturer": "KAM", "version": 27,
                                           "medium": 4, "primary_address": 1, "clock_offset_s": -3600}]}))
    frozen = build_server(config=str(cfg), time_scale=0.0)
    running = build_server(config=str(cfg), time_scale=1.0)
    try:
        m = frozen.bus.meters[0]
        assert m.epoch is not None and m.clock(0.0) == m.clock(0.0)
        assert abs((dt.datetime.now() - dt.timedelta(hours=1) - m.clock(0.0)).total_seconds()) < 5
        assert running.bus.meters[0].epoch is None           # a running bus follows the host's clock
    finally:
        frozen.stop()
        running.stop()
