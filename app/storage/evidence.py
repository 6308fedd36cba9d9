"""Evidence items read back and hashed (``app.storage.integrity.item_hash``), for any set of table handles.

The register hashes an item as the database gives it back, in the
transaction that writes it; ``db verify`` hashes every item again; the
migration that introduced the hashes used its own reflected tables. All go
through :func:`item_hashes`, so the three agree.

Items: a readout (with its frames), a *signed* commissioning record, a
calibration result (with its points: recalibrations and lot tests), a lot as
formed (with its members), a lot's draw (its seed and drawn meters in order;
item id = the lot's id), a lot result, a lot verdict, a write to a meter
(with every frame sent and received), a commissioning photo (its bytes by
their SHA-256).
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.engine import Connection

from app.storage.integrity import item_hash

#: evidence kind -> (table holding the item, child table, child's parent column, child's order column)
KINDS: dict[str, tuple[str, str | None, str | None, str | None]] = {
    "readouts": ("readouts", "readout_frames", "readout_id", "seq"),
    "commissioning_records": ("commissioning_records", None, None, None),
    "calibration_results": ("calibration_results", "calibration_points", "result_id", "seq"),
    "lots": ("lots", "lot_members", "lot_id", "position"),
    "lot_draws": ("lots", "lot_draws", "lot_id", "draw_order"),
    "lot_results": ("lot_results", None, None, None),
    "lot_verdicts": ("lot_verdicts", None, None, None),
    "meter_writes": ("meter_writes", "meter_write_frames", "write_id", "seq"),
    "commissioning_photos": ("commissioning_photos", None, None, None),
}
#: the column of the item's table that holds its hash
HASH_COLUMN = {kind: ("draw_hash" if kind == "lot_draws" else "content_hash") for kind in KINDS}
_CHUNK = 2000


def _items(conn: Connection, tables: Mapping[str, Table], kind: str, ids: Iterable[int] | None
           ) -> Iterator[list[dict[str, Any]]]:
    t = tables[KINDS[kind][0]]
    q = select(t).order_by(t.c.id)
    if kind == "commissioning_records":
        q = q.where(t.c.status == "signed")
    if ids is not None:
        wanted = sorted(set(ids))
        for j in range(0, len(wanted), _CHUNK):
            rows = [dict(r) for r in conn.execute(q.where(t.c.id.in_(wanted[j:j + _CHUNK]))).mappings()]
            if rows:
                yield rows
        return
    last = None
    while True:
        page = q if last is None else q.where(t.c.id > last)
        rows = [dict(r) for r in conn.execute(page.limit(_CHUNK)).mappings()]
        if not rows:
            return
        yield rows
        last = rows[-1]["id"]


def item_hashes(conn: Connection, tables: Mapping[str, Table], kind: str, ids: Iterable[int] | None = None
                ) -> Iterator[tuple[int, str, str | None]]:
    """(item id, content hash now, hash stored in its row) of every item of ``kind`` (or of ``ids``).

    A lot without a draw has no ``lot_draws`` item; a draft commissioning record is no item."""
    _table, child_name, parent_col, order_col = KINDS[kind]
    hash_col = HASH_COLUMN[kind]
    for rows in _items(conn, tables, kind, ids):
        children: dict[int, list[dict[str, Any]]] = {}
        if child_name is not None:
            ct = tables[child_name]
            pc = ct.c[parent_col]
            q = select(ct).where(pc.in_([r["id"] for r in rows])).order_by(pc, ct.c[order_col])
            for c in conn.execute(q).mappings():
                children.setdefault(c[parent_col], []).append(dict(c))
        for r in rows:
            kids = children.get(r["id"], [])
            if kind == "lot_draws" and not kids:
                continue
            yield r["id"], item_hash(kind, r, kids), r.get(hash_col)
