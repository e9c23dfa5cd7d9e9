"""Parsing of uploaded bulletin files (plain text or HTML, UTF-8 or GBK) into structured data."""

from .decoding import ParseError, decode_bytes, html_to_text
from .parser import (
    ParsedBulletin,
    ParsedContact,
    normalised_fingerprint,
    parse_bytes,
    parse_text,
)

__all__ = [
    "ParseError",
    "ParsedBulletin",
    "ParsedContact",
    "decode_bytes",
    "html_to_text",
    "normalised_fingerprint",
    "parse_bytes",
    "parse_text",
]
