"""Receivers: both stick protocols against the simulator over a pseudo-terminal and TCP, rtl-wmbus lines,
USB detection, the listen and simulate --wmbus commands."""
from __future__ import annotations

import json
import subprocess
import sys
import threading
from types import SimpleNamespace

import pytest

from app.cli.main import main
from drivers.receivers import ReceiverError, detect_dongle, list_dongles, open_receiver, parse_line
from drivers.receivers import amb8465, im871a
from drivers.receivers.rtlwmbus import RtlWmbusReceiver
from drivers.simulator.wmbus import RadioField, SimulatedReceiver, default_field, keys_csv
from drivers.simulator.wmbus_dongles import WMBusSimServer
from drivers.wmbus import decode_wmbus
from drivers.wmbus.keys import parse_key_csv

# wmbusmeters simulations/serial_rtlwmbus_ok.msg: a T1 line from rtl-wmbus (plain telegram, id 88888888)
RTL_OK = ("T1;1;1;2019-04-03 19:00:42.000;97;148;88888888;0x2e44333003020100071b7a634820252f2f0265840842658308"
          "820165950802fb1aae0142fb1aae018201fb1aa9012f")
# wmbusmeters simulations/serial_aes.msg: Kamstrup Multical 21, C1, ELL AES-CTR, key 28F6...02AE
RTL_C1 = ("C1;1;1;2020-01-23 10:25:13.000;97;148;76348799;0x2A442D2C998734761B168D2091D37CAC21E1D68CDAFFCD3DC452BD"
          "802913FF7B1706CA9E355D6C2701CC24")
# wmbusmeters simulations/simulation_rtlwmbus_errors.txt: rtl-wmbus reports failed CRC / 3-out-of-6 checks
RTL_BAD = "T1;0;0;2021-12-29 13:50:57.000;8;101;91625359;0x294468505953629176f0a0009f29982b00e0982b00802e06"


def test_im871a_crc_is_x25():
    assert im871a.crc_x25(b"123456789") == 0x906E          # CRC-16/X-25 catalogue check value


def test_amb8465_set_mode_frame():
    # FF 04 01 08 + XOR checksum: the T2-other receive mode of the manual
    assert amb8465.set_mode_request("t1") == bytes((0xFF, 0x04, 0x01, 0x08, 0xFF ^ 0x04 ^ 0x01 ^ 0x08))
    assert amb8465.rssi_to_dbm(0x00) == -74.0 and amb8465.rssi_to_dbm(0xD8) == -94.0


@pytest.mark.parametrize("dongle", ["im871a", "amb8465"])
def test_dongle_protocol_against_the_simulator(tmp_path, dongle):
    meters = default_field(6, 3)
    table = parse_key_csv(keys_csv(meters))
    server = WMBusSimServer(RadioField(meters, 3), dongle, speed=200.0)
    path = server.open_pty(str(tmp_path / "stick"))
    host, port = server.open_tcp("127.0.0.1", 0)
    ids = {m.identification for m in meters}
    with server:
        for url in (path, "socket://%s:%d" % (host, port)):
            with open_receiver(url, dongle, "c1") as r:
                assert r.mode == "c1"
                got = [r.receive(10) for _ in range(6)]
            assert all(h is not None for h in got)
            for h in got:
                t = decode_wmbus(h.telegram, table.keys_for, crc="none")
                assert t.identification in ids and h.rssi_dbm is not None and -120 < h.rssi_dbm < 0
                assert t.security_mode == 0 or t.decrypted
                assert t.records
    assert not any(t.is_alive() for t in threading.enumerate() if t.name.startswith("wmbus-sim"))


def test_wrong_stick_kind_is_a_one_line_error(tmp_path):
    server = WMBusSimServer(RadioField(default_field(2, 1), 1), "amb8465", speed=1.0)
    path = server.open_pty(str(tmp_path / "stick"))
    with server:
        with pytest.raises(ReceiverError, match="did not answer"):
            open_receiver(path, "im871a", "t1")


def test_rtlwmbus_lines():
    h = parse_line(RTL_OK)
    assert h.mode == "t1" and h.rssi_raw == 97 and h.rssi_dbm is None
    assert h.received_at.year == 2019
    assert decode_wmbus(h.telegram, crc="none").identification == "00010203"
    assert parse_line(RTL_BAD) is None and parse_line("rtl_wmbus: exiting") is None
    c1 = parse_line(RTL_C1)
    t = decode_wmbus(c1.telegram, lambda m, i: bytes.fromhex("28F64A24988064A079AA2C807D6102AE"), crc="none")
    assert t.decrypted and t.identification == "76348799"


