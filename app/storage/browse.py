"""Fast browsing of a large register: what the Register page's table needs.

The desktop app's table shows every meter (100,000 and more); it must open at
once, scroll anywhere smoothly and filter while the user types. It works in
three parts, all plain Python (no Qt):

1. :func:`first_page` — the first rows in register order and the count, two
   cheap queries: the table paints with them while the rest loads.
2. :class:`BrowseIndex` (``app.storage.browse_index``) — one narrow read of
   every meter's identity, place and sortable values (packed by the server on
   PostgreSQL). Filtering, sorting and the counts behind the filter lists are
   then numpy operations in memory (milliseconds at a million meters, the
   search words a little more) that give the ordered ids of the matching
   meters.
3. :func:`meters_by_id` — the rows the view shows, fetched a page at a time by
   primary key: constant time at any depth, so the table is a window onto the
   id list rather than a copy of the register.

The filters have the register's meaning (``Register.list_meters``): make as
written or its FLAG code, model in any case, status, every search word in
make, model, serial, secondary address, location, site, building or
monitoring point; restricted meters (MMS 2.2.5) left out unless asked for.
Also: each meter's due state from the maintenance schedule
(:func:`due_states`), and the check of an edited cell with the import's rules
(:func:`check_edit`). This module only reads; writes go through
:class:`~app.storage.register.Register` (one transaction each, logged).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from app.core.schedule_columns import FLAG_TUPLES
from app.storage import tabular
from app.storage.browse_index import (DUE_STATES, FLAG_PREFIX, NOT_SCHEDULED, SORT_KEYS, BrowseIndex, DueInfo,
                                      Filters)
from app.storage.records import MeterRecord
from app.storage.register import Register


def first_page(reg: Register, filters: Filters = Filters(), limit: int = 200) -> tuple[list[MeterRecord], int]:
    """The first ``limit`` meters in register order (make, serial) and how many match (``due`` ignored)."""
    kw = filters.list_kwargs()
    return reg.list_meters(limit=limit, **kw), reg.count_meters(**kw)


def meters_by_id(reg: Register, ids: Sequence[int]) -> list[MeterRecord]:
    """The meters with these ids, in the order given (ids no longer in the register are left out)."""
    return reg.meters_by_id(ids)


# ---- due state (maintenance schedule) ---------------------------------------------

def due_states(reg: Register, as_of: dt.date | None = None, *, horizon_months: int = 12) -> dict[int, DueInfo]:
    """Each scheduled meter's state, due date and reason on ``as_of`` (default today).

    The planning service's schedule (``app.storage.planning.schedule``: the
    maintenance spec's states, with stored lot verdicts, recalibrations and
    re-installations after repair) over the meters in service, restricted ones
    (MMS 2.2.5) included, with each meter's flags. The others are absent from
    the map (``NOT_SCHEDULED``).
    """
    from app.storage import planning

    s = planning.schedule(reg, as_of or dt.date.today(), horizon_months=horizon_months)
    rows = s.rows
    if not hasattr(rows, "plan_idx"):
        return {int(r.meter_id): DueInfo(r.state, r.due_date, r.reason, r.flags) for r in rows}
    # one DueInfo per distinct (schedule, flags): a million meters share a few thousand
    shared: dict[tuple[int, int], DueInfo] = {}
    infos = []
    for pi, b in zip(rows.plan_idx.tolist(), rows.bits.tolist()):
        info = shared.get((pi, b))
        if info is None:
            st = rows.plans[pi]
            info = shared[(pi, b)] = DueInfo(st[0], st[1], st[2], FLAG_TUPLES[b])
        infos.append(info)
    return dict(zip(s.data.ids.tolist(), infos))


# ---- editing one cell -----------------------------------------------------------

#: Fields the table lets a user edit in place (make, serial and place have their own actions).
EDITABLE_FIELDS = (
    "model", "location", "mid_class", "qp_m3h", "qi_m3h", "qp_qi_ratio", "dn", "install_date",
    "primary_address", "secondary_address", "battery_expiry", "flow_sensor_position", "status", "notes",
    "mbus_manufacturer", "qs_m3h", "dtheta_min_k", "dtheta_max_k", "temp_min_c", "temp_max_c", "baud",
)
_CROSS = ("qp_m3h", "qi_m3h", "qp_qi_ratio", "dtheta_min_k", "dtheta_max_k")


def cell_text(rec: MeterRecord, field: str) -> str:
    """A field of a meter as the spreadsheet writes it (what an editor starts from)."""
    if field == "install_date":
        return tabular.format_install_date(rec.install_date, rec.install_year_only)
    return tabular.format_value(getattr(rec, field))


def check_edit(rec: MeterRecord, field: str, text: str) -> tuple[dict[str, Any], str | None]:
    """Check a new cell value with the import's rules (docs/import-format.md).

    Returns ``(changes, None)`` for ``update_meter`` (empty when nothing
    changes), or ``({}, reason)`` with the one-line reason it is refused.
    Cross-field rules (qi below qp, the qp/qi ratio, the Δθ limits) see the
    meter's other values.
    """
    if field not in EDITABLE_FIELDS:
        return {}, f"{field} cannot be edited here"
    raw = (text or "").strip()
    if field == "model" and not raw:
        return {}, "empty model"
    cells: dict[str, Any] = {field: raw}
    if field in _CROSS:
        for other in _CROSS:
            if other != field:
                cells[other] = getattr(rec, other)
    values, errors = tabular.check_row(cells)
    errors = [e for e in errors if e != "empty install_date"]
    if errors:
        return {}, "; ".join(errors)
    new = values[field]
    if field == "install_date":
        year_only = bool(values.get("install_year_only"))
        if new != rec.install_date or year_only != rec.install_year_only:
            return {"install_date": new, "install_year_only": year_only}, None
        return {}, None
    return ({field: new} if new != getattr(rec, field) else {}), None


__all__ = ["DUE_STATES", "NOT_SCHEDULED", "FLAG_PREFIX", "SORT_KEYS", "EDITABLE_FIELDS", "Filters", "DueInfo", "BrowseIndex",
           "first_page", "meters_by_id", "due_states", "check_edit", "cell_text"]
