"""The CPU half of an import, which needs no database: decode and parse each file, cut
its repost signature and fingerprint, and compute its search columns (masking the body,
the costliest step). Pure Python, so news.importing.pipeline can run it for the next
batch in a helper process while this process stores the current one in PostgreSQL: the
two used to wait for each other (BENCHMARKS.md, Import).
"""

from dataclasses import dataclass, field

from news.importing import near_duplicates
from news.importing.parser import ParsedBulletin, ParseError, normalised_fingerprint, parse_bytes
from news.search import IndexedFields, bulletin_index_fields
from news.text import join_paragraphs


@dataclass
class PreparedPage:
    index: int  # position in its batch
    name: str
    parsed: ParsedBulletin
    fingerprint: str
    bands: list[int]
    body: str
    indexed: IndexedFields | None = None  # None: the stored contacts decide (fallback)
    comparable: near_duplicates.Comparable | None = None  # the body, as compare() reads it


@dataclass
class PreparedBatch:
    size: int
    pages: list[PreparedPage] = field(default_factory=list)
    errors: list[tuple[int, str, str]] = field(default_factory=list)  # index, name, message


@dataclass(frozen=True)
class ContactRow:
    organization: str
    role: str
    person: str
    title: str = ""
    phone: str = ""
    mobile: str = ""
    email: str = ""


def contact_rows(parsed: ParsedBulletin) -> list[ContactRow]:
    """The contacts a page stores, in order (news.importing.storing makes them rows)."""
    rows = [
        ContactRow(c.organization, c.role, c.name, c.title, c.phone, c.mobile, c.email)
        for c in parsed.contacts
        if c.organization or c.name
    ]
    named = {row.person for row in rows}
    if parsed.project_manager and parsed.project_manager not in named:
        # The award names a project manager without contact details: still worth a row.
        rows.append(ContactRow(parsed.winner, "中标人", parsed.project_manager, "项目经理"))
    return rows


def contact_values(rows) -> list[str]:
    """As news.masking.contact_values reads stored contacts: the same values, same order."""
    return [v for row in rows for v in (row.person, row.phone, row.mobile, row.email) if v]


def batch_prepare(files: list[tuple[str, bytes]]) -> PreparedBatch:
    batch = PreparedBatch(size=len(files))
    for i, (name, data) in enumerate(files):
        try:
            parsed = parse_bytes(data)
        except ParseError as exc:
            batch.errors.append((i, name, f"{name}: {exc}"))
            continue
        body = join_paragraphs(parsed.paragraphs)
        indexed = bulletin_index_fields(
            title=parsed.title, body=body, contact_values=contact_values(contact_rows(parsed))
        )
        batch.pages.append(
            PreparedPage(
                i,
                name,
                parsed,
                normalised_fingerprint(parsed),
                near_duplicates.signature_bands(body),
                body,
                indexed,
                near_duplicates.comparable(body),
            )
        )
    return batch
