from django.conf import settings


def _nav_categories():
    from news.selectors import category_options

    return category_options()


def site(request):
    """Site chrome values every page shows (header hotline, footer contact)."""
    return {
        "SITE_NAME": settings.SITE_NAME,
        "MEMBERSHIP_HOTLINE": settings.MEMBERSHIP_HOTLINE,
        "FEEDBACK_EMAIL": settings.FEEDBACK_EMAIL,
        # A callable: templates evaluate it only where the nav is rendered.
        "NAV_CATEGORIES": _nav_categories,
    }
