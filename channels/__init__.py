"""Channel adapter plugins (WeChat, Weibo, WeCom, DingTalk, Feishu, Telegram, webhook, e-mail, RSS).

The adapters arrive with the delivery issue; this package only reserves the room: it imports
nothing of syndicator's storage or queue.
"""

__all__: list[str] = []
