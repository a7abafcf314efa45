"""Is an upstream item a *key policy item* that subordinate sites must repost?

Rules are data (:class:`KeyPolicyRules`, read from the jurisdiction profile), applied in order;
the first that decides gives the reason staff see:

1. everything from a source marked ``key = true``;
2. an exclusion word (人事任免, 招聘 …) makes the item not key;
3. a 文号 whose prefix is listed (国发, 国办发, 赣府发 …);
4. a listed issuer at the start and a document type at the end (国务院…的意见);
5. a keyword, matched on jieba words (with a government dictionary), not on substrings
   (营商环境 must not fire on 生态环境); exclusions, by contrast, match anywhere.

jieba is loaded once, lazily (≈ 0.7 s), in its own tokenizer so the host's global jieba state is
left alone.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from importlib import resources
from typing import Any

from syndicator.text.docno import parse_doc_no
from syndicator.text.normalise import analyse_title

__all__ = ["DEFAULT_KEY_RULES", "KeyPolicyRules", "KeyVerdict", "classify_key", "words"]


@dataclass(frozen=True, slots=True, kw_only=True)
class KeyPolicyRules:
    issuers: tuple[str, ...]
    doc_types: tuple[str, ...]
    doc_no_prefixes: tuple[str, ...]
    keywords: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()


DEFAULT_KEY_RULES = KeyPolicyRules(
    issuers=("国务院办公厅", "国务院", "中共中央办公厅 国务院办公厅", "中共中央 国务院"),
    doc_types=("通知", "意见", "决定", "办法", "条例", "方案", "规定", "规划", "纲要", "计划"),
    doc_no_prefixes=("国发", "国办发", "国办函", "国办明电", "国办发明电", "国务院令"),
    exclude=("人事任免", "任免", "招聘", "公示", "讣告"),
)


@dataclass(frozen=True, slots=True)
class KeyVerdict:
    is_key: bool
    reason: str


_tokenizer: Any = None
_lock = threading.Lock()


def words(text: str) -> list[str]:
    """jieba words of *text*, with the bundled government dictionary."""
    global _tokenizer
    with _lock:
        if _tokenizer is None:
            import jieba

            jieba.setLogLevel(logging.WARNING)
            tokenizer = jieba.Tokenizer()
            path = resources.files("syndicator.text").joinpath("data", "gov_dict.txt")
            # An open file, not a path: jieba leaves files it opens itself unclosed.
            with path.open("rb") as dictionary:
                tokenizer.load_userdict(dictionary)
            _tokenizer = tokenizer
    return [w for w in _tokenizer.lcut(text) if w.strip()]


def classify_key(
    title: str,
    *,
    rules: KeyPolicyRules = DEFAULT_KEY_RULES,
    doc_no: str | None = None,
    source_is_key: bool = False,
) -> KeyVerdict:
    """Decide whether an upstream item is a key policy item, and say why (zh-CN)."""
    if source_is_key:
        return KeyVerdict(True, "信息源设为重点：其发布的条目均为重点政策")
    form = analyse_title(title)
    # Exclusions match anywhere (公开招聘 contains 招聘); keywords only as whole words.
    for word in rules.exclude:
        if word in form.text:
            return KeyVerdict(False, f"含排除词“{word}”")
    number = parse_doc_no(doc_no) if doc_no else form.doc_no
    if number is not None and number.prefix in rules.doc_no_prefixes:
        return KeyVerdict(True, f"文号 {number} 属重点发文字号（{number.prefix}）")
    issuer = next((i for i in rules.issuers if form.text.startswith(i.replace(" ", ""))), None)
    doc_type = next((t for t in rules.doc_types if form.text.endswith(t)), None)
    if issuer and doc_type:
        return KeyVerdict(True, f"发文机关“{issuer}”且文种为“{doc_type}”")
    tokens = set(words(form.text)) if rules.keywords else set()
    hits = [word for word in rules.keywords if word in tokens]
    if hits:
        return KeyVerdict(True, f"命中关键词：{'、'.join(hits)}")
    return KeyVerdict(False, "未命中重点政策规则")
