"""Alembic migrations: the schema's history. `duban db upgrade` applies them."""
