"""Pure text functions: document numbers, title normalisation; no I/O."""

from syndicator.text.docno import DocNo, find_doc_nos, parse_doc_no, strip_doc_no
from syndicator.text.normalise import TitleForm, analyse_title, is_truncated, normalise_title

__all__ = [
    "DocNo",
    "TitleForm",
    "analyse_title",
    "find_doc_nos",
    "is_truncated",
    "normalise_title",
    "parse_doc_no",
    "strip_doc_no",
]
