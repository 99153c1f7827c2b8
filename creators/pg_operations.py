"""Migration operations that only touch PostgreSQL.

The same migrations run on SQLite (tests, local development), which has no GIN indexes and no
pg_trgm. These operations keep the index in the migration state everywhere, so
`makemigrations --check` stays clean, but create it only where the database can.
"""

from __future__ import annotations

from django.contrib.postgres.operations import TrigramExtension
from django.db.migrations.operations import AddIndex, RunSQL


class PostgresOnly:
    """Mixin for a migration operation that touches the database only on PostgreSQL."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class AddIndexOnPostgres(PostgresOnly, AddIndex):
    def describe(self) -> str:
        return f"{super().describe()} (PostgreSQL only)"


class RunSQLOnPostgres(PostgresOnly, RunSQL):
    """Raw SQL with no model-state effect, run only on PostgreSQL."""


class TrigramExtensionKept(TrigramExtension):
    """CREATE EXTENSION pg_trgm on PostgreSQL (Django already skips other databases going forwards).

    Going backwards it does nothing: Django's own operation would query pg_extension on SQLite
    and fail, and dropping a shared extension could break whatever else uses it.
    """

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        return None
