"""Database triggers that make events and checkpoints append-only.

PostgreSQL: row triggers refuse UPDATE and DELETE, a statement trigger
refuses TRUNCATE. SQLite (no TRUNCATE) gets row triggers for UPDATE and
DELETE. The one exception is ``audit archive``: it writes an
AuditArchivePermit in its own transaction, and only events at or below the
permit's sequence may then be deleted. A database superuser can still drop
the triggers; the hash chain and signed checkpoints catch what they do next.
"""
from __future__ import annotations

REFUSED = "audit trail is append-only"

_PG_INSTALL = [
    f"""
    CREATE OR REPLACE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'DELETE' AND TG_TABLE_NAME = 'audit_auditevent' THEN
        IF OLD.seq <= (SELECT COALESCE(MAX(upto_seq), 0) FROM audit_auditarchivepermit) THEN
          RETURN OLD;
        END IF;
      END IF;
      RAISE EXCEPTION '{REFUSED}: % on % refused', TG_OP, TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
    END $$
    """,
    *[
        sql
        for table in ("audit_auditevent", "audit_auditcheckpoint")
        for sql in (
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION audit_refuse_change()",
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change()",
        )
    ],
]
_PG_REMOVE = [
    *[
        f"DROP TRIGGER IF EXISTS {table}_{name} ON {table}"
        for table in ("audit_auditevent", "audit_auditcheckpoint")
        for name in ("append_only", "no_truncate")
    ],
    "DROP FUNCTION IF EXISTS audit_refuse_change()",
]

_SQLITE_INSTALL = [
    *[
        f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{REFUSED}: UPDATE on {table} refused'); END"
        for table in ("audit_auditevent", "audit_auditcheckpoint")
    ],
    "CREATE TRIGGER audit_auditevent_no_delete BEFORE DELETE ON audit_auditevent "
    "WHEN OLD.seq > (SELECT COALESCE(MAX(upto_seq), 0) FROM audit_auditarchivepermit) "
    f"BEGIN SELECT RAISE(ABORT, '{REFUSED}: DELETE on audit_auditevent refused'); END",
    "CREATE TRIGGER audit_auditcheckpoint_no_delete BEFORE DELETE ON audit_auditcheckpoint "
    f"BEGIN SELECT RAISE(ABORT, '{REFUSED}: DELETE on audit_auditcheckpoint refused'); END",
]
_SQLITE_REMOVE = [
    f"DROP TRIGGER IF EXISTS {table}_{name}"
    for table in ("audit_auditevent", "audit_auditcheckpoint")
    for name in ("no_update", "no_delete")
]


def install_sql(vendor: str) -> list[str]:
    return {"postgresql": _PG_INSTALL, "sqlite": _SQLITE_INSTALL}.get(vendor, [])


def remove_sql(vendor: str) -> list[str]:
    return {"postgresql": _PG_REMOVE, "sqlite": _SQLITE_REMOVE}.get(vendor, [])


def install(schema_editor) -> None:
    for sql in install_sql(schema_editor.connection.vendor):
        schema_editor.execute(sql, params=None)


def remove(schema_editor) -> None:
    for sql in remove_sql(schema_editor.connection.vendor):
        schema_editor.execute(sql, params=None)
