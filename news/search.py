"""Chinese full-text search: character n-grams in PostgreSQL tsvectors.

Why n-grams and not word segmentation: members search place and project words, mostly two
characters (镇江, 道路, 管廊). jieba segmentation gave a smaller index but missed rows whose
text it split differently. Every run of Chinese characters yields its bigrams and
trigrams; a query term matches when all its n-grams are present:

- 1 character: a prefix ('桥':*) of any n-gram, or the run's last character (also indexed);
- 2 characters: its bigram, 3 characters: its trigram (both exact, like LIKE '%…%');
- 4 or more: all its overlapping trigrams (污水处理 → 污水处 & 水处理).

The vectors carry no positions. Positional phrase queries (污水 <-> 水处 <-> 处理) were
exact too, but PostgreSQL must then re-read every candidate's multi-KB vector from TOAST
to check positions: 0.4–0.8 s for a common phrase over a million bulletins (see
BENCHMARKS.md). Without positions or weights a GIN match needs no recheck. The price is
that a term of 4+ characters also matches text holding its trigrams apart (污水处置 … 雨水
处理); snippets show where the words really stand.

Search is no oracle for contacts. The public body vector is not stored: the GIN index is
over `PUBLIC_VECTOR_SQL`, which PostgreSQL computes from the raw title and body
(`news_ngrams`, migration 0010, the same set as `lexemes()` here) minus the bulletin's
`hidden_lexemes`: the n-grams only the unmasked text holds (news/masking.py: stored contact
values and the parser's contact patterns). A phone, mobile, email or person's name, or any
fragment longer than the mask shows, therefore matches nothing for a visitor or free
member. What masking hid, plus every stored contact value, goes into a small stored vector,
`contact_vector`; only viewers members.access lets see contacts search it, each term
matching either (one GIN BitmapOr per term). Results stay masked until the member reveals.

Why computed: stored, the body vectors took 10 GB of TOAST per million bulletins (five
times the text) and writing their ~10 KB literals was most of an import's INSERT. The price
is CPU where PostgreSQL evaluates the expression: on INSERT/UPDATE (~0.6 ms), ANALYZE, and
any plan that tests it row by row — so exclusions anti-join against the index
(`BulletinQuerySet.search`) and work_mem is large enough that bitmaps never go lossy.

Titles get a stored vector of their own (`title_vector`, small): "title only" searches it,
and ranking reads it. Literals are built here, so no PostgreSQL text-search parser or
locale is involved.
"""

import re
from dataclasses import dataclass, field

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TOKEN_RUN = re.compile(rf"[{_CJK}]+|[0-9a-z]+")
_QUERY_PART = re.compile(r'(-?)"([^"]*)"|(-?)(\S+)')
MAX_TERMS = 8


def _runs(text: str) -> list[str]:
    return _TOKEN_RUN.findall(text.lower())


def is_cjk(run: str) -> bool:
    return run[0] >= "\u3400"


# Overlapping matches via lookahead let the regex engine (C) cut the n-grams: twice as
# fast as slicing in Python, and lexemes() runs once per import, edit and alert match.
_BIGRAMS = re.compile(rf"(?=([{_CJK}]{{2}}))")
_TRIGRAMS = re.compile(rf"(?=([{_CJK}]{{3}}))")
_RUN_ENDS = re.compile(rf"[{_CJK}](?![{_CJK}])")  # so one-character terms find it by prefix
# Words are found in both cases and lowered one by one: ASCII only, exactly as the SQL
# function news_ngrams does (str.lower() would also fold e.g. the Kelvin sign into "k").
_WORDS = re.compile(r"[0-9A-Za-z]+")


def lexemes(*texts: str) -> set[str]:
    """The distinct n-grams and words of some text (each text apart: none spans two).

    `NGRAMS_SQL` below computes the same set in PostgreSQL; a test holds them equal."""
    found: set[str] = set()
    for text in texts:
        for pattern in (_BIGRAMS, _TRIGRAMS, _RUN_ENDS):
            found.update(pattern.findall(text))
        found.update(word.lower() for word in _WORDS.findall(text))
    return found


def filter_lexemes(*, province_id=None, city_id=None, region_id=None, category_id=None):
    """Lexemes naming a bulletin's region and category, so that search + filters is one
    GIN intersection: without them a common term in one province read every match's row
    in the country (74k rows for 污水处理) only to drop three quarters of them. Text never
    yields '~' (lexemes are [0-9a-z] or CJK), so these cannot collide with words."""
    pairs = (("p", province_id), ("c", city_id), ("r", region_id), ("k", category_id))
    return [f"~{tag}{value}" for tag, value in pairs if value]


WEEK_SECONDS = 7 * 24 * 3600


