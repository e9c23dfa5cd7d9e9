"""What news tells the rest of the portal, so that news imports nothing of theirs.

`bulletins_published` is sent (inside the transaction that publishes them) with the ids
of bulletins that became public: imported as published, or a draft published by staff.
Receivers that start work elsewhere enqueue it after commit (members.alerts does).
"""

from django.dispatch import Signal

bulletins_published = Signal()  # kwargs: bulletin_ids (list[int])
# An organisation found to be a name variant of another (they share a credit code):
# whatever points at `source_id` should point at `target_id` (members' follows do).
organizations_merged = Signal()  # kwargs: source_id, target_id


def bulletins_announce(bulletin_ids) -> None:
    """Tell subscribers these bulletins are now published (no-op for none)."""
    ids = list(bulletin_ids)
    if ids:
        bulletins_published.send(sender=None, bulletin_ids=ids)
