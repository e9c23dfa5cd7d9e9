from django.db import migrations

# Staff edit these in the admin; the migration only gives a new site its three plans.
PLANS = [
    dict(
        slug="free",
        name="免费会员",
        yearly_price_fen=0,
        sees_contacts=False,
        daily_reveal_quota=0,
        saved_search_limit=1,
        instant_alerts=False,
        position=10,
        description="注册即可浏览全部标讯、保存 1 个订阅并预览匹配结果。",
    ),
    dict(
        slug="query",
        name="标讯查询会员",
        yearly_price_fen=298_000,
        sees_contacts=True,
        daily_reveal_quota=50,
        saved_search_limit=3,
        instant_alerts=False,
        position=20,
        description="查看业主、设计院、总包、施工单位的项目负责人及联系方式。",
    ),
    dict(
        slug="custom",
        name="标讯定制会员",
        yearly_price_fen=580_000,
        sees_contacts=True,
        daily_reveal_quota=200,
        saved_search_limit=20,
        instant_alerts=True,
        position=30,
        description="标讯查询会员的全部权益,加上按地区、分类、关键词定制订阅与即时邮件提醒。",
    ),
]


def seed(apps, schema_editor):
    Plan = apps.get_model("members", "Plan")
    for plan in PLANS:
        Plan.objects.get_or_create(slug=plan["slug"], defaults=plan)


class Migration(migrations.Migration):
    dependencies = [("members", "0002_plans_subscriptions_reveals")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
