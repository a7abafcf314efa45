"""Pure text functions: document numbers, title normalisation, matching, key-policy rules.

No I/O beyond reading the bundled jieba dictionary (package data) once.
"""

from syndicator.text.classify import DEFAULT_KEY_RULES, KeyPolicyRules, KeyVerdict, classify_key
from syndicator.text.docno import DocNo, find_doc_nos, parse_doc_no, strip_doc_no
from syndicator.text.match import Match, Matcher, classify_relation
from syndicator.text.normalise import TitleForm, analyse_title, is_truncated, normalise_title

__all__ = [
    "DEFAULT_KEY_RULES",
    "DocNo",
    "KeyPolicyRules",
    "KeyVerdict",
    "Match",
    "Matcher",
    "TitleForm",
    "analyse_title",
    "classify_key",
    "classify_relation",
    "find_doc_nos",
    "is_truncated",
    "normalise_title",
    "parse_doc_no",
    "strip_doc_no",
]
