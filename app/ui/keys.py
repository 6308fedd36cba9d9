"""The meter key store as the desktop app uses it: one per window context (``ctx.keys``).

:class:`KeyService` wraps :class:`app.storage.keystore.KeyStore` for the pages:

* :meth:`KeyService.lookup` is the decoders' key lookup (``keys(manufacturer,
  identification) -> bytes | None``), safe to call from workers: a store that
  is still locked (its passphrase not given yet) or damaged answers "no key"
  instead of raising, and says so once through ``lockedNeeded`` / ``problem``
  (queued to the GUI thread), so an encrypted telegram then shows its header
  and no records, never ciphertext as readings;
* :meth:`has_key` and :meth:`key_index` tell which meters have a key (ids only:
  the register and the Radio page show it, no secret is needed);
* :meth:`import_file` (a worker task) imports a key CSV (``id,key``) or a
  heatmeter key export; :meth:`unlock` opens a passphrase-protected store (the
  scrypt derivation runs in a worker). :func:`ask_passphrase` is the dialog.

Demo mode keeps its own store in the demo folder, protected by a fixed demo
passphrase and never the OS keyring (its keys are the simulated meters').
No key is ever shown, logged or put in a message.
"""
from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal

if TYPE_CHECKING:  # pragma: no cover
    from app.ui.context import AppContext
    from app.ui.workers import Task

log = logging.getLogger("heatmeter.ui.keys")

#: The demo key store's passphrase (demo mode only: its keys belong to simulated meters).
DEMO_PASSPHRASE = "heatmeter demo keys"


class KeyService(QObject):
    """The key store of this window context. Signals (GUI thread): ``changed()`` keys imported, removed or
    the store unlocked; ``lockedNeeded()`` a lookup met the store locked; ``problem(str)`` a one-line
    message about the store (damaged entry, keyring gone)."""

    changed = Signal()
    lockedNeeded = Signal()
    problem = Signal(str)

    def __init__(self, ctx: AppContext, parent: QObject | None = None, *, path: str | None = None) -> None:
        super().__init__(parent if parent is not None else ctx)
        self.ctx = ctx
        self._path = path
        self._store = None
        self._mutex = threading.RLock()
        self._passphrase: str | None = DEMO_PASSPHRASE if ctx.demo else None
        self._warned_locked = False

    # -- the store -------------------------------------------------------------------
    @property
    def path(self) -> str:
        if self._path is None:
            if self.ctx.demo:
                from app import paths

                folder = self.ctx.demo_dir or str(paths.demo_dir())
                self._path = os.path.join(folder, "keys.json")
            else:
                from app.storage.keystore import default_path

                self._path = default_path()
        return self._path

    def store(self):
        """The :class:`~app.storage.keystore.KeyStore` (made on first use; reading it needs no secret)."""
        with self._mutex:
            if self._store is None:
                from app.storage.keystore import KeyStore

                self._store = KeyStore(self.path, passphrase=lambda _new: self._passphrase,
                                       keyring=False if self.ctx.demo else None)
            return self._store

    @property
    def protection(self) -> str | None:
        """``"keyring"``, ``"passphrase"`` or None (no keys yet)."""
        try:
            return self.store().protection
        except Exception:  # noqa: BLE001 - a store that cannot be read says so in problem()
            return None

    @property
    def locked(self) -> bool:
        """True while the store holds keys behind a passphrase not given yet."""
        try:
            return not self.store().unlocked and self._passphrase is None
        except Exception:  # noqa: BLE001
            return False

    def needs_new_passphrase(self) -> bool:
        """True when importing would create a passphrase-protected store (no keys yet, no OS keyring)."""
        from app.storage.keystore import os_keyring

        return self.protection is None and (self.ctx.demo is False and os_keyring() is None) \
            and self._passphrase is None

    def set_passphrase(self, passphrase: str | None) -> None:
        """The passphrase to open (or create) the store with; checked by the next :meth:`unlock`."""
        with self._mutex:
            self._passphrase = passphrase or None
            self._warned_locked = False

    # -- lookups (any thread) ------------------------------------------------------------
    def lookup(self, manufacturer: str | None, identification: str) -> bytes | None:
        """The decoders' key lookup. Never raises: a locked or unreadable store means "no key"."""
        from app.storage.keystore import KeyStoreError, KeyStoreLocked

        try:
            with self._mutex:
                return self.store().keys_for(manufacturer, identification)
        except KeyStoreLocked:
            if not self._warned_locked:
                self._warned_locked = True
                self.lockedNeeded.emit()
            return None
        except KeyStoreError as exc:
            self.problem.emit(str(exc))
            return None

    def has_key(self, manufacturer: str | None, identification: str | None) -> bool:
        if not identification:
            return False
        try:
            return self.store().has_key(manufacturer, identification)
        except Exception:  # noqa: BLE001
            return False

    def ids(self) -> list[str]:
        """The ids of the keys held (``"KAM 12345678"`` or ``"12345678"``), never the keys."""
        try:
            with self._mutex:
                self.store().reload()
                return self.store().ids()
        except Exception:  # noqa: BLE001
            return []

    def key_index(self) -> KeyIndex:
        """Which meters have a key, for showing it beside many meters (read the file once)."""
        return KeyIndex(self.ids())

    # -- changes (worker tasks) ----------------------------------------------------------
    def unlock(self, passphrase: str, *, on_finished: Callable[[Any], None] | None = None,
               on_failed: Callable[[str], None] | None = None, origin: Any = None) -> Task:
        """Open the store with ``passphrase`` in a worker (scrypt takes a moment). A wrong passphrase fails
        the task with "wrong passphrase for the key store" and keeps the store locked."""
        def work():
            from app.storage.keystore import KeyStore

            with self._mutex:
                trial = KeyStore(self.path, passphrase=lambda _new: passphrase, keyring=False if self.ctx.demo else None)
                trial.unlock()
                self._store = trial
                self._passphrase = passphrase
                self._warned_locked = False
            return len(trial.ids())

        def done(n) -> None:
            self.changed.emit()
            if on_finished is not None:
                on_finished(n)
        return self.ctx.tasks.start("Opening the key store", work, on_finished=done, on_failed=on_failed,
                                    report_errors=on_failed is None, origin=origin)

    def import_file(self, path: str, *, export_passphrase: str | None = None,
                    on_finished: Callable[[Any], None] | None = None,
                    on_failed: Callable[[str], None] | None = None, origin: Any = None) -> Task:
        """Import ``path`` (key CSV, or a key export with ``export_passphrase``) in a worker; the result is
        how many keys were stored. Messages name the file and line, never a key."""
        def work():
            return self.import_text_now(_read_text(path), os.path.basename(path), export_passphrase)

        def done(n) -> None:
            self.changed.emit()
            if on_finished is not None:
                on_finished(n)
        return self.ctx.tasks.start(f"Importing keys from {os.path.basename(path)}", work, on_finished=done,
                                    on_failed=on_failed, report_errors=on_failed is None, origin=origin)

    def import_text_now(self, text: str, source: str = "key file", export_passphrase: str | None = None) -> int:
        """Import key CSV or export text (blocking: call from a worker)."""
        from app.storage.keystore import KeyStoreError, is_export, read_export

        with self._mutex:
            store = self.store()
            store.reload()
            if is_export(text):
                if not export_passphrase:
                    raise KeyStoreError(f"{source} is a key export: give its passphrase")
                return store.import_table(read_export(text, export_passphrase))
            return store.import_csv(text, source)

    def remove(self, id_text: str) -> int:
        with self._mutex:
            n = self.store().remove(id_text)
        if n:
            self.changed.emit()
        return n


