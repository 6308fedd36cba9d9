"""The maintenance schedule and the sampling lots, for ``heatmeter schedule|lots`` and the Planner page.

Functions over ``app.storage.planning`` (which applies the rules of
``app.core`` to the register and stores what they decide): each takes the open
register, does its database work and returns plain data. They raise what the
planning layer raises (``InputError`` naming a key, ``RegisterError`` with a
one-line message and an exit status); :func:`guarded` turns those user
mistakes into a :class:`Failure` value instead, for the app's worker tasks, so
that the page can put the message next to the field it names.

The lot round: :func:`form_lots` -> :func:`draw_lot` -> :func:`record_results`
(or :func:`import_results`, a lab's CSV) -> :func:`decide_lot`; to look:
:func:`list_lots`, :func:`show_lot`, :func:`lot_detail` (with what the verdict
means for each member and the OC curve). The schedule: :func:`schedule` (the
planning layer's result, CSV and JSON), :func:`load_due` (counts per month and
site and the rows of the Planner page's Due view).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from app.core.errors import InputError
from app.core.schedule_rules import FLAG_WORDS

#: The due states drawn as bars, bottom to top (in_service is never "due").
DUE_STATES = ("overdue", "recalibrate_or_replace_due", "sampling_due", "battery_due")
STATE_TITLES = {"overdue": "Overdue", "recalibrate_or_replace_due": "Recalibrate or replace",
                "sampling_due": "Sampling", "battery_due": "Battery", "in_service": "In service"}
REASONS = {"sampling_9y": "lot sampling at 9 years", "sampling_13y": "lot sampling at 13 years",
           "recalibrate_or_replace_10y": "recalibrate or replace at 10 years",
           "recalibrate_or_replace_14y": "recalibrate or replace at 14 years",
           "recalibrate_or_replace_18y": "recalibrate or replace at 18 years",
           "battery_end_of_life_minus_1y": "battery: a year before its end of life",
           "install_date_unknown": "install date unknown"}
LIST_COLUMNS = ("meter_id", "manufacturer", "serial", "model", "site", "state", "due_date", "reason",
                "clock_start", "lot_id", "lot_verdict", "deadlines", "flags")
REASONS.update({"failed_recalibration": "recalibration failed: replace", "defective_in_passed_lot":
                "defective in its lot's test: replace"})
#: Words for the deadline kinds and flags (app.core.schedule) in lists and charts.
DEADLINE_TITLES = {"replace": "Recalibrate or replace", "sampling_9y": "Sampling at 9 years",
                   "sampling_13y": "Sampling at 13 years", "battery": "Battery"}
FLAG_TITLES = FLAG_WORDS


@dataclass
class Failure:
    """A user mistake, to be shown in the page (``key``: the input it names, if any)."""

    message: str
    key: str | None = None


def guarded(fn: Callable, *args: Any, **kw: Any) -> Any:
    """``fn(*args, **kw)``, with user mistakes returned as a :class:`Failure`."""
    from app.storage.errors import RegisterError

    try:
        return fn(*args, **kw)
    except InputError as exc:
        return Failure(f"{exc.key}: {exc.message}", exc.key)
    except RegisterError as exc:
        return Failure(" ".join(str(exc).split()))


# ============================================================================ due

@dataclass
class DueData:
    as_of: dt.date
    horizon_months: int
    horizon_end: dt.date
    site: str | None
    totals: dict[str, int]
    by_month: dict[str, dict[str, int]]
    by_site: dict[str, dict[str, int]]
    rows: list[dict[str, Any]]
    sites: list[str]
    lots: list[dict[str, Any]] = field(default_factory=list)
    due_rows: list[dict[str, Any]] = field(default_factory=list)   # every row but in_service, in list order
    deadlines_by_month: dict[str, dict[str, int]] = field(default_factory=dict)  # month -> kind -> deadlines
    overdue_by_kind: dict[str, int] = field(default_factory=dict)
    flag_totals: dict[str, int] = field(default_factory=dict)

    def months(self) -> list[str]:
        """Every month of the horizon, "YYYY-MM", from the as-of month on."""
        out = []
        y, m = self.as_of.year, self.as_of.month
        end = (self.horizon_end.year, self.horizon_end.month)
        while (y, m) <= end:
            out.append(f"{y:04d}-{m:02d}")
            m += 1
            if m > 12:
                y, m = y + 1, 1
        return out

    def select(self, *, month: str | None = None, site: str | None = None, state: str | None = None,
               overdue_only: bool = False) -> list[dict[str, Any]]:
        """The meters behind a bar: due in ``month`` (YYYY-MM) and/or at ``site``, in ``state``."""
        if month is None and site is None and state is None and not overdue_only:
            return list(self.due_rows)
        out = []
        h0, h1 = self.as_of.isoformat(), self.horizon_end.isoformat()
        for r in self.due_rows:
            if state is not None and r["state"] != state:
                continue
            if overdue_only and r["state"] != "overdue":
                continue
            if site is not None and (r["site"] or "") != site:
                continue
            if month is not None:
                d = r["due_date"]
                if r["state"] == "overdue" or d is None or not (h0 <= d < h1) or d[:7] != month:
                    continue
            out.append(r)
        return out


#: The chart's colour (a due state) of each deadline kind when the chart counts deadlines.
KIND_STATE = {"replace": "recalibrate_or_replace_due", "sampling_9y": "sampling_due", "sampling_13y": "sampling_due",
              "battery": "battery_due"}


def deadlines_as_states(d: DueData) -> tuple[dict[str, dict[str, int]], int]:
    """Every deadline within the horizon per month, counted under the state colour of its kind, and the
    deadlines already overdue: what the per-month chart shows when it counts deadlines, not meters."""
    out: dict[str, dict[str, int]] = {}
    for month, kinds in d.deadlines_by_month.items():
        m = out.setdefault(month, {})
        for kind, n in kinds.items():
            st = KIND_STATE[kind]
            m[st] = m.get(st, 0) + n
    return out, sum(d.overdue_by_kind.values())


def select_deadlines(d: DueData, *, month: str | None = None, state: str | None = None,
                     overdue: bool = False) -> list[dict[str, Any]]:
    """The meters with a deadline (of the kinds drawn as ``state``) in ``month``, or overdue ones."""
    h0, h1 = d.as_of.isoformat(), d.horizon_end.isoformat()
    out = []
    for r in d.rows:
        for dl in r["deadlines"]:
            if state is not None and KIND_STATE[dl["kind"]] != state:
                continue
            if overdue:
                if dl["date"] < h0:
                    out.append(r)
                    break
            elif h0 <= dl["date"] < h1 and (month is None or dl["date"][:7] == month):
                out.append(r)
                break
    return out


def schedule(reg, as_of: dt.date, *, horizon_months: int = 12, site: str | None = None, plan_sampling: bool = True):
    """Every meter's maintenance state and due date on ``as_of`` (``app.storage.planning.PlanningSchedule``:
    ``as_dict()``, ``write_csv()``, ``meter_rows()``). ``plan_sampling`` False: the operator replaces at
    10 years, no 9/13-year sampling events."""
    from app.storage import planning

    return planning.schedule(reg, as_of, horizon_months=horizon_months, site=site, plan_sampling=plan_sampling)


def load_due(reg, as_of: dt.date, horizon_months: int, site: str | None = None,
             plan_sampling: bool = True) -> DueData:
    """The schedule of the register (or one site) on ``as_of`` over ``horizon_months``, as the Due view shows it:
    counts per month and per site, and every meter's row with its state and reason in words."""
    from app.storage import planning

    s = schedule(reg, as_of, horizon_months=horizon_months, site=site, plan_sampling=plan_sampling)
    with planning.bulk_objects():
        rows = list(s.meter_rows())
    # the words the list shows, and its order (due date, make, serial), made here rather than on the GUI thread
    for r in rows:
        r["state_text"] = STATE_TITLES.get(r["state"], r["state"])
        r["reason_text"] = REASONS.get(r["reason"], r["reason"])
        r["flags_text"] = ", ".join(FLAG_TITLES.get(f, f) for f in r["flags"])
        r["deadlines_text"] = "; ".join(f"{DEADLINE_TITLES.get(d['kind'], d['kind'])} {d['date']}"
                                        for d in r["deadlines"])
    rows.sort(key=lambda r: (r["due_date"] or "", r["manufacturer"] or "", r["serial"] or ""))
    sites = sorted(x["name"] for x in reg.list_sites())
    sch = s.schedule
    return DueData(as_of=as_of, horizon_months=horizon_months, horizon_end=sch.horizon_end, site=site,
                   totals=dict(sch.totals), by_month={k: dict(v) for k, v in sch.by_month.items()},
                   by_site={k: dict(v) for k, v in sch.by_site.items()}, rows=rows, sites=sites,
                   lots=planning.list_lots(reg), due_rows=[r for r in rows if r["state"] != "in_service"],
                   deadlines_by_month={k: dict(v) for k, v in (sch.deadlines_by_month or {}).items()},
                   overdue_by_kind=dict(sch.overdue_by_kind or {}), flag_totals=dict(sch.flag_totals or {}))


