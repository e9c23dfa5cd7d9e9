from django.db import migrations

# Existing plans keep one seat (the field's default); a new site and an existing one both
# get the 企业会员 plan, which staff may edit or stop offering in the admin.
TEAM_PLAN = dict(
    slug="team",
    name="企业会员",
    yearly_price_fen=1_980_000,
    sees_contacts=True,
    daily_reveal_quota=500,
    saved_search_limit=20,
    instant_alerts=True,
    seats=5,
    position=40,
    description="标讯定制会员的全部权益,一份套餐 5 个账号:管理员邀请同事加入,"
    "共享每日 500 条查看联系方式额度,团队共同关注项目并填写备注、指定负责人。",
)


def seed(apps, schema_editor):
    Plan = apps.get_model("members", "Plan")
    Plan.objects.filter(seats=0).update(seats=1)
    if not Plan.objects.filter(name=TEAM_PLAN["name"]).exists():  # names are unique
        Plan.objects.get_or_create(slug=TEAM_PLAN["slug"], defaults=TEAM_PLAN)


def unseed(apps, schema_editor):
    apps.get_model("members", "Plan").objects.filter(slug="team", subscriptions=None).delete()


class Migration(migrations.Migration):
    dependencies = [("members", "0013_teams")]

    operations = [migrations.RunPython(seed, unseed)]
