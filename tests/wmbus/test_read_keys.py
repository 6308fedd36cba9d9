"""Wired encrypted telegrams (security mode 5) in ``heatmeter read`` and the bus session: decrypted with
``--keys`` or the key store, withheld without a key, refused with a wrong one."""
from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from drivers import errors
from drivers.mbus import decode, parse_frame
from drivers.mbus.encoder import RecordSpec, encode_rsp_ud
from drivers.session import BusSession, ConnectionSpec
from drivers.simulator import LoopbackTransport, MeterConfig, SimBus
from drivers.wmbus.keys import KeyTable
from tests.helpers.cli import Simulator, run_cli

KEY_HEX = "000102030405060708090A0B0C0D0E0F"
KEY = bytes.fromhex(KEY_HEX)
METER = {"identification": "41000001", "manufacturer": "DME", "version": 0x41, "medium": 4, "primary_address": 3,
         "layout": "generic", "energy_kwh": 1500.0, "volume_m3": 12.5, "security": {"mode": 5, "key": KEY_HEX}}


def test_mode5_wired_frame_is_aes_cbc_with_the_header_iv():
    """The encoder's mode 5, checked with the cipher directly (EN 13757-7: IV = M, A, 8 x access number)."""
    frame = encode_rsp_ud([RecordSpec("energy", value=1234000, unit="Wh")], identification="41000001",
                          manufacturer="DME", version=0x41, medium=4, access_number=0x5A, security=5, key=KEY)
    data = parse_frame(frame).data
    header, body = data[:12], data[12:]
    assert header[10:12] == bytes((0x10, 0x05))          # configuration field: mode 5, 1 block
    iv = header[4:6] + header[0:4] + header[6:8] + bytes((0x5A,)) * 8
    d = Cipher(algorithms.AES(KEY), modes.CBC(iv)).decryptor()
    plain = d.update(body) + d.finalize()
    # 2F 2F, then DIF 02 (16-bit integer) VIF 06 (energy, Wh x 10^(6-3): kWh) value 1234, 2F fillers
    assert plain[:2] == b"\x2f\x2f" and plain[2:4] == b"\x02\x06"
    assert int.from_bytes(plain[4:6], "little") == 1234 and set(plain[6:]) == {0x2F}


def _session(keys=None) -> BusSession:
    bus = SimBus.from_configs([MeterConfig.from_json(METER)], seed=1)
    s = BusSession(keys=keys)
    s.attach(LoopbackTransport(bus, 2400), ConnectionSpec(None, 2400, simulated=True), sim=bus)
    return s


def _energy_wh(readout) -> float:
    return next(r.value for r in readout.records if r.quantity == "energy" and r.storage == 0)


def test_session_read_decrypts_with_the_key_lookup():
    with _session(KeyTable({("DME", "41000001"): KEY})) as s:
        ro = s.read_address(3)
    t = ro.decoded()[0]
    assert t["encryption"] == {"mode": 5, "decrypted": True}
    assert _energy_wh(ro) >= 1_500_000          # the configured register (it only grows)


def test_session_read_without_key_keeps_the_header_and_no_records():
    with _session() as s:
        ro = s.read_address(3)
    t = ro.decoded()[0]
    assert t["encryption"] == {"mode": 5, "decrypted": False, "reason": "no key"}
    assert t["records"] == [] and t["identification"] == "41000001" and ro.records == []


def test_session_read_with_a_wrong_key_fails_and_keeps_nothing():
    with _session(lambda man, ident: bytes(16)) as s, pytest.raises(errors.WrongKey) as info:
        s.read_address(3)
    assert str(info.value) == "key for 41000001 does not decrypt this telegram"
    assert info.value.identification == "41000001"


def test_gui_message_for_a_wrong_key_says_what_to_do():
    from drivers.session.messages import describe_error

    text = describe_error(errors.WrongKey("key for 41000001 does not decrypt this telegram"), what="DME 41000001")
    assert "nothing of it is kept" in text and "keys import" in text and "\n" not in text


