"""Key-policy classification: the reason staff see, rules from the profile."""

from __future__ import annotations

from pathlib import Path

import pytest

from syndicator.rules import ProfileError, load_profile
from syndicator.text import KeyPolicyRules, classify_key
from syndicator.text.classify import words

JIANGXI = load_profile("jiangxi").key_policy
NATIONAL = load_profile("national").key_policy


@pytest.mark.parametrize(
    ("title", "doc_no", "rules", "is_key", "reason"),
    [
        (
            "国务院关于加快发展银发经济增进老年人福祉的意见",
            None,
            NATIONAL,
            True,
            "发文机关“国务院”且文种为“意见”",
        ),
        (
            "关于进一步优化支付服务提升支付便利性的意见",
            "国办发〔2024〕10号",
            NATIONAL,
            True,
            "文号 国办发〔2024〕10号",
        ),
        (
            "【转载】国务院办公厅关于2025年部分节假日安排的通知",
            None,
            NATIONAL,
            True,
            "国务院办公厅",
        ),
        (
            "江西省人民政府办公厅关于加强政务新媒体健康有序发展的通知",
            None,
            JIANGXI,
            True,
            "江西省人民政府办公厅",
        ),
        (
            "江西省人民政府办公厅关于加强政务新媒体健康有序发展的通知",
            None,
            NATIONAL,
            False,
            "未命中",
        ),
        (
            "关于公布第六批省级非物质文化遗产代表性项目名录",
            "赣府发〔2024〕16号",
            JIANGXI,
            True,
            "赣府发",
        ),
        ("国务院任免国家工作人员", None, NATIONAL, False, "排除词“任免”"),
        ("国务院办公厅2025年度公开招聘工作人员的公告", None, NATIONAL, False, "排除词“招聘”"),
        ("南昌市召开常务会议研究部署安全生产工作", None, JIANGXI, False, "未命中"),
    ],
    ids=[
        "issuer+type",
        "docno",
        "wrapped-repost-title",
        "province-jx",
        "province-national",
        "province-docno",
        "exclude-appointments",
        "exclude-recruitment",
        "local-news",
    ],
)
def test_verdicts_and_reasons(
    title: str, doc_no: str | None, rules: KeyPolicyRules, is_key: bool, reason: str
) -> None:
    verdict = classify_key(title, rules=rules, doc_no=doc_no)
    assert verdict.is_key is is_key
    assert reason in verdict.reason


def test_a_key_source_makes_everything_key() -> None:
    verdict = classify_key("南昌市召开常务会议", source_is_key=True)
    assert verdict.is_key and "信息源" in verdict.reason


def test_keywords_match_whole_words_not_substrings() -> None:
    rules = KeyPolicyRules(issuers=(), doc_types=(), doc_no_prefixes=(), keywords=("营商环境",))
    assert classify_key("江西省持续优化营商环境工作要点", rules=rules).is_key
    # 营商 alone is not the keyword 营商环境, and 环境 in 生态环境 is not it either.
    assert not classify_key("全省生态环境保护工作会议召开", rules=rules).is_key


def test_government_dictionary_keeps_terms_whole() -> None:
    assert "高效办成一件事" in words("国务院关于推动高效办成一件事的指导意见")
    assert "国务院办公厅" in words("国务院办公厅关于印发方案的通知")


def test_profile_key_policy_errors_name_the_field(tmp_path: Path) -> None:
    path = tmp_path / "x.toml"
    path.write_text(
        'name = "x"\n[repost]\ndeadline = "6h"\n[[repost.ladder]]\nat = 1.0\nlevel = "breach"\n'
        '[key_policy]\nissuers = "国务院"\n',
        encoding="utf-8",
    )
    with pytest.raises(ProfileError, match=r"\[key_policy\]: field 'issuers' must be a list"):
        load_profile(path)
    path.write_text(path.read_text("utf-8").replace("issuers", "isuers"), encoding="utf-8")
    with pytest.raises(ProfileError, match="unknown field 'isuers'"):
        load_profile(path)
