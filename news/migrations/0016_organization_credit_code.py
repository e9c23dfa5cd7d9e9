# Companies (企业库): organisations keyed by 统一社会信用代码 where a bulletin gives it.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("news", "0015_bid_results")]

    operations = [
        migrations.AddField(
            model_name="organization",
            name="credit_code",
            field=models.CharField(
                blank=True,
                default="",
                editable=False,
                max_length=18,
                verbose_name="统一社会信用代码",
            ),
        ),
        migrations.AddField(
            model_name="organization",
            name="merged_into",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="news.organization",
                verbose_name="已合并到",
            ),
        ),
        migrations.AddConstraint(
            model_name="organization",
            constraint=models.UniqueConstraint(
                condition=models.Q(("credit_code", ""), _negated=True),
                fields=("credit_code",),
                name="organization_unique_credit_code",
            ),
        ),
    ]
