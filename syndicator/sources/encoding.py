"""Turn a fetched body into text: the encoding cascade.

Order (the first step that yields a usable encoding wins):

1. ``declared``: the encoding configured on the source; it always wins, bytes that do not fit are
   replaced.
2. A byte order mark (UTF-8, UTF-16): as in the WHATWG encoding standard it overrides every label.
3. The HTTP ``Content-Type`` charset.
4. The XML prolog (``<?xml version="1.0" encoding="GBK"?>``).
5. ``<meta charset>`` / ``<meta http-equiv="Content-Type" content="...; charset=...">`` in the
   first 4 KB.
6. Detection (charset-normalizer, limited to UTF-8, GB18030 and Big5 first).
7. UTF-8 with replacement characters.

A label only counts when the bytes fit it: the body must decode strictly (a character cut off at the
very end, as a body cap leaves it, is tolerated). Government servers often send ``charset=utf-8``
for GBK pages, or keep a ``gb2312`` meta in templates that were converted to UTF-8; such a label is
skipped and the cascade goes on, so the next label or the detector decides instead of producing
mojibake. For the second case, a legacy label is also overruled when the body is valid UTF-8 and not
pure ASCII: real GBK text practically never happens to be valid UTF-8. ISO-8859-1, US-ASCII and
windows-1252 labels are ignored on bodies that are not pure ASCII (they are servlet defaults, never
the truth on a Chinese page), and UTF-7/16/32 labels are refused as WHATWG does.

Labels are normalised to Python codec names. GB2312 and GBK decode as GB18030, their superset: pages
labelled GB2312 routinely contain GBK-only characters. Unknown labels fall through to the next step.
"""

from __future__ import annotations

import codecs
import re
from functools import lru_cache

from charset_normalizer import from_bytes

__all__ = ["decode_body", "normalise_label", "sniff_meta_charset", "sniff_xml_encoding"]

_META_WINDOW = 4096

