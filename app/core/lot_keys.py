"""Lot keys on normalised makes and models (maintenance-cycle spec: "Lots on normalised keys").

Registers hold makes and models as people typed them: ``Kamstrup``,
``KAMSTRUP`` and ``Kamstrup A/S``; ``MULTICAL 403``, ``Multical403`` and
``MC403``. Lots must not split on spelling (every extra lot costs a sample):

- the **make** compares by its M-Bus FLAG code (``KAM``) when the register
  knows it, else by the make's letters and digits with a trailing company form
  (``A/S``, ``GmbH``, ``Ltd`` ...) dropped;
- the **model** compares after normalisation (case folded; spaces and
  punctuation dropped: ``Multical 403`` = ``MULTICAL-403`` = ``multical403``)
  and through the **alias table**: rows ``manufacturer, alias, model`` saying
  that ``alias`` is another name of ``model`` for that make (a FLAG code, a
  make, or empty for any make). The table ships in
  ``resources/model_aliases.csv``; a user's own rows (kept in the register)
  are added to it and win over it.

Pure functions; the register feeds the user's rows.
"""
from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from app.core.errors import InputError

_NON_ALNUM = re.compile(r"[^0-9a-z]+")
#: Company forms dropped from the end of a make that has no FLAG code.
COMPANY_FORMS = ("as", "aps", "ab", "ag", "bv", "co", "corp", "gmbh", "inc", "kg", "limited", "llc", "ltd", "nv", "oy",
                 "plc", "sa", "sarl", "spa", "sro", "srl", "uk")
_FLAG = re.compile(r"^[A-Z@]{3}$")


def normalise(text: str | None) -> str:
    """Case folded, only letters and digits: the form spellings are compared in."""
    return _NON_ALNUM.sub("", (text or "").casefold())


def make_key(make: str | None, flag: str | None) -> str:
    """How a make is compared: its FLAG code, else its normalised name without a trailing company form."""
    if flag:
        return flag.strip().upper()
    words = [w for w in _NON_ALNUM.split((make or "").casefold()) if w]
    while len(words) > 1 and words[-1] in COMPANY_FORMS:
        words.pop()
    # "A/S" splits into "a", "s": drop a trailing run of one-letter words too ("kamstrup a s")
    while len(words) > 1 and len(words[-1]) == 1 and len(words[-2]) == 1:
        words = words[:-2]
    return "".join(words)


@dataclass(frozen=True, slots=True)
class AliasRow:
    """``alias`` is another name of ``model`` for the make ``manufacturer`` (FLAG code, make, or "" for any)."""

    manufacturer: str
    alias: str
    model: str
    source: str = "shipped"   # shipped | register


@dataclass(frozen=True)
class ModelAliases:
    """The alias table in force: look-ups by (make key, normalised alias)."""

    rows: tuple[AliasRow, ...] = ()
    _index: dict[tuple[str, str], AliasRow] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        idx: dict[tuple[str, str], AliasRow] = {}
        for r in self.rows:  # later rows (the user's) win
            mk = make_key(r.manufacturer, r.manufacturer if _FLAG.match(r.manufacturer.strip()) else None) \
                if r.manufacturer.strip() else ""
            idx[(mk, normalise(r.alias))] = r
        object.__setattr__(self, "_index", idx)

    def canonical(self, make_k: str, model: str | None) -> tuple[str, str | None]:
        """(comparison key, display name from the table or None) of a model of the make ``make_k``."""
        n = normalise(model)
        shown = None
        for _ in range(4):  # an alias of an alias, a few hops at most
            r = self._index.get((make_k, n)) or self._index.get(("", n))
            if r is None:
                break
            n2 = normalise(r.model)
            shown = r.model
            if n2 == n:
                break
            n = n2
        return n, shown

    def used(self, make_k: str, models: Iterable[str]) -> list[AliasRow]:
        """The rows that rename any of these spellings (for the record of a lot)."""
        out = []
        for mdl in models:
            n = normalise(mdl)
            r = self._index.get((make_k, n)) or self._index.get(("", n))
            if r is not None and r not in out:
                out.append(r)
        return out

    def with_rows(self, rows: Sequence[AliasRow]) -> ModelAliases:
        return ModelAliases(self.rows + tuple(rows))


def check_alias(manufacturer: str, alias: str, model: str) -> None:
    """Refuse an alias row that cannot work (InputError naming the field)."""
    if not normalise(alias):
        raise InputError("alias", "needs letters or digits")
    if not normalise(model):
        raise InputError("model", "needs letters or digits")
    if normalise(alias) == normalise(model):
        raise InputError("alias", f"{alias!r} and {model!r} are already the same model once normalised "
                                  "(case, spaces and punctuation are ignored)")


def read_alias_rows(lines: Iterable[str], *, source: str = "shipped") -> list[AliasRow]:
    """Rows of an alias CSV (``manufacturer,alias,model``; ``#`` lines are comments)."""
    body = (ln for ln in lines if ln.strip() and not ln.lstrip().startswith("#"))
    out = []
    for row in csv.DictReader(body):
        alias, model = (row.get("alias") or "").strip(), (row.get("model") or "").strip()
        if alias and model:
            out.append(AliasRow((row.get("manufacturer") or "").strip(), alias, model, source))
    return out


@lru_cache(maxsize=1)
def shipped_aliases() -> ModelAliases:
    """The alias table shipped in ``resources/model_aliases.csv``."""
    import resources

    with open(resources.path("model_aliases.csv"), encoding="utf-8", newline="") as f:
        return ModelAliases(tuple(read_alias_rows(f)))
