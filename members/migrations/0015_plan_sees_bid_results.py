from django.db import migrations, models
from django.db.models import Q


def seed(apps, schema_editor):
    # Paid plans show the full 开标结果; the free plan (and anyone without a period) sees
    # who won only. Staff change it per plan in the admin.
    Plan = apps.get_model("members", "Plan")
    paid = Q(yearly_price_fen__gt=0) | Q(sees_contacts=True)
    Plan.objects.filter(paid).exclude(slug="free").update(sees_bid_results=True)


class Migration(migrations.Migration):
    dependencies = [("members", "0014_plan_exports_api")]

    operations = [
        migrations.AddField(
            model_name="plan",
            name="sees_bid_results",
            field=models.BooleanField(default=False, verbose_name="可查看完整开标结果"),
        ),
        migrations.RunPython(seed, migrations.RunPython.noop),
    ]
