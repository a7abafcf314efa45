"""zh-CN labels for states shown to staff (CLI, demo, later chat and web)."""

from __future__ import annotations

from syndicator.db.models import (
    DeliveryState,
    FetchStatus,
    NoticeKind,
    NoticeStatus,
    ObligationState,
    Precision,
    SourceHealth,
    WindowBasis,
)

__all__ = [
    "BASIS_ZH",
    "DELIVERY_STATE_ZH",
    "HEALTH_ZH",
    "NOTICE_KIND_ZH",
    "NOTICE_STATUS_ZH",
    "OBLIGATION_STATE_ZH",
    "PRECISION_ZH",
    "STATUS_ZH",
]

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
OBLIGATION_STATE_ZH: dict[str, str] = {
    ObligationState.PENDING: "待转载",
    ObligationState.REPOSTED: "按时转载",
    ObligationState.REPOSTED_LATE: "超时转载",
    ObligationState.OVERDUE: "逾期未转载",
    ObligationState.UNKNOWN: "无法判定",
    ObligationState.WAIVED: "已豁免",
}
BASIS_ZH: dict[str, str] = {
    WindowBasis.PUBLISHED: "按发布时间",
    WindowBasis.PUBLISHED_DATE: "按发布日期估算",
    WindowBasis.FIRST_SEEN: "按首次发现时间",
}
NOTICE_KIND_ZH: dict[str, str] = {
    NoticeKind.REMIND: "提醒",
    NoticeKind.WARN: "预警",
    NoticeKind.BREACH: "超时",
    NoticeKind.UNKNOWN: "无法判定",
    NoticeKind.UNCHECKED: "无法检查",
    NoticeKind.DIGEST: "每日汇总",
    NoticeKind.STALE_WARN: "栏目即将超期未更新",
    NoticeKind.STALE: "栏目超期未更新",
}
DELIVERY_STATE_ZH: dict[str, str] = {
    DeliveryState.QUEUED: "排队中",
    DeliveryState.SENDING: "发送中",
    DeliveryState.PUBLISHING: "平台发布中",
    DeliveryState.SENT: "已发送",
    DeliveryState.UNCONFIRMED: "结果未确认",
    DeliveryState.RETRY_WAIT: "等待重试",
    DeliveryState.FAILED: "失败",
}
NOTICE_STATUS_ZH: dict[str, str] = {
    NoticeStatus.PENDING: "待发送",
    NoticeStatus.SENT: "已发送",
    NoticeStatus.FAILED: "发送失败",
}
