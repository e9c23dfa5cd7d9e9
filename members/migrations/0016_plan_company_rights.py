from django.db import migrations, models
from django.db.models import Q


def seed(apps, schema_editor):
    # Paid plans see company analysis (amounts, regions, buyers, competitors) and may
    # watch companies; the free plan sees counts only. Staff change it per plan.
    Plan = apps.get_model("members", "Plan")
    paid = Q(yearly_price_fen__gt=0) | Q(sees_contacts=True)
    Plan.objects.filter(paid).exclude(slug="free").update(
        sees_company_profiles=True, watches_companies=True
    )


class Migration(migrations.Migration):
    dependencies = [("members", "0015_plan_sees_bid_results")]

    operations = [
        migrations.AddField(
            model_name="follow",
            name="relation",
            field=models.CharField(
                blank=True,
                choices=[("competitor", "竞争对手"), ("client", "客户")],
                max_length=12,
                verbose_name="关系",
            ),
        ),
        migrations.AddField(
            model_name="plan",
            name="sees_company_profiles",
            field=models.BooleanField(default=False, verbose_name="可查看企业分析"),
        ),
        migrations.AddField(
            model_name="plan",
            name="watches_companies",
            field=models.BooleanField(default=False, verbose_name="可关注企业"),
        ),
        migrations.RunPython(seed, migrations.RunPython.noop),
    ]
