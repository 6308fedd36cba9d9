"""The meter register: SQLAlchemy models, migrations, import/export."""
