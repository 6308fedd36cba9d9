"""Who may do what on a PostgreSQL register: four group roles, their grants, and the row-level policy.

``heatmeter db roles --db URL`` runs :func:`apply_roles`: it creates the group
roles (NOLOGIN) when missing and grants them what they may do on this
register's tables; each person then logs in as their own role, member of one
group (``CREATE ROLE alice LOGIN PASSWORD '...' IN ROLE heatmeter_technician``
or ``db roles --member alice=technician``). The database enforces it, so raw
SQL through one's own connection can do no more than the tool:

==========================  =====================================================================
``heatmeter_technician``    reads the register without personal columns; writes meters (not their
                            personal columns or data-protection flags), places, installations,
                            readouts, writes to meters, commissioning records and their photos,
                            radio surveys
``heatmeter_planner``       the technician's rights, plus lots, calibration results (recalibrations),
                            replacements, model aliases and imports
``heatmeter_dpo``           reads everything, personal columns included; erases, holds, restricts
                            (the personal columns, the flags, the personal values kept apart) and
                            marks columns personal
``heatmeter_admin``         everything
==========================  =====================================================================

Personal columns of ``meters`` (:data:`PERSONAL_METER_COLUMNS`) are column
grants; the values kept apart from the event log (``personal_values``) are
behind a row-level policy: rows flagged personal are seen and written only
by ``heatmeter_dpo`` and ``heatmeter_admin``. Every role appends to the event
log (``INSERT`` on events, ``UPDATE`` of the chain's end); no role but admin
may change or delete an event.
"""
from __future__ import annotations

import re
from collections.abc import Iterable

from sqlalchemy import text
from sqlalchemy.engine import Connection

from app.storage.integrity import PERSONAL_COLUMNS

GROUPS = ("heatmeter_technician", "heatmeter_planner", "heatmeter_dpo", "heatmeter_admin")
SHORT = {g.removeprefix("heatmeter_"): g for g in GROUPS}
PERSONAL_METER_COLUMNS = PERSONAL_COLUMNS
#: meter columns only heatmeter_dpo and heatmeter_admin change (besides the personal ones)
FLAG_COLUMNS = ("legal_hold", "restrict_processing", "personal_erased_at")

_R, _RW, _RWD = ("SELECT",), ("SELECT", "INSERT", "UPDATE"), ("SELECT", "INSERT", "UPDATE", "DELETE")
_FIELD = ("sites", "buildings", "monitoring_points", "installations", "readouts", "readout_frames",
          "commissioning_records", "meter_writes", "meter_write_frames", "commissioning_photos", "radio_surveys",
          "radio_survey_locations", "radio_survey_telegrams")
_PLANNING = ("calibration_results", "calibration_points", "lots", "lot_members", "lot_draws", "lot_results",
             "lot_verdicts", "model_aliases")
_LOG = {"events": ("SELECT", "INSERT"), "evidence_anchors": ("SELECT", "INSERT"), "event_chain": ("SELECT", "UPDATE"),
        "alembic_version": _R, "personal_columns": _R}

#: group -> table -> privileges (``meters`` and ``personal_values`` are handled apart: column grants, policy)
TABLE_GRANTS: dict[str, dict[str, tuple[str, ...]]] = {
    "heatmeter_technician": {**_LOG, **{t: _RW for t in _FIELD}, **{t: _R for t in _PLANNING},
                             "event_batches": _R},
    "heatmeter_planner": {**_LOG, **{t: _RW for t in _FIELD}, **{t: _RWD for t in _PLANNING},
                          "event_batches": ("SELECT", "INSERT")},
    "heatmeter_dpo": {**_LOG, **{t: _R for t in _FIELD + _PLANNING}, "event_batches": _R,
                      "personal_columns": _RWD},
}
#: who may read and write meters' personal columns and flags
PERSONAL_READERS = ("heatmeter_dpo", "heatmeter_admin")


