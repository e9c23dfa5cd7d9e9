"""Reposts that are not byte-identical: MinHash + LSH to find candidates, then a strict check.

Candidates. A bulletin's body is normalised (NFKC, lower case, only letters and digits:
width, punctuation and spacing differences vanish) and cut into character 5-shingles;
datasketch's MinHash (128 permutations) summarises them. The first 120 values form 20
LSH bands of 6; each band is hashed to one signed 64-bit integer and stored as a row of
`news.LshBucket` (primary key (key, bulletin)), so "which stored bulletins share bands with
this one, and how many" is one index-only scan whatever the table size. With 20×6 bands a
pair of Jaccard 0.8 shares a band with probability 0.998, a pair of 0.5 with 0.27.

The check (precision first). Tender notices of one agency share most of their text —
headings, qualification paragraphs, contact blocks — so a high overall similarity is not
enough: two different projects must never merge. A candidate is a repost only if
1. the normalised bodies are similar overall (difflib ratio ≥ MIN_RATIO);
2. inside the text (edits at either end are headers and footers) they differ only by
   text dropped or added, in at most MAX_EDIT_BLOCKS places: a repost drops a paragraph
   or adds a sentence, while another project from the same template *replaces* text
   wherever its name, amount, dates and contacts appear;
3. the numbers (amounts, dates, phones, codes) of the shorter text appear in the longer
   one (≥ MIN_NUMBER_CONTAINMENT), and no edit inside cuts into a number: another project,
   or the same notice re-issued with a new amount or deadline, is not a repost.
`bench/near_duplicates_eval.py` measures precision and recall on a labelled set.
"""

import hashlib
import re
import unicodedata
import zlib
from dataclasses import dataclass
from difflib import SequenceMatcher

import numpy as np
from datasketch import MinHash

SHINGLE = 5
NUM_PERM = 128
BANDS, ROWS = 20, 6
MIN_RATIO = 0.8
MAX_EDIT_BLOCKS = 2
MIN_NUMBER_CONTAINMENT = 0.9

_NOT_ALNUM = re.compile(r"[\W_]+")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
# One fixed permutation set for every process: signatures must be comparable across runs.
SCHEME = "affine32"
# crc32 instead of datasketch's default sha1: the same 32 bits per shingle at a tenth of the
# cost (the scheme pre-mixes every input hash with the MurmurHash3 finalizer anyway).
_HASH = zlib.crc32
_TEMPLATE = MinHash(num_perm=NUM_PERM, seed=20241012, scheme=SCHEME, hashfunc=_HASH)


def normalise(text: str) -> str:
    return _NOT_ALNUM.sub("", unicodedata.normalize("NFKC", text).lower())


def signature_bands(text: str) -> list[int]:
    """The LSH band keys of a body (empty when it is too short to compare)."""
    norm = normalise(text)
    if len(norm) < SHINGLE * 4:
        return []
    shingles = {norm[i : i + SHINGLE] for i in range(len(norm) - SHINGLE + 1)}
    minhash = MinHash(
        num_perm=NUM_PERM, permutations=_TEMPLATE.permutations, scheme=SCHEME, hashfunc=_HASH
    )
    minhash.update_batch([s.encode() for s in shingles])
    values = np.asarray(minhash.hashvalues[: BANDS * ROWS])
    keys = []
    for band in range(BANDS):
        chunk = values[band * ROWS : (band + 1) * ROWS].tobytes()
        digest = hashlib.blake2b(chunk, digest_size=8, person=bytes([band]) * 8).digest()
        keys.append(int.from_bytes(digest, "big", signed=True))
    return keys


@dataclass(frozen=True)
class Verdict:
    duplicate: bool
    similarity: float
    reason: str = ""


@dataclass(frozen=True)
class Comparable:
    """What compare() reads of a body, computed once: a page is compared with up to ten
    candidates, and one agency's stored notices are candidates of many pages."""

    spaced: str
    numbers: frozenset[str]


def comparable(text: str) -> Comparable:
    """Like normalise(), but punctuation leaves one space, so that numbers printed side by
    side (3,860.52 / 0511-83000001) do not fuse and a changed digit shows as one."""
    folded = unicodedata.normalize("NFKC", text)
    return Comparable(
        _NOT_ALNUM.sub(" ", folded.lower()).strip(), frozenset(_NUMBER.findall(folded))
    )


def compare(text: str | Comparable, other: str | Comparable) -> Verdict:
    """Is `text` a repost of `other`? Similarity is difflib's ratio of the normalised bodies."""
    mine = text if isinstance(text, Comparable) else comparable(text)
    theirs = other if isinstance(other, Comparable) else comparable(other)
    a, b = mine.spaced, theirs.spaced
    if not a or not b:
        return Verdict(False, 0.0, "empty")
    # Cheapest first: most candidates are other notices of one template, with other numbers.
    if _containment(mine.numbers, theirs.numbers) < MIN_NUMBER_CONTAINMENT:
        return Verdict(False, 0.0, "numbers differ")
    matcher = SequenceMatcher(None, a, b, autojunk=False)
    if matcher.real_quick_ratio() < MIN_RATIO or matcher.quick_ratio() < MIN_RATIO:
        return Verdict(False, matcher.quick_ratio(), "dissimilar")
    ratio = matcher.ratio()
    if ratio < MIN_RATIO:
        return Verdict(False, ratio, "dissimilar")
    # Edits touching either end are another site's header or footer; inside the text a
    # repost only drops or adds (a paragraph, a sentence). Text *replaced* inside — a name,
    # an amount, a date — is another notice from the same template.
    interior = [
        op
        for op in matcher.get_opcodes()
        if op[0] != "equal"
        and not (op[1] == 0 and op[3] == 0)
        and not (op[2] == len(a) and op[4] == len(b))
    ]
    if any(op[0] == "replace" for op in interior):
        return Verdict(False, ratio, "text replaced inside")
    if any(_cuts_a_number(op, a, b) for op in interior):
        return Verdict(False, ratio, "a number changed")
    if len(interior) > MAX_EDIT_BLOCKS:
        return Verdict(False, ratio, f"{len(interior)} places differ")
    return Verdict(True, ratio)


def _cuts_a_number(op, a: str, b: str) -> bool:
    """An insert or delete with a digit, next to a digit: 3月1日 → 3月21日 changes a date."""
    tag, i1, i2, j1, j2 = op
    text, start, end = (b, j1, j2) if tag == "insert" else (a, i1, i2)
    if not any(c.isdigit() for c in text[start:end]):
        return False
    before = text[start - 1] if start > 0 else ""
    after = text[end] if end < len(text) else ""
    return before.isdigit() or after.isdigit()


def _containment(mine: frozenset[str], theirs: frozenset[str]) -> float:
    smaller, larger = sorted((mine, theirs), key=len)
    if not smaller:
        return 1.0 if not larger else 0.0
    return len(smaller & larger) / len(smaller)


def shared_bands(bands: list[int], other: list[int]) -> int:
    return len(set(bands) & set(other))
