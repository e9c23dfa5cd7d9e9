"""Chinese full-text search: character bigrams in a PostgreSQL tsvector.

Why bigrams and not word segmentation: members search place and project words, mostly two
characters (镇江, 道路, 管廊). A bigram index returns exactly the rows a substring match
returns: every 2-character term is one lexeme, a longer term is a phrase of overlapping
bigrams (污水处理 → 污水 <-> 水处 <-> 处理). jieba segmentation gave a smaller index but
missed rows whose segmentation split the term differently. The tsvector and tsquery are
built here as literals, so no PostgreSQL text-search parser or locale is involved.

Each run of Chinese characters also yields its last character as a lexeme, so a
one-character term ('桥':*) matches wherever the character stands.
"""

import re
from dataclasses import dataclass, field

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TOKEN_RUN = re.compile(rf"[{_CJK}]+|[0-9a-z]+")
_QUERY_PART = re.compile(r'(-?)"([^"]*)"|(-?)(\S+)')
MAX_TERMS = 8
# PostgreSQL clamps positions above this; we stop there instead of repeating the last one.
_MAX_POSITION = 16383


def _runs(text: str) -> list[str]:
    return _TOKEN_RUN.findall(text.lower())


def _run_lexemes(run: str) -> list[str]:
    if not ("\u3400" <= run[0] <= "\ufaff"):
        return [run]
    if len(run) == 1:
        return [run]
    return [run[i : i + 2] for i in range(len(run) - 1)]


def tokens(text: str) -> list[str]:
    """The lexemes of a text in order (without the end-of-run characters)."""
    return [lexeme for run in _runs(text) for lexeme in _run_lexemes(run)]


def _positions(text: str, start: int, weight: str, into: dict[str, list[str]]) -> int:
    position = start
    for run in _runs(text):
        lexemes = _run_lexemes(run)
        for lexeme in lexemes:
            if position > _MAX_POSITION:
                return position
            into.setdefault(lexeme, []).append(f"{position}{weight}")
            position += 1
        if len(run) > 1 and run[0] >= "\u3400":
            # The run's last character, at the last bigram's position (for 1-char terms).
            into.setdefault(run[-1], []).append(f"{position - 1}{weight}")
        position += 1  # a gap: a phrase never spans two runs
    return position


def document(title: str, body: str) -> str:
    """The tsvector literal of a bulletin: title lexemes weighted A, body B."""
    lexemes: dict[str, list[str]] = {}
    after_title = _positions(title, 1, "A", lexemes)
    _positions(body, after_title + 1, "B", lexemes)
    # Lexemes are [0-9a-z] or CJK only, so no quoting is needed beyond the quotes.
    return " ".join(f"'{lexeme}':{','.join(pos)}" for lexeme, pos in lexemes.items())


@dataclass
class ParsedQuery:
    """A member's query: all `include` terms must match, no `exclude` term may."""

    include: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)

    def __bool__(self):
        return bool(self.include or self.exclude)

    @property
    def highlight_terms(self) -> list[str]:
        """The runs to mark in snippets, longest first so 污水处理 wins over 污水."""
        return sorted({run for term in self.include for run in _runs(term)}, key=len, reverse=True)

    def substring_terms(self, which: str) -> list[list[str]]:
        """Per term, the runs a plain substring search must find (SQLite fallback)."""
        return [_runs(term) for term in getattr(self, which)]


def parse_query(raw: str) -> ParsedQuery:
    """Words are ANDed; "quoted text" is one phrase; -word excludes. Punctuation is ignored."""
    query = ParsedQuery()
    for neg_q, quoted, neg_w, word in _QUERY_PART.findall(raw or ""):
        text = quoted if quoted or neg_q else word
        negative = bool(neg_q or neg_w)
        if not quoted and not neg_q and text.startswith("-"):
            text, negative = text.lstrip("-"), True
        if not _runs(text):
            continue  # punctuation only
        term = " ".join(text.split()).lower()
        (query.exclude if negative else query.include).append(term)
    query.include = query.include[:MAX_TERMS]
    query.exclude = query.exclude[:MAX_TERMS]
    return query


def _term_tsquery(term: str, weight: str) -> str:
    """Lexemes of one run are adjacent (<->); consecutive runs sit one gap apart (<2>)."""
    suffix = f":{weight}" if weight else ""
    chain = ""
    for run in _runs(term):
        if len(run) == 1 and run >= "\u3400":
            piece = f"'{run}':*{weight}"  # one character: any bigram it starts, or a run end
        else:
            piece = " <-> ".join(f"'{lexeme}'{suffix}" for lexeme in _run_lexemes(run))
        chain = f"{chain} <2> {piece}" if chain else piece
    return f"({chain})"


def tsquery(query: ParsedQuery, *, title_only: bool = False) -> str:
    """The tsquery literal for a parsed query ('' when it has no include terms)."""
    weight = "A" if title_only else ""
    include = [_term_tsquery(t, weight) for t in query.include]
    exclude = [f"!{_term_tsquery(t, weight)}" for t in query.exclude]
    if not include:
        return ""
    return " & ".join(include + exclude)


def exclusion_tsquery(query: ParsedQuery, *, title_only: bool = False) -> str:
    """For a query of exclusions only: the tsquery of what must NOT match."""
    weight = "A" if title_only else ""
    return " | ".join(_term_tsquery(t, weight) for t in query.exclude)