def needed_roles(verb: str, table: str | None, columns: Iterable[str] = ()) -> tuple[str, ...]:
    """The groups allowed ``verb`` (SELECT, INSERT, UPDATE, DELETE) on ``table`` (and these columns)."""
    verb = verb.upper()
    cols = set(columns)
    if table == "meters":
        if verb == "SELECT":
            return GROUPS if not cols & set(PERSONAL_METER_COLUMNS) else PERSONAL_READERS
        if verb == "UPDATE" and cols & (set(PERSONAL_METER_COLUMNS) | set(FLAG_COLUMNS)):
            return PERSONAL_READERS
        if verb == "INSERT" and cols & set(PERSONAL_METER_COLUMNS):
            return ("heatmeter_admin",)
        return ("heatmeter_technician", "heatmeter_planner", "heatmeter_admin") if verb != "DELETE" else \
            ("heatmeter_admin",)
    if table == "personal_values":
        return PERSONAL_READERS
    out = [g for g, grants in TABLE_GRANTS.items() if verb in grants.get(table or "", ())]
    return tuple(out) + ("heatmeter_admin",)


_VERB = re.compile(r"^\s*(SELECT|INSERT|UPDATE|DELETE|COPY)\b", re.I)
_TABLE = re.compile(r'\b(?:INTO|UPDATE|FROM|COPY)\s+"?([a-z_]+)"?', re.I)
_COLS = re.compile(r'\(([^()]*)\)')


def describe_denial(statement: str | None, message: str) -> tuple[str, tuple[str, ...]]:
    """(what was refused, the groups that may do it) from the refused SQL statement and the server's message."""
    m = re.search(r'permission denied for (?:table|relation|sequence) "?([a-z_]+)"?', message)
    table = m.group(1) if m else None
    stmt = statement or ""
    vm = _VERB.match(stmt)
    verb = (vm.group(1).upper() if vm else "SELECT")
    if verb == "COPY":
        verb = "INSERT"
    if table is None:
        tm = _TABLE.search(stmt)
        table = tm.group(1) if tm else None
    cols: set[str] = set()
    if table == "meters":
        found = set(re.findall(r"[a-z_]+", stmt.lower()))
        cols = found & (set(PERSONAL_METER_COLUMNS) | set(FLAG_COLUMNS))
    roles = needed_roles(verb, table, cols)
    if table == "meters" and cols & set(PERSONAL_METER_COLUMNS):
        what = {"SELECT": "reading personal data", "UPDATE": "changing or erasing personal data",
                "INSERT": "storing personal data"}.get(verb, f"{verb.lower()} on meters")
    elif table == "meters" and cols & set(FLAG_COLUMNS):
        what = "setting legal hold or restricted processing"
    elif table == "personal_values":
        what = "personal values kept apart from the event log"
    else:
        what = f"{ {'SELECT': 'reading', 'INSERT': 'adding to', 'UPDATE': 'changing', 'DELETE': 'deleting from'}[verb]} " \
               f"{table or 'the register'}"
    return what, roles


# ---- creating the roles ----------------------------------------------------------------------

def _ident(name: str) -> str:
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_$]{0,62}", name):
        raise ValueError(f"not a plain role name: {name!r}")
    return f'"{name}"'


def _create_group(conn: Connection, group: str) -> bool:
    """Create the group role when missing (several sessions may try at once); True when created."""
    if conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": group}).first():
        return False
    conn.exec_driver_sql("SAVEPOINT heatmeter_role")
    try:
        conn.exec_driver_sql(f"CREATE ROLE {_ident(group)} NOLOGIN")
    except Exception as exc:  # created meanwhile by another session
        conn.exec_driver_sql("ROLLBACK TO SAVEPOINT heatmeter_role")
        if "already exists" not in str(exc):
            raise
        return False
    conn.exec_driver_sql("RELEASE SAVEPOINT heatmeter_role")
    return True


