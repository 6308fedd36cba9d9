"""EN 62056-21 and KMP against simulated meters' optical ports on a pseudo-terminal.

The simulated meters' registers are frozen (time scale 0), so a readout must give
them exactly, at the resolution the meter prints or codes them with.
"""
from __future__ import annotations

import pytest

from drivers import errors
from drivers.kmp.client import read_kmp
from drivers.link import Link
from drivers.ops import read_meter
from drivers.optical.line import open_line
from drivers.protocols import read_optical
from drivers.transport import SerialTransport
from drivers.makes import get_profile

UH50 = {"identification": "66153690", "manufacturer": "LUG", "version": 2, "medium": 4, "layout": "landis",
        "primary_address": 2, "energy_kwh": 91353.0, "volume_m3": 3329.67}
MULTICAL = {"identification": "71234567", "manufacturer": "KAM", "version": 8, "medium": 4, "layout": "kamstrup",
            "energy_kwh": 15234.0, "volume_m3": 412.7, "flow_m3h": 1.2, "theta_flow_c": 72.0, "dtheta_k": 24.0}


def uh50(**optical) -> dict:
    return {"meters": [dict(UH50, optical={"protocol": "iec62056-21", **optical})]}


def multical(**optical) -> dict:
    return {"meters": [dict(MULTICAL, optical={"protocol": "kmp", **optical})]}


def one(readout, register: str):
    (r,) = [r for r in readout.records if r.register == register]
    return r


# --- EN 62056-21 ---------------------------------------------------------------------------

@pytest.mark.parametrize("mode, offered, max_baud, baud, ack", [
    ("A", 300, 19200, 300, None),
    ("B", 2400, 19200, 2400, None),                      # the UH50: 'C' = 2400 baud, both switch at once
    ("C", 9600, 19200, 9600, b"\x06050\r\n"),            # option select: normal, 9600 baud ('5'), data readout
    ("C", 9600, 4800, 4800, b"\x06040\r\n"),             # a head limited to 4800: the reader picks '4'
])
def test_iec62056_modes(sim, mode, offered, max_baud, baud, ack):
    _, path = sim(uh50(mode=mode, baud=offered), optical="auto", time_scale=0)
    ro = read_optical(path, "iec62056-21", max_baud=max_baud)
    assert (ro.mode, ro.baud) == (mode, baud)
    assert ro.tx_frames[0] == bytes(40) + b"/?!\r\n"     # 40 NUL wake-up characters, then the request
    assert ro.tx_frames[1:] == ([ack] if ack else [])
    tel = ro.telegrams[0]
    assert (tel.manufacturer, tel.model, tel.identification) == ("LUG", "UH50", "66153690")
    # 91353 kWh = 328.8708 GJ, printed with three decimals: 328.870 GJ
    assert (one(ro, "6.8").quantity, one(ro, "6.8").value) == ("energy", 328_870_000_000)
    assert one(ro, "6.26").value == 3329.67
    assert ro.frames[1].startswith(b"\x02") and ro.frames[1][-2:-1] == b"\x03"   # the data message as received


def test_iec62056_bcc_error(sim):
    _, path = sim(uh50(corrupt_bcc=True), optical="auto", time_scale=0)
    with pytest.raises(errors.ChecksumError, match="BCC mismatch"):
        read_optical(path, "iec62056-21")


def test_iec62056_reserved_baud_character(sim):
    _, path = sim(uh50(baud_char="H"), optical="auto", time_scale=0)
    with pytest.raises(errors.UnexpectedAnswer, match="baud character 'H' is reserved"):
        read_optical(path, "iec62056-21")


def test_iec62056_baud_character_of_another_mode(sim):
    _, path = sim(uh50(mode="B"), optical="auto", time_scale=0)
    with pytest.raises(errors.UnexpectedAnswer, match="offers protocol mode B"):
        read_optical(path, "iec62056-21", mode="C")


def test_iec62056_meter_talks_at_another_baud_than_announced(sim):
    _, path = sim(uh50(mode="B", baud=2400, data_baud=4800), optical="auto", time_scale=0)
    with pytest.raises(errors.UnexpectedAnswer, match="wrong baud rate"):
        read_optical(path, "iec62056-21", gap_s=0.3)


def test_iec62056_without_wake_up_the_uh50_stays_silent(sim):
    _, path = sim(uh50(), optical="auto", time_scale=0)
    with pytest.raises(errors.NoAnswer, match="no identification"):
        read_optical(path, "iec62056-21", wakeup_nuls=0, timeout_s=0.5)
    assert read_optical(path, "iec62056-21").records        # with it, it answers


