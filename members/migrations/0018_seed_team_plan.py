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

COPIED_FROM_CUSTOM = (
    "export_rows_limit",
    "api_access",
    "api_rate",
    "sees_bid_results",
    "sees_company_profiles",
    "watches_companies",
)


def seed(apps, schema_editor):
    Plan = apps.get_model("members", "Plan")
    Plan.objects.filter(seats=0).update(seats=1)
    if Plan.objects.filter(name=TEAM_PLAN["name"]).exists():  # names are unique
        return
    # The other rights (exports, API, bid results, company pages) as 标讯定制会员 has them.
    custom = Plan.objects.filter(slug="custom").first()
    copied = {f: getattr(custom, f) for f in COPIED_FROM_CUSTOM} if custom else {}
    Plan.objects.get_or_create(slug=TEAM_PLAN["slug"], defaults={**copied, **TEAM_PLAN})


def unseed(apps, schema_editor):
    apps.get_model("members", "Plan").objects.filter(slug="team", subscriptions=None).delete()


class Migration(migrations.Migration):
    dependencies = [("members", "0017_teams")]

    operations = [migrations.RunPython(seed, unseed)]
