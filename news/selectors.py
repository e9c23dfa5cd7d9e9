"""Non-trivial reads for bulletin pages."""

from django.db.models import Prefetch

from news.models import Bulletin, Category, Contact

HOME_ITEMS_PER_CATEGORY = 8


def home_sections() -> list[tuple[Category, list[Bulletin]]]:
    """Latest published bulletins per category: one query per category, not per row."""
    sections = []
    for category in Category.objects.all():
        items = list(
            Bulletin.objects.published()
            .filter(category=category)
            .for_listing()
            .newest_first()[:HOME_ITEMS_PER_CATEGORY]
        )
        sections.append((category, items))
    return sections


def bulletin_for_page(pk: int) -> Bulletin:
    """A published bulletin with everything its page shows; raises Bulletin.DoesNotExist."""
    return (
        Bulletin.objects.published()
        .select_related("category", "region__parent__parent")
        .prefetch_related(Prefetch("contacts", queryset=Contact.objects.order_by("position", "id")))
        .get(pk=pk)
    )
