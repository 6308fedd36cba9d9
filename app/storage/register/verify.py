"""``db verify``: nothing stored as evidence was changed outside the tool.

Checks, in one read transaction (one snapshot):

- the event chain: every event's hash against its stored content and the
  hash stored before it; an altered event, a removed one (the chain breaks
  where ids skip) and an inserted one (the chain holds when it is left out)
  are told apart; events after the chain's recorded end are inserted;
- what each event covers in other tables (its detail digest): its import
  batch, its personal values' commitments, the evidence it anchors;
- the personal values kept apart: each entry against its commitment; an
  entry gone must be covered by a later ``erase_personal`` of its meter;
- every evidence item (``app.storage.evidence``) against its stored hash and
  the hash its latest event anchored; an item no event anchors was inserted,
  an anchored item missing was removed.

The per-row work (``verify_sql``) runs in the database on PostgreSQL and in
one merged pass on SQLite (split between processes for a large register);
only the rows that fail come back to be told apart here.
"""
from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.engine import Connection

from app.storage.errors import PermissionDenied
from app.storage.evidence import KINDS, item_hashes
from app.storage.integrity import GENESIS, decode_entries, digest, event_hash, run_ids
from app.storage.register import verify_sql
from app.storage.register.surveys import survey_digest
from app.storage.register.tables import ANCH, CHAIN, EVIDENCE_TABLES, RS, RSL, RST
from app.storage.register.unit import UnitOfWork

#: an SQLite register with this many events is verified by several processes at once (up to this many)
PARALLEL_FROM = 200_000
VERIFY_PROCESSES = 2


@dataclass
class Problem:
    table: str
    id: int | str
    what: str

    def line(self) -> str:
        return f"{self.table} {self.id}: {self.what}"


@dataclass
class VerifyReport:
    events: int = 0
    evidence: int = 0
    problems: list[Problem] = field(default_factory=list)
    head_id: int = 0
    head_hash: str = ""

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {"verified": self.ok, "events": self.events, "evidence": self.evidence,
                "chain_end": {"event_id": self.head_id, "hash": self.head_hash},
                "problems": [{"table": p.table, "id": p.id, "what": p.what} for p in self.problems]}


