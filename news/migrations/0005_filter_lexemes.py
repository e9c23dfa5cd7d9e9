from django.db import migrations


def rebuild_vectors(apps, schema_editor):
    # The body vector now also names the bulletin's region and category (news/search.py).
    from news.search import document, filter_lexemes

    Bulletin = apps.get_model("news", "Bulletin")
    fields = ("id", "title", "body", "province_id", "city_id", "region_id", "category_id")
    for b in Bulletin.objects.only(*fields).iterator(chunk_size=2000):
        extra = filter_lexemes(
            province_id=b.province_id,
            city_id=b.city_id,
            region_id=b.region_id,
            category_id=b.category_id,
        )
        Bulletin.objects.filter(pk=b.pk).update(search_vector=document(b.title, b.body, extra=extra))


class Migration(migrations.Migration):
    dependencies = [("news", "0004_title_vector_ngrams")]

    operations = [migrations.RunPython(rebuild_vectors, migrations.RunPython.noop)]
