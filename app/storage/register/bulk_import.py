"""Bulk import: a CSV/XLSX file of meters into the register in one transaction (``BulkImport.import_file``).

The file is read and split (``tabular.read_table``), then checked and written
in chunks of ``CHUNK`` rows by an ``_ImportJob``: a helper thread checks and
prepares chunk k+1 while this thread writes chunk k. New meters go in with
their first installation and one create event each (kept in batches of
``BATCH``); meters already in the register are updated when the file changes
them (each update logged). A bad row stores nothing unless ``skip_invalid``.
"""
from __future__ import annotations

import gc
import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import replace
from itertools import repeat
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.engine import Connection

from app.storage import manufacturers, models, tabular
from app.storage.errors import ConflictError, ImportCancelled, InvalidRows
from app.storage.import_map import ImportOptions
from app.storage.integrity import PERSONAL, PERSONAL_COLUMNS, PERSONAL_FIELDS, keep_apart
from app.storage.records import ImportReport
from app.storage.register.bulk_sql import BulkSQL
from app.storage.register.eventlog import BATCH_SEP, encode_batch_values
from app.storage.register.tables import CHUNK, B, M, MP, S, default_user
from app.storage.register.unit import retrying

# meter columns a new meter takes straight from the file's column of the same name
_BULK_FILE_COLUMNS = (
    "model", "serial", "mid_class", "qp_m3h", "qi_m3h", "qp_qi_ratio", "dn", "flow_sensor_position",
    "primary_address", "secondary_address", "battery_expiry", "install_date", "location", "status",
    "qs_m3h", "dtheta_min_k", "dtheta_max_k", "temp_min_c", "temp_max_c", "baud", "notes",
    "occupant_name", "flat", "customer_reference")
BATCH = 1000  # create events per event_batches row
# meter columns holding numbers or flags (the others hold text or dates)
_NUMBER_COLUMNS = {"mid_class", "qp_m3h", "qi_m3h", "qp_qi_ratio", "qs_m3h", "dn", "dtheta_min_k", "dtheta_max_k",
                   "temp_min_c", "temp_max_c", "primary_address", "baud"}
#: advisory lock of imports on PostgreSQL: one import at a time, the next one sees what the last one stored
IMPORT_LOCK = 0x6865_6174_0001


class BulkImport(BulkSQL):
    """``import_file``."""

    def import_file(self, path: str | Path, *, options: ImportOptions | None = None, skip_invalid: bool = False,
                    user: str | None = None, progress: Callable[[int, int], None] | None = None,
                    dry_run: bool = False, expect_invalid: int | None = None,
                    cancelled: Callable[[], bool] | None = None) -> ImportReport:
        """Import a CSV/XLSX file (docs/import-format.md) in ONE transaction.

        ``options``: the mapping, date order, decimal mark and header row
        (``import_map.ImportOptions``). Invalid rows: with ``skip_invalid`` they
        are listed in the report (grouped by reason in ``report.problems``) and
        the valid rows stored; without it InvalidRows is raised (its ``report``
        lists every bad line) and nothing is stored. Re-importing the same file
        changes nothing and logs nothing. ``progress(done, total)`` is called
        while the rows are written, inside the open transaction.

        ``dry_run``: do everything, then roll back: the report says what the
        import would store (new, updated, unchanged, invalid by reason) and
        nothing is stored (``report.stored`` False). ``expect_invalid``: the
        number of invalid rows the user agreed to leave out (after a dry run);
        a different number stores nothing (``ConflictError``: the file or the
        register changed meanwhile). ``cancelled()`` is asked between chunks;
        True rolls back and raises ``drivers``-free ``ImportCancelled``.

        Meters already in the register are locked before they are compared, so
        each update's ``before`` is the committed state; on PostgreSQL imports
        run one after the other. A meter whose personal data was erased (and
        not entered again since) gets no personal value from a file: erased
        data does not come back with an old spreadsheet, whenever the erase
        ran (``kept_erased``; a new occupant is entered on the meter itself).
        When the database gives up on the transaction because of another
        session (a deadlock, a new meter stored meanwhile by another import),
        the import runs again, up to three times.
        """
        return self._import_file(path, options=options, skip_invalid=skip_invalid, user=user, progress=progress,
                                 dry_run=dry_run, expect_invalid=expect_invalid, cancelled=cancelled)

    @retrying
    def _import_file(self, path, *, options, skip_invalid: bool, user: str | None, progress, dry_run: bool,
                     expect_invalid: int | None, cancelled) -> ImportReport:
        t0 = time.perf_counter()
        p = Path(path)
        # a column marked personal in the register is taken as such, whatever its header looks like
        with self._read() as conn:
            marked = frozenset(self._marked_personal(conn))
        options = replace(options or ImportOptions(), personal_columns=marked)
        with _gc_paused():
            # PostgreSQL works in its own process: let it start on the first chunk while the helper
            # thread splits the next ones (on SQLite the helper has enough to do)
            table = tabular.read_table(p, options, split_late=not self.is_sqlite)
            report = ImportReport(file=p.name, kind=table.kind, rows=len(table.rows),
                                  extra_columns=table.extra_columns, notes=table.notes(),
                                  cp1252_lines=table.cp1252_lines)
            job = _ImportJob(self, table, report, skip_invalid=skip_invalid, user=user or default_user(),
                             source=p.name, progress=progress, cancelled=cancelled)
            del table
            try:
                job.run(dry_run=dry_run, expect_invalid=expect_invalid)
            except InvalidRows:
                report.seconds = time.perf_counter() - t0
                raise
            except _RolledBack:
                pass
        report.stored = not dry_run
        report.seconds = time.perf_counter() - t0
        return report


