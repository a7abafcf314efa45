"""The demo's platforms: the channel fakes on 127.0.0.1, and the push round that uses them.

:class:`DemoPlatforms` starts the WeChat Official Account, Weibo, WeCom, DingTalk and Feishu
fakes (the same ones the contract suites test against) and configures one channel on each, the
way ``[[channels]]`` would; secrets are :class:`~syndicator.settings.Secret` values made for the
run, never printed. :func:`push_round` then drafts, previews, approves and delivers pushes
through the real delivery engine: templates and limits per channel, WeChat's asynchronous
publishing reconciled by its status, a channel with a wrong signing secret failing without
holding up the others, and the delivery log.
"""

from __future__ import annotations

import secrets
import time
from contextlib import ExitStack
from types import TracebackType
from typing import Self

from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from syndicator.db.models import Delivery, DeliveryState
from syndicator.delivery.engine import create_push
from syndicator.labels import DELIVERY_STATE_ZH
from syndicator.services import Services
from syndicator.settings import ChannelSettings, Secret
from syndicator.simulator.fakes.dingtalk import FakeDingTalk
from syndicator.simulator.fakes.feishu import FakeFeishu
from syndicator.simulator.fakes.wechat import APP_ID, APP_SECRET, FakeWeChat
from syndicator.simulator.fakes.wecom import FakeWeCom
from syndicator.simulator.fakes.weibo import FakeWeibo
from syndicator.simulator.server import SimulatorServer

__all__ = ["ALERTS_GROUP", "DUTY_GROUP", "DemoPlatforms", "push_round"]

DUTY_GROUP = "duty-wecom"
"""The duty office's WeCom group, one of the push channels."""

ALERTS_GROUP = "alerts-wecom"
"""The supervisors' WeCom group: the demo's compliance breach notices go there."""


class DemoPlatforms:
    """The channel fakes, served while the context is open."""

    def __init__(self) -> None:
        self.wechat = FakeWeChat({APP_ID: APP_SECRET}, publish_script=(1, 0))
        self.wechat.materials["demo-cover-media-id"] = ("image", 2048)
        self.weibo = FakeWeibo(safe_domains=("www.jiangxi.gov.cn",))
        # The robots' signatures are checked against a clock: the real one, in the demo.
        self.wecom = FakeWeCom(clock=time.time)
        self.dingtalk = FakeDingTalk(clock=time.time)
        self.feishu = FakeFeishu(clock=time.time)
        self._stack = ExitStack()
        self.channels: tuple[ChannelSettings, ...] = ()

    def __enter__(self) -> Self:
        urls = {}
        for name, app in (
            ("wechat", self.wechat),
            ("weibo", self.weibo),
            ("wecom", self.wecom),
            ("dingtalk", self.dingtalk),
            ("feishu", self.feishu),
        ):
            server = self._stack.enter_context(SimulatorServer(app=app))
            urls[name] = server.base_urls[0]
        self.wechat.base_url = urls["wechat"]
        token = self.weibo.issue_token()
        duty_key = self.wecom.add_robot()
        alerts_key = self.wecom.add_robot()
        robot = self.dingtalk.add_robot(secret="SEC" + secrets.token_hex(16))
        # The Feishu bot is configured with another secret than the platform has: every
        # request is refused (19021), which the demo shows failing on its own.
        bot = self.feishu.add_bot(secret=secrets.token_hex(8))

        def channel(
            id: str, type: str, base: str, options: dict[str, object], **secret: str
        ) -> ChannelSettings:
            return ChannelSettings(
                id=id,
                type=type,
                base_url=base,
                options=options,
                secrets={k: Secret(v) for k, v in secret.items()},
                secret_envs={k: f"DEMO_{id.upper().replace('-', '_')}_{k.upper()}" for k in secret},
            )

        self.channels = (
            channel(
                "jx-wechat",
                "wechat_mp",
                urls["wechat"],
                {"app_id": APP_ID, "thumb_media_id": "demo-cover-media-id"},
                app_secret=APP_SECRET,
            ),
            channel(
                "jx-weibo",
                "weibo",
                urls["weibo"],
                {"safe_domain_url": "https://www.jiangxi.gov.cn/", "rip": "127.0.0.1"},
                access_token=token,
            ),
            channel(DUTY_GROUP, "wecom_bot", urls["wecom"], {}, key=duty_key),
            channel(ALERTS_GROUP, "wecom_bot", urls["wecom"], {}, key=alerts_key),
            channel(
                "duty-dingtalk",
                "dingtalk",
                urls["dingtalk"],
                {},
                access_token=robot.token,
                secret=robot.secret or "",
            ),
            channel(
                "duty-feishu",
                "feishu",
                urls["feishu"],
                {},
                hook_id=bot.hook_id,
                secret="wrong-" + secrets.token_hex(8),
            ),
        )
        self.duty_key, self.alerts_key = duty_key, alerts_key
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stack.close()


