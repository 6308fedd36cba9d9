"""Alembic environment, driven from code (``app.storage.migrate``): no alembic.ini.

The caller puts an open SQLAlchemy Connection in ``config.attributes["connection"]``.
"""
from __future__ import annotations

from alembic import context

from app.storage.models import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - only used programmatically
    raise RuntimeError("app.storage.migrate passes a connection; run migrations through it")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