def json_objects(n: int, cols: dict[str, list[str]]) -> list[str | None]:
    """Each row's JSON object of the columns ``cols`` where it has a value (None when it has none): the
    text ``json.dumps(..., ensure_ascii=False)`` writes."""
    if not cols:
        return [None] * n
    enc = json.encoder.encode_basestring
    keys = ["{" + enc(name) + ": " for name in cols]
    if len(keys) == 1:
        key = keys[0]
        return [key + enc(x) + "}" if x else None for x in next(iter(cols.values()))]
    out: list[str | None] = []
    for values in zip(*cols.values()):
        parts = [k[1:] + enc(x) for k, x in zip(keys, values) if x]
        out.append("{" + ", ".join(parts) + "}" if parts else None)
    return out


def apart_extras(cols: dict[str, list[str]], apart: dict) -> str:
    """The JSON list of a batch's spreadsheet values for its create event: each row's columns with a
    value, each value read [personal] and kept apart (its position in the batch)."""
    for name, seg in cols.items():
        pos = [p for p, x in enumerate(seg) if x]
        if pos:
            apart["extra." + name] = keep_apart(pos, [(None, seg[p]) for p in pos])
    masked = {name: [PERSONAL if x else "" for x in seg] for name, seg in cols.items()}
    n = len(next(iter(cols.values()))) if cols else 0
    return "[" + ", ".join([x or "null" for x in json_objects(n, masked)]) + "]"


class _RolledBack(Exception):
    """A dry run's end: the transaction is rolled back on purpose."""


