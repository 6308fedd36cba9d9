"""The meter key store: AES-128 keys of encrypted meters, per FLAG + identification, encrypted at rest.

Envelope encryption (the key hierarchy of NIST SP 800-57 part 1):

* every meter key is encrypted with AES-256-GCM under one random *data key*;
  the authenticated data binds each entry to its meter id, so entries cannot
  be swapped between meters;
* the data key itself is kept either in the operating system's keyring
  (Secret Service, macOS Keychain, Windows Credential Locker, through the
  ``keyring`` package) or, where there is none (a headless machine), wrapped
  with AES-256-GCM under a key derived from a passphrase with scrypt
  (N = 2**15, r = 8, p = 1, a random 16-byte salt);
* the file (JSON) holds the meter ids in clear -- so the register can show
  whether a key is held, and ``list``/``remove`` need no passphrase -- and
  only ciphertext for the keys. It is written atomically with mode 0600.

No method returns a key except :meth:`KeyStore.keys_for` (to the decoders) and
:meth:`KeyStore.export` (encrypted under the export passphrase). Messages
name ids, never keys.
"""
from __future__ import annotations

import base64
import json
import os
import secrets
import tempfile
import uuid

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from drivers.wmbus.keys import KeyFileError, KeyTable, format_id, key_csv, normalise_id, parse_key_csv

__all__ = ["KeyStore", "KeyStoreError", "KeyStoreLocked", "default_path", "os_keyring", "export_keys",
           "read_export", "PASSPHRASE_ENV"]

FORMAT = "heatmeter-keystore"
EXPORT_FORMAT = "heatmeter-keys-export"
PASSPHRASE_ENV = "HEATMETER_KEYSTORE_PASSPHRASE"
KEYRING_SERVICE = "heatmeter-keystore"
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2 ** 15, 8, 1
MIN_PASSPHRASE = 8


class KeyStoreError(Exception):
    """One-line message for the user; never contains a key."""


class KeyStoreLocked(KeyStoreError):
    """The store holds keys but no passphrase was given to open it."""


def default_path() -> str:
    env = os.environ.get("HEATMETER_KEYSTORE")
    if env:
        return env
    import platformdirs
    return os.path.join(platformdirs.user_data_dir("heatmeter", appauthor=False), "keys.json")


def os_keyring():
    """The OS keyring backend, or None where there is none usable (headless, or a plaintext file backend)."""
    if os.environ.get("HEATMETER_KEYRING", "").lower() in ("0", "no", "off", "false"):
        return None
    try:
        import keyring
        from keyring.backends import fail
        kr = keyring.get_keyring()
    except Exception:
        return None
    name = type(kr).__module__ + "." + type(kr).__name__
    if isinstance(kr, fail.Keyring) or "keyrings.alt" in name or "null" in name.lower():
        return None
    try:
        if getattr(kr, "priority", 1) <= 0:
            return None
    except Exception:
        return None
    if type(kr).__name__ == "ChainerBackend" and not getattr(kr, "backends", None):
        return None
    return kr


def _b64(b: bytes) -> str:
    return base64.b64encode(b).decode("ascii")


def _unb64(s: str) -> bytes:
    return base64.b64decode(s.encode("ascii"), validate=True)


def _kek(passphrase: str, salt: bytes, n: int = SCRYPT_N, r: int = SCRYPT_R, p: int = SCRYPT_P) -> bytes:
    return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase.encode("utf-8"))


def _aad(flag: str | None, ident: str) -> bytes:
    return ("heatmeter key " + format_id(flag, ident)).encode("ascii")