def _read_text(path: str) -> str:
    from app.storage.keystore import KeyStoreError

    try:
        with open(path, encoding="utf-8-sig") as fh:
            return fh.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise KeyStoreError(f"cannot read {os.path.basename(path)}: {getattr(exc, 'strerror', None) or exc}") \
            from None


class KeyIndex:
    """Which (FLAG, identification) pairs have a key: from the store's ids, no secret needed."""

    def __init__(self, ids) -> None:
        self._flagged: set[tuple[str, str]] = set()
        self._any: set[str] = set()
        for name in ids:
            flag, _, ident = str(name).rpartition(" ")
            if flag:
                self._flagged.add((flag.upper(), ident))
            else:
                self._any.add(ident)

    def __len__(self) -> int:
        return len(self._flagged) + len(self._any)

    def has(self, manufacturer: str | None, identification: str | None) -> bool:
        if not identification:
            return False
        ident = str(identification).strip()
        if ident.isdigit() and len(ident) <= 8:
            ident = ident.zfill(8)
        return ident in self._any or (bool(manufacturer) and (str(manufacturer).upper(), ident) in self._flagged)

    def has_meter(self, rec) -> bool:
        """A register meter (``mbus_manufacturer``, ``secondary_address``, else ``serial``) has a key."""
        man = getattr(rec, "mbus_manufacturer", None)
        return self.has(man, getattr(rec, "secondary_address", None)) or self.has(man, getattr(rec, "serial", None))


def ask_passphrase(parent, *, new: bool, what: str = "the key store") -> str | None:
    """Ask for a passphrase (twice for a new one); None when the user cancels. At least 8 characters."""
    from PySide6.QtWidgets import QInputDialog, QLineEdit, QMessageBox

    from app.storage.keystore import MIN_PASSPHRASE

    label = (f"A new passphrase protects {what} on this computer (no OS keyring here).\n"
             f"At least {MIN_PASSPHRASE} characters; it is not stored anywhere:") if new else \
        f"Passphrase of {what}:"
    while True:
        text, ok = QInputDialog.getText(parent, "Key store", label, QLineEdit.EchoMode.Password)
        if not ok:
            return None
        if not new:
            return text or None
        if len(text) < MIN_PASSPHRASE:
            QMessageBox.warning(parent, "Key store", f"The passphrase needs at least {MIN_PASSPHRASE} characters.")
            continue
        again, ok = QInputDialog.getText(parent, "Key store", "The same passphrase again:", QLineEdit.EchoMode.Password)
        if not ok:
            return None
        if again == text:
            return text
        QMessageBox.warning(parent, "Key store", "The two passphrases differ; try again.")
