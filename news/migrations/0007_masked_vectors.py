from django.db import migrations


def rebuild_vectors(apps, schema_editor):
    # Public vectors now index the masked text; contact values move to contact_vector
    # (news/search.py: search must not find a bulletin by a contact it hides).
    from news.search import bulletin_vectors, filter_lexemes

    Bulletin = apps.get_model("news", "Bulletin")
    Contact = apps.get_model("news", "Contact")
    fields = ("id", "title", "body", "province_id", "city_id", "region_id", "category_id")
    for b in Bulletin.objects.only(*fields).iterator(chunk_size=2000):
        values = [
            v
            for row in Contact.objects.filter(bulletin_id=b.pk).values_list(
                "person", "phone", "mobile", "email"
            )
            for v in row
            if v
        ]
        search_vector, title_vector, contact_vector = bulletin_vectors(
            title=b.title,
            body=b.body,
            contact_values=values,
            filters=filter_lexemes(
                province_id=b.province_id,
                city_id=b.city_id,
                region_id=b.region_id,
                category_id=b.category_id,
            ),
        )
        Bulletin.objects.filter(pk=b.pk).update(
            search_vector=search_vector, title_vector=title_vector, contact_vector=contact_vector
        )


class Migration(migrations.Migration):
    dependencies = [("news", "0006_contact_vector")]

    operations = [migrations.RunPython(rebuild_vectors, migrations.RunPython.noop)]
