# The company profile's index, built concurrently: news_projectparty has ~1.5M rows at
# 300k projects and imports keep writing to it.

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class _AddIndex(AddIndexConcurrently):
    """CONCURRENTLY on PostgreSQL; a plain CREATE INDEX elsewhere (SQLite for make run)."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            return super().database_forwards(app_label, schema_editor, from_state, to_state)
        return migrations.AddIndex.database_forwards(
            self, app_label, schema_editor, from_state, to_state
        )

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            return super().database_backwards(app_label, schema_editor, from_state, to_state)
        return migrations.AddIndex.database_backwards(
            self, app_label, schema_editor, from_state, to_state
        )


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("news", "0016_organization_credit_code")]

    operations = [
        _AddIndex(
            model_name="projectparty",
            index=models.Index(fields=["organization", "role", "project"], name="party_org_role"),
        ),
    ]
