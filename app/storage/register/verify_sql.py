"""The SQL of ``db verify``: the chain's hashes and the detail digests recomputed in the database.

The same canonical text as ``app.storage.integrity.canonical`` and the same
detail digest as ``integrity.detail_digest``, written in SQL. PostgreSQL
hashes with its own ``sha256``; SQLite gets three functions on the
connection (:func:`add_functions`): ``heatmeter_sha256`` (hex of a text's
UTF-8 or of bytes), ``heatmeter_chainhash(previous hash, text)`` and the
aggregate ``heatmeter_joined(group, order, part)``, which joins the parts of
one event in order. Each query takes a range of event ids (``:lo``, ``:hi``)
and returns only the rows that fail; :func:`scan_sqlite` runs the three of
them on one range of an SQLite file, in a process of its own (``db verify``
of a large register splits the ids between processes).
"""
from __future__ import annotations

import hashlib
import sqlite3
from urllib.parse import quote

from app.storage.integrity import GENESIS, PG_AT_FORMAT

_FIELDS = ('"user"', "entity", "entity_id", "meter_id", "action", "before", "after", "source")
_TEXT = {'"user"', "entity", "action", "before", "after", "source"}


def _canonical(sqlite: bool) -> str:
    sep = " || char(31) || " if sqlite else " || chr(31) || "
    parts = ["id", "at" if sqlite else f"to_char(at, '{PG_AT_FORMAT}')"]
    for c in _FIELDS:
        col = c if sqlite or c not in ("before", "after") else f"{c}::text"
        if c in _TEXT:
            parts.append(f"CASE WHEN {col} IS NULL THEN '-' ELSE length({col}) || ':' || {col} END")
        else:
            parts.append(f"CASE WHEN {col} IS NULL THEN '-' ELSE {col}{'' if sqlite else '::text'} END")
    parts.append("coalesce(detail_digest, '-')")
    return sep.join(parts)


def row_sql(sqlite: bool) -> str:
    """One event's hashed fields (in ``integrity.event_hash`` order) and its stored hash, as stored."""
    if sqlite:
        return 'SELECT id, at, "user", entity, entity_id, meter_id, action, before, after, source, detail_digest, ' \
               "hash FROM events"
    return (f"SELECT id, to_char(at, '{PG_AT_FORMAT}'), \"user\", entity, entity_id, meter_id, action, "
            "before::text, after::text, source, detail_digest, hash FROM events")


def chain_sql(sqlite: bool) -> str:
    """(id, id of the row before it) of every event in ``:lo .. :hi`` whose hash does not follow from the
    stored hash before it and its own content."""
    window = ("FROM events WHERE id >= coalesce((SELECT max(id) FROM events WHERE id < :lo), :lo) AND id <= :hi "
              "WINDOW w AS (ORDER BY id)")
    if sqlite:
        h = f"heatmeter_chainhash(lag(hash) OVER w, {_canonical(True)})"
        return (f"SELECT id, prev_id FROM (SELECT id, hash, lag(id) OVER w AS prev_id, {h} AS h {window}) "
                "WHERE id >= :lo AND h IS NOT hash ORDER BY id")
    genesis = f"decode('{GENESIS.hex()}', 'hex')"
    h = f"sha256(coalesce(lag(hash) OVER w, {genesis}) || convert_to({_canonical(False)}, 'UTF8'))"
    return (f"SELECT id, prev_id FROM (SELECT id, hash, lag(id) OVER w AS prev_id, {h} AS h {window}) t "
            "WHERE id >= :lo AND h IS DISTINCT FROM hash ORDER BY id")


