"""Bytes -> plain text: encoding detection, newline normalisation, HTML stripping."""

from __future__ import annotations

import re

from lxml import etree, html


class ParseError(ValueError):
    """The uploaded file is not a usable bulletin; str(error) says why (in Chinese)."""


_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
# C0/C1 control characters other than tab and newlines: binary noise in text (and lxml
# refuses them).
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_MAX_CONTROL_RATIO = 0.01
# GB18030 decodes almost any high-byte soup; real text has next to no private-use characters.
_PRIVATE_USE = re.compile(r"[\ue000-\uf8ff]")
_MAX_PRIVATE_USE_RATIO = 0.01
# charset-normalizer "chaos" above this means the guess is mojibake, not text.
_MAX_CHAOS = 0.3
# Undecodable byte sequences tolerated in an otherwise valid file (this many, or 0.2%).
_TOLERATED_DECODE_ERRORS = 4

_HTML_HINT = re.compile(r"<(?:!doctype|html|body|p|div|br|h[1-6])[\s>/]", re.IGNORECASE)
# Only a whole page gets browser whitespace rules; in a text file with a few stray tags the
# newlines are real line breaks.
_FULL_DOCUMENT = re.compile(r"<(?:!doctype|html|body)[\s>]", re.IGNORECASE)
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>", re.IGNORECASE)

# Page chrome whose text must never reach the article body.
_DROPPED_TAGS = ("head", "script", "style", "nav", "noscript", "iframe", "form", "template")
# Page-level header/footer are chrome, but an <article>'s own header holds its title and date.
_PAGE_REGION_TAGS = ("header", "footer")
_CONTENT_TAGS = ("article", "main")
_BLOCK_TAGS = frozenset(
    ("p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "li", "tr", "section", "article")
    + ("table", "ul", "ol", "dl", "dt", "dd", "blockquote", "pre", "main", "address")
    + ("figure", "figcaption", "center")
)
_CELL_TAGS = frozenset(("td", "th"))
_WHITESPACE_RUN = re.compile(r"\s+")
_SPACE_RUN = re.compile(r"[^\S\n]+")


def decode_bytes(data: bytes) -> str:
    """Decode an uploaded file to text with LF newlines; HTML pages become plain text.

    Raises ParseError when the data is empty or not text.
    """
    if not data or not data.strip():
        raise ParseError("文件为空")
    text = _decode(data)
    text = text.lstrip("\ufeff")
    _reject_implausible_text(text)
    text = _CONTROL_CHARS.sub("", text)  # the few left are stray noise
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if looks_like_html(text):
        text = html_to_text(text)
    if not text.strip():
        raise ParseError("文件为空(没有可读文字)")
    return text


def _decode(data: bytes) -> str:
    if data.startswith(_UTF16_BOMS):
        # UTF-16 is the one legitimate text encoding full of NUL bytes.
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise ParseError("不是文本文件(UTF-16 解码失败)") from exc
    if b"\x00" in data:
        raise ParseError("不是文本文件(含二进制数据 NUL 字节)")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            # A truncated or slightly damaged UTF-8 file must not be read as GB18030 mojibake:
            # accept it with a few U+FFFD before trying the next encoding.
            if (text := _nearly_valid(data, encoding)) is not None:
                return text
    return _decode_with_detector(data)


def _nearly_valid(data: bytes, encoding: str) -> str | None:
    text = data.decode(encoding, errors="replace")
    errors = text.count("\ufffd")
    return text if errors <= max(_TOLERATED_DECODE_ERRORS, len(text) // 500) else None


def _decode_with_detector(data: bytes) -> str:
    from charset_normalizer import from_bytes  # only needed for rare encodings

    best = from_bytes(data).best()
    if best is None or best.chaos > _MAX_CHAOS:
        raise ParseError("不是文本文件(无法识别文字编码)")
    return str(best)


def _reject_implausible_text(text: str) -> None:
    controls = len(_CONTROL_CHARS.findall(text))
    if controls and controls > len(text) * _MAX_CONTROL_RATIO:
        raise ParseError("不是文本文件(控制字符过多,疑似二进制数据)")
    private = len(_PRIVATE_USE.findall(text))
    if private and private > len(text) * _MAX_PRIVATE_USE_RATIO:
        raise ParseError("不是文本文件(解码结果多为无效字符,疑似二进制数据)")


def looks_like_html(text: str) -> bool:
    return _HTML_HINT.search(text) is not None


def html_to_text(markup: str) -> str:
    """Article text of an HTML page, one block element per line."""
    markup = _XML_DECLARATION.sub("", markup, count=1)
    try:
        root = html.document_fromstring(markup)
    except (etree.LxmlError, ValueError) as exc:
        raise ParseError(f"HTML 无法解析: {exc}") from exc
    _drop_chrome(root)
    keep_newlines = _FULL_DOCUMENT.search(markup) is None
    _mark_line_breaks(root, _SPACE_RUN if keep_newlines else _WHITESPACE_RUN)
    return root.text_content()


def _drop_chrome(root) -> None:
    doomed = list(root.iter(*_DROPPED_TAGS, etree.Comment, etree.ProcessingInstruction))
    doomed += [
        el
        for el in root.iter(*_PAGE_REGION_TAGS)
        if not any(ancestor.tag in _CONTENT_TAGS for ancestor in el.iterancestors())
    ]
    for el in doomed:
        if el.getparent() is not None:
            el.drop_tree()  # keeps the tail text, which belongs to the parent


def _mark_line_breaks(root, whitespace: re.Pattern[str]) -> None:
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        # Collapse source formatting the way a browser does, except in <pre>.
        if el.tag != "pre":
            el.text = _collapse(el.text, whitespace)
        el.tail = _collapse(el.tail, whitespace)
        if el.tag == "br":
            el.tail = "\n" + (el.tail or "")
        elif el.tag in _BLOCK_TAGS:
            el.text = "\n" + (el.text or "")
            el.tail = "\n" + (el.tail or "")
        elif el.tag in _CELL_TAGS:
            el.tail = " " + (el.tail or "")


def _collapse(value: str | None, whitespace: re.Pattern[str]) -> str | None:
    return whitespace.sub(" ", value) if value else value