def week_number(moment) -> int:
    """Weeks since the epoch, as the index's week lexeme counts them (migration 0014)."""
    return int(moment.timestamp() // WEEK_SECONDS)


def week_lexeme(week: int) -> str:
    """The lexeme every bulletin published in `week` holds: "the newest matches of a
    common term" becomes the term AND a few weeks' lexemes, which GIN answers by skipping
    through the term's postings (news/search_windows.py)."""
    return f"~w{week}"


def vector_literal(words) -> str:
    """A tsvector literal of these lexemes ([0-9a-z], CJK or filter lexemes: nothing to
    escape inside the quotes)."""
    return "'" + "' '".join(words) + "'" if words else ""


def document(*texts: str, extra=()) -> str:
    """The tsvector literal of some text: its distinct n-grams and words (+ `extra`)."""
    return vector_literal(lexemes(*texts) | set(extra))


@dataclass(frozen=True)
class IndexedFields:
    """What a bulletin stores for search (see the module docstring)."""

    hidden_lexemes: str  # space-separated: n-grams only the unmasked text holds
    title_vector: str
    contact_vector: str
    mask_plan: str  # where the title and body are masked (news/mask_plans.py)


def bulletin_index_fields(*, title: str, body: str, contact_values) -> IndexedFields:
    """The stored search columns of a bulletin.

    The public body vector is not stored: PostgreSQL indexes `PUBLIC_VECTOR_SQL`, the
    n-grams of the raw title and body minus `hidden_lexemes`, the n-grams that only the
    unmasked text holds. What is left is a subset of the masked text's n-grams, so a search
    by a phone, an email or a person's name (or any fragment longer than the mask shows)
    cannot find the bulletin for a viewer who may not see contacts: search is no oracle.
    What masking hid, plus every stored contact value, goes into contact_vector, which is
    searched only for viewers the policy lets search contacts (members.access).
    """
    from news.mask_plans import mask_plan
    from news.masking import apply_spans, mask_spans

    values = tuple(contact_values)
    title_spans = mask_spans(title, values=values)
    body_spans = mask_spans(body, values=values)
    masked_title, hidden_title = apply_spans(title, title_spans)
    masked_body, hidden_body = apply_spans(body, body_spans)
    hidden = lexemes(title, body) - lexemes(masked_title, masked_body)
    return IndexedFields(
        hidden_lexemes=" ".join(sorted(hidden)),
        title_vector=document(masked_title),
        contact_vector=document(*hidden_title, *hidden_body, *values),
        mask_plan=mask_plan(
            title=title, body=body, values=values, title_spans=title_spans, body_spans=body_spans
        ),
    )


def public_lexemes(*, title: str, body: str, hidden_lexemes: str, filters=()) -> set[str]:
    """In Python, what the PostgreSQL index holds for a bulletin (`PUBLIC_VECTOR_SQL`)."""
    return (lexemes(title, body) - set(hidden_lexemes.split())) | set(filters)


# PostgreSQL computes the public vector from the stored text (news.migrations.0010 creates
# these functions and the GIN index over PUBLIC_VECTOR_SQL): storing it cost ~8 KB of
# TOAST per bulletin, five times the text it indexes. A query must spell the expression
# exactly as the index does for the planner to use the index.
PUBLIC_VECTOR_SQL = (
    "news_public_vector(title, body, hidden_lexemes, province_id, city_id, region_id, "
    "category_id, published_at)"
)


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
    """Words are ANDed; "quoted text" is one term; -word excludes. Punctuation is ignored."""
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


def _run_lexemes(run: str) -> list[str]:
    """What a run of a term must find: n-grams, or "x*" for a one-character prefix."""
    if not is_cjk(run):
        return [run]
    if len(run) == 1:
        return [f"{run}*"]
    if len(run) == 2:
        return [run]
    return [run[i : i + 3] for i in range(len(run) - 2)]


def term_lexemes(term: str) -> list[str]:
    return [lexeme for run in _runs(term) for lexeme in _run_lexemes(run)]


def term_tsquery(term: str) -> str:
    parts = [f"'{x[:-1]}':*" if x.endswith("*") else f"'{x}'" for x in term_lexemes(term)]
    return f"({' & '.join(parts)})"


def any_of(lexemes) -> str:
    """A tsquery group matching any of these filter lexemes ('' for none)."""
    return "(" + " | ".join(f"'{x}'" for x in lexemes) + ")" if lexemes else ""


def tsquery(query: ParsedQuery, *, filters=(), window=()) -> str:
    """The tsquery literal of a parsed query ('' when it has no include terms); `window`:
    week lexemes, one of which a row must hold."""
    if not query.include:
        return ""
    include = [term_tsquery(t) for t in query.include] + [f"'{f}'" for f in filters]
    include += [any_of(window)] if window else []
    exclude = [f"!{term_tsquery(t)}" for t in query.exclude]
    return " & ".join(include + exclude)


def exclusion_tsquery(query: ParsedQuery) -> str:
    """For a query of exclusions only: the tsquery of what must NOT match."""
    return " | ".join(term_tsquery(t) for t in query.exclude)


def any_term_tsquery(query: ParsedQuery) -> str:
    """Matches a title holding any include term: ranking rewards titles holding more."""
    return " | ".join(term_tsquery(t) for t in query.include)
