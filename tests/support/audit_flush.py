"""Lets Django's test flush empty the append-only audit tables.

Transactional tests end with ``flush`` (TRUNCATE on PostgreSQL, DELETE on
SQLite), which the audit triggers refuse, as they should in production. For
the test run only, the flush drops the triggers, empties the tables and puts
the triggers back, all in the flush's own transaction.
"""
from __future__ import annotations

from django.db.backends.postgresql.base import DatabaseOperations as PgOps
from django.db.backends.sqlite3.base import DatabaseOperations as SqliteOps

from apps.audit.triggers import install_sql, remove_sql

_AUDIT_TABLES = {"audit_auditevent", "audit_auditcheckpoint"}


def _wrap(ops_class, vendor: str) -> None:
    original = ops_class.sql_flush
    if getattr(original, "_audit_wrapped", False):
        return

    def sql_flush(self, style, tables, *args, **kwargs):
        statements = original(self, style, tables, *args, **kwargs)
        if not _AUDIT_TABLES & set(tables) or not statements:
            return statements
        return [*remove_sql(vendor), *statements, *install_sql(vendor)]

    sql_flush._audit_wrapped = True
    ops_class.sql_flush = sql_flush


_wrap(PgOps, "postgresql")
_wrap(SqliteOps, "sqlite")
