"""Fixtures for the integration tests."""

from tests.fakes.dingtalk import dingtalk as dingtalk
from tests.fakes.feishu import feishu as feishu
from tests.fakes.portals import portal, portal_factory
from tests.fakes.smtp import smtp_certificate as smtp_certificate
from tests.fakes.smtp import smtp_server as smtp_server
from tests.fakes.telegram import telegram_api as telegram_api
from tests.fakes.webhook import webhook, webhook_factory
from tests.fakes.wechat import wechat as wechat
from tests.fakes.wecom import wecom as wecom
from tests.fakes.weibo import weibo as weibo

__all__ = ["portal", "portal_factory", "webhook", "webhook_factory"]
