"""The one access policy for gated data (project contacts).

Every output path asks `contacts_visible_to(user=...)` and masks with `news.masking`
when it answers False. Gating by paid plan arrives with the membership issue; until then
contacts are visible to everyone, as the foundation issue specifies.
"""


def contacts_visible_to(*, user) -> bool:
    return True
