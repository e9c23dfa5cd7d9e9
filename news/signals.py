"""Cached anonymous pages are dropped whenever a bulletin or its contacts change; a
contact's change also rebuilds its bulletin's search vectors (what masking hides), and a
body's change its near-duplicate rows. (The bulk import writes all of these itself.)"""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from news.models import Bulletin, Contact
from portal.pagecache import invalidate_pages_after_commit


@receiver([post_save, post_delete], sender=Bulletin)
@receiver([post_save, post_delete], sender=Contact)
def bulletin_changed(sender, **kwargs):
    invalidate_pages_after_commit()


@receiver([post_save, post_delete], sender=Contact)
def contact_changed(sender, instance, **kwargs):
    from news.services import bulletin_refresh_vectors

    bulletin_refresh_vectors(bulletin_id=instance.bulletin_id)


@receiver(post_save, sender=Bulletin)
def bulletin_body_saved(sender, instance, update_fields=None, **kwargs):
    if update_fields is not None and "body" not in update_fields:
        return
    from news.importing.storing import bulletin_rebucket

    bulletin_rebucket(bulletin_id=instance.pk, body=instance.body)