@pytest.fixture
def encrypted_bus(tmp_path):
    cfg = tmp_path / "bus.json"
    cfg.write_text(json.dumps({"baud": 2400, "meters": [METER]}))
    sim = Simulator(["--config", str(cfg), "--pty", str(tmp_path / "pty"), "--fast", "--time-scale", "0"])
    yield sim
    sim.stop()


@pytest.fixture
def no_store(tmp_path):
    return {"HEATMETER_KEYSTORE": str(tmp_path / "store.json"), "HEATMETER_KEYRING": "0",
            "HEATMETER_KEYSTORE_PASSPHRASE": ""}


def _read(sim, *extra, env):
    return run_cli("read", "--port", sim.pty, "--address", "3", "--json", *extra, env=env)


def test_cli_read_with_keys_file(encrypted_bus, tmp_path, no_store):
    keys = tmp_path / "keys.csv"
    keys.write_text("id,key\nDME 41000001," + KEY_HEX + "\n")
    r = _read(encrypted_bus, "--keys", keys, env=no_store)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["telegrams"][0]["encryption"] == {"mode": 5, "decrypted": True}
    energy = [x for x in doc["records"] if x["quantity"] == "energy" and x["storage"] == 0]
    assert energy == [dict(energy[0], value=1500000, unit="Wh")]     # 1500 kWh configured, registers frozen


def test_cli_read_without_key_withholds_records(encrypted_bus, no_store):
    r = _read(encrypted_bus, env=no_store)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["telegrams"][0]["encryption"] == {"mode": 5, "decrypted": False, "reason": "no key"}
    assert doc["records"] == []
    text = run_cli("read", "--port", encrypted_bus.pty, "--address", "3", env=no_store)
    assert "encrypted (security mode 5), no key: records withheld" in text.stdout


def test_cli_read_with_a_wrong_key_is_one_line_and_status_1(encrypted_bus, tmp_path, no_store):
    keys = tmp_path / "keys.csv"
    keys.write_text("id,key\n41000001," + "00" * 16 + "\n")
    r = _read(encrypted_bus, "--keys", keys, env=no_store)
    assert r.returncode == 1 and r.stdout == ""
    err = [ln for ln in r.stderr.splitlines() if ln.startswith("heatmeter:")]
    assert err == ["heatmeter: key for 41000001 does not decrypt this telegram (nothing kept; give the meter's "
                   "right key with --keys or heatmeter keys import)"]
    assert "Traceback" not in r.stderr


def test_cli_read_uses_the_key_store(encrypted_bus, tmp_path, no_store):
    keys = tmp_path / "keys.csv"
    keys.write_text("id,key\nDME 41000001," + KEY_HEX + "\n")
    env = dict(no_store, HEATMETER_KEYSTORE_PASSPHRASE="correct horse battery")
    assert run_cli("keys", "import", keys, env=env).returncode == 0
    keys.unlink()
    r = _read(encrypted_bus, env=env)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["telegrams"][0]["encryption"] == {"mode": 5, "decrypted": True}
    # without the passphrase the store stays shut: said in one line, the read goes on without it
    locked = _read(encrypted_bus, env=no_store)
    assert locked.returncode == 0
    assert json.loads(locked.stdout)["records"] == []
    assert "key store not used" in locked.stderr
    wrong = _read(encrypted_bus, env=dict(no_store, HEATMETER_KEYSTORE_PASSPHRASE="not the passphrase"))
    assert wrong.returncode == 2 and "wrong passphrase for the key store" in wrong.stderr


def test_decoder_records_match_what_the_encrypted_simulated_meter_sent():
    bus = SimBus.from_configs([MeterConfig.from_json(METER)], seed=3)
    link_tr = LoopbackTransport(bus, 2400)
    s = BusSession(keys=KeyTable({(None, "41000001"): KEY}))
    s.attach(link_tr, ConnectionSpec(None, 2400, simulated=True), sim=bus)
    with s:
        ro = s.read_address(3)
    sent = bus.meters[0].last_encoded
    got = decode(ro.frames[0], KeyTable({(None, "41000001"): KEY})).records
    assert [r["quantity"] for r in sent] == [r.quantity for r in got]