@contextmanager
def _gc_paused():
    """Pause the cyclic garbage collector for a bulk job.

    An import makes millions of lists and tuples, none of them in a cycle, and
    every automatic collection would walk all of them again; reference counting
    still frees everything. The collector runs again afterwards as before.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


class _Prepared:
    """One checked chunk, ready to write: the good rows' values in the driver's form."""

    __slots__ = ("res", "start", "good", "mkeys", "new", "existing", "cols", "batches", "placement")

    def __init__(self, res, start: int, good: list[int], mkeys: list[str | None]):
        self.res = res
        self.start = start                       # index of the chunk's first row in the file
        self.good = good                         # chunk rows without errors
        self.mkeys = mkeys
        self.new: list[int] = []                 # good rows of meters not yet in the register
        self.existing: list[tuple[int, int]] = []  # (row, meter id) of meters already there
        self.cols: dict[str, list[Any]] = {}     # meter column -> values of the new rows (driver form)
        self.batches: list[tuple[int, int, bytes, dict]] = []  # (from, to, encoded values, kept apart) per batch
        self.placement = None                    # (site, building, point ids) per row, when all are known


class _ImportJob:
    """One ``Register.import_file`` run, in chunks of CHUNK rows.

    A helper thread checks and prepares chunk k+1 (cells, duplicates, values in
    the driver's form, the create events' values compressed) while this thread
    writes chunk k; the drivers leave the interpreter lock while the database
    works, so on two cores both go on at once (on SQLite, during the set-based
    statements: see ``_write``). Everything is written in the one open
    transaction; a bad row (without ``skip_invalid``) stops the writing, the
    remaining chunks are still checked so that every bad row is reported, and
    the transaction is rolled back.
    """

    def __init__(self, reg: BulkImport, table: tabular.Table, report: ImportReport, *, skip_invalid: bool,
                 user: str, source: str, progress: Callable[[int, int], None] | None,
                 cancelled: Callable[[], bool] | None = None):
        self.reg = reg
        self.columns = list(table.columns)
        self.colset = set(table.columns) - {None}
        self.rows = table.rows
        self.lines = table.lines
        self.line_errors = table.line_errors
        self.all_str = table.kind == "csv"
        self.checker = tabular.BulkChecker(self.columns, tabular.rules_of(table))
        self.cancelled = cancelled
        self.report = report
        self.skip_invalid = skip_invalid
        self.user = user
        self.source = source
        self.progress = progress
        self.now = models.utcnow()
        self.writing = True                                    # False once a bad row means nothing is stored
        self.seen: dict[tuple[str, str], int] = {}             # (manufacturer_key, serial) -> line first seen
        self.existing: dict[tuple[str, str], int] = {}         # keys of meters already in the register -> id
        self.spare_ids: list[int] = []                         # meter ids taken from the sequence beforehand
        self.spare_taken = 0
        self.register_empty = False
        self.batches: list[tuple[list[int], bytes, dict]] = []  # (meter ids, encoded values, kept apart): creations
        self.marked: set[str] = set()                          # the file's columns marked personal
        self.sites: dict[str, int] = {}
        self.buildings: dict[tuple[int, str], int] = {}
        self.mps: dict[tuple[int, str], int] = {}
        self.done = 0
        has_extra = bool(report.extra_columns)
        # the columns of the create events' values, in the order the event log showed them
        names = [c for c in self.columns if c in tabular.KNOWN_COLUMNS]
        if "install_date" in names:
            names.insert(names.index("install_date") + 1, "install_year_only")
        if has_extra:
            names.append("extra")
        if "mbus_manufacturer" not in names:
            names.append("mbus_manufacturer")
        self.batch_names = names
        self.batch_head = '{"columns": ' + json.dumps(names) + ', "values": ['
        # the meter columns written per row (after id), and those the same for every new meter
        cols = ["manufacturer", "manufacturer_key", "mbus_manufacturer", "install_year_only"]
        cols += [c for c in _BULK_FILE_COLUMNS if c in self.colset]
        if has_extra:
            cols.append("extra")
        self.meter_cols = cols
        self.constants: dict[str, Any] = {"legal_hold": False, "restrict_processing": False,
                                          "created_at": self.now, "updated_at": self.now, "version": 1}
        if "status" not in self.colset:
            self.constants["status"] = "in_service"
        self._conv: dict[str, Callable[[Any], Any]] = {
            c: reg._processor(M, c) for c in ("battery_expiry", "install_date", "install_year_only")}
        self._conv_cache: dict[str, dict[Any, Any]] = {c: {None: None} for c in self._conv}
        self._frag: dict[str, dict[Any, str]] = {}  # column -> value -> its JSON text
        self._flags: dict[str | None, str | None] = {None: None}

    # ---- the run ---------------------------------------------------------------------

    def run(self, *, dry_run: bool = False, expect_invalid: int | None = None) -> None:
        reg = self.reg
        n = len(self.rows)
        starts = list(range(0, n, CHUNK))
        pool = ThreadPoolExecutor(1, thread_name_prefix="heatmeter-import") if len(starts) > 1 else None
        try:
            with reg._write() as conn:
                reg._lock_key(conn, IMPORT_LOCK)
                self._load(conn)
                # the next chunk's preparation, in the helper thread; the first one starts while the
                # ids of the new meters are taken from the sequence (PostgreSQL, empty register)
                pending = pool.submit(self._prepare, starts[0]) if pool is not None else None
                self._reserve_upfront(conn)
                for k, start in enumerate(starts):
                    if self.cancelled is not None and self.cancelled():
                        raise ImportCancelled(f"{self.source}: import cancelled; nothing stored")
                    prepared = pending.result() if pending is not None else self._prepare(start)
                    pending = None
                    following = starts[k + 1] if k + 1 < len(starts) else None

                    def prepare_next(following=following):
                        nonlocal pending
                        if pool is not None and following is not None and pending is None:
                            pending = pool.submit(self._prepare, following)

                    if prepared is None or not prepared.new:
                        prepare_next()  # nothing to copy in: no reason to wait
                    if prepared is not None and self.writing:
                        self._write(conn, prepared, prepare_next)
                    prepare_next()
                report = self.report
                if report.invalid and not self.skip_invalid:
                    m = len(report.invalid)
                    raise InvalidRows(f"{report.file}: {m:,} invalid row{'s' if m > 1 else ''}, nothing stored: "
                                      f"{report.problem_text()}", report)
                if expect_invalid is not None and len(report.invalid) != expect_invalid:
                    raise ConflictError(f"{report.file}: {len(report.invalid):,} invalid rows now, not the "
                                        f"{expect_invalid:,} agreed to: the file or the register changed since it "
                                        "was checked; nothing stored")
                # the create events of every new meter, in one go
                for ids, data, apart in self.batches:
                    reg._log_batch(conn, user=self.user, entity="meters", action="create", after={"meters": len(ids)},
                                   meter_ids=ids, data=data, apart=apart, source=self.source, at=self.now)
                if reg.is_sqlite:
                    reg._drop_stage(conn)
                if self.progress:
                    self.progress(n, n)
                if dry_run:
                    raise _RolledBack
                if pool is not None:  # the commit follows: meanwhile the helper frees the file's rows
                    pool.submit(self._release)
        finally:
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)

    def _reserve_upfront(self, conn: Connection) -> None:
        """PostgreSQL, empty register: every valid row is a new meter; take their ids in one trip."""
        if self.register_empty and not self.reg.is_sqlite:
            self.spare_ids = self.reg._reserve_ids(conn, "meters", len(self.rows))

    def _release(self) -> None:
        self.rows = self.lines = []
        self.checker = None
        self.seen = {}
        self.existing = {}

    def _load(self, conn: Connection) -> None:
        """Sites, buildings, monitoring points, and the keys of the meters this file may already hold."""
        self.sites = {r.name: r.id for r in conn.execute(select(S.c.id, S.c.name))}
        self.buildings = {(r.site_id, r.name): r.id for r in conn.execute(select(B.c.id, B.c.site_id, B.c.name))}
        self.mps = {(r.site_id, r.label): r.id for r in conn.execute(select(MP.c.id, MP.c.site_id, MP.c.label))}
        self.marked = self.reg._marked_personal(conn) & set(self.report.extra_columns)
        if self.marked and "personal_extra" not in self.meter_cols:
            self.meter_cols.append("personal_extra")
        n_existing = conn.execute(select(func.count()).select_from(M)).scalar_one()
        self.register_empty = not n_existing
        if not n_existing:
            return
        q = select(M.c.manufacturer_key, M.c.serial, M.c.id)
        if n_existing > 4 * len(self.rows) and len(self.rows) < 20000 and "serial" in self.colset:
            idx = self.columns.index("serial")
            serials = sorted({tabular._text(r[idx]) for r in self.rows if idx < len(r)} - {""})
            for j in range(0, len(serials), 500):
                for r in conn.execute(q.where(M.c.serial.in_(serials[j:j + 500]))):
                    self.existing[(r.manufacturer_key, r.serial)] = r.id
        else:
            self.existing = {(r.manufacturer_key, r.serial): r.id for r in conn.execute(q)}

    # ---- the helper thread's part ---------------------------------------------------------

    def _prepare(self, start: int) -> _Prepared | None:
        """Check rows start.. of the file; None when nothing will be written."""
        stop = start + CHUNK
        res = self.checker.check_all(self.rows[start:stop], self.lines[start:stop], all_str=self.all_str)
        if self.line_errors:  # what reading found: these rows are refused whatever their cells say
            for i, ln in enumerate(res.lines):
                errs = self.line_errors.get(ln)
                if errs:
                    res.errors[i] = errs + res.errors.get(i, [])
        mkeys = self.reg._manufacturer_keys(res.col("manufacturer"))
        self._duplicates(res, mkeys)
        if res.errors:
            for i, e in sorted(res.errors.items()):
                self.report.add_invalid(res.lines[i], e)
            if not self.skip_invalid:
                self.writing = False
        if not self.writing:
            return None
        good = [i for i in range(res.n) if i not in res.errors] if res.errors else list(range(res.n))
        prep = _Prepared(res, start, good, mkeys)
        if self.existing:
            serials = res.col("serial")
            for i in good:
                mid = self.existing.get((mkeys[i], serials[i]))
                if mid is None:
                    prep.new.append(i)
                else:
                    prep.existing.append((i, mid))
        else:
            prep.new = good
        if prep.new:
            self._new_values(prep)
        prep.placement = self._known_placement(res)
        return prep

    def _known_placement(self, res):
        """Site, building and monitoring point ids of the rows, when the register has them all
        already (else None: ``_placement`` creates the new ones)."""
        site_col, b_col, mp_col = res.col("site"), res.col("building"), res.col("monitoring_point")
        sites, buildings, mps = self.sites, self.buildings, self.mps
        if set(site_col) - sites.keys() - {None}:
            return None
        site_ids = list(map(sites.get, site_col))
        b_keys = list(zip(site_ids, b_col))
        mp_keys = list(zip(site_ids, mp_col))
        if {k for k in set(b_keys) if k[1]} - buildings.keys() or {k for k in set(mp_keys) if k[1]} - mps.keys():
            return None
        return site_ids, list(map(buildings.get, b_keys)), list(map(mps.get, mp_keys))

    def _duplicates(self, res, mkeys: list[str | None]) -> None:
        """"duplicate meter" for every row whose manufacturer + serial an earlier row (of any chunk) has."""
        seen = self.seen
        pairs = list(zip(mkeys, res.col("serial")))
        fresh = dict(zip(pairs, res.lines))
        if len(fresh) == len(pairs) and seen.keys().isdisjoint(fresh):
            seen.update(fresh)  # no key repeats: the common case
            return
        for i, (p, ln) in enumerate(zip(pairs, res.lines)):
            if not (p[0] and p[1]):
                continue
            first = seen.setdefault(p, ln)
            if first != ln:
                res.errors.setdefault(i, []).append(
                    f"duplicate meter {res.values['manufacturer'][i]} {p[1]} (also on line {first})")

    def _new_values(self, prep: _Prepared) -> None:
        """The new rows' meter values (driver form) and their create events' values (JSON text)."""
        res, new = prep.res, prep.new
        if len(new) == res.n:
            def sel(values):
                return values
        else:
            def sel(values):
                return [values[i] for i in new]

        def conv(c, values):
            cache, proc = self._conv_cache[c], self._conv[c]
            for v in set(values).difference(cache):
                cache[v] = proc(v)
            return list(map(cache.__getitem__, values))

        col = res.col
        makes = sel(col("manufacturer"))
        flags_cache = self._flags
        for m in set(makes).difference(flags_cache):
            flags_cache[m] = manufacturers.flag_for_make(m)
        derived = list(map(flags_cache.__getitem__, makes))
        flags = derived if not res.has("mbus_manufacturer") else \
            [g or f for g, f in zip(sel(col("mbus_manufacturer")), derived)]
        install_dates = sel(col("install_date"))
        year_only = sel(col("install_year_only"))
        ex_cols = {c: sel(t) for c, t in res.extra_cols.items()} if "extra" in self.meter_cols else {}
        out = prep.cols
        for c in self.meter_cols:
            if c == "manufacturer":
                v = makes
            elif c == "manufacturer_key":
                v = sel(prep.mkeys)
            elif c == "mbus_manufacturer":
                v = flags
            elif c == "install_year_only":
                v = conv(c, year_only)
            elif c == "install_date":
                v = conv(c, install_dates)
            elif c == "battery_expiry":
                v = conv(c, sel(col(c)))
            elif c == "extra":
                v = json_objects(len(new), {k: t for k, t in ex_cols.items() if k not in self.marked})
            elif c == "personal_extra":
                v = json_objects(len(new), {k: t for k, t in ex_cols.items() if k in self.marked})
            elif c == "status":
                v = [s or "in_service" for s in sel(col(c))]
            else:
                v = sel(col(c))
            out[c] = v
        # the create events' values: the file's columns as checked. Text and dates (ISO) go as one
        # string per column and batch, the values joined by BATCH_SEP (see decode_batch); numbers
        # and flags as JSON lists, written from the JSON text of each distinct value, made once.
        # Personal values (and every spreadsheet column's value: any may be marked personal) are kept
        # apart from the event log: the batch reads [personal] there (``integrity.split_personal``).
        parts: list[tuple[str, str, list[Any]]] = []  # (kind, column, values): text, json, list; ptext, plist
        dumps = json.dumps
        for c in self.batch_names:
            if c == "extra":
                parts.append(("plist", c, []))
                continue
            if c == "install_year_only":
                parts.append(("json", c, ["null" if d is None else ("true" if y else "false")
                                          for d, y in zip(install_dates, year_only)]))
                continue
            v = install_dates if c == "install_date" else flags if c == "mbus_manufacturer" else sel(col(c))
            if c in _NUMBER_COLUMNS:
                frag = self._frag.setdefault(c, {None: "null"})
                for x in set(v).difference(frag):
                    frag[x] = dumps(x)
                parts.append(("json", c, list(map(frag.__getitem__, v))))
            else:
                if c in ("install_date", "battery_expiry"):
                    iso = self._frag.setdefault(c, {None: None})
                    for d in set(v).difference(iso):
                        iso[d] = d.isoformat()
                    v = list(map(iso.__getitem__, v))
                parts.append(("ptext" if c in PERSONAL_FIELDS else "text", c, v))
        head = self.batch_head
        for b in range(0, len(new), BATCH):
            e = min(b + BATCH, len(new))
            body = []
            apart: dict[str, tuple[list[int], list[tuple[Any, Any]]]] = {}
            for kind, c, v in parts:
                seg = v[b:e]
                if kind == "ptext":
                    kind, pos = "text", [p for p, x in enumerate(seg) if x]
                    if pos:
                        apart[c] = keep_apart(pos, [(None, seg[p]) for p in pos])
                        seg = [PERSONAL if x else x for x in seg]
                elif kind == "plist":
                    body.append(apart_extras({k: t[b:e] for k, t in ex_cols.items()}, apart))
                    continue
                if kind == "json":
                    body.append("[" + ", ".join(seg) + "]")
                elif kind == "text":
                    joined = BATCH_SEP.join([x or "" for x in seg] if None in seg else seg)
                    if joined.count(BATCH_SEP) != len(seg) - 1:  # a value holds the separator: a list
                        body.append(dumps(seg, ensure_ascii=False))
                    elif joined.isprintable() and '"' not in joined and "\\" not in joined:
                        body.append('"' + joined + '"')  # nothing to escape
                    else:
                        body.append(dumps(joined, ensure_ascii=False))
                else:
                    body.append(dumps(seg, ensure_ascii=False))
            prep.batches.append((b, e, encode_batch_values(head + ", ".join(body) + "]}"), apart))

    # ---- this thread's part: the database ------------------------------------------------------

    def _placement(self, conn: Connection, prep: _Prepared):
        """Site, building and monitoring point ids of the chunk's rows, creating the new ones."""
        res, good = prep.res, prep.good
        site_col, b_col, mp_col = res.col("site"), res.col("building"), res.col("monitoring_point")
        everyone = len(good) == res.n
        sites = self.sites
        new_sites = sorted((set(site_col) if everyone else {site_col[i] for i in good}) - sites.keys())
        if new_sites:
            conn.execute(insert(S), [{"name": n} for n in new_sites])
            sites.update((r.name, r.id) for r in conn.execute(select(S.c.id, S.c.name).where(S.c.name.in_(new_sites))))
        site_ids = list(map(sites.get, site_col))
        b_keys = list(zip(site_ids, b_col))
        new_b = sorted({k for k in (set(b_keys) if everyone else {b_keys[i] for i in good}) if k[1]}
                       - self.buildings.keys())
        if new_b:
            conn.execute(insert(B), [{"site_id": s, "name": n} for s, n in new_b])
            self.buildings = {(r.site_id, r.name): r.id for r in conn.execute(select(B.c.id, B.c.site_id, B.c.name))}
        b_ids = list(map(self.buildings.get, b_keys))  # (site, None) is no building
        mp_keys = list(zip(site_ids, mp_col))
        want_mp: dict[tuple[int, str], int | None] = {}
        if {k for k in set(mp_keys) if k[1]} - self.mps.keys():
            for i in good:  # a new point takes the building of the first row naming it
                if mp_col[i] and mp_keys[i] not in self.mps:
                    want_mp.setdefault(mp_keys[i], b_ids[i])
        if want_mp:
            conn.execute(insert(MP), [self.reg._mp_values(s, bid, lab) for (s, lab), bid in want_mp.items()])
            self.mps = {(r.site_id, r.label): r.id for r in conn.execute(select(MP.c.id, MP.c.site_id, MP.c.label))}
        mp_ids = list(map(self.mps.get, mp_keys))
        return site_ids, b_ids, mp_ids

    def _write(self, conn: Connection, prep: _Prepared, prepare_next: Callable[[], None]) -> None:
        """Write one chunk. ``prepare_next`` starts the helper thread on the next chunk once the rows
        have gone to the database (each row needs the interpreter lock, so a busy helper would only
        make them wait), while it works: on SQLite before the set-based statements, on PostgreSQL
        while the server finishes the COPY."""
        reg = self.reg
        site_ids, b_ids, mp_ids = prep.placement or self._placement(conn, prep)
        if prep.existing:
            self._write_existing(conn, prep, site_ids, b_ids, mp_ids)
        new = prep.new
        if new:
            taken = self.spare_taken
            if len(self.spare_ids) - taken >= len(new):
                ids = self.spare_ids[taken:taken + len(new)]
                self.spare_taken += len(new)
            else:
                ids = reg._reserve_ids(conn, "meters", len(new))
            if len(new) == prep.res.n:
                place = (site_ids, b_ids, mp_ids)
            else:
                place = tuple([v[i] for i in new] for v in (site_ids, b_ids, mp_ids))
            columns = ["id", *prep.cols, "site_id", "building_id", "monitoring_point_id"]
            if reg.is_sqlite:
                rows = zip(ids, *prep.cols.values(), *place)
                # rows go to a bare temporary table first (binding takes the interpreter lock row by
                # row); the meters' own insert, with its indexes and foreign keys, is then one
                # statement that leaves the lock to the helper preparing the next chunk
                reg._stage(conn, columns, rows)
                prepare_next()
                reg._insert_staged(conn, M, columns, self.constants)
            else:  # the constants go in every row
                rows = zip(ids, *prep.cols.values(), *place, *map(repeat, self.constants.values()))
                reg._copy_in(conn, M, [*columns, *self.constants], rows, sent=prepare_next)
            reg._copy_installations(conn, ids)
            self.batches.extend((ids[b:e], data, apart) for b, e, data, apart in prep.batches)
            self.report.created += len(new)
        self.done = prep.start + prep.res.n
        if self.progress:
            self.progress(self.done, len(self.rows))

    def _write_existing(self, conn: Connection, prep: _Prepared, site_ids, b_ids, mp_ids) -> None:
        """Rows of meters already in the register: lock them (in id order, so that their ``before``
        is the committed state), then update those that changed (each logged)."""
        reg, res = self.reg, prep.res
        mids = [mid for _i, mid in prep.existing]
        current = reg._lock_meters(conn, mids)
        for i, mid in prep.existing:
            cur = current.get(mid)
            if cur is None:  # read a moment ago in this transaction: deleted meanwhile, or a damaged file
                raise ConflictError(f"{self.source}: meter {mid} went away during the import (deleted meanwhile, "
                                    "or the database is damaged: heatmeter db status); nothing stored")
            bid, mpid = b_ids[i], mp_ids[i]
            if cur["site_id"] == site_ids[i]:  # placement columns the file lacks stay as they are
                if "building" not in self.colset:
                    bid = cur["building_id"]
                if "monitoring_point" not in self.colset:
                    mpid = cur["monitoring_point_id"]
            change = reg._import_diff(cur, res.row(i), self.colset, self.report.extra_columns, site_ids[i],
                                      bid, mpid, marked=self.marked)
            if change is not None and cur["personal_erased_at"] is not None and \
                    not any(cur[f] for f in PERSONAL_COLUMNS):
                # its personal data was erased (maybe while this import ran): no value comes back from a file
                after = {k: v for k, v in change[1].items() if k not in PERSONAL_COLUMNS}
                if after != change[1]:
                    self.report.kept_erased.append(mid)
                change = (change[0], after, change[2]) if after else None
            if change is None:
                self.report.unchanged += 1
            else:
                reg._import_update(conn, *change, user=self.user, source=self.source)
                self.report.updated += 1
                self.report.moved += int(change[2])