def write_rows_csv(path: str, rows: list[dict[str, Any]], columns: tuple[str, ...] = LIST_COLUMNS) -> int:
    """The meters of a list as CSV (UTF-8 with BOM for spreadsheet programs, written atomically, no live
    formula), with the reason, every deadline and the flags of each."""
    from app.storage.exports import write_csv

    def cell(r, c):
        v = r.get(c)
        if c == "deadlines" and isinstance(v, list):
            return "; ".join(f"{d['kind']} {d['date']}" for d in v)
        if c == "flags" and isinstance(v, list):
            return "; ".join(v)
        return v

    return write_csv(path, columns, ([cell(r, c) for c in columns] for r in rows))


# ============================================================================ lots

def list_lots(reg) -> list[dict[str, Any]]:
    """Every lot with its state (size, plan, drawn, results, defectives, verdict)."""
    from app.storage import planning

    return planning.list_lots(reg)


def show_lot(reg, lot_id: int) -> dict[str, Any]:
    """One lot: key, plan, members, draw (and whether it reproduces from its seed), results, verdict."""
    from app.storage import planning

    return planning.show_lot(reg, lot_id)


def lot_exists(reg, lot_id: int) -> bool:
    return any(lt["id"] == lot_id for lt in list_lots(reg))


def first_decided_lot(reg) -> int | None:
    """The lot most worth showing first: the newest passed, else failed, testing, drawn; else the newest."""
    lots = [lt for lt in list_lots(reg) if lt.get("round")]
    for status in ("verdict_pass", "verdict_fail", "testing", "drawn"):
        for lt in reversed(lots):
            if lt["status"] == status:
                return lt["id"]
    return lots[-1]["id"] if lots else None


