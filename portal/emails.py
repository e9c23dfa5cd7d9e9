"""The one email builder: every message the portal sends is made here from templates."""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string


def build_email(
    template: str,
    *,
    to: list[str],
    context: dict,
    unsubscribe_url: str = "",
    unsubscribe_mailto: str = "",
) -> EmailMultiAlternatives:
    """Render templates/emails/<template>.subject.txt, .txt and .html into one message.

    Bulk mail (alerts, digests) passes `unsubscribe_url`: it becomes List-Unsubscribe with
    RFC 8058 one-click, which mail clients show as an unsubscribe button; `unsubscribe_mailto`
    (RFC 2369) is listed beside it for clients that only send mail.
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
        links = [unsubscribe_url, unsubscribe_mailto] if unsubscribe_mailto else [unsubscribe_url]
        headers["List-Unsubscribe"] = ", ".join(f"<{link}>" for link in links)
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