class KeyStore:
    """The key store file at ``path``. ``passphrase``: a string or a callable returning one (asked lazily,
    only when keys must be read or written and no OS keyring holds the data key). ``keyring``: a keyring
    backend to use instead of :func:`os_keyring` (``False``: never)."""

    def __init__(self, path: str | None = None, *, passphrase=None, keyring=None):
        self.path = path or default_path()
        self._passphrase = passphrase
        self._keyring = os_keyring() if keyring is None else (keyring or None)
        self._doc: dict | None = None
        self._dek: bytes | None = None
        self._cache: dict[tuple, bytes] = {}

    # -- file
    def _load(self) -> dict:
        if self._doc is None:
            try:
                with open(self.path, encoding="utf-8") as fh:
                    doc = json.load(fh)
            except FileNotFoundError:
                doc = {"format": FORMAT, "version": 1, "entries": {}}
            except (OSError, ValueError) as exc:
                raise KeyStoreError("cannot read the key store %s: %s" % (self.path, exc)) from None
            if doc.get("format") != FORMAT or doc.get("version") != 1:
                raise KeyStoreError("%s is not a heatmeter key store" % self.path)
            self._doc = doc
        return self._doc

    def _save(self) -> None:
        doc = self._load()
        folder = os.path.dirname(os.path.abspath(self.path))
        os.makedirs(folder, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".keys-", dir=folder)
        try:
            if hasattr(os, "fchmod"):
                os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(doc, fh, indent=1, sort_keys=True)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise

    # -- ids (no secret needed)
    def ids(self) -> list[str]:
        return sorted(self._load()["entries"])

    def has_key(self, manufacturer: str | None, identification: str) -> bool:
        e = self._load()["entries"]
        return (manufacturer is not None and format_id(manufacturer, identification) in e) or identification in e

    @property
    def protection(self) -> str | None:
        """``"keyring"``, ``"passphrase"`` or None (no store yet)."""
        return self._load().get("protection")

    def remove(self, id_text: str) -> int:
        """Remove the key(s) of ``id_text`` (``"KAM 12345678"`` or ``"12345678"``: every FLAG). Returns how many."""
        flag, ident = normalise_id(id_text)
        entries = self._load()["entries"]
        gone = [k for k in entries if k == format_id(flag, ident) or (flag is None and k[-8:] == ident)]
        for k in gone:
            del entries[k]
        if gone:
            self._cache.clear()
            self._save()
        return len(gone)

    # -- the data key
    def _get_passphrase(self, new: bool) -> str:
        p = self._passphrase
        if callable(p):
            p = p(new)
        if p is None:
            p = os.environ.get(PASSPHRASE_ENV)
        if not p:
            raise KeyStoreLocked("the key store is protected by a passphrase: set %s, give --store-passphrase-file "
                                 "or run in a terminal to be asked" % PASSPHRASE_ENV)
        if new and len(p) < MIN_PASSPHRASE:
            raise KeyStoreError("the key store passphrase needs at least %d characters" % MIN_PASSPHRASE)
        return p

    def _data_key(self, create: bool) -> bytes:
        if self._dek is not None:
            return self._dek
        doc = self._load()
        prot = doc.get("protection")
        if prot is None:
            if not create:
                raise KeyStoreError("the key store is empty")
            dek = AESGCM.generate_key(bit_length=256)
            store_id = str(uuid.uuid4())
            doc["store_id"] = store_id
            if self._keyring is not None:
                try:
                    self._keyring.set_password(KEYRING_SERVICE, store_id, _b64(dek))
                    doc["protection"] = "keyring"
                except Exception:
                    self._keyring = None
            if self._keyring is None:
                salt = secrets.token_bytes(16)
                kek = _kek(self._get_passphrase(True), salt)
                nonce = secrets.token_bytes(12)
                doc["protection"] = "passphrase"
                doc["kdf"] = {"name": "scrypt", "salt": _b64(salt), "n": SCRYPT_N, "r": SCRYPT_R, "p": SCRYPT_P}
                doc["wrapped_key"] = {"nonce": _b64(nonce),
                                      "ciphertext": _b64(AESGCM(kek).encrypt(nonce, dek, FORMAT.encode()))}
            self._dek = dek
            return dek
        if prot == "keyring":
            kr = self._keyring
            if kr is None:
                raise KeyStoreError("the key store's data key is in the OS keyring, which is not available here")
            try:
                v = kr.get_password(KEYRING_SERVICE, doc["store_id"])
            except Exception as exc:
                raise KeyStoreError("the OS keyring did not answer: %s" % type(exc).__name__) from None
            if v is None:
                raise KeyStoreError("the OS keyring no longer holds this key store's data key")
            self._dek = _unb64(v)
            return self._dek
        if prot == "passphrase":
            kdf = doc["kdf"]
            kek = _kek(self._get_passphrase(False), _unb64(kdf["salt"]), kdf["n"], kdf["r"], kdf["p"])
            w = doc["wrapped_key"]
            try:
                self._dek = AESGCM(kek).decrypt(_unb64(w["nonce"]), _unb64(w["ciphertext"]), FORMAT.encode())
            except InvalidTag:
                raise KeyStoreError("wrong passphrase for the key store") from None
            return self._dek
        raise KeyStoreError("unknown protection %r in the key store" % prot)

    def unlock(self) -> None:
        """Open the store's data key now (asking for the passphrase where it needs one), so that later
        lookups never have to ask. Nothing to do for a store without keys. Raises :class:`KeyStoreLocked`
        (no passphrase to be had) or :class:`KeyStoreError` (a wrong one, the keyring gone)."""
        if self._load().get("protection") is not None:
            self._data_key(False)

    @property
    def unlocked(self) -> bool:
        """True when lookups need no secret any more (opened, or nothing to open)."""
        return self._dek is not None or self._load().get("protection") is None

    def reload(self) -> None:
        """Read the file again at the next call (another program imported or removed keys)."""
        self._doc = None
        self._cache.clear()

    # -- keys
    def import_table(self, table: KeyTable) -> int:
        """Add or replace the keys of ``table``; returns how many were stored."""
        dek = self._data_key(True)
        aes = AESGCM(dek)
        entries = self._load()["entries"]
        for (flag, ident), key in table.items():
            nonce = secrets.token_bytes(12)
            entries[format_id(flag, ident)] = {"nonce": _b64(nonce),
                                               "ciphertext": _b64(aes.encrypt(nonce, key, _aad(flag, ident)))}
        self._cache.clear()
        self._save()
        return len(table)

    def import_csv(self, text: str, source: str = "key file") -> int:
        try:
            table = parse_key_csv(text, source)
        except KeyFileError as exc:
            raise KeyStoreError(str(exc)) from None
        return self.import_table(table)

    def _decrypt(self, name: str) -> bytes:
        flag, ident = normalise_id(name)
        e = self._load()["entries"][name]
        try:
            return AESGCM(self._data_key(False)).decrypt(_unb64(e["nonce"]), _unb64(e["ciphertext"]),
                                                         _aad(flag, ident))
        except (InvalidTag, ValueError, KeyError):
            raise KeyStoreError("the key store entry for %s is damaged" % name) from None

    def keys_for(self, manufacturer: str | None, identification: str) -> bytes | None:
        """The decoders' key lookup: the key held for this FLAG + id (else for the id alone), or None."""
        entries = self._load()["entries"]
        for name in ((format_id(manufacturer, identification),) if manufacturer else ()) + (identification,):
            if name in entries:
                k = self._cache.get(name)
                if k is None:
                    k = self._cache[name] = self._decrypt(name)
                return k
        return None

    __call__ = keys_for

    def table(self) -> KeyTable:
        out = KeyTable()
        for name in self.ids():
            flag, ident = normalise_id(name)
            out.add(flag, ident, self._decrypt(name))
        return out

    def export(self, path: str, passphrase: str) -> int:
        """Write every key, encrypted under ``passphrase`` (scrypt + AES-256-GCM), to ``path``."""
        t = self.table()
        export_keys(t, path, passphrase)
        return len(t)

    def __repr__(self) -> str:
        return "KeyStore(%r)" % self.path


