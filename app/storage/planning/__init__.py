"""Maintenance planning over the register: sampling lots and the schedule (MMS 1.3.3-1.3.6).

The thin layer between the register (``app.storage.register``) and the pure
planning rules of ``app.core`` (``lots``, ``sampling``, ``schedule``,
``metrology``): it reads what the rules need from the database in a few
narrow queries, calls the rules, and stores what they decide, each write in
one transaction with its event-log entries. The CLI (``heatmeter lots``,
``heatmeter schedule``) and the GUI planner call these functions; they
return plain dicts / dataclasses (JSON-ready) and raise ``RegisterError``
subclasses (one-line messages, ``status`` = CLI exit status) or
``app.core.errors.InputError`` (naming the offending key).

    from app.storage.register import open_register
    from app.storage import planning
    with open_register(url) as reg:
        f = planning.form_lots(reg, as_of=date(2025, 6, 1), sampling_round=9, user="ann")
        planning.draw_lot(reg, f.lots[0]["id"], seed=20250601)
        planning.record_results(reg, lot_id, [planning.ResultEntry("Kamstrup", "123", error_pct=1.2)])
        planning.decide_lot(reg, lot_id, decided_on=date(2025, 9, 1))
        s = planning.schedule(reg, as_of=date(2025, 6, 1), horizon_months=12)

See docs/planning.md for the rules this module applies where MMS and the
maintenance spec are silent (eligibility for a sampling round, the start of a
meter's 10-year clock, re-installation after repair, defaults of a single
error figure).

Modules: ``loading`` (the register as the rules see it), ``scheduling`` (the
schedule), ``lots`` (forming, drawing, deciding, viewing lots), ``results``
(judging and storing test results), ``results_file`` (reading a lab's
results). Everything they store goes through the register's own methods
(``app.storage.register``); they read in ``Register.reading()``.
"""
from __future__ import annotations

from app.storage.planning.loading import (CHUNK, PURPOSES, REPAIR_WORD, ROUND_OF_PURPOSE, MeterLots, PlanningData,
                                          bulk_objects, clock_start, load_planning_data)
from app.storage.planning.lots import (Formation, UnknownLot, alias_table, decide_lot, draw_lot, eligibility, form_lots, list_lots,
                                       lot_summary, show_lot)
from app.storage.planning.results import DEFAULT_SUBASSEMBLY, ResultEntry, check_results, evaluate_entry, record_results
from app.storage.planning.results_file import RESULT_COLUMNS, read_points_json, read_results_csv
from app.storage.planning.scheduling import SCHEDULE_CSV_COLUMNS, PlanningSchedule, schedule
from app.storage.register import SUBASSEMBLIES

__all__ = [
    "CHUNK", "PURPOSES", "REPAIR_WORD", "ROUND_OF_PURPOSE", "SUBASSEMBLIES", "DEFAULT_SUBASSEMBLY",
    "MeterLots", "PlanningData", "bulk_objects", "clock_start", "load_planning_data",
    "SCHEDULE_CSV_COLUMNS", "PlanningSchedule", "schedule",
    "Formation", "UnknownLot", "eligibility", "form_lots", "draw_lot", "decide_lot", "lot_summary", "list_lots",
    "show_lot", "ResultEntry", "evaluate_entry", "record_results", "check_results", "alias_table", "RESULT_COLUMNS", "read_points_json",
    "read_results_csv",
]