def lot_detail(reg, lot_id: int, oc_points: int = 61) -> dict[str, Any]:
    """Everything the lot view and the lot report show: ``show_lot`` plus what the verdict means for each
    member (stored verdict, or the verdict so far) and the OC curve of the lot's plan."""
    from app.core.sampling import oc_curve

    lot = show_lot(reg, lot_id)
    consequences = None
    if lot["draw"] is not None:
        vr = lot["verdict_record"]
        on = dt.date.fromisoformat(vr["decided_on"]) if vr and vr.get("decided_on") else None
        consequences = decide_lot(reg, lot_id, on=on, store=False)
    plan = lot["plan"] or {}
    n, ac, size = plan.get("sample_size") or lot["sample_size"], plan.get("acceptance_number", 0), lot["lot_size"]
    curve = oc_curve(n, ac, lot_size=size, points=oc_points)
    lot["consequences"] = consequences
    lot["oc_curve"] = curve
    lot["observed"] = observed_point(lot, consequences)
    return lot


def observed_point(lot: dict[str, Any], consequences: dict[str, Any] | None) -> dict[str, Any] | None:
    """The lot's outcome on its OC curve: observed fraction defective d/n and Pa there (binomial and
    hypergeometric with D = round(p·N)); None before any meter is tested."""
    from app.core.sampling import oc_curve

    if not consequences or not consequences.get("tested"):
        return None
    d, tested = consequences["defectives"], consequences["tested"]
    p = d / tested
    plan = lot["plan"] or {}
    n, ac = plan.get("sample_size") or lot["sample_size"], plan.get("acceptance_number", 0)
    row = oc_curve(n, ac, lot_size=lot["lot_size"], fractions=[p])[0]
    return {"defectives": d, "tested": tested, "p": p, "pa_binomial": row["pa_binomial"],
            "pa_hypergeometric": row["pa_hypergeometric"], "defectives_in_lot": row["defectives_in_lot"]}


