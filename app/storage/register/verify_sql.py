"""The per-row work of ``db verify``: the chain's hashes, the detail digests and the one-meter personal
entries recomputed, returning only the rows that fail.

PostgreSQL does it in SQL with its own ``sha256`` (``chain_sql``,
``details_sql``, ``single_entries_sql``: the same canonical text as
``app.storage.integrity.canonical`` and the same detail digest as
``integrity.detail_digest``). SQLite builds long strings slowly, so there
one pass in Python (:func:`scan_rows`) reads the events merged with their
personal values; a large register is split by event ids between processes
(:func:`scan_sqlite`). Each takes a range of event ids (``lo``, ``hi``).
"""
from __future__ import annotations

import hashlib
import sqlite3
from urllib.parse import quote

from app.storage.integrity import GENESIS, PG_AT_FORMAT

_FIELDS = ('"user"', "entity", "entity_id", "meter_id", "action", "before", "after", "source")
_TEXT = {'"user"', "entity", "action", "before", "after", "source"}


def _canonical() -> str:
    """PostgreSQL: ``integrity.canonical`` of an events row."""
    parts = ["id::text", f"to_char(at, '{PG_AT_FORMAT}')"]
    for c in _FIELDS:
        col = f"{c}::text" if c in ("before", "after") else c
        if c in _TEXT:
            parts.append(f"CASE WHEN {col} IS NULL THEN '-' ELSE length({col}) || ':' || {col} END")
        else:
            parts.append(f"CASE WHEN {col} IS NULL THEN '-' ELSE {col}::text END")
    parts.append("coalesce(detail_digest, '-')")
    return " || chr(31) || ".join(parts)


def row_sql(sqlite: bool) -> str:
    """One event's hashed fields (in ``integrity.event_hash`` order) and its stored hash, as stored."""
    if sqlite:
        return 'SELECT id, at, "user", entity, entity_id, meter_id, action, before, after, source, detail_digest, ' \
               "hash FROM events"
    return (f"SELECT id, to_char(at, '{PG_AT_FORMAT}'), \"user\", entity, entity_id, meter_id, action, "
            "before::text, after::text, source, detail_digest, hash FROM events")


def chain_sql() -> str:
    """PostgreSQL: (id, id of the row before it) of every event in ``:lo .. :hi`` whose hash does not
    follow from the stored hash before it and its own content."""
    window = ("FROM events WHERE id >= coalesce((SELECT max(id) FROM events WHERE id < :lo), :lo) AND id <= :hi "
              "WINDOW w AS (ORDER BY id)")
    genesis = f"decode('{GENESIS.hex()}', 'hex')"
    h = f"sha256(coalesce(lag(hash) OVER w, {genesis}) || convert_to({_canonical()}, 'UTF8'))"
    return (f"SELECT id, prev_id FROM (SELECT id, hash, lag(id) OVER w AS prev_id, {h} AS h {window}) t "
            "WHERE id >= :lo AND h IS DISTINCT FROM hash ORDER BY id")


def details_sql() -> str:
    """PostgreSQL: ids (in ``:lo .. :hi``) of the events whose detail digest does not match the rows that
    belong to them, or of missing events that rows still belong to."""
    rng = "event_id BETWEEN :lo AND :hi"
    return f"""
WITH parts AS (
  SELECT event_id, 0 AS grp, id AS ord,
         'B' || length(meter_ids) || ':' || meter_ids || encode(sha256(data), 'hex') AS part
    FROM event_batches WHERE {rng}
  UNION ALL
  SELECT event_id, 1, id, 'P' || length(key) || ':' || key || length(meter_ids) || ':' || meter_ids || digests
    FROM personal_values WHERE {rng}
  UNION ALL
  SELECT event_id, 2, id, 'A' || length(item_table) || ':' || item_table || item_id || ':'
         || coalesce(content_hash, '-') FROM evidence_anchors WHERE {rng}),
d AS (SELECT event_id, string_agg(part, chr(30) ORDER BY grp, ord) AS parts FROM parts GROUP BY event_id)
SELECT e.id FROM events e LEFT JOIN d ON d.event_id = e.id
 WHERE e.id BETWEEN :lo AND :hi AND (e.detail_digest IS NOT NULL OR d.parts IS NOT NULL)
   AND (d.parts IS NULL OR e.detail_digest IS NULL
        OR encode(sha256(convert_to(d.parts, 'UTF8')), 'hex') <> e.detail_digest)
UNION
SELECT d.event_id FROM d LEFT JOIN events e ON e.id = d.event_id WHERE e.id IS NULL
ORDER BY 1"""


_ONE = "first_meter_id = last_meter_id AND meter_ids = '[[' || first_meter_id || ', 1]]'"


def single_entries_sql() -> str:
    """PostgreSQL: (row, event, key, meter, erased) of the one-meter personal_values rows (of events
    ``:lo .. :hi``) whose entry is gone or does not hash to its commitment."""
    return ("SELECT id, event_id, key, first_meter_id, payload IS NULL FROM personal_values "
            f"WHERE event_id BETWEEN :lo AND :hi AND {_ONE} "
            "AND (payload IS NULL OR encode(sha256(payload), 'hex') <> digests) ORDER BY id")


