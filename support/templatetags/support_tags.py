from django import template

from support.models import Conversation

register = template.Library()


@register.simple_tag
def waiting_conversations() -> int:
    """Conversations waiting for a staff answer (shown on the admin index)."""
    return Conversation.objects.filter(status=Conversation.Status.WAITING).count()
