import django.contrib.postgres.indexes
import django.contrib.postgres.search
from django.db import migrations, models

TITLE_INDEX = django.contrib.postgres.indexes.GinIndex(
    condition=models.Q(("status", "published")),
    fields=["title_vector"],
    name="bulletin_pub_title_search",
)


def _postgres_only(method):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            getattr(schema_editor, method)(apps.get_model("news", "Bulletin"), TITLE_INDEX)

    return run


def rebuild_vectors(apps, schema_editor):
    # The vectors changed from positional bigrams to position-free n-grams.
    from news.search import document

    Bulletin = apps.get_model("news", "Bulletin")
    for bulletin in Bulletin.objects.only("id", "title", "body").iterator(chunk_size=2000):
        Bulletin.objects.filter(pk=bulletin.pk).update(
            search_vector=document(bulletin.title, bulletin.body),
            title_vector=document(bulletin.title),
        )


class Migration(migrations.Migration):
    dependencies = [("news", "0003_search_vector")]

    operations = [
        migrations.AddField(
            model_name="bulletin",
            name="title_vector",
            field=django.contrib.postgres.search.SearchVectorField(editable=False, null=True),
        ),
        migrations.RunPython(rebuild_vectors, migrations.RunPython.noop),
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.AddIndex(model_name="bulletin", index=TITLE_INDEX)],
            database_operations=[
                migrations.RunPython(_postgres_only("add_index"), _postgres_only("remove_index"))
            ],
        ),
    ]
