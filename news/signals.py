"""Cached anonymous pages are dropped whenever a bulletin or its contacts change."""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from news.models import Bulletin, Contact
from portal.pagecache import invalidate_pages_after_commit


@receiver([post_save, post_delete], sender=Bulletin)
@receiver([post_save, post_delete], sender=Contact)
def bulletin_changed(sender, **kwargs):
    invalidate_pages_after_commit()