class Verification(UnitOfWork):
    """``verify_integrity``."""

    def verify_integrity(self, progress: Callable[[str], None] | None = None) -> VerifyReport:
        """Check the event chain, what it covers and every evidence item (see the module's docstring);
        ``progress(stage)`` is told each stage as it starts."""
        if not self.can_read_personal:
            raise PermissionDenied("permission denied: db verify reads the personal values' entries to check them "
                                   "and needs the role heatmeter_dpo or heatmeter_admin", ("heatmeter_dpo",
                                                                                           "heatmeter_admin"))
        rep = VerifyReport()
        say = progress or (lambda stage: None)
        with self._errors(), self.engine.connect() as conn:
            if not self.is_sqlite:
                conn = conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
            with conn.begin():
                say("event chain, what the events cover, personal values")
                chain, details, singles = self._scan(conn)
                self._chain(conn, rep, chain)
                for (eid,) in details:
                    rep.problems.append(Problem("events", eid, "what it covers (event_batches, personal_values "
                                                               "or evidence_anchors rows) was altered or removed"))
                self._personal(conn, rep, singles)
                say("evidence")
                self._evidence(conn, rep)
        return rep

    # ---- the per-row work, in the database ----------------------------------------------------------

    def _scan(self, conn: Connection) -> tuple[list, list, list]:
        """The failing rows of the chain, of the detail digests and of the one-meter personal entries. A
        large SQLite register is split between processes (the database is read by several at once);
        PostgreSQL does the hashing itself."""
        n, lo, hi = conn.execute(text("SELECT count(*), min(id), max(id) FROM events")).one()
        path = self.engine.url.database if self.is_sqlite else None
        workers = min(VERIFY_PROCESSES, os.cpu_count() or 1)
        if path and path != ":memory:" and n >= PARALLEL_FROM and workers > 1 and hi is not None:
            step = (hi - lo + 1) // workers + 1
            bounds = [(-(2 ** 62) if k == 0 else lo + k * step, 2 ** 62 if k == workers - 1 else lo + (k + 1) * step - 1)
                      for k in range(workers)]
            with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
                parts = list(pool.map(verify_sql.scan_sqlite, [os.path.abspath(path)] * workers,
                                      [b[0] for b in bounds], [b[1] for b in bounds]))
            return ([r for p in parts for r in p[0]], sorted({r for p in parts for r in p[1]}),
                    [r for p in parts for r in p[2]])
        if self.is_sqlite:
            return verify_sql.scan_rows(conn.connection.driver_connection, -(2 ** 62), 2 ** 62)
        params = {"lo": -(2 ** 62), "hi": 2 ** 62}
        return (conn.execute(text(verify_sql.chain_sql()), params).all(),
                conn.execute(text(verify_sql.details_sql()), params).all(),
                conn.execute(text(verify_sql.single_entries_sql()), params).all())

    # ---- the chain ------------------------------------------------------------------------------

    def _row(self, conn: Connection, where: str, order: str, params: dict) -> tuple | None:
        return conn.execute(text(f"{verify_sql.row_sql(self.is_sqlite)} WHERE {where} ORDER BY id {order} LIMIT 1"),
                            params).first()

    def _chain(self, conn: Connection, rep: VerifyReport, failing: list) -> None:
        problems = rep.problems
        head = conn.execute(select(CHAIN.c.last_event_id, CHAIN.c.last_hash).where(CHAIN.c.id == 1)).first()
        end_id, end_hash = (int(head[0]), bytes(head[1])) if head else (0, GENESIS)
        explained: set[int] = set()
        for eid, prev_id in failing:
            if eid in explained:
                continue
            if prev_id is not None and eid > prev_id + 1:
                gone = f"{prev_id + 1}" if eid == prev_id + 2 else f"{prev_id + 1}-{eid - 1}"
                problems.append(Problem("events", gone, f"removed (the chain breaks before event {eid})"))
                continue
            # does the chain hold without this row? then it was inserted; else it was altered
            before = self._row(conn, "id < :k", "DESC", {"k": eid})
            after = self._row(conn, "id > :k", "ASC", {"k": eid})
            prev = bytes(before[-1]) if before is not None and before[-1] is not None else GENESIS
            if after is not None and after[-1] is not None and event_hash(prev, *after[:11]) == bytes(after[-1]):
                problems.append(Problem("events", eid, "inserted (the chain holds without it)"))
                explained.add(after[0])
            else:
                problems.append(Problem("events", eid, "altered (its content does not match its hash)"))
        n, last_id = conn.execute(text("SELECT count(*), max(id) FROM events")).one()
        rep.events = int(n)
        last = conn.execute(text("SELECT hash FROM events WHERE id = :i"), {"i": last_id}).scalar() \
            if last_id is not None else None
        last_hash = bytes(last) if last is not None else GENESIS
        if last_id is None:
            if end_id:
                problems.append(Problem("events", f"1-{end_id}", "removed (the chain's end says they exist)"))
        elif last_id > end_id:
            problems.append(Problem("events", f"{end_id + 1}-{last_id}" if last_id > end_id + 1 else last_id,
                                    "inserted after the end of the chain"))
        elif last_id < end_id:
            problems.append(Problem("events", f"{last_id + 1}-{end_id}" if end_id > last_id + 1 else end_id,
                                    "removed at the end of the chain"))
        elif last_hash != end_hash:
            problems.append(Problem("event_chain", 1, "the chain's end does not match the last event"))
        rep.head_id, rep.head_hash = int(last_id or 0), last_hash.hex()

    # ---- personal values ----------------------------------------------------------------------

    def _personal(self, conn: Connection, rep: VerifyReport, singles: list) -> None:
        """Each kept-apart entry against its commitment; an entry gone must have a later erase."""
        erased: list[tuple[int, int, int]] = []  # (meter, event, personal_values row) of entries gone
        for pid, eid, key, mid, gone in singles:
            if gone:
                erased.append((mid, eid, pid))
            else:
                rep.problems.append(Problem("personal_values", pid,
                                            f"value of {key} for meter {mid} differs from its commitment"))
        for pid, eid, key, runs, payload, digests in conn.execute(text(verify_sql.MULTI_ENTRIES_SQL)):
            ids = run_ids(runs)
            try:
                entries = decode_entries(payload)
            except (ValueError, TypeError, OSError):
                rep.problems.append(Problem("personal_values", pid, "payload cannot be read (altered)"))
                continue
            if len(entries) != len(ids) or len(digests) != 64 * len(ids):
                rep.problems.append(Problem("personal_values", pid, "entries do not match the meters they cover "
                                                                    "(altered)"))
                continue
            for p, (mid, e) in enumerate(zip(ids, entries)):
                if e is None:
                    erased.append((mid, eid, pid))
                elif digest(e) != digests[64 * p:64 * p + 64]:
                    rep.problems.append(Problem("personal_values", pid,
                                                f"value of {key} for meter {mid} differs from its commitment"))
        if not erased:
            return
        erases: dict[int, int] = {}  # meter -> its last erase_personal event
        for mid, eid in conn.execute(text("SELECT meter_id, max(id) FROM events WHERE action = 'erase_personal' "
                                          "AND meter_id IS NOT NULL GROUP BY meter_id")):
            erases[mid] = eid
        for mid, eid, pid in erased:
            if erases.get(mid, -1) <= eid:
                rep.problems.append(Problem("personal_values", pid, f"the values of meter {mid} are gone without an "
                                                                    "erase of its personal data recorded after them"))

    # ---- evidence -----------------------------------------------------------------------------

    def _evidence(self, conn: Connection, rep: VerifyReport) -> None:
        latest: dict[tuple[str, int], tuple[int, str | None]] = {}
        for eid, table, item, h in conn.execute(select(ANCH.c.event_id, ANCH.c.item_table, ANCH.c.item_id,
                                                       ANCH.c.content_hash).order_by(ANCH.c.event_id, ANCH.c.id)):
            latest[(table, item)] = (eid, h)
        for kind in KINDS:
            seen = set()
            for item, now, stored in item_hashes(conn, EVIDENCE_TABLES, kind):
                seen.add(item)
                rep.evidence += 1
                anchor = latest.get((kind, item))
                if anchor is None:
                    rep.problems.append(Problem(kind, item, "inserted (no event records it)"))
                elif now != stored or now != anchor[1]:
                    what = "content altered (its hash does not match what event " \
                           f"{anchor[0]} recorded)" if stored == anchor[1] else \
                           f"content and stored hash altered (event {anchor[0]} recorded another)"
                    if anchor[1] is None:
                        what = f"inserted again after event {anchor[0]} deleted it"
                    rep.problems.append(Problem(kind, item, what))
            for (table, item), (eid, h) in latest.items():
                if table == kind and h is not None and item not in seen:
                    rep.problems.append(Problem(kind, item, f"removed (event {eid} recorded it)"))
        self._surveys(conn, rep, latest)

    def _surveys(self, conn: Connection, rep: VerifyReport, latest: dict) -> None:
        """Connectivity surveys: their telegrams (bytes, times, RSSI) against the digest saved with them."""
        locs: dict[int, list[dict]] = {}
        by_loc: dict[int, dict] = {}
        for r in conn.execute(select(RSL).order_by(RSL.c.survey_id, RSL.c.seq)).mappings():
            loc = {**dict(r), "telegrams": []}
            locs.setdefault(r["survey_id"], []).append(loc)
            by_loc[r["id"]] = loc
        for t in conn.execute(select(RST).order_by(RST.c.location_id, RST.c.seq)).mappings():
            if t["location_id"] in by_loc:
                by_loc[t["location_id"]]["telegrams"].append(dict(t))
        seen = set()
        for sid, stored in conn.execute(select(RS.c.id, RS.c.digest).order_by(RS.c.id)):
            seen.add(sid)
            rep.evidence += 1
            now = survey_digest(locs.get(sid, []))
            anchor = latest.get(("radio_surveys", sid))
            if anchor is None:
                rep.problems.append(Problem("radio_surveys", sid, "inserted (no event records it)"))
            elif now != stored or now != anchor[1]:
                rep.problems.append(Problem("radio_surveys", sid, "telegrams or locations altered (their digest "
                                                                  f"does not match what event {anchor[0]} recorded)"))
        for (table, item), (eid, h) in latest.items():
            if table == "radio_surveys" and h is not None and item not in seen:
                rep.problems.append(Problem("radio_surveys", item, f"removed (event {eid} recorded it)"))
