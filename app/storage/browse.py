"""Fast browsing of a large register: what the Register page's table needs.

The desktop app's table shows every meter (100,000 and more); it must open at
once, scroll anywhere smoothly and filter while the user types. It works in
three parts, all here and all plain Python (no Qt):

1. :func:`first_page` — the first rows in register order and the count, two
   cheap queries: the table paints with them while the rest loads.
2. :class:`BrowseIndex` — one narrow read of every meter's identity, place and
   sortable values (a few MB for 100,000 meters). Filtering, sorting and the
   counts behind the filter lists are then list operations in memory (tens of
   milliseconds at 100,000 meters) that give the ordered ids of the matching
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
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, NamedTuple

from sqlalchemy import select

from app.storage import tabular
from app.storage.records import MeterRecord
from app.storage.register import B, MP, M, S, Register, manufacturer_key

#: Schedule states (maintenance spec) in the order the app lists them.
DUE_STATES = ("in_service", "sampling_due", "recalibrate_or_replace_due", "battery_due", "overdue")
#: Due "state" of meters the schedule does not cover (not in service, or restricted).
NOT_SCHEDULED = "not_scheduled"


@dataclass(frozen=True)
class Filters:
    """What the table shows: each field narrows the list; None or "" = any.

    ``due`` is a state of ``DUE_STATES`` (or ``NOT_SCHEDULED``); it needs the
    due map of :func:`due_states`.
    """

    site: str | None = None
    make: str | None = None
    model: str | None = None
    status: str | None = None
    search: str | None = None
    due: str | None = None
    include_restricted: bool = False

    def without(self, name: str) -> Filters:
        return replace(self, **{name: None})

    @property
    def active(self) -> bool:
        return any((self.site, self.make, self.model, self.status, (self.search or "").strip(), self.due))

    def list_kwargs(self) -> dict[str, Any]:
        """The same filters as ``Register.list_meters`` arguments (all but ``due``)."""
        return {"site": self.site or None, "make": self.make or None, "model": self.model or None,
                "status": self.status or None, "search": (self.search or "").strip() or None,
                "include_restricted": self.include_restricted}


def first_page(reg: Register, filters: Filters = Filters(), limit: int = 200) -> tuple[list[MeterRecord], int]:
    """The first ``limit`` meters in register order (make, serial) and how many match (``due`` ignored)."""
    kw = filters.list_kwargs()
    return reg.list_meters(limit=limit, **kw), reg.count_meters(**kw)


def meters_by_id(reg: Register, ids: Sequence[int]) -> list[MeterRecord]:
    """The meters with these ids, in the order given (ids no longer in the register are left out)."""
    return reg.meters_by_id(ids)


# ---- the in-memory index ---------------------------------------------------------

# index columns, in the order of the query
_COLS = ("id", "manufacturer_key", "manufacturer", "mbus_manufacturer", "model", "serial", "site_id", "building_id",
         "monitoring_point_id", "location", "status", "restrict_processing", "secondary_address", "install_date",
         "qp_m3h", "qi_m3h", "qp_qi_ratio", "dn", "mid_class", "battery_expiry", "primary_address",
         "flow_sensor_position", "notes")
#: Keys the table can sort by (besides "due" and "due_date", which need the due map).
SORT_KEYS = ("manufacturer", "model", "serial", "site", "building", "location", "monitoring_point", "status",
             "install_date", "qp_m3h", "qi_m3h", "qp_qi_ratio", "dn", "mid_class", "battery_expiry",
             "primary_address", "secondary_address", "flow_sensor_position", "notes")
_TEXT_LAST = "\U0010ffff"


def _raw_rows(conn, query) -> list[tuple]:
    """Rows as plain tuples straight from the driver (no Row objects: several times faster).

    The query has no parameters."""
    sql = str(query.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
    cur = conn.connection.driver_connection.cursor()
    try:
        cur.execute(sql)
        return cur.fetchall()
    finally:
        cur.close()


def _iso(v) -> str | None:
    if v is None or isinstance(v, str):
        return v
    return v.isoformat()


class BrowseIndex:
    """Every meter's filter and sort values, in register order (make, serial).

    Build with :meth:`load` (in a worker: one query). :meth:`select` gives the
    ordered ids for filters and a sort; :meth:`facets` the counts per choice of
    each filter list; :meth:`update` keeps it current after an edit saved
    here. Reads from several threads are safe; :meth:`update` is cheap and
    leaves readers a consistent row.
    """

    def __init__(self, rows: list[tuple], sites: dict[int, str], buildings: dict[int, str],
                 points: dict[int, str], loaded_at: dt.datetime | None = None) -> None:
        self.sites, self.buildings, self.points = sites, buildings, points
        self.loaded_at = loaded_at or dt.datetime.now()
        self._lock = threading.Lock()
        cols = list(zip(*rows)) if rows else [()] * len(_COLS)
        self.col: dict[str, list] = {name: list(c) for name, c in zip(_COLS, cols)}
        for name in ("install_date", "battery_expiry"):
            self.col[name] = [_iso(v) for v in self.col[name]]
        self.col["restrict_processing"] = [bool(v) for v in self.col["restrict_processing"]]
        self.col["model_key"] = [(m or "").lower() for m in self.col["model"]]
        self.ids: list[int] = self.col["id"]
        self.pos: dict[int, int] = {i: p for p, i in enumerate(self.ids)}
        self._sorted: dict[str, list[int]] = {}
        self._text: list[str] | None = None

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def load(cls, reg: Register) -> BrowseIndex:
        q = select(*[M.c[c] for c in _COLS]).order_by(M.c.manufacturer_key, M.c.serial)
        with reg.reading() as conn:
            rows = _raw_rows(conn, q)
            sites = dict(conn.execute(select(S.c.id, S.c.name)).all())
            buildings = dict(conn.execute(select(B.c.id, B.c.name)).all())
            points = dict(conn.execute(select(MP.c.id, MP.c.label)).all())
        index = cls(rows, sites, buildings, points)
        index._texts()  # the search text of every meter, built here in the worker
        return index

    # -- derived columns --------------------------------------------------------
    def _site(self, p: int) -> str:
        return self.sites.get(self.col["site_id"][p], "")

    def _texts(self) -> list[str]:
        if self._text is None:
            c = self.col
            s, b, mp = self.sites, self.buildings, self.points
            self._text = ["\x1f".join((c["manufacturer"][p] or "", c["model"][p] or "", c["serial"][p] or "",
                                       c["secondary_address"][p] or "", c["location"][p] or "",
                                       s.get(c["site_id"][p], ""), b.get(c["building_id"][p], "") or "",
                                       mp.get(c["monitoring_point_id"][p], "") or "")).casefold()
                          for p in range(len(self.ids))]
        return self._text

    def _order(self, key: str) -> list[int]:
        """Positions sorted by ``key`` (ties in register order)."""
        if key == "manufacturer":
            return list(range(len(self.ids)))
        got = self._sorted.get(key)
        if got is not None:
            return got
        c = self.col
        if key == "site":
            vals = [self.sites.get(v, "") for v in c["site_id"]]
        elif key == "building":
            vals = [self.buildings.get(v) if v is not None else None for v in c["building_id"]]
        elif key == "monitoring_point":
            vals = [self.points.get(v) if v is not None else None for v in c["monitoring_point_id"]]
        elif key == "model":
            vals = c["model_key"]
        elif key in SORT_KEYS:
            vals = c[key]
        else:
            raise ValueError(f"cannot sort by {key!r}")
        texts = [v for v in vals if v is not None][:1]
        if texts and isinstance(texts[0], str):
            vals = [_TEXT_LAST if v is None else v.casefold() for v in vals]
        else:
            vals = [float("inf") if v is None else v for v in vals]
        got = sorted(range(len(vals)), key=vals.__getitem__)
        self._sorted[key] = got
        return got

    # -- queries ------------------------------------------------------------------
    def _narrow(self, out: list[int], f: Filters, due_map: dict[int, DueInfo] | None) -> list[int]:
        """Positions of ``out`` (in their order) that pass ``f``: one pass per filter, most selective first."""
        c = self.col
        if f.site:
            name = " ".join(f.site.split())
            want = {k for k, v in self.sites.items() if v == name}
            site_id = c["site_id"]
            out = [p for p in out if site_id[p] in want]
        if f.model:
            model, mo = f.model.strip().lower(), c["model_key"]
            out = [p for p in out if mo[p] == model]
        if f.make:
            key, flag = manufacturer_key(f.make), f.make.strip().upper()
            mk, fl = c["manufacturer_key"], c["mbus_manufacturer"]
            out = [p for p in out if mk[p] == key or fl[p] == flag]
        if f.status:
            st, status = c["status"], f.status
            out = [p for p in out if st[p] == status]
        words = sorted((w.casefold() for w in (f.search or "").split()), key=len, reverse=True)
        if words:
            text = self._texts()
            for w in words:
                out = [p for p in out if w in text[p]]
        if f.due and f.due.startswith(FLAG_PREFIX):
            flag, dm, ids = f.due[len(FLAG_PREFIX):], due_map or {}, self.ids
            if flag == "class_below_2":   # from the register itself: also meters out of service
                cls = c["mid_class"]
                out = [p for p in out if cls[p] is not None and cls[p] > 2]
            else:
                get = dm.get
                out = [p for p in out if flag in (get(ids[p]) or _NONE).flags]
        elif f.due:
            dm, ids, want_due = due_map or {}, self.ids, f.due
            if want_due == NOT_SCHEDULED:
                out = [p for p in out if ids[p] not in dm]
            else:
                get = dm.get
                out = [p for p in out if (get(ids[p]) or _NONE).state == want_due]
        if not f.include_restricted:
            rp = c["restrict_processing"]
            out = [p for p in out if not rp[p]]
        return out

    def positions(self, f: Filters, *, sort: str = "manufacturer", descending: bool = False,
                  due_map: dict[int, DueInfo] | None = None) -> list[int]:
        if sort in ("due", "due_date"):
            base = self._due_order(sort, due_map or {})
        else:
            base = self._order(sort)
        if descending:
            base = base[::-1]
        return self._narrow(base, f, due_map)

    def _due_order(self, key: str, dm: dict[int, DueInfo]) -> list[int]:
        ids = self.ids
        if key == "due":
            rank = {s: n for n, s in enumerate((*DUE_STATES, NOT_SCHEDULED))}
            last = len(rank)
            return sorted(range(len(ids)), key=lambda p: rank[dm[ids[p]].state] if ids[p] in dm else last)
        far = dt.date.max
        return sorted(range(len(ids)), key=lambda p: (dm[ids[p]].due_date or far) if ids[p] in dm else far)

    def select(self, f: Filters = Filters(), *, sort: str = "manufacturer", descending: bool = False,
               due_map: dict[int, DueInfo] | None = None) -> list[int]:
        """Ids of the meters matching ``f``, ordered by ``sort`` (then make and serial)."""
        ids = self.ids
        return [ids[p] for p in self.positions(f, sort=sort, descending=descending, due_map=due_map)]

    def facets(self, f: Filters = Filters(), *, due_map: dict[int, DueInfo] | None = None) -> dict[str, dict[str, int]]:
        """How many meters each choice of each filter list would show, the other filters applied.

        ``{"site": {name: n}, "make": {make: n}, "model": {model: n}, "status": {status: n},
        "due": {state: n}}`` (``due`` only with ``due_map``). A make is listed as
        its most common spelling; models likewise.
        """
        c = self.col
        out: dict[str, dict[str, int]] = {}
        site_id = c["site_id"]
        n = Counter(site_id[p] for p in self.positions(f.without("site"), due_map=due_map))
        out["site"] = dict(sorted(((self.sites.get(k, ""), v) for k, v in n.items())))
        out["make"] = self._spelled(self.positions(f.without("make"), due_map=due_map), "manufacturer_key",
                                    "manufacturer")
        out["model"] = self._spelled(self.positions(f.without("model"), due_map=due_map), "model_key", "model")
        st = c["status"]
        out["status"] = dict(sorted(Counter(st[p] for p in self.positions(f.without("status"),
                                                                          due_map=due_map)).items()))
        if due_map is not None:
            ids = self.ids
            counts = dict.fromkeys((*DUE_STATES, NOT_SCHEDULED), 0)
            flags: Counter = Counter()
            cls = c["mid_class"]
            for p in self.positions(f.without("due")):
                info = due_map.get(ids[p])
                counts[info.state if info else NOT_SCHEDULED] += 1
                if info is not None and info.flags:
                    flags.update(x for x in info.flags if x != "class_below_2")
                if cls[p] is not None and cls[p] > 2:
                    flags["class_below_2"] += 1
            for flag, n in sorted(flags.items()):
                counts[FLAG_PREFIX + flag] = n
            out["due"] = counts
        return out

    def _spelled(self, positions: list[int], key_col: str, name_col: str) -> dict[str, int]:
        keys, names = self.col[key_col], self.col[name_col]
        pairs = Counter((keys[p], names[p]) for p in positions)
        best: dict[str, tuple[int, str]] = {}
        totals: Counter = Counter()
        for (k, name), cnt in pairs.items():
            totals[k] += cnt
            if cnt > best.get(k, (0, ""))[0]:
                best[k] = (cnt, name)
        return {best[k][1]: totals[k] for k in sorted(totals)}

    # -- keeping it current ---------------------------------------------------------
    def update(self, rec: MeterRecord) -> bool:
        """Take the values of a meter saved here; False when the meter is not in the index."""
        p = self.pos.get(rec.id)
        if p is None:
            return False
        c = self.col
        names = {v: k for k, v in self.sites.items()}
        changed = False
        for name in _COLS[1:]:
            if name in ("site_id", "building_id", "monitoring_point_id"):
                continue
            v = manufacturer_key(rec.manufacturer) if name == "manufacturer_key" else getattr(rec, name)
            if name in ("install_date", "battery_expiry"):
                v = _iso(v)
            if c[name][p] != v:
                c[name][p] = v
                changed = True
        if rec.site in names and c["site_id"][p] != names[rec.site]:
            c["site_id"][p] = names[rec.site]
            changed = True
        c["model_key"][p] = (rec.model or "").lower()
        if changed:
            self._sorted = {}
            self._text = None
        return changed


# ---- due state (maintenance schedule) ---------------------------------------------

#: A "due" filter value naming a flag of the schedule (app.core.schedule.FLAGS), e.g. "flag:class_below_2".
FLAG_PREFIX = "flag:"


class DueInfo(NamedTuple):
    state: str
    due_date: dt.date | None
    reason: str
    flags: tuple[str, ...] = ()   # app.core.schedule.FLAGS (class_below_2, failed_recalibration, ...)


_NONE = DueInfo(NOT_SCHEDULED, None, "")


def due_states(reg: Register, as_of: dt.date | None = None, *, horizon_months: int = 12) -> dict[int, DueInfo]:
    """Each scheduled meter's state, due date and reason on ``as_of`` (default today).

    The planning service's schedule (``app.storage.planning.schedule``: the
    maintenance spec's states, with stored lot verdicts, recalibrations and
    re-installations after repair) over the meters in service, restricted ones
    (MMS 2.2.5) included, with each meter's flags. The others are absent from
    the map (``NOT_SCHEDULED``).
    """
    from app.storage import planning

    rows = planning.schedule(reg, as_of or dt.date.today(), horizon_months=horizon_months).rows
    return {int(r.meter_id): DueInfo(r.state, r.due_date, r.reason, r.flags) for r in rows}


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


__all__ = ["DUE_STATES", "NOT_SCHEDULED", "SORT_KEYS", "EDITABLE_FIELDS", "Filters", "DueInfo", "BrowseIndex",
           "first_page", "meters_by_id", "due_states", "check_edit", "cell_text"]
