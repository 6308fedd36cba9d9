"""Helpers of the trust tests: who an event names, everything a register stores as text, tampering by plain SQL."""
from __future__ import annotations

import json
import zlib
from typing import Any

from sqlalchemy import text

from app.storage.integrity import decode_entries


def recorded(reg, name: str) -> str:
    """The user an event written with ``user=name`` records: the name on SQLite, the role on PostgreSQL."""
    return name if reg.is_sqlite else reg.db_user


def stored_text(reg) -> str:
    """Everything the register keeps that could hold a personal value, as one text: meters, events,
    event batches (decompressed) and the values kept apart (decoded)."""
    parts: list[Any] = []
    with reg.engine.connect() as c:
        for table in ("meters", "events", "installations"):
            parts += [[str(v) for v in r] for r in c.execute(text(f"SELECT * FROM {table}"))]
        for (blob,) in c.execute(text("SELECT data FROM event_batches")):
            parts.append(zlib.decompress(bytes(blob)).decode("utf-8"))
        for (payload,) in c.execute(text("SELECT payload FROM personal_values")):
            parts.append(decode_entries(payload))
        c.rollback()
    return json.dumps(parts, ensure_ascii=False)


def tamper(reg, sql: str, **params) -> None:
    """Change the database with plain SQL, outside the register (what an attacker with the file or a
    database login could do)."""
    with reg.engine.begin() as c:
        c.execute(text(sql), params)


def assert_consistent_history(reg, meter_id: int, fields=("qp_m3h", "occupant_name", "flat", "customer_reference",
                                                          "legal_hold", "restrict_processing", "dn")) -> list[dict]:
    """Walk the meter's history: each change's ``before`` equals the value the previous events left
    (for ``fields``), and each change's version is the previous one plus one. Returns the history."""
    hist = reg.history(meter_id)
    state: dict[str, Any] = {}
    version = None
    for e in hist:
        if e["entity"] != "meters" or e["action"] in ("access", "refused"):
            continue
        before, after = e["before"] or {}, e["after"] or {}
        if e["action"] == "create":
            state = {"legal_hold": False, "restrict_processing": False}
            state.update({k: after.get(k) for k in fields if k not in state})
            version = after.get("version", 1)
            continue
        for k in fields:
            if k in before and before[k] != "[erased]" and k in state:
                assert before[k] == state.get(k), (
                    f"meter {meter_id}: {e['action']} at {e['at']} says {k} was {before[k]!r}, "
                    f"the events before left {state.get(k)!r}")
        for k in fields:
            if k in after:
                state[k] = after[k]
        if "version" in after:
            assert version is not None and after["version"] == version + 1, (
                f"meter {meter_id}: {e['action']} went to version {after['version']} from {version}")
            version = after["version"]
    return hist


def as_user(db_url: str, name: str) -> list[str]:
    """``--user NAME`` for a CLI command on SQLite; nothing on PostgreSQL, where the event log names the
    role that connected and ``--user`` is refused."""
    return ["--user", name] if str(db_url).startswith("sqlite") else []
