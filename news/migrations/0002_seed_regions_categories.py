from django.db import migrations

CATEGORIES = [
    ("建设快讯", "news", 10),
    ("招标公告", "tender", 20),
    ("中标公告", "award", 30),
    ("拟建项目", "proposed", 40),
    ("在建项目", "construction", 50),
]


def seed(apps, schema_editor):
    from news.regions import regions_sync

    regions_sync(region_model=apps.get_model("news", "Region"))
    Category = apps.get_model("news", "Category")
    for name, slug, position in CATEGORIES:
        Category.objects.get_or_create(name=name, defaults={"slug": slug, "position": position})


class Migration(migrations.Migration):
    dependencies = [("news", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
