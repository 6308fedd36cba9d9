"""Commissioning of one heat meter: the installation checklist, the plausibility
checks of a live readout and the KPIs of the observation window.

Plain Python (no Qt, no database): the Commission wizard of the desktop app
calls these functions and stores what they return. Sources, clause by clause,
are in docs/commissioning.md.

* :data:`CHECKLIST`: the installation checklist (EN 1434-6, MMS 1.1 and 1.2),
  each item answered ``yes``, ``no`` or ``na`` with a note;
  :func:`checklist_problems` says which required answers or notes are missing.
* Plausibility checks, each returning a :class:`CheckResult` (``pass``,
  ``warn`` or ``fail`` with the numbers): :func:`check_temperature_order`,
  :func:`check_dtheta_range`, :func:`check_flow_range`,
  :func:`check_energy_increment` (k·V·Δθ with k from IAPWS-IF97),
  :func:`check_clock`, :func:`check_status`. :func:`plausibility` runs all of
  them on readouts.
* Observation window: :func:`expected_polls`, :func:`data_completeness`
  (HNTAS SS-KPI-02), :func:`vwaft` (SS-KPI-09A, Σθ·V / ΣV),
  :func:`observation_kpis`.
* The monitoring point: :func:`check_data_items` (MMS Annex A data items and
  read frequency), :func:`check_vwaft_setpoint` (SS-KPI-09A at SS2),
  :func:`check_approach` (SS-KPI-12 from SS1 and SS2).
* Registers and time: :func:`energy_registers` / :func:`finest` (the finest
  energy register a meter offers), :func:`conclusive_after_s` (how long to
  observe for a conclusive energy-increment check).

Modules: ``checklist`` (the items and what is missing), ``checks`` (the
meter's rating and the plausibility checks of a readout), ``resolution``
(registers and their steps), ``points`` (the monitoring point's checks),
``observation`` (the window's KPIs), ``verdict`` (check results and the
overall verdict).
Every name is importable from ``app.core.commissioning`` itself.
"""
from __future__ import annotations

from app.core.commissioning.checklist import (ANSWER_WORDS, ANSWERS, CHECKLIST, CHECKLIST_BY_KEY, ChecklistItem,
                                              Problem, checklist_problems, nonconformities)
from app.core.commissioning.checks import (CLOCK_PASS_S, CLOCK_WARN_S, KIND_BY_MEDIUM, POSITION_BY_MEDIUM,
                                           STATUS_ERROR_MASK, STATUS_MANUFACTURER_MASK, MeterRating, ReadoutValues,
                                           check_clock, check_dtheta_range, check_energy_increment, check_flow_range,
                                           check_status, check_temperature_order, heat_coefficient_kwh_m3k,
                                           operating_point_mpe, plausibility, readout_values)
from app.core.commissioning.observation import (COMPLETENESS_THRESHOLD_PCT, Completeness, ObservationSample,
                                                data_completeness, expected_polls, observation_kpis, vwaft)
from app.core.commissioning.points import (APPROACH_MAX_K, DATA_ITEMS, THERMAL_POINTS, VWAFT_TOLERANCE_K,
                                           DataItem, approach_temperature, check_approach, check_data_items,
                                           check_vwaft_setpoint)
from app.core.commissioning.resolution import (RegisterReading, conclusive_after_s, energy_registers, finest,
                                               human_duration, record_step, register_step, volume_registers)
from app.core.commissioning.verdict import (FAIL, PASS, STATUSES, VERDICT_WORDS, WARN, CheckResult, overall_verdict,
                                            worst)

__all__ = [
    "ANSWERS", "ANSWER_WORDS", "CHECKLIST", "CHECKLIST_BY_KEY", "ChecklistItem", "Problem", "checklist_problems",
    "nonconformities", "KIND_BY_MEDIUM", "POSITION_BY_MEDIUM", "MeterRating", "operating_point_mpe",
    "check_temperature_order", "check_dtheta_range", "check_flow_range", "heat_coefficient_kwh_m3k", "register_step",
    "check_energy_increment", "CLOCK_PASS_S", "CLOCK_WARN_S", "check_clock", "STATUS_ERROR_MASK",
    "STATUS_MANUFACTURER_MASK", "check_status", "ReadoutValues", "readout_values", "plausibility",
    "expected_polls", "COMPLETENESS_THRESHOLD_PCT", "Completeness", "data_completeness", "vwaft", "ObservationSample",
    "observation_kpis", "PASS", "WARN", "FAIL", "STATUSES", "CheckResult", "worst", "overall_verdict", "VERDICT_WORDS",
    "DATA_ITEMS", "THERMAL_POINTS", "DataItem", "check_data_items", "VWAFT_TOLERANCE_K", "check_vwaft_setpoint",
    "APPROACH_MAX_K", "approach_temperature", "check_approach", "RegisterReading", "energy_registers",
    "volume_registers", "finest", "record_step", "conclusive_after_s", "human_duration",
]