def test_uh50_optical_port_speaks_mbus_after_a_nul_wake_up(sim):
    server, path = sim(uh50(), optical="auto", time_scale=0)
    with SerialTransport(path, 2400, timeout_s=0.3) as tr:
        link = Link(tr, retries=0)
        with pytest.raises(errors.NoAnswer):
            read_meter(link, address=2)                     # no wake-up: the port is not in M-Bus mode
        res = read_meter(link, address=2, profile=get_profile("nul"))
    tg = res.telegrams[0]
    assert (tg.manufacturer, tg.identification) == ("LUG", "66153690")
    energy = [r for r in tg.records if r.quantity == "energy" and r.storage == 0]
    assert energy[0].value == 91353000                      # the landis layout codes Wh x 1000 (kWh)


# --- KMP ----------------------------------------------------------------------------------------

def test_kmp_readout(sim):
    server, path = sim(multical(), optical="auto", time_scale=0)
    ro = read_optical(path, "kmp")
    m = server.optical_meter
    got = {(r.quantity, r.function, r.modifiers): r.value for r in ro.records}
    assert ro.telegrams[0].identification == "71234567"
    assert got[("energy", "instantaneous", ())] == 15234000                 # 15234 kWh (resolution 1 kWh)
    assert got[("volume", "instantaneous", ())] == 412.7                    # 412.70 m3
    s = m.state
    assert got[("flow_temperature", "instantaneous", ())] == int(s.theta_flow_c * 100) / 100
    assert got[("return_temperature", "instantaneous", ())] == int(s.theta_return_c * 100) / 100
    assert got[("volume_flow", "instantaneous", ())] == int(s.flow_m3h * 1000) / 1000     # l/h, whole litres
    assert got[("power", "instantaneous", ())] == int(s.power_w / 100) * 100             # kW, one decimal
    assert got[("on_time", "instantaneous", ())] == int(s.on_time_s / 3600 + 24 * 400) * 3600
    assert got[("error_flags", "instantaneous", ())] == 0
    assert got[("datetime", "instantaneous", ())] == m.clock(0.0).isoformat()
    assert all(f.startswith(b"\x80") and f.endswith(b"\r") for f in ro.tx_frames)


def test_kmp_crc_error(sim):
    server, path = sim(multical(corrupt_crc=True), optical="auto", time_scale=0)
    with open_line(path, 1200, "8N2") as line:
        with pytest.raises(errors.ChecksumError, match="CRC mismatch"):
            read_kmp(line, retries=2, timeout_s=0.5)
    rx = server.optical_ports[0].log
    assert sum(1 for d, _ in rx if d == "tx") == 3           # the request was repeated twice, then given up


def test_kmp_stuffing_round_trip(sim):
    # register 128 (0x0080) must be escaped in the request and in the answer
    server, path = sim(multical(), optical="auto", time_scale=0)
    with open_line(path, 1200, "8N2") as line:
        ro = read_kmp(line, registers_=(128, 60))
    assert b"\x1b\x7f" in ro.tx_frames[-1] and b"\x1b\x7f" in ro.frames[-1]
    port = server.optical_ports[0]
    maxp = [r for r in ro.records if r.register.startswith("KMP 128")][0]
    assert (maxp.quantity, maxp.function, maxp.value) == ("power", "maximum", int(port.maxima["p"] * 10) * 100)
    assert [r.value for r in ro.records if r.register.startswith("KMP 60 ")] == [15234000]


def test_a_protocol_borrows_the_session_port_and_gives_it_back(sim):
    # the bus session holds a SerialTransport; EN 62056-21 borrows its port, then M-Bus goes on on it
    from drivers.protocols import get_protocol

    _, path = sim(uh50(), optical="auto", time_scale=0)
    proto = get_protocol("iec62056-21")
    with SerialTransport(path, 2400, timeout_s=0.3) as tr:
        line = proto.borrow(tr)
        try:
            ro = proto.read(line)
        finally:
            line.close()
        assert tr.baud == tr.serial_port().baudrate == 2400 and ro.baud == 2400
        res = read_meter(Link(tr, retries=0), address=2, profile=get_profile("nul"))
    assert res.telegrams[0].identification == ro.telegrams[0].identification == "66153690"


def test_kmp_over_a_tcp_gateway(tmp_path):
    # a transparent gateway has no baud rate to switch: bytes only
    import json

    from drivers.simulator import build_server

    cfg = tmp_path / "bus.json"
    cfg.write_text(json.dumps(multical()))
    server = build_server(config=str(cfg), fast=True, tcp=("127.0.0.1", 0), optical="auto", time_scale=0).start()
    try:
        host, port = server.tcp_address
        ro = read_optical(f"socket://{host}:{port}", "kmp")
    finally:
        server.stop()
    assert [r.value for r in ro.records if r.register.startswith("KMP 60 ")] == [15234000]
