from django.core.validators import RegexValidator
from django.db import migrations, models

# Issue 19: exports and the API are paid services. Staff change the numbers in the admin.
RIGHTS = {
    "free": dict(export_rows_limit=0, api_access=False, api_rate=""),
    "query": dict(export_rows_limit=1000, api_access=True, api_rate="60/min"),
    "custom": dict(export_rows_limit=5000, api_access=True, api_rate="300/min"),
}


def seed(apps, schema_editor):
    Plan = apps.get_model("members", "Plan")
    for slug, rights in RIGHTS.items():
        Plan.objects.filter(slug=slug).update(**rights)


class Migration(migrations.Migration):
    dependencies = [("members", "0013_digest_matching_at_digest_time")]

    operations = [
        migrations.AddField(
            model_name="plan",
            name="export_rows_limit",
            field=models.PositiveIntegerField(
                default=0, help_text="0 表示不能导出", verbose_name="每次导出最多条数"
            ),
        ),
        migrations.AddField(
            model_name="plan",
            name="api_access",
            field=models.BooleanField(default=False, verbose_name="数据接口(API)"),
        ),
        migrations.AddField(
            model_name="plan",
            name="api_rate",
            field=models.CharField(
                blank=True,
                help_text="如 60/min、1000/hour、5000/day;留空为 60/min",
                max_length=20,
                validators=[
                    RegexValidator(
                        "^[1-9][0-9]*/(s|sec|m|min|h|hour|d|day)$",
                        "格式应为 次数/时间单位,如 60/min、1000/hour",
                    )
                ],
                verbose_name="接口频率上限",
            ),
        ),
        migrations.RunPython(seed, migrations.RunPython.noop),
    ]