def export_keys(table: KeyTable, path: str, passphrase: str) -> None:
    if len(passphrase) < MIN_PASSPHRASE:
        raise KeyStoreError("the export passphrase needs at least %d characters" % MIN_PASSPHRASE)
    salt, nonce = secrets.token_bytes(16), secrets.token_bytes(12)
    ct = AESGCM(_kek(passphrase, salt)).encrypt(nonce, key_csv(table).encode("ascii"), EXPORT_FORMAT.encode())
    doc = {"format": EXPORT_FORMAT, "version": 1,
           "kdf": {"name": "scrypt", "salt": _b64(salt), "n": SCRYPT_N, "r": SCRYPT_R, "p": SCRYPT_P},
           "nonce": _b64(nonce), "ciphertext": _b64(ct)}
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(doc, fh, indent=1)


def read_export(text: str, passphrase: str) -> KeyTable:
    """Keys of an export file (see :func:`export_keys`)."""
    try:
        doc = json.loads(text)
        kdf = doc["kdf"]
        kek = _kek(passphrase, _unb64(kdf["salt"]), kdf["n"], kdf["r"], kdf["p"])
        csv_text = AESGCM(kek).decrypt(_unb64(doc["nonce"]), _unb64(doc["ciphertext"]), EXPORT_FORMAT.encode())
    except InvalidTag:
        raise KeyStoreError("wrong passphrase for the key export") from None
    except (ValueError, KeyError, TypeError):
        raise KeyStoreError("not a heatmeter key export") from None
    return parse_key_csv(csv_text.decode("ascii"), "key export")


def is_export(text: str) -> bool:
    return text.lstrip().startswith("{") and EXPORT_FORMAT in text[:200]


__all__ += ["is_export"]
