"""Masking fails closed (news/masking.py): re-index what public search may find.

Rows indexed by the older masking keep the n-grams of contacts it missed (139-0000-0054,
QQ ids, numbers in a 联系方式 section) in their public vector, so an anonymous search
by such a contact would still find them. Only rows whose `hidden_lexemes` change are
written (about 1-2 ms of Python per bulletin: ~30 min per million, most of it reading).
"""

from django.db import migrations


def remask(apps, schema_editor):
    from news.services import bulletins_refresh_vectors

    models = (apps.get_model("news", "Bulletin"), apps.get_model("news", "Contact"))
    bulletins_refresh_vectors(models=models)


class Migration(migrations.Migration):
    dependencies = [("news", "0010_computed_public_vector")]

    operations = [migrations.RunPython(remask, migrations.RunPython.noop)]
