"""``heatmeter keys``: the encrypted store of meter keys (import, list, remove, export)."""
from __future__ import annotations

import argparse

from app.cli.commands._keys import add_key_options, open_store, read_secret_file
from app.cli.errors import UserError


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "keys", help="store the AES keys of encrypted meters (encrypted at rest)",
        description="Keep the AES-128 keys of encrypted meters (per FLAG code + identification) in a key store "
                    "encrypted at rest: its data key is held by the OS keyring where there is one, else wrapped "
                    "under a passphrase (scrypt + AES-GCM). No command prints a key. See docs/wireless.md.")
    sub = p.add_subparsers(dest="keys_command", metavar="ACTION")
    imp = sub.add_parser("import", help="add the keys of a CSV file 'id,key' (or of a heatmeter key export)")
    imp.add_argument("file", metavar="FILE")
    imp.add_argument("--passphrase-file", metavar="F", help="passphrase of a key export file being imported")
    add_key_options(imp, keys_file=False)
    ls = sub.add_parser("list", help="list the meter ids that have a key (never the keys)")
    add_key_options(ls, keys_file=False)
    rm = sub.add_parser("remove", help="remove the key of one meter ('KAM 12345678', or '12345678' for every FLAG)")
    rm.add_argument("id", metavar="ID")
    add_key_options(rm, keys_file=False)
    ex = sub.add_parser("export", help="write every key to FILE, encrypted under the passphrase in F")
    ex.add_argument("file", metavar="FILE")
    ex.add_argument("--passphrase-file", metavar="F", required=True, help="file whose first line is the passphrase")
    add_key_options(ex, keys_file=False)
    p.set_defaults(func=run, _parser=p)


def run(args: argparse.Namespace) -> int:
    from app.storage.keystore import KeyStoreError, is_export, read_export
    from drivers.wmbus.keys import KeyFileError

    if not getattr(args, "keys_command", None):
        raise UserError("say what to do: keys import|list|remove|export", 2)
    store = open_store(args)
    try:
        if args.keys_command == "list":
            for name in store.ids():
                print(name)
            return 0
        if args.keys_command == "remove":
            n = store.remove(args.id)
            if not n:
                raise UserError("no key held for %s" % args.id.strip(), 1)
            print("removed the key of %s" % args.id.strip() if n == 1 else "removed %d keys of %s" % (n, args.id))
            return 0
        if args.keys_command == "import":
            try:
                with open(args.file, encoding="utf-8-sig") as fh:
                    text = fh.read()
            except OSError as exc:
                raise UserError("cannot read %s: %s" % (args.file, exc.strerror or exc), 2) from None
            if is_export(text):
                if not args.passphrase_file:
                    raise UserError("%s is an encrypted key export: give --passphrase-file" % args.file, 2)
                n = store.import_table(read_export(text, read_secret_file(args.passphrase_file, "passphrase")))
            else:
                n = store.import_csv(text, args.file)
            print("stored %d key(s) in %s (%s)" % (n, store.path, store.protection))
            return 0
        if args.keys_command == "export":
            if not store.ids():
                raise UserError("the key store holds no key", 1)
            n = store.export(args.file, read_secret_file(args.passphrase_file, "passphrase"))
            print("wrote %d encrypted key(s) to %s" % (n, args.file))
            return 0
    except (KeyStoreError, KeyFileError) as exc:
        raise UserError(str(exc), 2) from None
    except OSError as exc:
        raise UserError("cannot write %s: %s" % (getattr(exc, "filename", "") or store.path,
                                                exc.strerror or exc), 2) from None
    raise UserError("unknown keys action %r" % args.keys_command, 2)