#: the personal_values rows of several meters (an import's batch), checked entry by entry in Python
MULTI_ENTRIES_SQL = ("SELECT id, event_id, key, meter_ids, payload, digests FROM personal_values "
                     f"WHERE NOT ({_ONE}) ORDER BY id")


def scan_rows(con, lo: int, hi: int) -> tuple[list, list, list]:
    """SQLite: the failing rows of events ``lo .. hi`` (chain, details, one-meter entries, as the queries
    above return them), in one pass over the events merged with their personal values, in Python: SQLite
    builds long strings slowly, Python's f-strings and hashlib do it several times faster."""
    sha = hashlib.sha256
    before = con.execute("SELECT id, hash FROM events WHERE id < ? ORDER BY id DESC LIMIT 1", (lo,)).fetchone()
    prev, prev_id = (bytes(before[1]) if before[1] is not None else GENESIS, before[0]) if before else (GENESIS, None)
    other: dict[int, list[str]] = {}  # event -> its batch part (first) and its anchor parts (after the P parts)
    for eid, runs, data in con.execute("SELECT event_id, meter_ids, data FROM event_batches "
                                       "WHERE event_id BETWEEN ? AND ? ORDER BY id", (lo, hi)):
        other.setdefault(eid, []).append(f"B{len(runs)}:{runs}{sha(bytes(data)).hexdigest()}")
    anchors: dict[int, list[str]] = {}
    for eid, table, item, h in con.execute("SELECT event_id, item_table, item_id, content_hash FROM evidence_anchors "
                                           "WHERE event_id BETWEEN ? AND ? ORDER BY id", (lo, hi)):
        anchors.setdefault(eid, []).append(f"A{len(table)}:{table}{item}:{h or '-'}")
    pv = con.cursor()
    pv.execute("SELECT event_id, id, key, meter_ids, digests, first_meter_id, last_meter_id, payload "
               "FROM personal_values WHERE event_id BETWEEN ? AND ? ORDER BY event_id, id", (lo, hi))
    pv_rows = iter(lambda: pv.fetchmany(20_000), [])
    pv_page: list = []
    k = 0
    chain, details, singles = [], [], []
    seen_pv: set[int] = set()
    ev = con.cursor()
    ev.execute('SELECT id, at, "user", entity, entity_id, meter_id, action, before, after, source, detail_digest, '
               "hash FROM events WHERE id BETWEEN ? AND ? ORDER BY id", (lo, hi))
    while True:
        rows = ev.fetchmany(20_000)
        if not rows:
            break
        for r in rows:
            eid = r[0]
            i, at, u, en, ei, mi, ac, b, a, so, dd, stored = r
            body = (f"{i}\x1f{at}\x1f{'-' if u is None else f'{len(u)}:{u}'}\x1f"
                    f"{'-' if en is None else f'{len(en)}:{en}'}\x1f{'-' if ei is None else ei}\x1f"
                    f"{'-' if mi is None else mi}\x1f{'-' if ac is None else f'{len(ac)}:{ac}'}\x1f"
                    f"{'-' if b is None else f'{len(b)}:{b}'}\x1f{'-' if a is None else f'{len(a)}:{a}'}\x1f"
                    f"{'-' if so is None else f'{len(so)}:{so}'}\x1f{dd or '-'}")
            if stored is None or sha(prev + body.encode("utf-8")).digest() != stored:
                chain.append((eid, prev_id))
            prev, prev_id = (stored if stored is not None else GENESIS), eid
            # its personal values: the rows of this event (both streams are in event order)
            parts = other.get(eid)
            parts = list(parts) if parts else []
            while True:
                if k >= len(pv_page):
                    pv_page, k = next(pv_rows, []), 0
                    if not pv_page:
                        break
                p = pv_page[k]
                if p[0] < eid:  # a row of a missing event: its detail cannot match
                    if p[0] not in seen_pv:
                        seen_pv.add(p[0])
                        details.append(p[0])
                    k += 1
                    continue
                if p[0] > eid:
                    break
                _e, pid, key, runs, digests, first, last, payload = p
                parts.append(f"P{len(key)}:{key}{len(runs)}:{runs}{digests}")
                if first == last and runs == f"[[{first}, 1]]":
                    if payload is None:
                        singles.append((pid, eid, key, first, 1))
                    elif sha(payload).hexdigest() != digests:
                        singles.append((pid, eid, key, first, 0))
                k += 1
            more = anchors.get(eid)
            if more:
                parts += more
            if parts or dd is not None:
                if not parts or dd is None or sha("\x1e".join(parts).encode("utf-8")).hexdigest() != dd:
                    details.append(eid)
    for page in [pv_page[k:]] + list(pv_rows):  # rows of events after the last one
        for p in page:
            if p[0] not in seen_pv:
                seen_pv.add(p[0])
                details.append(p[0])
    for eid in sorted(set(other) | set(anchors)):
        if con.execute("SELECT 1 FROM events WHERE id = ?", (eid,)).fetchone() is None and eid not in seen_pv:
            details.append(eid)
    return chain, sorted(set(details)), singles


def scan_sqlite(path: str, lo: int, hi: int) -> tuple[list, list, list]:
    """:func:`scan_rows` on the SQLite register at ``path``, opened read-only: runs in a process of its own."""
    con = sqlite3.connect(f"file:{quote(path)}?mode=ro", uri=True)
    try:
        con.execute("BEGIN")
        return scan_rows(con, lo, hi)
    finally:
        con.close()
