from decimal import Decimal

from django import template
from django.utils.translation import gettext as _

register = template.Library()


@register.filter
def yuan(amount):
    """38605200 → 3,860.52 万元; 1280000000 → 12.8 亿元: how the trade reads amounts."""
    if amount in (None, ""):
        return ""
    value = Decimal(int(amount))
    for unit, size in ((_("亿元"), Decimal(100_000_000)), (_("万元"), Decimal(10_000))):
        if value >= size:
            scaled = (value / size).quantize(Decimal("0.01")).normalize()
            return f"{scaled:,f} {unit}"
    return f"{value:,} {_('元')}"
