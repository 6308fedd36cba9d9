"""Places: sites, buildings and monitoring points (MMS Annex A ids get their description and read interval)."""
from __future__ import annotations

from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection

from app.storage.register.tables import B, M, MP, S
from app.storage.register.unit import UnitOfWork


def load_monitoring_point_table() -> dict[str, dict[str, Any]]:
    """MMS Annex A ids -> {description, element, read_interval_min} (resources/mms_monitoring_points.csv)."""
    import csv

    import resources

    out: dict[str, dict[str, Any]] = {}
    with resources.path("mms_monitoring_points.csv").open(newline="", encoding="utf-8") as f:
        lines = (ln for ln in f if ln.strip() and not ln.lstrip().startswith("#"))
        for row in csv.DictReader(lines):
            out[row["id"].strip().upper()] = {
                "element": row["element"].strip(), "description": row["description"].strip(),
                "read_interval_min": int(row["min_read_interval_min"]),
            }
    return out


_ANNEX_A: dict[str, dict[str, Any]] | None = None


def annex_a() -> dict[str, dict[str, Any]]:
    global _ANNEX_A
    if _ANNEX_A is None:
        _ANNEX_A = load_monitoring_point_table()
    return _ANNEX_A


class Places(UnitOfWork):
    """Sites, buildings and monitoring points: found or created by name, listed, updated (logged)."""

    def _site_id(self, conn: Connection, name: str, create: bool = True) -> int | None:
        name = " ".join(name.split())
        sid = conn.execute(select(S.c.id).where(S.c.name == name)).scalar()
        if sid is None and create:
            sid = conn.execute(insert(S).values(name=name).returning(S.c.id)).scalar_one()
        return sid

    def _building_id(self, conn: Connection, site_id: int, name: str | None) -> int | None:
        if not name:
            return None
        bid = conn.execute(select(B.c.id).where(B.c.site_id == site_id, B.c.name == name)).scalar()
        if bid is None:
            bid = conn.execute(insert(B).values(site_id=site_id, name=name).returning(B.c.id)).scalar_one()
        return bid

    @staticmethod
    def _mp_values(site_id: int, building_id: int | None, label: str) -> dict[str, Any]:
        info = annex_a().get(label.strip().upper())
        return {"site_id": site_id, "building_id": building_id, "label": label,
                "mms_id": label.strip().upper() if info else None,
                "description": info["description"] if info else None,
                "read_interval_min": info["read_interval_min"] if info else None}

    def _mp_id(self, conn: Connection, site_id: int, building_id: int | None, label: str | None) -> int | None:
        if not label:
            return None
        mid = conn.execute(select(MP.c.id).where(MP.c.site_id == site_id, MP.c.label == label)).scalar()
        if mid is None:
            mid = conn.execute(insert(MP).values(**self._mp_values(site_id, building_id, label))
                               .returning(MP.c.id)).scalar_one()
        return mid

    def list_sites(self) -> list[dict[str, Any]]:
        with self._read() as conn:
            q = (select(S.c.id, S.c.name, func.count(M.c.id).label("meters"))
                 .select_from(S.outerjoin(M, M.c.site_id == S.c.id)).group_by(S.c.id, S.c.name).order_by(S.c.name))
            return [dict(r._mapping) for r in conn.execute(q)]

    def list_monitoring_points(self, site: str | None = None) -> list[dict[str, Any]]:
        with self._read() as conn:
            q = (select(MP, S.c.name.label("site"), B.c.name.label("building"))
                 .select_from(MP.join(S, S.c.id == MP.c.site_id).outerjoin(B, B.c.id == MP.c.building_id))
                 .order_by(S.c.name, MP.c.label))
            if site:
                q = q.where(S.c.name == site)
            return [dict(r._mapping) for r in conn.execute(q)]

    def set_monitoring_point(self, site: str, label: str, *, user: str | None = None, building: str | None = None,
                             description: str | None = None, read_interval_min: int | None = None) -> int:
        """Create or update a monitoring point (an Annex A id gets its description and read interval)."""
        with self._write() as conn:
            sid = self._site_id(conn, site)
            bid = self._building_id(conn, sid, building)
            row = conn.execute(select(MP).where(MP.c.site_id == sid, MP.c.label == label)).mappings().first()
            values = self._mp_values(sid, bid, label)
            if description is not None:
                values["description"] = description
            if read_interval_min is not None:
                values["read_interval_min"] = read_interval_min
            if row is None:
                mid = conn.execute(insert(MP).values(**values).returning(MP.c.id)).scalar_one()
                self._log(conn, user, "monitoring_points", mid, "create", after=values)
            else:
                mid = row["id"]
                before = {k: row[k] for k in values if row[k] != values[k]}
                if before:
                    conn.execute(update(MP).where(MP.c.id == mid).values(**values))
                    self._log(conn, user, "monitoring_points", mid, "update", before=before,
                              after={k: values[k] for k in before})
            return mid
