"""Search-result snippets: a window of the body around the first hit, hits marked."""

import re

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from news.masking import mask_text

SNIPPET_LENGTH = 120
LEAD = 30


def snippet(
    body: str, terms: list[str], *, contacts_visible: bool, values=(), masked_body=None
) -> SafeString:
    # Mask the whole body, lines intact, before cutting: a window that starts inside a
    # phone number must not show its digits unmasked, and a 联系方式 section is known by
    # its heading line. `masked_body`: the caller masked it already.
    if contacts_visible:
        text = body
    else:
        text = masked_body if masked_body is not None else mask_text(body, values=values)
    text = " ".join(text.split())
    lowered = text.lower()
    hits = [i for i in (lowered.find(t.lower()) for t in terms) if i >= 0]
    start = max(min(hits) - LEAD, 0) if hits else 0
    window = text[start : start + SNIPPET_LENGTH]
    escaped = escape(window)
    if terms:
        pattern = re.compile("|".join(re.escape(escape(t)) for t in terms), re.IGNORECASE)
        escaped = pattern.sub(lambda m: f"<mark>{m.group(0)}</mark>", escaped)
    prefix = "…" if start > 0 else ""
    suffix = "…" if start + SNIPPET_LENGTH < len(text) else ""
    return mark_safe(prefix + escaped + suffix)