def test_rtlwmbus_file_and_socket(tmp_path):
    f = tmp_path / "rtl.txt"
    f.write_text("rtl_wmbus starting\n" + RTL_OK + "\n" + RTL_BAD + "\n" + RTL_C1 + "\n")
    with RtlWmbusReceiver(str(f)) as r:
        got = list(r)
    assert [h.mode for h in got] == ["t1", "c1"]
    import socket
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)

    def serve():
        conn, _ = srv.accept()
        conn.sendall((RTL_OK + "\n" + RTL_C1[:40]).encode())
        conn.sendall((RTL_C1[40:] + "\n").encode())
        conn.close()
    t = threading.Thread(target=serve)
    t.start()
    with RtlWmbusReceiver("socket://127.0.0.1:%d" % srv.getsockname()[1]) as r:
        got = list(r)
    t.join()
    srv.close()
    assert [h.mode for h in got] == ["t1", "c1"]


def test_usb_detection():
    ports = [SimpleNamespace(device="/dev/ttyUSB0", vid=0x10C4, pid=0x87ED, product="", manufacturer="",
                             description=""),
             SimpleNamespace(device="/dev/ttyUSB1", vid=0x0403, pid=0x6001, product="AMB8465-M",
                             manufacturer="FTDI", description=""),
             SimpleNamespace(device="/dev/ttyUSB2", vid=0x0403, pid=0x6001, product="FT232R USB UART",
                             manufacturer="FTDI", description="")]
    assert list_dongles(ports) == [("/dev/ttyUSB0", "im871a"), ("/dev/ttyUSB1", "amb8465")]
    assert detect_dongle("/dev/ttyUSB2", ports) is None


def test_in_process_receiver_virtual_clock():
    meters = default_field(50, 4)
    r = SimulatedReceiver(RadioField(meters, 4), clock="virtual").open()
    times, heard = [], {}
    for _ in range(400):
        h = r.receive()
        times.append(r.t_s)
        heard[h.telegram[2:8]] = heard.get(h.telegram[2:8], 0) + 1
    assert times == sorted(times)
    by_make = {}
    from drivers.wmbus.encoder import address8
    for m in meters:
        by_make.setdefault(m.make, []).append(heard.get(address8(m.manufacturer, m.identification, 0, 0)[:6], 0))
    # a 16 s Kamstrup meter is heard about 7.5 times as often as a 120 s Engelmann one
    kam = sum(by_make["kamstrup_multical"]) / len(by_make["kamstrup_multical"])
    efe = sum(by_make["engelmann_sensostar"]) / len(by_make["engelmann_sensostar"])
    assert 4 < kam / max(efe, 0.5) < 12


def test_listen_cli_with_rtlwmbus_file(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HEATMETER_KEYSTORE", str(tmp_path / "none.json"))
    f = tmp_path / "rtl.txt"
    f.write_text(RTL_OK + "\n" + RTL_C1 + "\n")
    keys = tmp_path / "k.csv"
    keys.write_text("id,key\nKAM 76348799,28F64A24988064A079AA2C807D6102AE\n")
    assert main(["listen", "--port", str(f), "--dongle", "rtl-wmbus", "--json", "--keys", str(keys)]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert len(lines) == 2 and all("received_at" in x and "rssi_dbm" in x for x in lines)
    assert lines[1]["telegram"]["encryption"] == {"mode": "ell_ctr", "decrypted": True}
    assert main(["listen", "--port", str(tmp_path / "missing"), "--dongle", "rtl-wmbus"]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_simulate_wmbus_and_listen_processes(tmp_path):
    pty = tmp_path / "stick"
    keys = tmp_path / "keys.csv"
    env_py = sys.executable
    sim = subprocess.Popen([env_py, "-m", "app", "simulate", "--wmbus", "--dongle", "im871a", "--pty", str(pty),
                            "--keys-out", str(keys), "--meters", "5", "--time-scale", "100"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        ready = json.loads(sim.stdout.readline())
        assert ready["ready"]["dongle"] == "im871a" and ready["ready"]["meters"] == 5
        out = subprocess.run([env_py, "-m", "app", "listen", "--port", str(pty), "--dongle", "im871a", "--json",
                              "--keys", str(keys), "--seconds", "3", "--key-store", str(tmp_path / "none.json")],
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        lines = [json.loads(x) for x in out.stdout.splitlines()]
        assert lines and all(x["ok"] for x in lines)
        assert all(x["telegram"]["encryption"]["decrypted"] or x["telegram"]["encryption"]["mode"] == 0
                   for x in lines)
    finally:
        sim.terminate()
        sim.communicate(timeout=10)     # reads and closes the pipes
