"""The WeChat Official Account adapter against the WeChat fake, over real HTTP on 127.0.0.1.

Token cache, refresh-and-retry-once, draft → freepublish → poll, mass send, the error classes
of ``channels.base``, and secrets: neither the AppSecret nor an access token may show in a
repr, an error, a receipt or a log record.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from channels.base import (
    AuthExpired,
    BadContent,
    ChannelError,
    Message,
    Misconfigured,
    RateLimited,
    Receipt,
    Retryable,
    Unconfirmed,
)
from channels.wechat_mp import PUBLISH_STATUS, WeChatMP
from syndicator.delivery.http import delivery_client
from tests.fakes.portals import unused_port
from tests.fakes.wechat import APP_ID, APP_SECRET, FakeWeChat

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
TITLE = "《关于进一步优化营商环境的若干措施》政策解读"
BODY = "<section><h2>一、出台背景</h2><p>为深入贯彻落实党中央、国务院决策部署……</p></section>"
SOURCE = "https://www.jiangxi.gov.cn/art/2026/11/26/art_5218_1.html"

TOKEN = "/cgi-bin/token"
STABLE = "/cgi-bin/stable_token"
MATERIAL = "/cgi-bin/material/add_material"
DRAFT = "/cgi-bin/draft/add"
SUBMIT = "/cgi-bin/freepublish/submit"
GET = "/cgi-bin/freepublish/get"
SENDALL = "/cgi-bin/message/mass/sendall"


def article(**changes: Any) -> Message:
    fields: dict[str, Any] = {
        "kind": "interpretation",
        "title": TITLE,
        "body": BODY,
        "format": "html",
        "summary": "图解：二十条措施一图读懂",
        "url": SOURCE,
        "cover": PNG,
    }
    fields.update(changes)
    return Message(**fields)


@contextlib.asynccontextmanager
async def adapter(
    fake: FakeWeChat | None,
    *,
    client_timeout: float = 5.0,
    base_url: str | None = None,
    **config: Any,
) -> AsyncIterator[WeChatMP]:
    async with delivery_client(timeout=client_timeout) as client:
        yield WeChatMP(
            "jx-wechat",
            {"app_id": APP_ID, "app_secret": APP_SECRET, **config},
            client=client,
            base_url=base_url or (fake.base_url if fake else None),
        )


# -- the happy path -----------------------------------------------------------------------


async def test_publish_uploads_cover_adds_draft_submits_and_check_reports_published(
    wechat: FakeWeChat,
) -> None:
    async with adapter(wechat, author="江西发布", need_open_comment=True) as channel:
        receipt = await channel.publish(article(), idempotency_key="push-1-jx-wechat")
        job = wechat.jobs[int(receipt.external_id or "0")]
        assert receipt.status == "pending"
        assert receipt.platform_code == 0
        assert [r.path for r in wechat.requests] == [TOKEN, MATERIAL, DRAFT, SUBMIT]

        upload = wechat.calls(MATERIAL)[0]
        assert upload.query["type"] == "image"
        assert upload.headers["content-type"].startswith("multipart/form-data")
        draft = wechat.calls(DRAFT)[0]
        sent = draft.json["articles"][0]
        assert sent == {
            "article_type": "news",
            "title": TITLE,
            "author": "江西发布",
            "digest": "图解：二十条措施一图读懂",
            "content": BODY,
            "content_source_url": SOURCE,
            "need_open_comment": 1,
            "thumb_media_id": sent["thumb_media_id"],
        }
        assert wechat.materials[sent["thumb_media_id"]][0] == "image"
        assert TITLE.encode() in draft.body  # raw UTF-8, no \uXXXX escapes (40033)
        assert job.draft.media_id == wechat.calls(SUBMIT)[0].json["media_id"]

        first = await channel.check(receipt)
        assert (first.status, first.platform_code, first.detail) == ("pending", 1, "发表中")
        final = await channel.check(Receipt(status="pending", external_id=receipt.external_id))

    assert final.status == "published"
    assert final.url == job.urls[0]
    assert final.url is not None and final.url.startswith("https://mp.weixin.qq.com/s/")
    assert final.detail == "发表成功"
    assert len(wechat.calls(TOKEN)) == 1, "the token is cached across calls"
    assert job.draft.media_id not in wechat.drafts, "a published draft leaves the draft box"


async def test_configured_thumb_media_id_is_used_when_the_message_has_no_cover(
    wechat: FakeWeChat,
) -> None:
    wechat.materials["mat_preset_cover"] = ("image", 2048)
    async with adapter(wechat, thumb_media_id="mat_preset_cover") as channel:
        await channel.publish(article(cover=None), idempotency_key="k")
    assert not wechat.calls(MATERIAL)
    assert wechat.calls(DRAFT)[0].json["articles"][0]["thumb_media_id"] == "mat_preset_cover"


async def test_a_configured_thumb_media_id_unknown_to_wechat_is_misconfigured(
    wechat: FakeWeChat,
) -> None:
    async with adapter(wechat, thumb_media_id="mat_deleted") as channel:
        with pytest.raises(Misconfigured, match="thumb_media_id") as caught:
            await channel.publish(article(cover=None), idempotency_key="k")
    assert caught.value.platform_code == 40007


async def test_the_same_cover_is_uploaded_once(wechat: FakeWeChat) -> None:
    async with adapter(wechat) as channel:
        await channel.publish(article(), idempotency_key="a")
        await channel.publish(article(title="第二篇解读"), idempotency_key="b")
    assert len(wechat.calls(MATERIAL)) == 1
    assert len(wechat.calls(SUBMIT)) == 2


async def test_stable_token_endpoint_when_configured(wechat: FakeWeChat) -> None:
    async with adapter(wechat, stable_token=True) as channel:
        await channel.publish(article(), idempotency_key="k")
    assert not wechat.calls(TOKEN)
    (stable,) = wechat.calls(STABLE)
    assert stable.method == "POST"
    assert stable.json == {
        "grant_type": "client_credential",
        "appid": APP_ID,
        "secret": APP_SECRET,
        "force_refresh": False,
    }


# -- tokens -------------------------------------------------------------------------------


@pytest.mark.parametrize("errcode", [40001, 40014, 42001], ids=["superseded", "invalid", "expired"])
async def test_a_token_error_refreshes_the_token_and_retries_the_call_once(
    wechat: FakeWeChat, errcode: int
) -> None:
    wechat.error_next(errcode, path=DRAFT)
    async with adapter(wechat) as channel:
        receipt = await channel.publish(article(), idempotency_key="k")
    assert receipt.status == "pending"
    assert len(wechat.calls(TOKEN)) == 2
    first, second = wechat.calls(DRAFT)
    assert (first.errcode, second.errcode) == (errcode, 0)
    assert first.query["access_token"] != second.query["access_token"]
    assert len(wechat.calls(SUBMIT)) == 1


async def test_a_token_superseded_elsewhere_stops_working_after_five_minutes(
    wechat: FakeWeChat,
) -> None:
    async with adapter(wechat) as channel:
        await channel.publish(article(), idempotency_key="a")
        wechat.issue_token()  # another server fetched a token for the same account
        await channel.publish(article(title="宽限期内旧 token 仍可用"), idempotency_key="b")
        assert [r.errcode for r in wechat.calls(DRAFT)] == [0, 0]
        wechat.advance(301)
        await channel.publish(article(title="宽限期后需要刷新"), idempotency_key="c")
    assert [r.errcode for r in wechat.calls(DRAFT)] == [0, 0, 40001, 0]
    assert len(wechat.calls(TOKEN)) == 2


async def test_a_token_expired_on_the_platform_side_is_refreshed(wechat: FakeWeChat) -> None:
    async with adapter(wechat) as channel:
        await channel.publish(article(), idempotency_key="a")
        wechat.advance(7201)
        receipt = await channel.publish(article(title="过期后刷新"), idempotency_key="b")
    assert receipt.status == "pending"
    assert [r.errcode for r in wechat.calls(DRAFT)] == [0, 42001, 0]


async def test_a_token_error_after_the_refresh_is_auth_expired(wechat: FakeWeChat) -> None:
    wechat.error_next(40001, count=2, path=DRAFT)
    async with adapter(wechat) as channel:
        with pytest.raises(AuthExpired) as caught:
            await channel.publish(article(), idempotency_key="k")
    assert caught.value.platform_code == 40001
    assert len(wechat.calls(DRAFT)) == 2, "retried exactly once"
    assert len(wechat.calls(TOKEN)) == 2
    assert not wechat.calls(SUBMIT)


async def test_stable_token_is_force_refreshed_when_the_same_token_comes_back(
    wechat: FakeWeChat,
) -> None:
    wechat.error_next(40001, path=DRAFT)
    async with adapter(wechat, stable_token=True) as channel:
        await channel.publish(article(), idempotency_key="k")
    assert [r.json["force_refresh"] for r in wechat.calls(STABLE)] == [False, False, True]
    first, second = wechat.calls(DRAFT)
    assert first.query["access_token"] != second.query["access_token"]


# -- errors -------------------------------------------------------------------------------

ERRORS = [
    pytest.param(TOKEN, 40001, Misconfigured, id="token-40001-wrong-secret"),
    pytest.param(TOKEN, 40013, Misconfigured, id="token-40013-appid"),
    pytest.param(TOKEN, 40125, Misconfigured, id="token-40125-appsecret"),
    pytest.param(TOKEN, 40164, Misconfigured, id="token-40164-ip-whitelist"),
    pytest.param(TOKEN, 45009, RateLimited, id="token-45009-daily-quota"),
    pytest.param(TOKEN, -1, Retryable, id="token-minus1-busy"),
    pytest.param(MATERIAL, 40005, BadContent, id="material-40005-file-type"),
    pytest.param(DRAFT, 45002, BadContent, id="draft-45002-content-length"),
    pytest.param(DRAFT, 45003, BadContent, id="draft-45003-title-length"),
    pytest.param(DRAFT, 45004, BadContent, id="draft-45004-digest-length"),
    pytest.param(DRAFT, 40033, BadContent, id="draft-40033-escapes"),
    pytest.param(DRAFT, 45011, RateLimited, id="draft-45011-minute-quota"),
    pytest.param(DRAFT, 48001, Misconfigured, id="draft-48001-unauthorized"),
    pytest.param(DRAFT, -1, Retryable, id="draft-minus1-busy"),
    pytest.param(SUBMIT, 53503, BadContent, id="submit-53503-publish-check"),
    pytest.param(SUBMIT, 48001, Misconfigured, id="submit-48001-no-publish-right"),
    pytest.param(SUBMIT, 45009, RateLimited, id="submit-45009-daily-quota"),
    pytest.param(SUBMIT, 99999, ChannelError, id="submit-unknown-code"),
]


@pytest.mark.parametrize(("path", "errcode", "expected"), ERRORS)
async def test_errcodes_map_to_the_channel_error_classes(
    wechat: FakeWeChat, path: str, errcode: int, expected: type[ChannelError]
) -> None:
    wechat.error_next(errcode, path=path)
    async with adapter(wechat) as channel:
        with pytest.raises(ChannelError) as caught:
            await channel.publish(article(), idempotency_key="k")
    error = caught.value
    assert type(error) is expected
    assert error.platform_code == errcode
    assert f"errcode={errcode}" in str(error)
    assert str(error.raw["errmsg"]).split(" rid: ")[1], "the fake appends a rid suffix"
    assert len(wechat.calls(path)) == 1, "not retried by the adapter"


async def test_rate_limits_carry_retry_after(wechat: FakeWeChat) -> None:
    wechat.error_next(45011, path=DRAFT)
    wechat.error_next(45009, path=DRAFT)
    async with adapter(wechat) as channel:
        with pytest.raises(RateLimited) as minute:
            await channel.publish(article(), idempotency_key="k")
        with pytest.raises(RateLimited) as daily:
            await channel.publish(article(), idempotency_key="k")
    assert minute.value.retry_after == 60.0
    assert daily.value.retry_after is not None and 0 < daily.value.retry_after <= 86_400


async def test_the_fakes_own_daily_quota_and_minute_limit(wechat: FakeWeChat) -> None:
    wechat.daily_quota = {SUBMIT: 1}
    wechat.minute_limit = 2
    async with adapter(wechat) as channel:
        await channel.publish(article(), idempotency_key="a")
        with pytest.raises(RateLimited) as daily:
            await channel.publish(article(title="今日额度已用完"), idempotency_key="b")
        assert daily.value.platform_code == 45009
        with pytest.raises(RateLimited) as minute:
            await channel.publish(article(title="每分钟限两次"), idempotency_key="c")
        assert minute.value.platform_code == 45011
        assert [r.errcode for r in wechat.calls(DRAFT)] == [0, 0, 45011]
        wechat.advance(86_401)
        await channel.publish(article(title="次日恢复"), idempotency_key="d")


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_http_5xx_is_retryable(wechat: FakeWeChat, status: int) -> None:
    wechat.fail_next(status=status, path=SUBMIT)
    async with adapter(wechat) as channel:
        with pytest.raises(Retryable) as caught:
            await channel.publish(article(), idempotency_key="k")
    assert type(caught.value) is Retryable
    assert caught.value.http_status == status
    assert not wechat.jobs


@pytest.mark.parametrize("path", [DRAFT, SUBMIT], ids=["draft-add", "freepublish-submit"])
async def test_a_connection_dropped_after_sending_a_write_is_unconfirmed(
    wechat: FakeWeChat, path: str, caplog: pytest.LogCaptureFixture
) -> None:
    wechat.drop_next(path=path, processed=True)
    async with adapter(wechat) as channel:
        with pytest.raises(Unconfirmed, match="请求已发出"):
            await channel.publish(article(), idempotency_key="k")
    dropped = wechat.calls(path)[0]
    assert (dropped.fault, dropped.status) == ("drop", None)
    assert not [r for r in caplog.records if r.name.startswith("uvicorn")], "a clean drop"
    if path == SUBMIT:
        assert len(wechat.jobs) == 1, "the publish went through although no answer came back"


async def test_a_dropped_mass_send_is_unconfirmed(wechat: FakeWeChat) -> None:
    wechat.drop_next(path=SENDALL)
    async with adapter(wechat, mass_send=True) as channel:
        with pytest.raises(Unconfirmed):
            await channel.publish(article(), idempotency_key="k")


@pytest.mark.parametrize("path", [TOKEN, MATERIAL], ids=["token", "add-material"])
async def test_a_dropped_connection_on_a_harmless_call_is_retryable(
    wechat: FakeWeChat, path: str
) -> None:
    wechat.drop_next(path=path)
    async with adapter(wechat) as channel:
        with pytest.raises(Retryable) as caught:
            await channel.publish(article(), idempotency_key="k")
    assert type(caught.value) is Retryable
    assert not wechat.calls(DRAFT)


async def test_a_dropped_status_poll_is_retryable(wechat: FakeWeChat) -> None:
    async with adapter(wechat) as channel:
        receipt = await channel.publish(article(), idempotency_key="k")
        wechat.drop_next(path=GET)
        with pytest.raises(Retryable):
            await channel.check(receipt)
        assert (await channel.check(receipt)).status == "pending"


@pytest.mark.parametrize(
    ("path", "expected"),
    [(DRAFT, Unconfirmed), (TOKEN, Retryable)],
    ids=["draft-add-unconfirmed", "token-retryable"],
)
async def test_a_read_timeout(wechat: FakeWeChat, path: str, expected: type[ChannelError]) -> None:
    wechat.slow_next(path=path, delay=2.0)
    async with adapter(wechat, client_timeout=0.2) as channel:
        with pytest.raises(expected) as caught:
            await channel.publish(article(), idempotency_key="k")
    assert type(caught.value) is expected
    assert "ReadTimeout" in str(caught.value)


async def test_nothing_listening_is_retryable() -> None:
    async with adapter(None, base_url=f"http://127.0.0.1:{unused_port()}") as channel:
        with pytest.raises(Retryable, match="无法连接") as caught:
            await channel.publish(article(), idempotency_key="k")
    assert type(caught.value) is Retryable


# -- the publish job ------------------------------------------------------------------------


@pytest.mark.parametrize("status", [2, 3, 4, 5, 6])
async def test_a_failed_publish_job_is_a_failed_receipt_with_the_reason(
    wechat: FakeWeChat, status: int
) -> None:
    wechat.script_publish(1, status)
    async with adapter(wechat) as channel:
        receipt = await channel.publish(article(), idempotency_key="k")
        assert (await channel.check(receipt)).status == "pending"
        result = await channel.check(receipt)
    assert result.status == "failed"
    assert result.final
    assert result.platform_code == status
    assert result.detail is not None and result.detail.startswith(PUBLISH_STATUS[status])
    assert result.external_id == receipt.external_id


async def test_the_poll_is_the_source_of_truth_even_after_a_success(wechat: FakeWeChat) -> None:
    async with adapter(wechat) as channel:
        receipt = await channel.publish(article(), idempotency_key="k")
        wechat.set_publish_status(receipt.external_id or "", 0)
        assert (await channel.check(receipt)).status == "published"
        wechat.set_publish_status(receipt.external_id or "", 6)
        banned = await channel.check(receipt)
    assert (banned.status, banned.detail) == ("failed", "发表成功后，文章已被系统封禁")


# -- content checked before sending ---------------------------------------------------------

TOO_LONG = [
    pytest.param({"title": "标" * 33}, "标题", id="title-33"),
    pytest.param({"title": "   "}, "标题", id="title-empty"),
    pytest.param({"body": "字" * 20_000}, "正文", id="content-20000"),
    pytest.param({"summary": "摘" * 129}, "摘要", id="digest-129"),
    pytest.param({"author": "作" * 17}, "作者", id="author-17"),
    pytest.param({"url": SOURCE + "?" + "a" * 1024}, "原文链接", id="source-url-over-1kb"),
    pytest.param({"format": "markdown"}, "HTML", id="not-html"),
    pytest.param({"cover": b"not an image"}, "封面", id="cover-not-an-image"),
]


@pytest.mark.parametrize(("changes", "named"), TOO_LONG)
async def test_content_the_platform_would_refuse_is_bad_content_before_any_request(
    wechat: FakeWeChat, changes: dict[str, Any], named: str
) -> None:
    async with adapter(wechat) as channel:
        with pytest.raises(BadContent, match=named):
            await channel.publish(article(**changes), idempotency_key="k")
    assert wechat.requests == []


async def test_no_cover_and_no_thumb_media_id_is_misconfigured_before_any_request(
    wechat: FakeWeChat,
) -> None:
    async with adapter(wechat) as channel:
        with pytest.raises(Misconfigured, match="thumb_media_id"):
            await channel.publish(article(cover=None), idempotency_key="k")
    assert wechat.requests == []


async def test_the_fake_enforces_the_draft_limits_itself(wechat: FakeWeChat) -> None:
    async with httpx.AsyncClient(base_url=wechat.base_url or "") as client:
        token = (
            await client.get(
                TOKEN,
                params={"grant_type": "client_credential", "appid": APP_ID, "secret": APP_SECRET},
            )
        ).json()["access_token"]
        wechat.materials["mat_cover"] = ("image", 1)

        async def draft(**changes: Any) -> Any:
            one = {"title": "标题", "content": "<p>正文</p>", "thumb_media_id": "mat_cover"}
            response = await client.post(
                DRAFT, params={"access_token": token}, json={"articles": [{**one, **changes}]}
            )
            assert response.status_code == 200
            return response.json().get("errcode", 0)

        assert await draft() == 0
        assert await draft(title="标" * 33) == 45003
        assert await draft(author="作" * 17) == 45110
        assert await draft(digest="摘" * 129) == 45004
        assert await draft(content="字" * 20_000) == 45002
        assert await draft(thumb_media_id="unknown") == 40007
        escaped = await client.post(
            DRAFT,
            params={"access_token": token},
            content=b'{"articles":[{"title":"\\u6807\\u9898","content":"x",'
            b'"thumb_media_id":"mat_cover"}]}',
        )
        assert escaped.json()["errcode"] == 40033
        missing = await client.post(DRAFT, json={"articles": []})
        assert missing.json()["errcode"] == 41001
        unknown = await client.post(DRAFT, params={"access_token": "x" * 20}, json={})
        assert unknown.json()["errcode"] == 40014
        assert unknown.json()["errmsg"].startswith("invalid access_token rid: ")


async def test_the_fakes_stable_token_semantics(wechat: FakeWeChat) -> None:
    async with httpx.AsyncClient(base_url=wechat.base_url or "") as client:

        async def stable(force: bool = False) -> Any:
            body = {"grant_type": "client_credential", "appid": APP_ID, "secret": APP_SECRET}
            response = await client.post(STABLE, json={**body, "force_refresh": force})
            return response.json()

        first = await stable()
        assert (await stable())["access_token"] == first["access_token"], "same while valid"
        plain = (
            await client.get(
                TOKEN,
                params={"grant_type": "client_credential", "appid": APP_ID, "secret": APP_SECRET},
            )
        ).json()["access_token"]
        assert first["access_token"] in wechat.valid_tokens(), "/token does not touch stable"
        forced = await stable(force=True)
        assert forced["access_token"] != first["access_token"]
        assert {first["access_token"], forced["access_token"], plain} <= set(wechat.valid_tokens())
        assert (await stable(force=True))["errcode"] == 45011, "force_refresh at most every 30 s"
        wechat.advance(301)
        assert first["access_token"] not in wechat.valid_tokens(), "5-minute overlap is over"
        wechat.advance(7200 - 301 - 200)
        renewed = await stable()
        assert renewed["access_token"] != forced["access_token"], "renewed 5 min before expiry"
        assert 7199 <= (await stable(force=False))["expires_in"] <= 7200
        wrong = await client.post(STABLE, json={"grant_type": "client_credential", "appid": "x"})
        assert wrong.json()["errcode"] == 40013


# -- mass send --------------------------------------------------------------------------------


async def test_mass_send_sends_the_draft_and_polls_the_mass_job(wechat: FakeWeChat) -> None:
    async with adapter(wechat, mass_send=True) as channel:
        receipt = await channel.publish(article(), idempotency_key="push-7-jx-wechat")
        (sendall,) = wechat.calls(SENDALL)
        assert sendall.json == {
            "filter": {"is_to_all": True},
            "mpnews": {"media_id": receipt.raw["draft_media_id"]},
            "msgtype": "mpnews",
            "send_ignore_reprint": 0,
            "clientmsgid": "push-7-jx-wechat",
        }
        assert not wechat.calls(SUBMIT)
        assert receipt.status == "pending"
        assert receipt.external_id == f"mass:{receipt.raw['msg_id']}"
        assert (await channel.check(receipt)).status == "pending"
        done = await channel.check(receipt)
        assert (done.status, done.platform_code) == ("published", "SEND_SUCCESS")

        again = await channel.publish(article(), idempotency_key="push-7-jx-wechat")
        assert again.external_id == receipt.external_id, "45065: the earlier job, not an error"
        assert again.platform_code == 45065

        with pytest.raises(RateLimited) as quota:
            await channel.publish(article(), idempotency_key="push-8-jx-wechat")
    assert quota.value.platform_code == 45028


# -- secrets ----------------------------------------------------------------------------------


async def test_neither_the_app_secret_nor_an_access_token_leaks(
    wechat: FakeWeChat, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []
    raws: list[Any] = []

    async def expect_error(call: Callable[[], Any]) -> None:
        with pytest.raises(ChannelError) as caught:
            await call()
        texts.append(str(caught.value))
        texts.append(repr(caught.value))
        raws.append(caught.value.raw)

    async with adapter(wechat, client_timeout=0.3) as channel:
        texts.append(repr(channel))
        texts.append(str(channel.safe_config()))
        receipt = await channel.publish(article(), idempotency_key="k")
        raws.append(receipt.raw)
        raws.append((await channel.check(receipt)).raw)
        raws.append((await channel.check(receipt)).raw)
        wechat.error_next(40001, count=2, path=DRAFT)
        await expect_error(lambda: channel.publish(article(), idempotency_key="k"))
        wechat.error_next(-1, path=SUBMIT)
        await expect_error(lambda: channel.publish(article(), idempotency_key="k"))
        wechat.drop_next(path=SUBMIT)
        await expect_error(lambda: channel.publish(article(), idempotency_key="k"))
        wechat.slow_next(path=DRAFT, delay=2.0)
        await expect_error(lambda: channel.publish(article(), idempotency_key="k"))
        wechat.fail_next(path=TOKEN)
        wechat.advance(7201)
        await expect_error(lambda: channel.publish(article(), idempotency_key="k"))
        wechat.error_next(40125, path=TOKEN)
        await expect_error(lambda: channel.publish(article(), idempotency_key="k"))
        texts.append(repr(channel))
        tokens = {r.query["access_token"] for r in wechat.requests if "access_token" in r.query}
        assert len(tokens) >= 2
        assert channel.redact(f"url?access_token={min(tokens)}") == "url?access_token=***"

    texts.extend(record.getMessage() for record in caplog.records)
    texts.extend(str(raw) for raw in raws)
    haystack = "\n".join(texts)
    assert any("errcode=40001" in text for text in texts), "the errors were collected"
    assert APP_SECRET not in haystack
    for token in tokens:
        assert token not in haystack
