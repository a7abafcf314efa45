"""文号 (document number) parsing.

A 文号 is an issuer code, a year in brackets and a serial number: ``国办发〔2017〕47号``.
Sites write the brackets many ways (``[]``, ``（）``, ``()``, ``【】``, ``﹝﹞``), use
full-width digits and sprinkle spaces, so parsing tolerates all of those and `DocNo`
renders the one canonical form. Decrees (``国务院令第777号``) have no year and are
represented with ``year == 0``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["DocNo", "find_doc_nos", "parse_doc_no", "strip_doc_no"]

_MIN_YEAR = 1949
_MAX_YEAR = 2100
_MAX_NUMBER = 99999
_MAX_PREFIX = 8
# Decree issuers are longer: 中华人民共和国国务院令 is 11 characters.
_MAX_DECREE_PREFIX = 12
_MIN_DECREE_PREFIX = 3

# Full-width digits become ASCII one character for one, so match offsets stay valid in
# the caller's original string (NFKC could change the length).
_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")
_CJK = "\u3400-\u4dbf\u4e00-\u9fff"
_OPEN = "〔[（(【﹝"
_CLOSE = "〕]）)】﹞"

_DOC_NO_RE = re.compile(
    rf"(?P<run>[{_CJK}A-Za-z]+)\s*"
    rf"(?:[{re.escape(_OPEN)}]\s*(?P<year>\d{{4}})\s*[{re.escape(_CLOSE)}]\s*第?\s*|第\s*)"
    r"(?P<number>\d{1,5})\s*号"
)
# Words that end the sentence before an issuer code: the code starts after the last one,
# so "…的通知国办发" and "根据国办发" both yield 国办发.
_BOUNDARY_RE = re.compile(
    "的|通知|意见|决定|方案|办法|规定|细则|批复|公告|通告|报告|印发|关于|转发|文号|号|详见|"
    "根据|依据|依照|按照|参照|贯彻|落实|执行"
)
_TRAILER_RE = re.compile(rf"\s*[{re.escape(_CLOSE)}]?\s*")


@dataclass(frozen=True, slots=True)
class DocNo:
    """A parsed document number.

    Attributes:
        prefix: Issuer code such as ``国办发`` or, for decrees, ``国务院令``.
        year: Year in the brackets; ``0`` for decrees, which carry none.
        number: Serial number within the year (or the decree number).
    """

    prefix: str
    year: int
    number: int

    def __str__(self) -> str:
        if self.year == 0:
            return f"{self.prefix}第{self.number}号"
        return f"{self.prefix}〔{self.year}〕{self.number}号"


def _issuer(run: str, *, decree: bool) -> str | None:
    cut = 0
    for match in _BOUNDARY_RE.finditer(run):
        cut = match.end()
    prefix = run[cut:]
    limit = _MAX_DECREE_PREFIX if decree else _MAX_PREFIX
    prefix = prefix[-limit:]
    minimum = _MIN_DECREE_PREFIX if decree else 2
    return prefix if len(prefix) >= minimum else None


def _scan(text: str) -> Iterator[tuple[DocNo, int, int]]:
    """Yield each document number with the start of its prefix and its end in ``text``."""
    if "号" not in text:
        return  # every document number ends in 号; most titles carry none
    for match in _DOC_NO_RE.finditer(text.translate(_DIGITS)):
        year_text = match["year"]
        decree = year_text is None
        run = match["run"]
        if decree and not run.endswith("令"):
            continue
        prefix = _issuer(run, decree=decree)
        if prefix is None:
            continue
        year = 0 if year_text is None else int(year_text)
        number = int(match["number"])
        if not decree and not _MIN_YEAR <= year <= _MAX_YEAR:
            continue
        if not 1 <= number <= _MAX_NUMBER:
            continue
        start = match.start("run") + len(run) - len(prefix)
        yield DocNo(prefix, year, number), start, match.end()


def parse_doc_no(text: str) -> DocNo | None:
    """Parse the first document number appearing anywhere in ``text``.

    Args:
        text: Any text, e.g. a title such as ``关于…的通知（国办发〔2017〕47号）``.

    Returns:
        The first `DocNo` found, or ``None`` when the text holds none. Years outside
        1949–2100 and numbers outside 1–99999 are not document numbers.
    """
    for doc_no, _start, _end in _scan(text):
        return doc_no
    return None


def find_doc_nos(text: str) -> list[DocNo]:
    """Return every document number in ``text``, in order of appearance.

    Args:
        text: Any text.

    Returns:
        The document numbers found; empty when there are none.
    """
    return [doc_no for doc_no, _start, _end in _scan(text)]


def strip_doc_no(title: str) -> str:
    """Remove a trailing document number, and the brackets around it, from a title.

    ``…的通知（国办发〔2017〕47号）`` and ``…的通知 国办发〔2017〕47号`` both become
    ``…的通知``. A document number that is not at the end is left in place.

    Args:
        title: A document title.

    Returns:
        The title without its trailing document number and trailing whitespace, or the
        title unchanged when it does not end with one. A title that is only a document
        number becomes ``""``.
    """
    found = list(_scan(title))
    if not found:
        return title
    _doc_no, start, end = found[-1]
    if _TRAILER_RE.fullmatch(title, end) is None:
        return title
    head = title[:start].rstrip()
    if head and head[-1] in _OPEN:
        head = head[:-1].rstrip()
    return head
