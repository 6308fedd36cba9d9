"""ISO 2859-1:1999 single sampling plans (Tables 1 and 2-A/2-B/2-C) and OC curves.

The tables are data files under ``resources/iso2859/`` (see the README there
for their source and cross-checks). A plan is found by reading the code letter
from Table 1, then following the arrows of Table 2-A/B/C in the AQL column to
the first plan below (``v``) or above (``^``).
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache

from app.core.errors import InputError

LEVELS = ("S-1", "S-2", "S-3", "S-4", "I", "II", "III")
INSPECTIONS = ("normal", "tightened", "reduced")
_TABLE_FILES = {"normal": "table_2a_normal.csv", "tightened": "table_2b_tightened.csv", "reduced": "table_2c_reduced.csv"}


@dataclass(frozen=True, slots=True)
class _Table2:
    letters: tuple[str, ...]
    sizes: tuple[int, ...]
    aqls: tuple[float, ...]
    aql_labels: tuple[str, ...]
    cells: tuple[tuple[str, ...], ...]  # [letter][aql]


def _path(name: str):
    import resources

    return resources.path("iso2859", name)


@lru_cache(maxsize=1)
def table1() -> tuple[tuple[int, int | None, dict[str, str]], ...]:
    """Rows (lot_min, lot_max or None, {level: letter}) of Table 1."""
    with open(_path("table_1_code_letters.csv"), newline="", encoding="utf-8") as fh:
        rows = []
        for r in csv.DictReader(fh):
            hi = int(r["lot_size_max"]) if r["lot_size_max"] else None
            rows.append((int(r["lot_size_min"]), hi, {lv: r[lv] for lv in LEVELS}))
        return tuple(rows)


@lru_cache(maxsize=3)
def table2(inspection: str) -> _Table2:
    if inspection not in INSPECTIONS:
        raise InputError("inspection", f"must be one of {', '.join(INSPECTIONS)}, not {inspection!r}")
    with open(_path(_TABLE_FILES[inspection]), newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    labels = tuple(rows[0][2:])
    return _Table2(letters=tuple(r[0] for r in rows[1:]), sizes=tuple(int(r[1]) for r in rows[1:]),
                   aqls=tuple(float(a) for a in labels), aql_labels=labels,
                   cells=tuple(tuple(r[2:]) for r in rows[1:]))


def aql_values() -> tuple[float, ...]:
    """The AQLs printed in Table 2 (0.010 … 1000)."""
    return table2("normal").aqls


def _aql_index(t: _Table2, aql: float) -> int:
    for j, a in enumerate(t.aqls):
        if abs(a - aql) <= 1e-9 * max(a, 1.0):
            return j
    raise InputError("aql", f"{aql:g} is not an AQL of ISO 2859-1 Table 2 ({', '.join(t.aql_labels)})")


def code_letter(lot_size: int, level: str = "II") -> str:
    """Table 1 sample size code letter."""
    if level not in LEVELS:
        raise InputError("level", f"must be one of {', '.join(LEVELS)}, not {level!r}")
    if isinstance(lot_size, bool) or not isinstance(lot_size, int) or lot_size < 1:
        raise InputError("lot_size", f"must be a whole number of at least 1, not {lot_size!r}")
    for lo, hi, letters in table1():
        if lot_size <= (hi if hi is not None else lot_size):
            if lot_size >= lo or lo == 2:  # a lot of 1 meter is read with the first row
                return letters[level]
    raise AssertionError("Table 1 covers every lot size")


def table_plan(letter: str, aql: float, inspection: str = "normal") -> tuple[str, int, int, int]:
    """(plan letter, n, Ac, Re as printed) reached from ``letter`` in the AQL column, following arrows."""
    t = table2(inspection)
    j = _aql_index(t, aql)
    try:
        i = t.letters.index(letter)
    except ValueError:
        raise InputError("code_letter", f"{letter!r} is not a code letter of Table 2 ({''.join(t.letters)})") from None
    seen = 0
    while True:
        cell = t.cells[i][j]
        if cell == "v":
            i += 1
        elif cell == "^":
            i -= 1
        elif cell:
            ac, re_ = (int(x) for x in cell.split())
            return t.letters[i], t.sizes[i], ac, re_
        else:
            raise AssertionError(f"unreachable cell {t.letters[i]}/{t.aql_labels[j]} reached in {inspection} table")
        seen += 1
        if not (0 <= i < len(t.letters)) or seen > len(t.letters):
            raise AssertionError(f"arrow leaves the {inspection} table at {letter}/{t.aql_labels[j]}")


@dataclass(frozen=True, slots=True)
class SamplingPlan:
    lot_size: int
    level: str
    aql: float
    inspection: str
    code_letter: str
    plan_letter: str
    table_sample_size: int
    sample_size: int
    acceptance_number: int
    rejection_number: int
    full_inspection: bool

    @property
    def sampling_fraction(self) -> float:
        return self.sample_size / self.lot_size

    def as_dict(self) -> dict:
        out = {
            "lot_size": self.lot_size, "level": self.level, "aql": self.aql, "inspection": self.inspection,
            "code_letter": self.code_letter, "plan_letter": self.plan_letter, "sample_size": self.sample_size,
            "acceptance_number": self.acceptance_number, "rejection_number": self.rejection_number,
            "sampling_fraction": round(self.sampling_fraction, 4),
        }
        if self.full_inspection:
            out["full_inspection"] = True
        return out


def sampling_plan(lot_size: int, level: str = "II", aql: float = 4.0, inspection: str = "normal") -> SamplingPlan:
    """ISO 2859-1 single sampling plan for a lot (MMS 1.3.4 default: level II, AQL 4.0, normal).

    When the plan's n is at least the lot size, every item is inspected
    (``full_inspection``) and ``sample_size`` is the lot size.
    """
    if inspection not in INSPECTIONS:
        raise InputError("inspection", f"must be one of {', '.join(INSPECTIONS)}, not {inspection!r}")
    letter = code_letter(lot_size, level)
    plan_letter, n, ac, re_ = table_plan(letter, aql, inspection)
    full = n >= lot_size
    return SamplingPlan(lot_size=lot_size, level=level, aql=float(aql), inspection=inspection,
                        code_letter=letter, plan_letter=plan_letter, table_sample_size=n,
                        sample_size=lot_size if full else n, acceptance_number=ac, rejection_number=re_,
                        full_inspection=full)


# ----------------------------------------------------------------------------- OC curve

def oc_curve(sample_size: int, acceptance_number: int, lot_size: int | None = None,
             fractions: list[float] | None = None, points: int = 51) -> list[dict]:
    """Probability of acceptance against lot fraction nonconforming p.

    ``pa_binomial`` = P(X ≤ Ac), X ~ Binomial(n, p) (an endless stream of lots);
    ``pa_hypergeometric`` = P(X ≤ Ac), X ~ Hypergeometric(N, D = round(p·N), n)
    for a finite lot of N (only when ``lot_size`` is given; ``defectives_in_lot``
    says which D was used). Without ``fractions`` the grid runs from 0 to the p
    where the binomial Pa falls below 0.1 %, in ``points`` steps.
    """
    from scipy import stats

    n, c = int(sample_size), int(acceptance_number)
    if n < 1:
        raise InputError("sample_size", "must be at least 1")
    if c < 0:
        raise InputError("acceptance_number", "must not be negative")
    if lot_size is not None and lot_size < n:
        raise InputError("lot_size", "is smaller than the sample")
    if fractions is None:
        if c >= n:
            p_end = 1.0
        else:
            # p where Pa = 0.001 (beta quantile of the binomial tail), rounded up.
            p_end = float(stats.beta.ppf(0.999, c + 1, n - c))
            p_end = min(1.0, p_end * 1.05)
        fractions = [p_end * k / (points - 1) for k in range(points)]
    out = []
    for p in fractions:
        if not 0.0 <= p <= 1.0:
            raise InputError("fractions", f"{p!r} is not a fraction in [0, 1]")
        row = {"p": p, "pa_binomial": float(stats.binom.cdf(c, n, p))}
        if lot_size is not None:
            d = round(p * lot_size)
            row["defectives_in_lot"] = d
            row["pa_hypergeometric"] = float(stats.hypergeom.cdf(c, lot_size, d, n))
        out.append(row)
    return out
