"""Encrypted meters in the app: the Readout page decrypts with the key store; the register shows which
meters have a key (ids only)."""
from __future__ import annotations

import pytest

from app.storage.register import open_register
from drivers.simulator import MeterConfig
from tests.helpers.qt import task_ended

KEY_HEX = "000102030405060708090A0B0C0D0E0F"
METER = {"identification": "41000001", "manufacturer": "DME", "version": 0x41, "medium": 4, "primary_address": 3,
         "layout": "generic", "energy_kwh": 1500.0, "security": {"mode": 5, "key": KEY_HEX}}
PASSPHRASE = "correct horse battery"


@pytest.fixture
def key_store(tmp_path, monkeypatch):
    monkeypatch.setenv("HEATMETER_KEYSTORE", str(tmp_path / "keys.json"))
    monkeypatch.setenv("HEATMETER_KEYRING", "0")
    monkeypatch.delenv("HEATMETER_KEYSTORE_PASSPHRASE", raising=False)
    return tmp_path / "keys.json"


def _read_encrypted(win, qtbot):
    bus = win.ctx.bus
    bus.connect_simulator(pace=0.0, configs=[MeterConfig.from_json(METER)])
    task_ended(qtbot, bus.read_address(address=3))
    bus.select(bus.meters()[0])
    page = win.current_page()
    qtbot.waitUntil(lambda: page.readout is not None, timeout=5000)
    return page


def test_readout_decrypts_with_a_key_from_the_store(make_window, qtbot, key_store, tmp_path):
    win = make_window(page="readout", db_url=f"sqlite:///{tmp_path / 'reg.db'}")
    keys = win.ctx.keys
    keys.set_passphrase(PASSPHRASE)
    assert keys.import_text_now("id,key\nDME 41000001," + KEY_HEX + "\n") == 1
    assert KEY_HEX not in key_store.read_text() and KEY_HEX.lower() not in key_store.read_text()
    page = _read_encrypted(win, qtbot)
    t = page.readout.telegrams[0]
    assert t.security_mode == 5 and t.decrypted
    assert "decrypted with the meter's key" in page.header_label.text()
    energy = [r for r in page.readout.records if r.quantity == "energy" and r.storage == 0]
    assert energy and energy[0].value >= 1_500_000 and page.table.rowCount() == len(page.readout.records)


def test_readout_without_key_withholds_records_and_says_why(make_window, qtbot, key_store, tmp_path):
    win = make_window(page="readout", db_url=f"sqlite:///{tmp_path / 'reg.db'}")
    page = _read_encrypted(win, qtbot)
    assert page.readout.records == [] and page.table.rowCount() == 0
    text = page.header_label.text()
    assert "records withheld" in text and "no key for this meter" in text


def test_locked_store_means_no_key_and_asks_once(make_window, qtbot, key_store, tmp_path):
    win = make_window(page="readout", db_url=f"sqlite:///{tmp_path / 'reg.db'}")
    keys = win.ctx.keys
    keys.set_passphrase(PASSPHRASE)
    keys.import_text_now("id,key\nDME 41000001," + KEY_HEX + "\n")
    keys.set_passphrase(None)
    keys._store = None                  # a new session of the app: the store is shut
    asked = []
    keys.lockedNeeded.connect(lambda: asked.append(1))
    assert keys.locked
    page = _read_encrypted(win, qtbot)
    assert page.readout.records == []
    qtbot.waitUntil(lambda: asked == [1], timeout=5000)
    with qtbot.waitSignal(keys.changed, timeout=20000):
        keys.unlock(PASSPHRASE)
    assert not keys.locked and keys.lookup("DME", "41000001") == bytes.fromhex(KEY_HEX)


def test_register_shows_which_meters_have_a_key(make_window, qtbot, key_store, tmp_path):
    from app.ui.register.model import FIELDS

    url = f"sqlite:///{tmp_path / 'reg.db'}"
    with open_register(url) as reg:
        reg.create_meter({"site": "Block A", "manufacturer": "Diehl", "serial": "41000001",
                          "model": "Sharky 775", "mbus_manufacturer": "DME", "secondary_address": "41000001"}, user="t")
        reg.create_meter({"site": "Block A", "manufacturer": "Kamstrup", "serial": "71234567",
                          "model": "Multical 603", "mbus_manufacturer": "KAM", "secondary_address": "71234567"}, user="t")
    win = make_window(page="register", db_url=url)
    win.ctx.keys.set_passphrase(PASSPHRASE)
    win.ctx.keys.import_text_now("id,key\nDME 41000001," + KEY_HEX + "\n")
    page = win.current_page()
    qtbot.waitUntil(lambda: page.model.key_index is not None and page.model.rowCount() == 2, timeout=20000)
    col = FIELDS.index("key")
    by_serial = {page.model.index(r, FIELDS.index("serial")).data(): page.model.index(r, col).data()
                 for r in range(2)}
    assert by_serial == {"41000001": "held", "71234567": ""}
    # a key imported meanwhile shows without reopening the page
    with qtbot.waitSignal(win.ctx.keys.changed):
        win.ctx.keys.import_file(str(_csv(tmp_path, "KAM 71234567")))
    qtbot.waitUntil(lambda: page.model.key_index.has("KAM", "71234567"), timeout=20000)
    assert {page.model.index(r, col).data() for r in range(2)} == {"held"}


def _csv(tmp_path, ident):
    p = tmp_path / "more.csv"
    p.write_text(f"id,key\n{ident},{'11' * 16}\n")
    return p