_REBUTTAL = (
    "近日，网上流传“赣州市某小区自来水被污染、不能饮用”的消息。",
    "经市水务部门连夜抽检，该小区出厂水、管网水各项指标均符合《生活饮用水卫生标准》。",
    "网传消息系个别网民将小区二次供水水箱例行清洗误读所致，清洗已于当日完成。",
    "请广大市民不信谣、不传谣，如发现用水异常，请拨打供水服务热线 12345。",
)


def push_round(services: Services, platforms: DemoPlatforms, console: Console) -> None:
    """Draft, preview, approve and deliver pushes; print what each channel got."""
    now = services.clock.now()
    ids = [c.id for c in services.settings.channels if c.id != ALERTS_GROUP]
    push_id = create_push(
        services.db,
        kind="rebuttal",
        title="关于“赣州市某小区自来水被污染”的辟谣",
        body="\n".join(_REBUTTAL),
        summary="经抽检，该小区自来水各项指标均符合国家标准，网传消息不实。",
        url="https://www.jiangxi.gov.cn/art/2026/12/2/art_5212_1.html",
        channels=ids,
        by="staff:宣传科李明",
        now=now,
        author="赣州市水务局",
    )
    console.print(f"起草辟谣（推送 {push_id}）→ {'、'.join(ids)}；各渠道预览：")
    for preview in services.preview(push_id):
        console.print(f"  {preview.line()}")
    deliveries = services.approve(push_id, by="staff:办公室王主任")
    console.print(f"批准后生成 {len(deliveries)} 条投递，逐一发送：")
    for delivery_id in deliveries:
        services.deliver(delivery_id)
    # WeChat publishes asynchronously: its status is the source of truth. The sweeper asks
    # every 30 s; the demo asks at once, until the platform says how it ended.
    for delivery_id in deliveries:
        for _ in range(3):
            if _row(services, delivery_id).state is not DeliveryState.PUBLISHING:
                break
            outcome = services.check_delivery(delivery_id)
            if outcome.state is not None:
                state = DELIVERY_STATE_ZH[outcome.state]
                console.print(f"  查询公众号发布状态（投递 {delivery_id}）：{state}")
    console.print(_log_table(services, push_id))
    console.print(
        "飞书机器人的签名密钥配置错误：该渠道失败并记录原因，其他渠道照常发送；"
        "改正配置后可重新推送。每次尝试见 syndicator deliveries show 编号。"
    )

    body = "\n".join(
        f"{i}. 第{i}项措施：加大对中小微企业的减税降费力度，落实落细各项惠企政策，"
        "简化办理流程，确保政策红利直达市场主体。"
        for i in range(1, 61)
    )
    long_id = create_push(
        services.db,
        kind="interpretation",
        title="一文读懂《关于进一步优化营商环境的若干措施》",
        body=body,
        url="https://www.jiangxi.gov.cn/art/2026/12/2/art_5212_2.html",
        channels=[DUTY_GROUP, "jx-weibo"],
        by="staff:宣传科李明",
        now=now,
    )
    group, weibo = services.approve(long_id, by="staff:办公室王主任")
    services.deliver(group)
    services.deliver(weibo)
    sent = platforms.wecom.delivered_to(platforms.duty_key)[-_row(services, group).parts_sent :]
    console.print(
        f"长篇解读（推送 {long_id}）：企业微信群按 4096 字节上限拆为 {len(sent)} 条依次发送"
        "（每条标注序号）；微博按字数上限截断并附全文链接："
    )
    for message in sent:
        mark, *rest = [line for line in message["markdown"]["content"].splitlines() if line]
        console.print(f"  企业微信：{mark} {rest[0][:24] if rest else ''}…")
    if platforms.weibo.statuses:
        text = platforms.weibo.statuses[-1]["text"].replace("\n", " ")
        console.print(f"  微博：{text}")
    console.print(_log_table(services, long_id))


def _row(services: Services, delivery_id: int) -> Delivery:
    with services.db.session() as session:
        row = session.get(Delivery, delivery_id)
        assert row is not None
        return row


def _log_table(services: Services, push_id: int) -> Table:
    table = Table("投递", "渠道", "状态", "尝试", "平台编号、链接或错误")
    with services.db.session() as session:
        rows = session.scalars(
            select(Delivery).where(Delivery.push_id == push_id).order_by(Delivery.id)
        ).all()
    for row in rows:
        table.add_row(
            str(row.id),
            row.channel_id,
            DELIVERY_STATE_ZH[row.state],
            str(row.attempts),
            row.url or row.external_id or row.last_error or "",
        )
    return table