def apply_roles(conn: Connection, members: Iterable[tuple[str, str]] = ()) -> dict:
    """Create the groups, grant them their rights on this database's register, set the policy, and
    make ``members`` ((login role, group short name)) members. In the caller's transaction."""
    created = [g for g in GROUPS if _create_group(conn, g)]
    tables = [t for (t,) in conn.execute(text(
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"))]
    seqs = [s for (s,) in conn.execute(text(
        "SELECT sequence_name FROM information_schema.sequences WHERE sequence_schema = current_schema()"))]
    meter_cols = [c for (c,) in conn.execute(text(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() "
        "AND table_name = 'meters' ORDER BY ordinal_position"))]
    conn.exec_driver_sql(f"GRANT USAGE ON SCHEMA {_ident(_schema(conn))} TO {', '.join(map(_ident, GROUPS))}")
    for t in tables:
        conn.exec_driver_sql(f"REVOKE ALL ON TABLE {_ident(t)} FROM PUBLIC, {', '.join(map(_ident, GROUPS))}")
        conn.exec_driver_sql(f"GRANT ALL ON TABLE {_ident(t)} TO heatmeter_admin")
    for s in seqs:
        conn.exec_driver_sql(f"GRANT USAGE, SELECT ON SEQUENCE {_ident(s)} TO {', '.join(map(_ident, GROUPS))}")
    for group, grants in TABLE_GRANTS.items():
        for t in tables:
            privs = grants.get(t)
            if privs is None and t not in ("meters", "personal_values"):
                privs = _R  # a table this version does not know: readable
            if privs:
                conn.exec_driver_sql(f"GRANT {', '.join(privs)} ON TABLE {_ident(t)} TO {_ident(group)}")
    plain = [c for c in meter_cols if c not in PERSONAL_METER_COLUMNS]
    writable = [c for c in plain if c not in FLAG_COLUMNS and c != "id"]
    cols = ", ".join(map(_ident, plain))
    for group in ("heatmeter_technician", "heatmeter_planner"):
        conn.exec_driver_sql(f"GRANT SELECT ({cols}), INSERT ({', '.join(map(_ident, plain))}), "
                             f"UPDATE ({', '.join(map(_ident, writable))}) ON TABLE meters TO {_ident(group)}")
    dpo_upd = [c for c in meter_cols if c in PERSONAL_METER_COLUMNS or c in FLAG_COLUMNS or c in
               ("version", "updated_at", "extra")]
    conn.exec_driver_sql(f"GRANT SELECT, UPDATE ({', '.join(map(_ident, dpo_upd))}) ON TABLE meters TO heatmeter_dpo")
    if "personal_values" in tables:
        conn.exec_driver_sql("GRANT SELECT, INSERT ON TABLE personal_values TO "
                             "heatmeter_technician, heatmeter_planner, heatmeter_dpo")
        conn.exec_driver_sql("GRANT UPDATE ON TABLE personal_values TO heatmeter_dpo")
        conn.exec_driver_sql("ALTER TABLE personal_values ENABLE ROW LEVEL SECURITY")
        allowed = ("pg_has_role(current_user, 'heatmeter_dpo', 'MEMBER') OR "
                   "pg_has_role(current_user, 'heatmeter_admin', 'MEMBER')")
        for name, cmd, clause in (("heatmeter_read", "SELECT", f"USING (NOT personal OR {allowed})"),
                                  ("heatmeter_add", "INSERT", f"WITH CHECK (NOT personal OR {allowed})"),
                                  ("heatmeter_erase", "UPDATE", f"USING ({allowed})")):
            conn.exec_driver_sql(f"DROP POLICY IF EXISTS {name} ON personal_values")
            conn.exec_driver_sql(f"CREATE POLICY {name} ON personal_values FOR {cmd} {clause}")
    added = []
    for login, group in members:
        g = SHORT.get(group, group)
        if g not in GROUPS:
            raise ValueError(f"unknown role {group!r} (technician, planner, dpo or admin)")
        if not conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": login}).first():
            raise LookupError(f"no login role {login!r} on this server (create it first: CREATE ROLE "
                              f"{login} LOGIN PASSWORD '...')")
        conn.exec_driver_sql(f"GRANT {_ident(g)} TO {_ident(login)}")
        added.append((login, g))
    return {"created": created, "groups": list(GROUPS), "tables": len(tables), "members": added}


def _schema(conn: Connection) -> str:
    return conn.execute(text("SELECT current_schema()")).scalar_one()


def member_groups(conn: Connection) -> list[str]:
    """The heatmeter groups the connected role belongs to (directly or not)."""
    return [g for g in GROUPS if conn.execute(text(
        "SELECT pg_has_role(current_user, oid, 'MEMBER') FROM pg_roles WHERE rolname = :g"), {"g": g}).scalar()]
