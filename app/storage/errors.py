"""Errors the register raises. Each carries a one-line message fit for a user.

The CLI turns them into ``heatmeter: <message>`` with an exit status; the GUI
shows the message in a dialog. None of them is a bug.
"""
from __future__ import annotations


class RegisterError(Exception):
    """Base class: a problem the user can act on. ``status`` is the CLI exit status."""

    status = 2

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))  # always one line


class DatabaseUnavailable(RegisterError):
    """The database URL is malformed, the server is unreachable or the file cannot be opened."""


class DatabaseDamaged(RegisterError):
    """The database file is damaged (a page does not read back): restore it from a backup."""


class DatabaseLocked(RegisterError):
    """An SQLite file is locked by another program for longer than the busy timeout."""


class DatabaseTooNew(RegisterError):
    """The database was written by a newer heatmeter (unknown Alembic revision)."""


class NotFound(RegisterError):
    status = 1


class ConflictError(RegisterError):
    """Optimistic locking: the record changed since it was loaded. ``changes`` lists
    ``(field, theirs, yours)`` for every field the other writer changed."""

    status = 1

    def __init__(self, message: str, changes: list[tuple[str, object, object]] | None = None,
                 current_version: int | None = None, *, retryable: bool = False):
        super().__init__(message)
        self.changes = changes or []
        self.current_version = current_version
        #: the database gave up on this transaction because of another one running at the same time
        #: (a deadlock, a serialization failure, a key just taken): running it again may succeed
        self.retryable = retryable


class LegalHoldError(RegisterError):
    """Personal data may not be erased while a legal hold is set (MMS 2.2.4)."""

    status = 1


class ImportFileError(RegisterError):
    """The file cannot be read as CSV/XLSX, or it lacks required columns."""


class InvalidRows(RegisterError):
    """Some rows are invalid and nothing was stored (all-or-nothing import)."""

    status = 1

    def __init__(self, message: str, report):
        super().__init__(message)
        self.report = report


class ValidationError(RegisterError):
    """A value given through the API is out of range or of the wrong kind."""


class SignedRecordError(RegisterError):
    """A signed commissioning record cannot be changed."""

    status = 1


class PermissionDenied(RegisterError):
    """The database refused the action to the role connected (PostgreSQL grants); the message
    names the role(s) that may do it."""

    status = 1

    def __init__(self, message: str, needs: tuple[str, ...] = ()):
        super().__init__(message)
        self.needs = needs


class ReadOnlyRegister(RegisterError):
    """The register was opened read-only (a file that cannot be written): nothing can be changed."""

    status = 1


class ExportError(RegisterError):
    """An export file cannot be written (full disk, no permission, a cell the format cannot hold).
    Any earlier file of that name is left as it was."""


class ImportCancelled(RegisterError):
    """The user cancelled an import: the transaction was rolled back, nothing stored."""

    status = 130
