"""Results of the plausibility checks (pass, warn, fail) and the record's overall verdict."""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from app.core.commissioning.checklist import nonconformities

PASS, WARN, FAIL = "pass", "warn", "fail"
STATUSES = (PASS, WARN, FAIL)


@dataclass
class CheckResult:
    """One plausibility check: ``status`` pass/warn/fail, a one-line ``message`` with
    the numbers, and the numbers themselves in ``values``."""

    key: str
    title: str
    status: str
    message: str
    values: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> CheckResult:
        return cls(d["key"], d.get("title", d["key"]), d["status"], d.get("message", ""), dict(d.get("values") or {}))


def worst(statuses: Iterable[str]) -> str:
    """fail beats warn beats pass (no statuses: pass)."""
    s = set(statuses)
    return FAIL if FAIL in s else WARN if WARN in s else PASS


def _f(v: float | None, digits: int = 2) -> str:
    return "?" if v is None else f"{v:.{digits}f}"


def overall_verdict(answers: Mapping[str, Any], checks: Sequence[CheckResult | Mapping[str, Any]]) -> str:
    """``conforms``, ``conforms_with_remarks`` (a warning somewhere) or
    ``does_not_conform`` (a checklist ``no`` or a failed check)."""
    statuses = [c.status if isinstance(c, CheckResult) else c.get("status") for c in checks]
    if nonconformities(answers) or FAIL in statuses:
        return "does_not_conform"
    if WARN in statuses:
        return "conforms_with_remarks"
    return "conforms"


VERDICT_WORDS = {"conforms": "Conforms", "conforms_with_remarks": "Conforms, with remarks",
                 "does_not_conform": "Does not conform"}
