"""Key options shared by ``decode``, ``listen`` and ``keys``: ``--keys FILE`` and the key store."""
from __future__ import annotations

import os
import sys

from app.cli.errors import UserError


def add_key_options(p, *, keys_file: bool = True) -> None:
    if keys_file:
        p.add_argument("--keys", metavar="FILE",
                       help="CSV 'id,key' of meter keys (id: 8 digits, optionally after the FLAG code and a space)")
    p.add_argument("--key-store", metavar="FILE", help="key store file (default: the user's, or $HEATMETER_KEYSTORE)")
    p.add_argument("--store-passphrase-file", metavar="F",
                   help="file whose first line is the key store passphrase (else $HEATMETER_KEYSTORE_PASSPHRASE, "
                        "else asked in a terminal); not needed where the OS keyring holds the store's key")


def read_secret_file(path: str, what: str) -> str:
    try:
        with open(path, encoding="utf-8") as fh:
            line = fh.readline().rstrip("\r\n")
    except OSError as exc:
        raise UserError("cannot read the %s file %s: %s" % (what, path, exc.strerror or exc), 2) from None
    if not line:
        raise UserError("the %s file %s is empty" % (what, path), 2)
    return line


def _passphrase_source(args):
    path = getattr(args, "store_passphrase_file", None)
    if path:
        value = read_secret_file(path, "passphrase")
        return lambda new: value

    def ask(new: bool):
        env = os.environ.get("HEATMETER_KEYSTORE_PASSPHRASE")
        if env:
            return env
        if not sys.stdin.isatty():
            return None
        import getpass
        first = getpass.getpass("New key store passphrase: " if new else "Key store passphrase: ")
        if new and getpass.getpass("Repeat the passphrase: ") != first:
            raise UserError("the two passphrases differ", 2)
        return first
    return ask


def open_store(args, *, must_exist: bool = False):
    from app.storage.keystore import KeyStore, default_path
    path = getattr(args, "key_store", None) or default_path()
    if must_exist and not os.path.exists(path):
        return None
    return KeyStore(path, passphrase=_passphrase_source(args))


def key_lookup(args, *, store=None):
    """The decoders' key lookup from ``--keys`` and the key store, or None when there are no keys at all.

    ``store``: the key store already opened (else it is opened here)."""
    from drivers.wmbus.keys import KeyFileError, parse_key_csv
    table = None
    if getattr(args, "keys", None):
        try:
            with open(args.keys, encoding="utf-8-sig") as fh:
                text = fh.read()
        except OSError as exc:
            raise UserError("cannot read the key file %s: %s" % (args.keys, exc.strerror or exc), 2) from None
        try:
            table = parse_key_csv(text, args.keys)
        except KeyFileError as exc:
            raise UserError(str(exc), 2) from None
    if getattr(args, "key_store_disabled", False):
        store = None
    elif store is None:
        store = open_store(args, must_exist=True)
    if store is not None and not store.ids():
        store = None
    if table is None and store is None:
        return None
    if store is None:
        return table.keys_for
    if table is None:
        return store.keys_for

    def lookup(manufacturer, identification):
        k = table.keys_for(manufacturer, identification)
        return k if k is not None else store.keys_for(manufacturer, identification)
    return lookup


def read_keys(args):
    """The key lookup of a bus read (``--keys`` and the key store), unlocked before the bus is touched.

    A read must not stop between a meter's telegrams to ask for a passphrase, so a passphrase-protected
    store is opened here. A store that cannot be opened for want of a passphrase (no terminal, no
    $HEATMETER_KEYSTORE_PASSPHRASE) is left out with a one-line note on stderr: plaintext meters read as
    ever, encrypted ones show no records. A wrong passphrase is an error (status 2)."""
    from app.storage.keystore import KeyStoreError, KeyStoreLocked

    store = open_store(args, must_exist=True)
    if store is not None and store.ids():
        try:
            store.unlock()
        except KeyStoreLocked as exc:
            print("heatmeter: key store not used: %s" % exc, file=sys.stderr)
            args = _without_store(args)
        except KeyStoreError as exc:
            raise UserError(str(exc), 2) from None
    return key_lookup(args, store=store)


def _without_store(args):
    import argparse

    ns = argparse.Namespace(**vars(args))
    ns.key_store_disabled = True
    return ns