def form_lots(reg, *, as_of: dt.date, sampling_round: int = 9, window_months: int = 12, key=None,
              site: str | None = None, all_meters: bool = False, level: str = "II", aql: float = 4.0,
              inspection: str = "normal", dry_run: bool = False, user: str | None = None,
              lead_months: int | None = None):
    """Form the lots of the meters due for the ``sampling_round`` (9 or 13 years) and store them unless
    ``dry_run``: an ``app.storage.planning.Formation`` (``as_dict()``: lots with the spellings they merged and
    their warnings, apart, not_eligible). ``lead_months``: months to a verdict (a lot warns when its meters
    reach their deadline sooner)."""
    from app.storage import planning

    kw = {} if key is None else {"key": tuple(key)}
    if lead_months is not None:
        kw["lead_months"] = lead_months
    return planning.form_lots(reg, as_of=as_of, sampling_round=sampling_round, window_months=window_months,
                              site=site, all_meters=all_meters, level=level, aql=aql, inspection=inspection,
                              dry_run=dry_run, user=user, **kw)


def draw_lot(reg, lot_id: int, seed: int, *, spares: int | None = None, force: bool = False,
             user: str | None = None) -> dict[str, Any]:
    """Draw the lot's sample and spares with ``seed`` (reproducible); ``force``: draw a drawn lot again
    (its earlier draw and results are discarded, logged)."""
    from app.storage import planning

    return planning.draw_lot(reg, lot_id, seed, spares=spares, force=force, user=user)


def record_results(reg, lot_id: int, entries: list, *, replace_existing: bool = False, user: str | None = None,
                   tested_on: dt.date | None = None) -> dict[str, Any]:
    """Judge and store test results (``ResultEntry``s) of drawn meters, all or nothing."""
    from app.storage import planning

    return planning.record_results(reg, lot_id, entries, tested_on=tested_on, replace_existing=replace_existing,
                                   user=user)


def read_results_file(path: str, *, subassembly: str | None = None, lab: str | None = None,
                      certificate: str | None = None) -> list:
    """A test lab's results CSV as ``ResultEntry``s; ``subassembly``, ``lab`` and ``certificate`` fill in
    what a row leaves empty."""
    from app.storage import planning

    entries = planning.read_results_csv(path)
    for e in entries:
        e.subassembly = e.subassembly or subassembly
        e.lab = e.lab or lab
        e.certificate = e.certificate or certificate
    return entries


def import_results(reg, lot_id: int, path: str, *, replace_existing: bool = False, user: str | None = None,
                   tested_on: dt.date | None = None, subassembly: str | None = None, lab: str | None = None,
                   certificate: str | None = None) -> dict[str, Any]:
    """A test lab's results CSV, checked row by row (a bad row is named by its line) and stored all or nothing."""
    entries = read_results_file(path, subassembly=subassembly, lab=lab, certificate=certificate)
    return record_results(reg, lot_id, entries, replace_existing=replace_existing, user=user, tested_on=tested_on)


def decide_lot(reg, lot_id: int, *, on: dt.date | None = None, store: bool = True,
               user: str | None = None) -> dict[str, Any]:
    """The lot's verdict on ``on`` (default today) and what it means for each member; stored unless
    ``store`` is False (or the verdict is incomplete)."""
    from app.storage import planning

    return planning.decide_lot(reg, lot_id, decided_on=on, store=store, user=user)


def result_entry(manufacturer: str, serial: str, **kw: Any):
    """One tested meter's result (``app.storage.planning.ResultEntry``): ``error_pct``, or ``points``, or
    ``inaccessible``; with ``subassembly``, ``q_m3h``, ``dtheta_k``, ``mpe_initial_pct``, ``tested_on``,
    ``lab``, ``certificate``."""
    from app.storage.planning import ResultEntry

    return ResultEntry(manufacturer, serial, **kw)


def read_points_file(path: str) -> dict[str, Any]:
    """A JSON file of one meter's calibration points: ``{"points": [...], "subassembly"?, ...}``."""
    from app.storage import planning

    return planning.read_points_json(path)


# ============================================================================ the alias table

def add_alias(reg, manufacturer: str, alias: str, model: str, *, user: str | None = None) -> int:
    """Merge two spellings: ``alias`` is the model ``model`` of ``manufacturer`` (kept in the register, logged)."""
    return reg.add_model_alias(manufacturer, alias, model, user=user)


def aliases(reg) -> list[dict[str, Any]]:
    """The alias table in force: the shipped rows and the register's (which win)."""
    from app.core.lot_keys import shipped_aliases

    rows = [{"id": None, "manufacturer": a.manufacturer, "alias": a.alias, "model": a.model, "source": "shipped"}
            for a in shipped_aliases().rows]
    return rows + [{**a, "source": "register"} for a in reg.model_aliases()]
