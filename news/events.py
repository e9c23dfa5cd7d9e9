"""What news tells the rest of the portal, so that news imports nothing of theirs.

`bulletins_published` is sent (inside the transaction that publishes them) with the ids
of bulletins that became public: imported as published, or a draft published by staff.
Receivers that start work elsewhere enqueue it after commit (members.alerts does).
"""

from django.dispatch import Signal

bulletins_published = Signal()  # kwargs: bulletin_ids (list[int])


def bulletins_announce(bulletin_ids) -> None:
    """Tell subscribers these bulletins are now published (no-op for none)."""
    ids = list(bulletin_ids)
    if ids:
        bulletins_published.send(sender=None, bulletin_ids=ids)
