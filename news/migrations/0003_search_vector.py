import django.contrib.postgres.indexes
import django.contrib.postgres.search
from django.db import migrations, models

INDEX = django.contrib.postgres.indexes.GinIndex(
    condition=models.Q(("status", "published")),
    fields=["search_vector"],
    name="bulletin_pub_search",
)


def _postgres_only(method):
    # The GIN index exists on PostgreSQL only; SQLite (`make run`) searches by substring.
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            getattr(schema_editor, method)(apps.get_model("news", "Bulletin"), INDEX)

    return run


class Migration(migrations.Migration):
    dependencies = [("news", "0002_seed_regions_categories")]

    operations = [
        migrations.AddField(
            model_name="bulletin",
            name="search_vector",
            field=django.contrib.postgres.search.SearchVectorField(editable=False, null=True),
        ),
        # Filled by 0004, which rebuilt the vectors in their final form.
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.AddIndex(model_name="bulletin", index=INDEX)],
            database_operations=[
                migrations.RunPython(_postgres_only("add_index"), _postgres_only("remove_index"))
            ],
        ),
    ]
