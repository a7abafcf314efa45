"""zh-CN labels for states shown to staff (CLI, demo, later chat and web)."""

from __future__ import annotations

from syndicator.db.models import FetchStatus, Precision, SourceHealth

__all__ = ["HEALTH_ZH", "PRECISION_ZH", "STATUS_ZH"]

HEALTH_ZH: dict[str, str] = {
    SourceHealth.UNKNOWN: "未检查",
    SourceHealth.OK: "正常",
    SourceHealth.BROKEN: "异常",
    SourceHealth.UNREACHABLE: "无法访问",
}
STATUS_ZH: dict[str, str] = {
    FetchStatus.OK: "已更新",
    FetchStatus.NOT_MODIFIED: "未变化(304)",
    FetchStatus.UNCHANGED: "未变化",
    FetchStatus.HTTP_ERROR: "HTTP 错误",
    FetchStatus.TIMEOUT: "超时",
    FetchStatus.CONNECT_ERROR: "连接失败",
    FetchStatus.TOO_LARGE: "内容过大",
    FetchStatus.TOO_MANY_REDIRECTS: "重定向过多",
    FetchStatus.PARSE_ERROR: "解析失败",
    FetchStatus.EMPTY: "列表为空",
    FetchStatus.ERROR: "错误",
}
PRECISION_ZH: dict[str, str] = {
    Precision.DATETIME: "时分",
    Precision.DATE: "仅日期",
    Precision.NONE: "未知",
}
