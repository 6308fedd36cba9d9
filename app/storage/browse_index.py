"""The Register page's in-memory index of every meter: filters, sorts and counts as numpy operations.

One narrow read of every meter's identity, place and sortable values (on
PostgreSQL packed by the server, see ``app.storage.planning.columns``); the
filter lists' values as integer codes, so that a filter over a million meters
is a few vectorised comparisons; the search words as substring tests over
each meter's text, on the meters the other filters left, or, when they left
many, first for the rarest word over all the texts joined in one string.
``app.storage.browse`` is the public face.
"""
from __future__ import annotations

import datetime as dt
import operator
import re
import threading
from dataclasses import dataclass, replace
from typing import Any, NamedTuple

import numpy as np
from sqlalchemy import String, select, type_coerce

from app.storage.planning.columns import Num, fetch_pg, raw_rows
from app.storage.records import MeterRecord
from app.storage.register import B, MP, M, S, Register, manufacturer_key

#: Schedule states (maintenance spec) in the order the app lists them.
DUE_STATES = ("in_service", "sampling_due", "recalibrate_or_replace_due", "battery_due", "overdue")
#: Due "state" of meters the schedule does not cover (not in service, or restricted).
NOT_SCHEDULED = "not_scheduled"
#: A "due" filter value naming a flag of the schedule (app.core.schedule.FLAGS), e.g. "flag:class_below_2".
FLAG_PREFIX = "flag:"
#: Below this many meters left by the other filters, the search words are tested meter by meter.
SMALL = 30_000


