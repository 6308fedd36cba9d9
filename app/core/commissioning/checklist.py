"""The installation checklist (EN 1434-6, MMS 1.1 and 1.2): its items, and which answers or notes are missing."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

ANSWERS = ("yes", "no", "na")
ANSWER_WORDS = {"yes": "Yes", "no": "No", "na": "n.a."}


@dataclass(frozen=True)
class ChecklistItem:
    """One question of the installation checklist.

    ``key`` is what the register stores (never change it once released);
    ``text`` the question as the technician reads it; ``clause`` where it comes
    from. ``yes`` always means "conforms". A ``no`` always needs a note (what is
    wrong); an ``na`` needs one unless ``na_normal`` (n.a. is a normal answer
    there, e.g. heating-only networks). ``note_on_yes`` asks for a note even on
    yes (e.g. the year of the MID marking) with ``note_hint`` as the prompt.
    """

    key: str
    text: str
    clause: str
    required: bool = True
    na_normal: bool = False
    note_on_yes: bool = False
    note_hint: str = ""

    def note_needed(self, answer: str | None) -> bool:
        if answer == "no":
            return True
        if answer == "na":
            return not self.na_normal
        if answer == "yes":
            return self.note_on_yes
        return False


CHECKLIST: tuple[ChecklistItem, ...] = (
    ChecklistItem(
        "sensors_in_marked_pipes",
        "Each temperature sensor is in the pipe its marking names: the flow sensor (red tag / 'flow') in the "
        "flow pipe, the return sensor (blue tag / 'return') in the return pipe.",
        "MMS 1.2.1; EN 1434-6 (temperature sensor installation)"),
    ChecklistItem(
        "flow_sensor_position",
        "The flow (volume) sensor is in the pipe the calculator is set for — flow or return — as shown on "
        "the calculator's label or configuration.",
        "MMS 1.2.1 (positioning); EN 1434-1 (k depends on the flow sensor's position)"),
    ChecklistItem(
        "flow_direction",
        "The arrow on the flow sensor points the way the water flows.",
        "MMS 1.2.1 (orientation); EN 1434-6"),
    ChecklistItem(
        "straight_lengths",
        "The straight pipe before and after the flow sensor is at least as long as the manufacturer's "
        "instructions require.",
        "MMS 1.2.1; EN 1434-6", note_on_yes=True,
        note_hint="Straight lengths before / after the flow sensor, e.g. '10 DN / 5 DN'"),
    ChecklistItem(
        "air_and_particulates",
        "Air cannot collect at the flow sensor (not at a high point of the pipe; the system is vented) and "
        "particulates are kept out (a clean strainer or dirt separator before it).",
        "MMS 1.2.1 (\"air ingress and particulates can also have a detrimental effect on the readings\"); "
        "EN 1434-6"),
    ChecklistItem(
        "no_clamp_on",
        "No clamp-on temperature or flow sensor is used.",
        "MMS 1.1.3"),
    ChecklistItem(
        "seals",
        "Seals are fitted and intact on the calculator, the flow sensor and both temperature sensors, and "
        "the enclosure is locked or tamper-proofed.",
        "MMS 1.2.3; EN 1434-6 (sealing)"),
    ChecklistItem(
        "accessible",
        "The meter and its calculator can be reached for maintenance, calibration and reading (not behind a "
        "ceiling or wall panel without an access hatch).",
        "MMS 1.2.1, 1.2.4"),
    ChecklistItem(
        "display_readable",
        "The display (or an extra display) can be read easily and safely without a ladder or platform: "
        "kWh, temperatures and the serial number.",
        "MMS 1.2.5"),
    ChecklistItem(
        "mid_marking",
        "The meter carries the CE and M marking with its year (e.g. M24), or a UK meter examiner's stamp, "
        "and its serial number.",
        "MMS 1.2.7; MID 2014/32/EU", note_on_yes=True, note_hint="Year of the M marking, e.g. M24"),
    ChecklistItem(
        "accuracy_class",
        "The rating plate states accuracy class 1 or 2 (MID class 2 or better).",
        "MMS 1.1.2; EN 1434-1"),
    ChecklistItem(
        "no_moving_parts",
        "The flow sensor has no moving parts (ultrasonic or electromagnetic, not a vane, turbine or "
        "Woltmann meter).",
        "MMS 1.1.11"),
    ChecklistItem(
        "no_pulse_output",
        "Energy and volume are read from the meter's own registers over M-Bus; no pulse output is used.",
        "MMS 1.1.10"),
    ChecklistItem(
        "fluid",
        "The meter is specified for this heat transfer fluid and its temperatures (water, or the glycol mix "
        "named on its plate).",
        "MMS 1.1.6"),
    ChecklistItem(
        "environmental_class",
        "The meter's environmental class suits this location: A (indoor), B (outdoor) or C (industrial), "
        "with its mechanical (M1-M3) and electromagnetic (E1, E2) classes, as on the rating plate.",
        "MMS 1.1.4; EN 1434-1 (environmental classes)", note_on_yes=True,
        note_hint="Classes on the plate and the location, e.g. 'A, M1, E1 - indoor plant room'"),
    ChecklistItem(
        "static_pressure",
        "The static pressure at the meter is at least the manufacturer's minimum at all times (no cavitation "
        "at the flow sensor).",
        "MMS 1.1.12", note_on_yes=True,
        note_hint="Pressure at the meter and the manufacturer's minimum, e.g. '2.4 bar; minimum 1.0 bar'"),
    ChecklistItem(
        "power",
        "Battery rated for at least 10 years at the monitoring point's read interval, or mains power with "
        "non-volatile memory or battery back-up.",
        "MMS 1.1.8, 1.1.9"),
    ChecklistItem(
        "heat_cooling_registers",
        "Where one system gives both heating and cooling: separate heating and cooling registers "
        "(n.a. for heating only).",
        "MMS 1.1.13", na_normal=True),
    ChecklistItem(
        "competent_installer",
        "The meter was installed by a competent installer (name or company in the note).",
        "MMS 1.2.2", required=False),
)

CHECKLIST_BY_KEY: dict[str, ChecklistItem] = {i.key: i for i in CHECKLIST}


@dataclass(frozen=True)
class Problem:
    """A checklist item that cannot be accepted as it is: ``field`` is ``answer`` or ``note``."""

    key: str
    field: str
    message: str


def _answer(a: Any) -> tuple[str | None, str]:
    if isinstance(a, Mapping):
        ans, note = a.get("answer"), a.get("note")
    else:
        ans, note = a, None
    ans = None if ans in (None, "") else str(ans).lower()
    return ans, (note or "").strip()


def checklist_problems(answers: Mapping[str, Any],
                       items: Sequence[ChecklistItem] = CHECKLIST) -> list[Problem]:
    """What is missing, in checklist order: required items without an answer, answers
    that are not yes/no/na, and notes the answer needs (a ``no``, an unusual ``na``,
    the year of the MID marking)."""
    out: list[Problem] = []
    for item in items:
        ans, note = _answer(answers.get(item.key))
        if ans is None:
            if item.required:
                out.append(Problem(item.key, "answer", "Answer this item: yes, no or n.a."))
            continue
        if ans not in ANSWERS:
            out.append(Problem(item.key, "answer", f"'{ans}' is not an answer: choose yes, no or n.a."))
            continue
        if item.note_needed(ans) and not note:
            if ans == "yes":
                what = item.note_hint or "Add the note this item asks for."
            elif ans == "no":
                what = "Say in the note what is wrong (a 'no' needs a note)."
            else:
                what = "Say in the note why this does not apply (an 'n.a.' here needs a note)."
            out.append(Problem(item.key, "note", what))
    return out


def nonconformities(answers: Mapping[str, Any], items: Sequence[ChecklistItem] = CHECKLIST) -> list[str]:
    """Keys of items answered ``no`` (the installation does not conform there)."""
    return [i.key for i in items if _answer(answers.get(i.key))[0] == "no"]

