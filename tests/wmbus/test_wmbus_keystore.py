"""The key store: encrypted at rest, ids only in listings, passphrase and keyring protection; CLI."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli.main import main
from app.storage.keystore import KeyStore, KeyStoreError, KeyStoreLocked, read_export
from drivers.wmbus.keys import KeyFileError, parse_key_csv

KEY1 = "0102030405060708090A0B0C0D0E0F11"
KEY2 = "A1A2A3A4A5A6A7A8A9AAABACADAEAFB0"
CSV = "id,key\nELS 12345678,%s\n87654321,%s\n" % (KEY1, KEY2)
PASS = "correct horse battery staple"
# OMS vol. 2 Annex N.2.1 (mode 5), meter ELS 12345678 with KEY1
N21 = "2E4493157856341233037A2A0020255923C95AAA26D1B2E7493B013EC4A6F6D3529B520EDFF0EA6DEFC99D6D69EBF3"


class MemoryKeyring:
    """Stands in for an OS keyring backend (same get/set_password calls)."""
    priority = 5

    def __init__(self):
        self.data = {}

    def set_password(self, service, user, value):
        self.data[(service, user)] = value

    def get_password(self, service, user):
        return self.data.get((service, user))


def _raw_bytes_absent(path, *keys_hex):
    blob = Path(path).read_bytes()
    for k in keys_hex:
        assert bytes.fromhex(k) not in blob
        assert k.encode() not in blob.upper() and k.lower().encode() not in blob
        import base64
        assert base64.b64encode(bytes.fromhex(k)) not in blob


def test_passphrase_store_encrypted_at_rest(tmp_path):
    path = tmp_path / "keys.json"
    store = KeyStore(str(path), passphrase=PASS, keyring=False)
    assert store.import_csv(CSV) == 2
    _raw_bytes_absent(path, KEY1, KEY2)
    doc = json.loads(path.read_text())
    assert doc["protection"] == "passphrase" and doc["kdf"]["name"] == "scrypt"
    assert sorted(doc["entries"]) == ["87654321", "ELS 12345678"]
    again = KeyStore(str(path), passphrase=PASS, keyring=False)
    assert again.keys_for("ELS", "12345678") == bytes.fromhex(KEY1)
    assert again.keys_for("KAM", "87654321") == bytes.fromhex(KEY2)      # an id without FLAG serves any make
    assert again.keys_for("KAM", "12345678") is None                       # FLAG given: only that make
    assert (path.stat().st_mode & 0o777) == 0o600


def test_wrong_or_missing_passphrase(tmp_path, monkeypatch):
    monkeypatch.delenv("HEATMETER_KEYSTORE_PASSPHRASE", raising=False)
    path = str(tmp_path / "keys.json")
    KeyStore(path, passphrase=PASS, keyring=False).import_csv(CSV)
    with pytest.raises(KeyStoreError, match="wrong passphrase"):
        KeyStore(path, passphrase="not the passphrase", keyring=False).keys_for("ELS", "12345678")
    with pytest.raises(KeyStoreLocked):
        KeyStore(path, keyring=False).keys_for("ELS", "12345678")
    # listing and removing need no passphrase
    locked = KeyStore(path, keyring=False)
    assert locked.ids() == ["87654321", "ELS 12345678"]
    assert locked.remove("87654321") == 1 and locked.ids() == ["ELS 12345678"]


def test_entries_cannot_be_swapped_between_meters(tmp_path):
    path = tmp_path / "keys.json"
    KeyStore(str(path), passphrase=PASS, keyring=False).import_csv(CSV)
    doc = json.loads(path.read_text())
    e = doc["entries"]
    e["87654321"], e["ELS 12345678"] = e["ELS 12345678"], e["87654321"]
    path.write_text(json.dumps(doc))
    with pytest.raises(KeyStoreError, match="damaged"):
        KeyStore(str(path), passphrase=PASS, keyring=False).keys_for("ELS", "12345678")


def test_keyring_protection(tmp_path):
    kr = MemoryKeyring()
    path = tmp_path / "keys.json"
    KeyStore(str(path), keyring=kr).import_csv(CSV)
    doc = json.loads(path.read_text())
    assert doc["protection"] == "keyring" and "wrapped_key" not in doc
    _raw_bytes_absent(path, KEY1, KEY2)
    assert KeyStore(str(path), keyring=kr).keys_for("ELS", "12345678") == bytes.fromhex(KEY1)
    with pytest.raises(KeyStoreError, match="keyring"):
        KeyStore(str(path), keyring=MemoryKeyring()).keys_for("ELS", "12345678")


def test_export_is_encrypted_and_reads_back(tmp_path):
    store = KeyStore(str(tmp_path / "keys.json"), passphrase=PASS, keyring=False)
    store.import_csv(CSV)
    out = tmp_path / "export.json"
    assert store.export(str(out), "export passphrase") == 2
    _raw_bytes_absent(out, KEY1, KEY2)
    table = read_export(out.read_text(), "export passphrase")
    assert table.keys_for("ELS", "12345678") == bytes.fromhex(KEY1)
    with pytest.raises(KeyStoreError, match="wrong passphrase"):
        read_export(out.read_text(), "another passphrase")


@pytest.mark.parametrize("text,msg", [
    ("", "empty"), ("meter;aes\n", None), ("id,key\nXY 1234,%s\n" % KEY1, "not a meter id"),
    ("id,key\n12345678,0011\n", "not 32 hex digits"), ("nokey\n1,2\n", "header"),
    ("id,key\n1,%s\n00000001,%s\n" % (KEY1, KEY2), "appears twice")])
def test_key_csv_errors_never_show_a_key(text, msg):
    if msg is None:
        assert len(parse_key_csv(text)) == 0
        return
    with pytest.raises(KeyFileError) as e:
        parse_key_csv(text)
    assert msg in str(e.value) and KEY1 not in str(e.value) and "\n" not in str(e.value)


def test_cli_keys_and_decode(tmp_path, capsys, monkeypatch):
    store = tmp_path / "store.json"
    monkeypatch.setenv("HEATMETER_KEYSTORE", str(store))
    monkeypatch.setenv("HEATMETER_KEYRING", "0")
    monkeypatch.delenv("HEATMETER_KEYSTORE_PASSPHRASE", raising=False)
    (tmp_path / "keys.csv").write_text(CSV)
    (tmp_path / "pass").write_text(PASS + "\n")
    (tmp_path / "n21.hex").write_text(N21)
    hexfile = str(tmp_path / "n21.hex")
    # no key anywhere: header, no records
    assert main(["decode", "--jsonl", hexfile]) == 0
    j = json.loads(capsys.readouterr().out)
    assert j["telegram"]["encryption"] == {"mode": 5, "decrypted": False, "reason": "no key"}
    assert j["telegram"]["records"] == []
    # import without a passphrase source: one-line error, status 2
    assert main(["keys", "import", str(tmp_path / "keys.csv")]) == 2
    assert "passphrase" in capsys.readouterr().err
    assert main(["keys", "import", str(tmp_path / "keys.csv"), "--store-passphrase-file", str(tmp_path / "pass")]) == 0
    out = capsys.readouterr()
    assert KEY1 not in out.out + out.err
    assert main(["keys", "list"]) == 0
    listed = capsys.readouterr().out
    assert listed.split() == ["87654321", "ELS", "12345678"] and KEY1 not in listed and KEY2 not in listed
    _raw_bytes_absent(store, KEY1, KEY2)
    # the store decrypts
    assert main(["decode", "--jsonl", hexfile, "--store-passphrase-file", str(tmp_path / "pass")]) == 0
    j = json.loads(capsys.readouterr().out)
    assert j["telegram"]["encryption"] == {"mode": 5, "decrypted": True}
    assert j["telegram"]["records"][0]["value"] == pytest.approx(28504.27)
    # locked store: one line, status 2
    assert main(["decode", "--jsonl", hexfile]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "passphrase" in err
    # export: encrypted, needs --passphrase-file
    assert main(["keys", "export", str(tmp_path / "out.json"), "--passphrase-file", str(tmp_path / "pass"),
                 "--store-passphrase-file", str(tmp_path / "pass")]) == 0
    _raw_bytes_absent(tmp_path / "out.json", KEY1, KEY2)
    capsys.readouterr()
    assert main(["keys", "remove", "ELS 12345678"]) == 0
    assert main(["keys", "remove", "ELS 12345678"]) == 1
    capsys.readouterr()
    # --keys with a wrong key: the contract's error
    (tmp_path / "wrong.csv").write_text("id,key\nELS 12345678,%s\n" % KEY2)
    assert main(["decode", "--jsonl", "--keys", str(tmp_path / "wrong.csv"), hexfile,
                 "--store-passphrase-file", str(tmp_path / "pass")]) == 1
    j = json.loads(capsys.readouterr().out)
    assert j == {"file": hexfile, "ok": False, "error": "key for 12345678 does not decrypt this telegram"}
