"""Following projects and organisations."""

from django.db import transaction

from members.models import Follow


def follow_toggle(*, user, project=None, organization=None) -> bool:
    """Follow, or stop following if already; returns whether the member now follows."""
    subject = {"project": project} if project is not None else {"organization": organization}
    with transaction.atomic():
        deleted, _ = Follow.objects.filter(user=user, **subject).delete()
        if deleted:
            return False
        Follow.objects.create(user=user, **subject)
    return True


def is_following(user, *, project=None, organization=None) -> bool:
    if not user.is_authenticated:
        return False
    subject = {"project": project} if project is not None else {"organization": organization}
    return Follow.objects.filter(user=user, **subject).exists()
