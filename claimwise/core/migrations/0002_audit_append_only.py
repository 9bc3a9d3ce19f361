"""On PostgreSQL the database itself refuses UPDATE and DELETE on the audit trail, so not even a
bug or a hand-typed query in the application's account can rewrite history quietly."""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION claimwise_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'core_auditentry is append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON core_auditentry
    FOR EACH ROW EXECUTE FUNCTION claimwise_audit_append_only();
"""
DROP = """
DROP TRIGGER IF EXISTS audit_append_only ON core_auditentry;
DROP FUNCTION IF EXISTS claimwise_audit_append_only();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