def details_sql(sqlite: bool) -> str:
    """Ids (in ``:lo .. :hi``) of the events whose detail digest does not match the rows that belong to
    them, or of missing events that rows still belong to. An event with one such row (the usual case:
    one field kept apart) is checked without aggregating."""
    if sqlite:
        sha = "heatmeter_sha256({})"
        agg = "heatmeter_joined(grp, ord, part)"
    else:
        sha = "encode(sha256({}), 'hex')"
        agg = "string_agg(part, chr(30) ORDER BY grp, ord)"
    text_sha = sha if sqlite else "encode(sha256(convert_to({}, 'UTF8')), 'hex')"
    rng = "event_id BETWEEN :lo AND :hi"
    return f"""
WITH parts AS MATERIALIZED (
  SELECT event_id, 0 AS grp, id AS ord,
         'B' || length(meter_ids) || ':' || meter_ids || {sha.format('data')} AS part FROM event_batches WHERE {rng}
  UNION ALL
  SELECT event_id, 1, id, 'P' || length(key) || ':' || key || length(meter_ids) || ':' || meter_ids || digests
    FROM personal_values WHERE {rng}
  UNION ALL
  SELECT event_id, 2, id, 'A' || length(item_table) || ':' || item_table || item_id || ':'
         || coalesce(content_hash, '-') FROM evidence_anchors WHERE {rng}),
counted AS MATERIALIZED (SELECT event_id, count(*) AS n, max(part) AS part FROM parts GROUP BY event_id),
d AS (SELECT event_id, part AS parts FROM counted WHERE n = 1
      UNION ALL
      SELECT event_id, {agg} FROM parts WHERE event_id IN (SELECT event_id FROM counted WHERE n > 1)
       GROUP BY event_id)
SELECT e.id FROM events e LEFT JOIN d ON d.event_id = e.id
 WHERE e.id BETWEEN :lo AND :hi AND (e.detail_digest IS NOT NULL OR d.parts IS NOT NULL)
   AND (d.parts IS NULL OR e.detail_digest IS NULL OR {text_sha.format('d.parts')} <> e.detail_digest)
UNION
SELECT d.event_id FROM d LEFT JOIN events e ON e.id = d.event_id WHERE e.id IS NULL
ORDER BY 1"""


_ONE = "first_meter_id = last_meter_id AND meter_ids = '[[' || first_meter_id || ', 1]]'"


def single_entries_sql(sqlite: bool) -> str:
    """(row, event, key, meter, erased) of the one-meter personal_values rows (of events ``:lo .. :hi``)
    whose entry is gone or does not hash to its commitment."""
    sha = "heatmeter_sha256(payload)" if sqlite else "encode(sha256(payload), 'hex')"
    return ("SELECT id, event_id, key, first_meter_id, payload IS NULL FROM personal_values "
            f"WHERE event_id BETWEEN :lo AND :hi AND {_ONE} AND (payload IS NULL OR {sha} <> digests) ORDER BY id")


#: the personal_values rows of several meters (an import's batch), checked entry by entry in Python
MULTI_ENTRIES_SQL = ("SELECT id, event_id, key, meter_ids, payload, digests FROM personal_values "
                     f"WHERE NOT ({_ONE}) ORDER BY id")


class _Joined:
    """``heatmeter_joined(group, order, part)``: the parts of one event, in order, joined by U+001E."""

    def __init__(self):
        self.parts = []

    def step(self, grp, ord_, part):
        self.parts.append((grp, ord_, part))

    def finalize(self):
        self.parts.sort(key=lambda p: (p[0], p[1]))
        return "\x1e".join(p[2] for p in self.parts)


def _sha256(v):
    if v is None:
        return None
    return hashlib.sha256(v.encode("utf-8") if isinstance(v, str) else bytes(v)).hexdigest()


def _chainhash(prev, body, _sha=hashlib.sha256):
    if body is None:
        return None
    return _sha((GENESIS if prev is None else prev) + body.encode("utf-8")).digest()


def add_functions(raw) -> None:
    """Give an SQLite connection the functions the queries above use."""
    raw.create_function("heatmeter_sha256", 1, _sha256, deterministic=True)
    raw.create_function("heatmeter_chainhash", 2, _chainhash, deterministic=True)
    raw.create_aggregate("heatmeter_joined", 3, _Joined)


def scan_sqlite(path: str, lo: int, hi: int) -> tuple[list, list, list]:
    """The failing rows of events ``lo .. hi`` of the SQLite register at ``path``: (chain, details, single
    entries), as the three queries above return them. Opens the file read-only; runs in a process of
    its own."""
    con = sqlite3.connect(f"file:{quote(path)}?mode=ro", uri=True)
    try:
        add_functions(con)
        params = {"lo": lo, "hi": hi}
        return (con.execute(chain_sql(True), params).fetchall(), con.execute(details_sql(True), params).fetchall(),
                con.execute(single_entries_sql(True), params).fetchall())
    finally:
        con.close()
