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
