"""``db verify``: nothing stored as evidence was changed outside the tool.

Checks, in one read transaction (one snapshot):

- the event chain: every event's hash against its stored content and the
  hash before it; an altered event, a removed one (the chain breaks where
  ids skip) and an inserted one (the chain holds when it is left out) are
  told apart; events after the chain's recorded end are inserted;
- what each event covers in other tables (its detail digest): its import
  batch, its personal values' commitments, the evidence it anchors;
- the personal values kept apart: each entry against its commitment; an
  entry gone must be covered by a later ``erase_personal`` of its meter;
- every evidence item (``app.storage.evidence``) against its stored hash and
  the hash its latest event anchored; an item no event anchors was inserted,
  an anchored item missing was removed.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from app.storage.errors import PermissionDenied
from app.storage.evidence import KINDS, item_hashes
from app.storage.integrity import GENESIS, PG_AT_FORMAT, decode_entries, detail_digest, digest, run_ids
from app.storage.register.tables import ANCH, CHAIN, EVIDENCE_TABLES, EVB, PV
from app.storage.register.unit import UnitOfWork

_PAGE = 20_000


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

    def verify_integrity(self, progress: Callable[[int], None] | None = None) -> VerifyReport:
        """Check the event chain, what it covers and every evidence item (see the module's docstring)."""
        if not self.can_read_personal:
            raise PermissionDenied("permission denied: db verify reads the personal values' entries to check them "
                                   "and needs the role heatmeter_dpo or heatmeter_admin", ("heatmeter_dpo",
                                                                                           "heatmeter_admin"))
        rep = VerifyReport()
        with self._errors(), self.engine.connect() as conn:
            if not self.is_sqlite:
                conn = conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
            with conn.begin():
                details, erased = self._details(conn, rep)
                erases = self._chain(conn, rep, details, progress)
                for mid, after_event, table, row_id in erased:
                    if not any(e > after_event for e in erases.get(mid, ())):
                        rep.problems.append(Problem(table, row_id, f"the values of meter {mid} are gone without an "
                                                                   "erase of its personal data recorded after them"))
                self._evidence(conn, rep)
        return rep

    # ---- what events cover in other tables ---------------------------------------------------

    def _details(self, conn: Connection, rep: VerifyReport):
        details: dict[int, list] = {}
        for eid, runs, data in conn.execute(select(EVB.c.event_id, EVB.c.meter_ids, EVB.c.data)):
            details.setdefault(eid, [None, [], []])[0] = (runs, bytes(data))
        erased: list[tuple[int, int, str, int]] = []  # (meter, event, table, row) of entries gone
        for r in conn.execute(select(PV.c.id, PV.c.event_id, PV.c.key, PV.c.meter_ids, PV.c.payload, PV.c.digests)):
            details.setdefault(r.event_id, [None, [], []])[1].append((r.key, r.meter_ids, r.digests))
            ids = run_ids(r.meter_ids)
            try:
                entries = decode_entries(r.payload)
            except (ValueError, TypeError, OSError):
                rep.problems.append(Problem("personal_values", r.id, "payload cannot be read (altered)"))
                continue
            if len(entries) != len(ids) or len(r.digests) != 64 * len(ids):
                rep.problems.append(Problem("personal_values", r.id, "entries do not match the meters they cover "
                                                                     "(altered)"))
                continue
            for p, (mid, e) in enumerate(zip(ids, entries)):
                if e is None:
                    erased.append((mid, r.event_id, "personal_values", r.id))
                elif digest(e) != r.digests[64 * p:64 * p + 64]:
                    rep.problems.append(Problem("personal_values", r.id,
                                                f"value of {r.key} for meter {mid} differs from its commitment"))
        for eid, table, item, h in conn.execute(select(ANCH.c.event_id, ANCH.c.item_table, ANCH.c.item_id,
                                                       ANCH.c.content_hash)):
            details.setdefault(eid, [None, [], []])[2].append((table, item, h))
        return details, erased

    # ---- the chain ------------------------------------------------------------------------------

    def _event_rows(self, conn: Connection):
        cols = '"user", entity, entity_id, meter_id, action'
        if self.is_sqlite:
            sql = f"SELECT id, at, {cols}, before, after, source, detail_digest, hash FROM events ORDER BY id"
            cur = conn.connection.driver_connection.cursor()
        else:
            sql = (f"SELECT id, to_char(at, '{PG_AT_FORMAT}'), {cols}, before::text, after::text, source, "
                   "detail_digest, hash FROM events ORDER BY id")
            cur = conn.connection.driver_connection.cursor(name="heatmeter_verify")
            cur.itersize = _PAGE
        try:
            cur.execute(sql)
            while True:
                rows = cur.fetchmany(_PAGE)
                if not rows:
                    return
                yield rows
        finally:
            cur.close()

    def _chain(self, conn: Connection, rep: VerifyReport, details: dict[int, list],
               progress: Callable[[int], None] | None) -> dict[int, list[int]]:
        """Walk the chain; returns meter id -> ids of its erase_personal events."""
        head = conn.execute(select(CHAIN.c.last_event_id, CHAIN.c.last_hash).where(CHAIN.c.id == 1)).first()
        end_id, end_hash = (int(head[0]), bytes(head[1])) if head else (0, GENESIS)
        sha, dumps = hashlib.sha256, json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
        problems = rep.problems
        erases: dict[int, list[int]] = {}
        prev, prev_id = GENESIS, None
        pending = None  # (index of its problem, hash before it) of a row that failed: the next row tells why
        n = 0
        for rows in self._event_rows(conn):
            for r in rows:
                eid, stored, dd = r[0], r[11], r[10]
                stored = bytes(stored) if stored is not None else None
                d = details.get(eid)
                if (detail_digest(*d) if d is not None else None) != dd:
                    problems.append(Problem("events", eid, "what it covers (event_batches, personal_values or "
                                                           "evidence_anchors rows) was altered or removed"))
                body = dumps([*r[:10], dd]).encode("utf-8")
                if pending is not None:
                    idx, before_it = pending
                    pending = None
                    if sha(before_it + body).digest() == stored:  # the chain holds without the failed row
                        problems[idx].what = "inserted (the chain holds without it)"
                        prev = before_it
                    else:
                        problems[idx].what = "altered (its content does not match its hash)"
                h = sha(prev + body).digest()
                if h != stored:
                    if prev_id is not None and eid > prev_id + 1:
                        gone = f"{prev_id + 1}" if eid == prev_id + 2 else f"{prev_id + 1}-{eid - 1}"
                        problems.append(Problem("events", gone, f"removed (the chain breaks before event {eid})"))
                    else:
                        pending = (len(problems), prev)
                        problems.append(Problem("events", eid, "altered (its content does not match its hash)"))
                    h = stored if stored is not None else h
                if r[6] == "erase_personal" and r[5] is not None:
                    erases.setdefault(r[5], []).append(eid)
                prev, prev_id = h, eid
                n += 1
            if progress:
                progress(n)
        rep.events = n
        if prev_id is None:
            if end_id:
                problems.append(Problem("events", f"1-{end_id}", "removed (the chain's end says they exist)"))
        elif prev_id > end_id:
            problems.append(Problem("events", f"{end_id + 1}-{prev_id}" if prev_id > end_id + 1 else prev_id,
                                    "inserted after the end of the chain"))
        elif prev_id < end_id:
            problems.append(Problem("events", f"{prev_id + 1}-{end_id}" if end_id > prev_id + 1 else end_id,
                                    "removed at the end of the chain"))
        elif prev != end_hash:
            problems.append(Problem("event_chain", 1, "the chain's end does not match the last event"))
        rep.head_id, rep.head_hash = (prev_id or 0), prev.hex()
        return erases

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

