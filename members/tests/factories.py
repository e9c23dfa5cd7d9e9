import datetime

import factory
from allauth.account.models import EmailAddress
from django.utils import timezone

from members.models import Plan, Subscription, User


def plan(slug: str) -> Plan:
    """One of the three seeded plans: free, query, custom."""
    return Plan.objects.get(slug=slug)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", "pass-word-2024")

    @factory.post_generation
    def verified(user, create, extracted, **kwargs):
        if create:
            user.save()
            EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)


def paid_member(*, slug: str = "query", quota: int | None = None, **kwargs) -> User:
    """A member with a current period of a paid plan (optionally its quota changed)."""
    user = UserFactory(**kwargs)
    chosen = plan(slug)
    if quota is not None:
        chosen.daily_reveal_quota = quota
        chosen.save()
    today = timezone.localdate()
    Subscription.objects.create(
        user=user,
        plan=chosen,
        starts_on=today - datetime.timedelta(days=30),
        ends_on=today + datetime.timedelta(days=335),
    )
    return user
