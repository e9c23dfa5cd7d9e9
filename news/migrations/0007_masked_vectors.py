from django.db import migrations


def rebuild_vectors(apps, schema_editor):
    # Public vectors came to index the masked text here; 0010 replaced the stored body
    # vector by an index expression and recomputes every search column itself.
    pass


class Migration(migrations.Migration):
    dependencies = [("news", "0006_contact_vector")]

    operations = [migrations.RunPython(rebuild_vectors, migrations.RunPython.noop)]
