from django.db import migrations, models

# Free members get a masked digest of at most this many bulletins (issue 20); staff
# change it in the admin. Paid plans keep their digests, unlimited.
FREE_DIGEST_ITEM_LIMIT = 10


def seed(apps, schema_editor):
    Plan = apps.get_model("members", "Plan")
    Plan.objects.filter(slug="free").update(
        digest_alerts=True, digest_item_limit=FREE_DIGEST_ITEM_LIMIT
    )


class Migration(migrations.Migration):
    dependencies = [("members", "0009_alert_delivery_claimed_at")]

    operations = [
        migrations.AddField(
            model_name="plan",
            name="digest_alerts",
            field=models.BooleanField(default=True, verbose_name="邮件汇总提醒"),
        ),
        migrations.AddField(
            model_name="plan",
            name="digest_item_limit",
            field=models.PositiveIntegerField(
                default=0,
                help_text="0 表示不限;超出的标讯只在邮件中说明条数,不再补发",
                verbose_name="每封汇总最多条数",
            ),
        ),
        migrations.RunPython(seed, migrations.RunPython.noop),
    ]
