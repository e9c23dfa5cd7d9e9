import datetime

import factory
from django.utils import timezone

from news.models import Bulletin, Category, Contact, Region


def region(path: str) -> Region:
    """A seeded official region by its 省-市-区 path, e.g. "江苏-镇江-镇江新区"."""
    from news.regions import region_resolve

    return region_resolve(path.split("-"))


def category(slug: str) -> Category:
    return Category.objects.get(slug=slug)


class BulletinFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Bulletin

    title = factory.Sequence(lambda n: f"测试工程项目第{n}号施工招标公告")
    category = factory.LazyFunction(lambda: category("tender"))
    region = factory.LazyFunction(lambda: region("江苏-镇江-镇江新区"))
    # Newest first in creation order, a minute apart: the sequence runs over the whole
    # session, and at an hour apart a few hundred bulletins pushed later tests' rows out of
    # "the last 30 days".
    published_at = factory.Sequence(lambda n: timezone.now() - datetime.timedelta(minutes=n + 1))
    body = "一、招标条件\n\n本招标项目已具备招标条件。\n\n二、项目概况\n\n道路全长约2.6公里。"
    status = Bulletin.Status.PUBLISHED


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    bulletin = factory.SubFactory(BulletinFactory)
    organization = "镇江新区城市建设投资有限公司"
    role = "招标人"
    person = "王建明"
    phone = "0511-83000001"
    mobile = "13800000001"
    email = "owner@example.com"