@dataclass(frozen=True)
class Filters:
    """What the table shows: each field narrows the list; None or "" = any.

    ``due`` is a state of ``DUE_STATES`` (or ``NOT_SCHEDULED``); it needs the
    due map of :func:`app.storage.browse.due_states`.
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


class DueInfo(NamedTuple):
    state: str
    due_date: dt.date | None
    reason: str
    flags: tuple[str, ...] = ()   # app.core.schedule.FLAGS (class_below_2, failed_recalibration, ...)


_NONE = DueInfo(NOT_SCHEDULED, None, "")

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
# numeric columns packed by PostgreSQL, with the stand-in of NULL
_PG_INTS = {"site_id": None, "building_id": -1, "monitoring_point_id": -1, "dn": -1, "mid_class": -1,
            "primary_address": -1}
_PG_FLOATS = ("qp_m3h", "qi_m3h", "qp_qi_ratio")
_PG_TEXTS = ("manufacturer_key", "manufacturer", "mbus_manufacturer", "model", "serial", "location", "status",
             "secondary_address", "install_date", "battery_expiry", "flow_sensor_position", "notes")
_CATEGORIES = ("manufacturer_key", "mbus_manufacturer", "model_key", "status", "manufacturer", "model")


def _iso(v) -> str | None:
    if v is None or isinstance(v, str):
        return v
    return v.isoformat()


def _pg_columns(conn) -> dict[str, list] | None:
    """The index columns packed by PostgreSQL, in register order (make, serial): None if it cannot."""
    nums = [Num("id", "int8", "id"), Num("rn", "int8", "rn"), Num("restrict_processing::int", "int2",
                                                                  "restrict_processing")]
    nums += [Num(f"COALESCE({c}, {d})" if d is not None else c, "int4", c) for c, d in _PG_INTS.items()]
    nums += [Num(f"COALESCE({c}, 'NaN')", "float8", c) for c in _PG_FLOATS]
    table = f"(SELECT *, row_number() OVER (ORDER BY manufacturer_key, serial) AS rn FROM {M.name}) AS m"
    got = fetch_pg(conn, table, "true", nums, list(_PG_TEXTS))
    if got is None:
        return None
    num, texts = got
    rn = num["rn"]
    order = np.argsort(rn, kind="stable")
    in_order = len(rn) < 2 or bool(np.all(rn[1:] > rn[:-1]))   # the usual case: read along the index
    pick = operator.itemgetter(*order.tolist()) if not in_order else None

    def ordered(values: list) -> list:
        if pick is None:
            return list(values)
        return list(pick(values))

    col: dict[str, list] = {}
    if in_order:
        order = slice(None)
    col["id"] = num["id"][order].tolist()
    col["restrict_processing"] = (num["restrict_processing"][order] > 0).tolist()
    for c, d in _PG_INTS.items():
        v = num[c][order].tolist()
        col[c] = v if d is None or d not in v else list(map({d: None}.get, v, v))
    for c in _PG_FLOATS:
        a = num[c][order]
        v = a.tolist()
        col[c] = v if not np.isnan(a).any() else [None if x != x else x for x in v]
    for c in _PG_TEXTS:
        col[c] = ordered(texts[c])
    return col


class BrowseIndex:
    """Every meter's filter and sort values, in register order (make, serial).

    Build with :meth:`load` (in a worker). :meth:`select` gives the ordered
    ids for filters and a sort; :meth:`facets` the counts per choice of each
    filter list; :meth:`update` keeps it current after an edit saved here.
    Reads from several threads are safe; :meth:`update` is cheap and leaves
    readers a consistent row.
    """

    def __init__(self, col: dict[str, list], sites: dict[int, str], buildings: dict[int, str],
                 points: dict[int, str], loaded_at: dt.datetime | None = None) -> None:
        self.sites, self.buildings, self.points = sites, buildings, points
        self.loaded_at = loaded_at or dt.datetime.now()
        self._lock = threading.RLock()
        self.col: dict[str, list] = {name: list(col.get(name, ())) for name in _COLS}
        for name in ("install_date", "battery_expiry"):
            if any(v is not None and not isinstance(v, str) for v in self.col[name]):
                self.col[name] = [_iso(v) for v in self.col[name]]
        if any(v is not True and v is not False for v in self.col["restrict_processing"]):
            self.col["restrict_processing"] = [bool(v) for v in self.col["restrict_processing"]]
        self.col["model_key"] = [(m or "").lower() for m in self.col["model"]]
        self.ids: list[int] = self.col["id"]
        self.pos: dict[int, int] = {i: p for p, i in enumerate(self.ids)}
        self._ids = np.array(self.ids, np.int64)
        self._sorted: dict[str, np.ndarray] = {}
        self._text: list[str] | None = None
        self._joined: tuple[str, np.ndarray] | None = None
        self._arr: dict[str, np.ndarray] = {}
        self._cat: dict[str, tuple[np.ndarray, dict]] = {}
        self._due: tuple[Any, np.ndarray, np.ndarray, np.ndarray] | None = None

    @classmethod
    def from_rows(cls, rows: list[tuple], sites, buildings, points) -> BrowseIndex:
        cols = list(zip(*rows)) if rows else [()] * len(_COLS)
        return cls({name: list(c) for name, c in zip(_COLS, cols)}, sites, buildings, points)

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def load(cls, reg: Register) -> BrowseIndex:
        with reg.reading() as conn:
            col = _pg_columns(conn) if conn.dialect.name == "postgresql" else None
            rows = None
            if col is None:
                q = select(*[type_coerce(M.c[c], String) if c in ("install_date", "battery_expiry") else M.c[c]
                             for c in _COLS]).order_by(M.c.manufacturer_key, M.c.serial)
                rows = raw_rows(conn, q)
            sites = dict(conn.execute(select(S.c.id, S.c.name)).all())
            buildings = dict(conn.execute(select(B.c.id, B.c.name)).all())
            points = dict(conn.execute(select(MP.c.id, MP.c.label)).all())
        index = cls.from_rows(rows, sites, buildings, points) if col is None else cls(col, sites, buildings, points)
        index._texts()  # the search text of every meter, built here in the worker
        return index

    def restricted_count(self) -> int:
        return int(np.count_nonzero(self._array("restrict_processing")))

    # -- derived columns --------------------------------------------------------
    def _array(self, name: str) -> np.ndarray:
        """A numeric column as an array (None: -1 for ids, 0 for the class)."""
        a = self._arr.get(name)
        if a is None:
            with self._lock:
                vals = self.col[name]
                if name == "restrict_processing":
                    a = np.array(vals, bool)
                elif name == "mid_class":
                    a = np.array([v or 0 for v in vals], np.int16)
                else:
                    a = np.array([-1 if v is None else v for v in vals], np.int64)
                self._arr[name] = a
        return a

    def _codes(self, name: str) -> tuple[np.ndarray, dict]:
        """A column of words as integer codes, and the code of each word."""
        got = self._cat.get(name)
        if got is None:
            with self._lock:
                index: dict = {}
                vals = self.col[name]
                codes = np.fromiter((index.setdefault(v, len(index)) for v in vals), np.int32, count=len(vals))
                got = self._cat[name] = (codes, index)
        return got

    def _texts(self) -> list[str]:
        if self._text is None:
            c = self.col
            s, b, mp = self.sites, self.buildings, self.points

            def words(name: str) -> list[str]:
                return [v or "" for v in c[name]]

            parts = [words("manufacturer"), words("model"), words("serial"), words("secondary_address"),
                     words("location"), [s.get(v, "") for v in c["site_id"]],
                     [b.get(v, "") or "" for v in c["building_id"]],
                     [mp.get(v, "") or "" for v in c["monitoring_point_id"]]]
            self._text = ["\x1f".join(t).casefold() for t in zip(*parts)]
        return self._text

    def _joined_text(self) -> tuple[str, np.ndarray]:
        """Every meter's text in one string (one per line) and where each starts."""
        got = self._joined
        if got is None:
            text = self._texts()
            lines = [t.replace("\n", " ") for t in text]
            starts = np.zeros(len(lines) + 1, np.int64)
            np.cumsum(np.fromiter(map(len, lines), np.int64, count=len(lines)) + 1, out=starts[1:])
            got = self._joined = ("\n".join(lines), starts)
        return got

    def _order(self, key: str) -> np.ndarray:
        """Positions sorted by ``key`` (ties in register order)."""
        if key == "manufacturer":
            return np.arange(len(self.ids))
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
            distinct = {v: None for v in vals}
            ranked = sorted(distinct, key=lambda v: _TEXT_LAST if v is None else v.casefold())
            rank = {v: i for i, v in enumerate(ranked)}
            keys = np.fromiter((rank[v] for v in vals), np.int64, count=len(vals))
        else:
            keys = np.array([np.inf if v is None else v for v in vals], np.float64)
        got = np.argsort(keys, kind="stable")
        self._sorted[key] = got
        return got

    def _due_arrays(self, dm: dict[int, DueInfo]) -> tuple[np.ndarray, np.ndarray, list]:
        """Per position: the state's rank in ``DUE_STATES`` (last: not scheduled), the due date's ordinal
        (largest when none), and the flags."""
        got = self._due
        if got is None or got[0] is not dm:
            rank = {s: n for n, s in enumerate((*DUE_STATES, NOT_SCHEDULED))}
            far = dt.date.max.toordinal()
            infos = [dm.get(i) or _NONE for i in self.ids]
            states = np.fromiter((rank[x.state] for x in infos), np.int8, count=len(infos))
            dates = np.fromiter((far if x.due_date is None else x.due_date.toordinal() for x in infos), np.int64,
                                count=len(infos))
            got = self._due = (dm, states, dates, [x.flags for x in infos])
        return got[1], got[2], got[3]

    # -- queries ------------------------------------------------------------------
    def _search(self, out: np.ndarray, words: list[str]) -> np.ndarray:
        text = self._texts()
        # the rarest word first (judged on a sample), when many meters are left
        if len(out) > SMALL and len(words) > 0:
            step = max(1, len(text) // 2000)
            sample = text[::step]
            words = sorted(words, key=lambda w: sum(1 for t in sample if w in t))
            rare = sum(1 for t in sample if words[0] in t) <= len(sample) * 2 // 5
            if rare:
                joined, starts = self._joined_text()
                at = np.fromiter((m.start() for m in re.finditer(re.escape(words[0]), joined)), np.int64)
                mask = np.zeros(len(text), bool)
                mask[np.searchsorted(starts, at, side="right") - 1] = True
                out = out[mask[out]]
                words = words[1:]
        for w in words:
            out = np.fromiter((p for p in out.tolist() if w in text[p]), np.int64)
        return out

    def _narrow(self, out: np.ndarray, f: Filters, due_map: dict[int, DueInfo] | None) -> np.ndarray:
        """Positions of ``out`` (in their order) that pass ``f``."""
        if f.site:
            name = " ".join(f.site.split())
            want = [k for k, v in self.sites.items() if v == name]
            out = out[np.isin(self._array("site_id")[out], want)]
        if f.model:
            codes, index = self._codes("model_key")
            out = out[codes[out] == index.get(f.model.strip().lower(), -1)]
        if f.make:
            mk, mk_index = self._codes("manufacturer_key")
            fl, fl_index = self._codes("mbus_manufacturer")
            out = out[(mk[out] == mk_index.get(manufacturer_key(f.make), -1))
                      | (fl[out] == fl_index.get(f.make.strip().upper(), -1))]
        if f.status:
            st, index = self._codes("status")
            out = out[st[out] == index.get(f.status, -1)]
        words = sorted((w.casefold() for w in (f.search or "").split()), key=len, reverse=True)
        if words and len(out):
            out = self._search(out, words)
        if f.due and f.due.startswith(FLAG_PREFIX):
            flag = f.due[len(FLAG_PREFIX):]
            if flag == "class_below_2":   # from the register itself: also meters out of service
                out = out[self._array("mid_class")[out] > 2]
            else:
                _states, _dates, flags = self._due_arrays(due_map or {})
                out = np.fromiter((p for p in out.tolist() if flag in flags[p]), np.int64)
        elif f.due:
            states, _dates, _flags = self._due_arrays(due_map or {})
            want_rank = (*DUE_STATES, NOT_SCHEDULED).index(f.due) if f.due in (*DUE_STATES, NOT_SCHEDULED) else -1
            out = out[states[out] == want_rank]
        if not f.include_restricted:
            out = out[~self._array("restrict_processing")[out]]
        return out

    def _positions(self, f: Filters, *, sort: str = "manufacturer", descending: bool = False,
                   due_map: dict[int, DueInfo] | None = None) -> np.ndarray:
        if sort in ("due", "due_date"):
            states, dates, _flags = self._due_arrays(due_map or {})
            base = np.argsort(states if sort == "due" else dates, kind="stable")
        else:
            base = self._order(sort)
        if descending:
            base = base[::-1]
        return self._narrow(np.asarray(base, np.int64), f, due_map)

    def positions(self, f: Filters, *, sort: str = "manufacturer", descending: bool = False,
                  due_map: dict[int, DueInfo] | None = None) -> list[int]:
        return self._positions(f, sort=sort, descending=descending, due_map=due_map).tolist()

    def select(self, f: Filters = Filters(), *, sort: str = "manufacturer", descending: bool = False,
               due_map: dict[int, DueInfo] | None = None) -> list[int]:
        """Ids of the meters matching ``f``, ordered by ``sort`` (then make and serial)."""
        return self._ids[self._positions(f, sort=sort, descending=descending, due_map=due_map)].tolist()

    def facets(self, f: Filters = Filters(), *, due_map: dict[int, DueInfo] | None = None) -> dict[str, dict[str, int]]:
        """How many meters each choice of each filter list would show, the other filters applied.

        ``{"site": {name: n}, "make": {make: n}, "model": {model: n}, "status": {status: n},
        "due": {state: n}}`` (``due`` only with ``due_map``). A make is listed as
        its most common spelling; models likewise.
        """
        out: dict[str, dict[str, int]] = {}
        sid, n = np.unique(self._array("site_id")[self._positions(f.without("site"), due_map=due_map)],
                           return_counts=True)
        out["site"] = dict(sorted((self.sites.get(k, ""), int(v)) for k, v in zip(sid.tolist(), n.tolist())))
        out["make"] = self._spelled(self._positions(f.without("make"), due_map=due_map), "manufacturer_key",
                                    "manufacturer")
        out["model"] = self._spelled(self._positions(f.without("model"), due_map=due_map), "model_key", "model")
        st, index = self._codes("status")
        names = {v: k for k, v in index.items()}
        cnt = np.bincount(st[self._positions(f.without("status"), due_map=due_map)], minlength=len(index))
        out["status"] = dict(sorted((names[i], int(k)) for i, k in enumerate(cnt.tolist()) if k))
        if due_map is not None:
            pos = self._positions(f.without("due"))
            states, _dates, flags = self._due_arrays(due_map)
            every = (*DUE_STATES, NOT_SCHEDULED)
            cnt = np.bincount(states[pos], minlength=len(every))
            counts = {s: int(cnt[i]) for i, s in enumerate(every)}
            tally: dict[str, int] = {}
            for p in pos.tolist():
                for x in flags[p]:
                    if x != "class_below_2":
                        tally[x] = tally.get(x, 0) + 1
            below = int(np.count_nonzero(self._array("mid_class")[pos] > 2))
            if below:
                tally["class_below_2"] = below
            for flag, k in sorted(tally.items()):
                counts[FLAG_PREFIX + flag] = k
            out["due"] = counts
        return out

    def _spelled(self, positions: np.ndarray, key_col: str, name_col: str) -> dict[str, int]:
        keys, key_index = self._codes(key_col)
        names, name_index = self._codes(name_col)
        pair = keys[positions].astype(np.int64) * max(1, len(name_index)) + names[positions]
        uniq, cnt = np.unique(pair, return_counts=True)
        key_of = {v: k for k, v in key_index.items()}
        name_of = {v: k for k, v in name_index.items()}
        best: dict[str, tuple[int, str]] = {}
        totals: dict[str, int] = {}
        width = max(1, len(name_index))
        for code, c in zip(uniq.tolist(), cnt.tolist()):
            k, name = key_of[code // width], name_of[code % width]
            totals[k] = totals.get(k, 0) + c
            if c > best.get(k, (0, ""))[0]:
                best[k] = (c, name)
        return {best[k][1]: totals[k] for k in sorted(totals)}

    # -- keeping it current ---------------------------------------------------------
    def update(self, rec: MeterRecord) -> bool:
        """Take the values of a meter saved here; False when the meter is not in the index."""
        p = self.pos.get(rec.id)
        if p is None:
            return False
        c = self.col
        names = {v: k for k, v in self.sites.items()}
        changed = []
        for name in _COLS[1:]:
            if name in ("site_id", "building_id", "monitoring_point_id"):
                continue
            v = manufacturer_key(rec.manufacturer) if name == "manufacturer_key" else getattr(rec, name)
            if name in ("install_date", "battery_expiry"):
                v = _iso(v)
            if c[name][p] != v:
                c[name][p] = v
                changed.append(name)
        if rec.site in names and c["site_id"][p] != names[rec.site]:
            c["site_id"][p] = names[rec.site]
            changed.append("site_id")
        if c["model_key"][p] != (rec.model or "").lower():
            c["model_key"][p] = (rec.model or "").lower()
            changed.append("model_key")
        if changed:
            with self._lock:
                for name in changed:
                    self._arr.pop(name, None)
                    self._cat.pop(name, None)
                self._sorted = {}
                if self._text is not None:
                    self._text = None
                    self._joined = None
        return bool(changed)