_ALIASES = {
    "x-gbk": "gb18030",
    "gb_2312": "gb18030",
    "gb_2312-80": "gb18030",
    "csgb2312": "gb18030",
    "iso-ir-58": "gb18030",
    "x-euc-cn": "gb18030",
    "x-big5": "big5",
    "cn-big5": "big5",
    "x-x-big5": "big5",
}
_GB_FAMILY = frozenset({"gb2312", "gbk", "gb18030"})
# Servlet containers send ISO-8859-1 by default; on a Chinese page it is never the real encoding.
_SINGLE_BYTE_DEFAULTS = frozenset({"iso8859-1", "ascii", "cp1252"})
# Never honoured from a label: UTF-7 is an XSS vector, and a UTF-16/32 label that could be read as
# ASCII is wrong by construction (WHATWG maps it to UTF-8; a real UTF-16 body has a BOM).
_REFUSED = frozenset(
    {"utf-7", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be"}
)
_DETECT_FIRST = ["utf_8", "gb18030", "big5"]

_CHARSET_PARAM = re.compile(rb"""charset\s*=\s*["']?\s*([A-Za-z0-9._:\-]+)""", re.IGNORECASE)
_XML_DECL = re.compile(
    rb"""^\s*<\?xml\s[^>]*?encoding\s*=\s*["']\s*([A-Za-z0-9._:\-]+)\s*["']""", re.IGNORECASE
)
_META_TAG = re.compile(rb"<meta\s[^>]*>", re.IGNORECASE)
_META_CHARSET_ATTR = re.compile(rb"""\bcharset\s*=\s*["']?\s*([A-Za-z0-9._:\-]+)""", re.IGNORECASE)
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


@lru_cache(maxsize=128)
def normalise_label(label: str | None) -> str | None:
    """Map an encoding label to the Python codec used to decode it.

    Args:
        label: A label as written in a header, prolog, meta tag or source configuration.

    Returns:
        A lowercase Python codec name (``"utf-8"``, ``"gb18030"``, ``"big5"``, ...), or ``None``
        when the label is unknown or not a text encoding.
    """
    if not label:
        return None
    key = label.strip().strip("\"'").lower()
    if not key:
        return None
    name = _ALIASES.get(key)
    if name is None:
        try:
            name = codecs.lookup(key).name
            b"x".decode(name, "replace")  # LookupError for bytes-to-bytes codecs (base64, zlib)
        except LookupError:
            return None
    return "gb18030" if name in _GB_FAMILY else name


def sniff_xml_encoding(head: bytes) -> str | None:
    """Read the encoding label from an XML prolog.

    Args:
        head: The first bytes of the document (an ASCII-compatible encoding is assumed).

    Returns:
        The label exactly as written (``"GBK"``), or ``None`` when there is no prolog or it names no
        encoding.
    """
    match = _XML_DECL.match(head[:512])
    return match.group(1).decode("ascii") if match else None


def sniff_meta_charset(head: bytes) -> str | None:
    """Read the charset label from the first ``<meta>`` tag that declares one.

    Handles both ``<meta charset="gbk">`` and
    ``<meta http-equiv="Content-Type" content="text/html; charset=gb2312">``.

    Args:
        head: The first bytes of the document; only the first 4 KB are searched.

    Returns:
        The label as written, or ``None``.
    """
    for tag in _META_TAG.finditer(head[:_META_WINDOW]):
        match = _META_CHARSET_ATTR.search(tag.group(0))
        if match:
            return match.group(1).decode("ascii")
    return None


def _header_charset(content_type: str | None) -> str | None:
    if not content_type:
        return None
    match = _CHARSET_PARAM.search(content_type.encode("latin-1", "replace"))
    return match.group(1).decode("ascii") if match else None


def _fits(body: bytes, encoding: str) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    try:
        decoder.decode(body, final=False)
    except UnicodeDecodeError:
        return False
    return True


def _detect(body: bytes) -> str | None:
    match = from_bytes(body, cp_isolation=_DETECT_FIRST).best()
    if match is None:
        match = from_bytes(body).best()
    return None if match is None else normalise_label(match.encoding)


def decode_body(
    body: bytes, *, content_type: str | None = None, declared: str | None = None
) -> tuple[str, str]:
    """Decode a fetched body with the cascade described in the module docstring.

    Args:
        body: The raw response body.
        content_type: The HTTP ``Content-Type`` header, if any.
        declared: The encoding configured for the source; wins over everything when it is a known
            label.

    Returns:
        ``(text, encoding)``: the decoded text (without BOM) and the lowercase Python codec name
        that was used.
    """
    forced = normalise_label(declared)
    if forced is not None:
        return _decode(body, forced), forced

    for bom, bom_name in _BOMS:
        if body.startswith(bom):
            return body[len(bom) :].decode(bom_name, "replace"), bom_name

    is_ascii = body.isascii()
    is_utf8 = is_ascii or _fits(body, "utf-8")
    rejected: str | None = None
    head = body[:_META_WINDOW]
    for label in (
        _header_charset(content_type),
        sniff_xml_encoding(head),
        sniff_meta_charset(head),
    ):
        name = normalise_label(label)
        if name is None or name in _REFUSED:
            continue
        if is_ascii:
            return body.decode(name, "replace"), name
        if name in _SINGLE_BYTE_DEFAULTS:
            continue
        if is_utf8:
            return _decode(body, "utf-8"), "utf-8"
        if _fits(body, name):
            return _decode(body, name), name
        rejected = rejected or name

    if is_utf8:
        return _decode(body, "utf-8"), "utf-8"
    guessed = _detect(body) or rejected or "utf-8"
    return _decode(body, guessed), guessed


def _decode(body: bytes, name: str) -> str:
    text = body.decode(name, "replace")
    return text[1:] if text.startswith("\ufeff") else text
