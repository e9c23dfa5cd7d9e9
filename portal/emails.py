"""The one email builder: every message the portal sends is made here from templates."""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string


def build_email(
    template: str, *, to: list[str], context: dict, unsubscribe_url: str = ""
) -> EmailMultiAlternatives:
    """Render templates/emails/<template>.subject.txt, .txt and .html into one message.

    Bulk mail (alerts, digests) passes `unsubscribe_url`: it becomes List-Unsubscribe with
    RFC 8058 one-click, which mail clients show as an unsubscribe button.
    """
    context = {
        "SITE_NAME": settings.SITE_NAME,
        "SITE_URL": settings.SITE_URL,
        "MEMBERSHIP_HOTLINE": settings.MEMBERSHIP_HOTLINE,
        **context,
    }
    subject = render_to_string(f"emails/{template}.subject.txt", context)
    subject = " ".join(subject.split())
    text = render_to_string(f"emails/{template}.txt", context)
    html = render_to_string(f"emails/{template}.html", context)
    headers = {}
    if unsubscribe_url:
        headers["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=to,
        headers=headers,
    )
    message.attach_alternative(html, "text/html")
    return message
