"""Opening the register for a command, with register and input errors as one-line ``UserError``s."""
from __future__ import annotations

from contextlib import contextmanager

from app.cli.errors import UserError


@contextmanager
def errors():
    """``RegisterError`` (its exit status) and ``InputError`` (exit 2) become the CLI's one-line UserError."""
    from app.core.errors import InputError
    from app.storage.errors import RegisterError

    try:
        yield
    except RegisterError as exc:
        raise UserError(str(exc), exc.status) from None
    except InputError as exc:
        raise UserError(" ".join(f"{exc.key}: {exc.message}".split()), 2) from None


@contextmanager
def opened(args):
    """The register of ``--db`` (closed afterwards); errors inside as above."""
    from app.storage.register import open_register

    with errors():
        reg = open_register(getattr(args, "db", None))
    try:
        with errors():
            yield reg
    finally:
        reg.close()


def lot_number(text: str) -> int:
    try:
        n = int(text, 10)
    except ValueError:
        raise UserError(f"LOT: must be a whole number, not {text!r}") from None
    if n < 1:
        raise UserError(f"LOT: no lot {n} (lot numbers start at 1)")
    if n > 2 ** 63 - 1:          # beyond what a database key holds: no such lot
        raise UserError(f"LOT: no lot {text[:30]}")
    return n
