"""The mailto: side of List-Unsubscribe: a small SMTP listener for the unsubscribe address.

Mail clients that unsubscribe by email send a message to ALERTS_UNSUBSCRIBE_MAILBOX with the
subject "unsubscribe <signed token>" (the header's mailto: link). The domain's MX (or a
relay) delivers it here; the token is checked exactly as the one-click link's is, and a
bad, altered, expired or stale token changes nothing. Only the unsubscribe address is
accepted."""

import logging
import re

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core import signing

logger = logging.getLogger(__name__)
_SUBJECT = re.compile(r"unsubscribe\s+(\S+)", re.IGNORECASE)


def token_from(message_bytes: bytes) -> str | None:
    import email
    import email.policy

    message = email.message_from_bytes(message_bytes, policy=email.policy.default)
    found = _SUBJECT.search(str(message.get("Subject", "")))
    return found.group(1) if found else None


def unsubscribe_by_mail(message_bytes: bytes) -> int:
    """Searches turned off and follows dropped by one message (0 for a message without a
    valid token, or with an expired or stale one: those change nothing)."""
    from members.unsubscribe_links import unsubscribe_apply

    token = token_from(message_bytes)
    if not token:
        return 0
    try:
        result = unsubscribe_apply(token=token)
    except signing.BadSignature:
        logger.warning("unsubscribe mail with an invalid token ignored")
        return 0
    if not result.changed:
        logger.info("unsubscribe mail changed nothing: %s link", result.state)
    return result.changed


class Handler:
    """aiosmtpd handler: accepts mail for the unsubscribe address only."""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() != settings.ALERTS_UNSUBSCRIBE_MAILBOX.lower():
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        changed = await sync_to_async(unsubscribe_by_mail, thread_sensitive=False)(
            envelope.original_content or envelope.content
        )
        logger.info("unsubscribe mail from %s: %s alerts off", envelope.mail_from, changed)
        return "250 OK"  # accepted either way: senders cannot probe tokens
