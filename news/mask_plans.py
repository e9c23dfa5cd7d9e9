"""Masking found once, applied on every read: a bulletin's stored mask plan.

Finding what to hide (news/masking.py) costs about a millisecond per kilobyte; a result
page masked the title, the opening and the body of each of its 20 rows on every request,
most of a search's time outside the index. The import already finds the spans (it needs
them for `hidden_lexemes`), so it stores them in `Bulletin.mask_plan`; pages only cut the
text along them.

A plan fails closed: it starts with a key over the rules' source, the title, the body and
the contact values it was found for, and is used only when the key computed at read time
is the same. Editing the text or the contacts, or changing any masking rule (any byte of
masking.py or contact_patterns.py), makes the stored plan stale, and the text is then
masked live, as before; `manage.py refresh_search_vectors` stores fresh plans.
"""

import hashlib
from pathlib import Path

from news import contact_patterns, masking

_RULES = hashlib.blake2b(
    b"".join(Path(m.__file__).read_bytes() for m in (masking, contact_patterns)),
    digest_size=8,
).digest()


def plan_key(title: str, body: str, values) -> str:
    digest = hashlib.blake2b(_RULES, digest_size=8)
    for part in (title, body, *values):
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()


def _encode(spans) -> str:
    return " ".join(f"{s},{e},{k}" for s, e, k in spans)


def _decode(text: str) -> list[tuple[int, int, int]]:
    return [tuple(map(int, part.split(","))) for part in text.split()]


def mask_plan(*, title: str, body: str, values, title_spans=None, body_spans=None) -> str:
    """The stored plan of a bulletin's masked title and body (spans found here unless the
    caller found them already)."""
    if title_spans is None:
        title_spans = masking.mask_spans(title, values=values)
    if body_spans is None:
        body_spans = masking.mask_spans(body, values=values)
    return f"{plan_key(title, body, values)}|{_encode(title_spans)}|{_encode(body_spans)}"


def masked_title_body(*, title: str, body: str, values, plan: str) -> tuple[str, str]:
    """The title and body as someone who may not see contacts sees them: cut along the
    stored plan when it was found for exactly this text, these contacts and these rules,
    else masked live."""
    key, _, spans = (plan or "").partition("|")
    if key and key == plan_key(title, body, values):
        title_spans, _, body_spans = spans.partition("|")
        return (
            masking.apply_spans(title, _decode(title_spans))[0],
            masking.apply_spans(body, _decode(body_spans))[0],
        )
    return masking.mask_text(title, values=values), masking.mask_text(body, values=values)
