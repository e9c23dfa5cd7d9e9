"""Body text helpers: bodies are stored and rendered as plain-text paragraphs."""

import html
import re

import nh3

_BLOCK_END = re.compile(r"(?i)<\s*(?:br\s*/?|/p|/div|/h[1-6]|/li|/tr)\s*>")
_BLANK_LINES = re.compile(r"\n\s*\n+")


def plain_text(value: str) -> str:
    """Reduce any HTML to text with nh3 (no tag survives), keeping paragraph breaks."""
    if "<" not in value and "&" not in value:
        return value
    value = _BLOCK_END.sub("\n\n", value)
    return html.unescape(nh3.clean(value, tags=set()))


def normalize_body(value: str) -> str:
    """Paragraphs separated by exactly one blank line, each stripped."""
    text = plain_text(value).replace("\r\n", "\n").replace("\r", "\n")
    paragraphs = [" ".join(p.split()) if "\n" in p else p.strip() for p in _BLANK_LINES.split(text)]
    return "\n\n".join(p for p in paragraphs if p)


def join_paragraphs(paragraphs) -> str:
    return normalize_body("\n\n".join(paragraphs))


_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def strip_controls(value: str) -> str:
    """Without C0 control characters (tab and newlines kept): XML 1.0 (feeds, sitemaps)
    cannot carry them, and no person types them."""
    return _CONTROLS.sub("", value or "")
