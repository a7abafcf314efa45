"""What staff do to obligations: override an item's key verdict, waive an obligation.

Every action is one transaction with its audit entry; nothing stored is deleted. The CLI calls
these now, chat and web later.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from syndicator import audit
from syndicator.db.models import OPEN_STATES, Item, Obligation, ObligationState
from syndicator.db.session import Database

__all__ = ["ActionError", "KeyChange", "Waived", "set_item_key", "waive_obligation"]


_NOT_KEY = "条目被设为非重点："


class ActionError(ValueError):
    """An action that cannot be done; the message (zh-CN) says why."""


@dataclass(frozen=True, slots=True)
class KeyChange:
    item_id: int
    title: str
    is_key: bool
    waived: int
    """Open obligations waived because the item is no longer key."""


@dataclass(frozen=True, slots=True)
class Waived:
    obligation_id: int
    item_title: str
    site_id: str
    previous: ObligationState


def set_item_key(
    db: Database, item_id: int, *, is_key: bool, reason: str, by: str, now: datetime
) -> KeyChange:
    """Override the key-policy verdict of an item (``by`` e.g. ``staff:zhang``).

    Marking an item not key waives its open obligations (with the reason); marking it key lets
    the next compliance tick open them (again). Rules never change an overridden item.

    Raises:
        ActionError: no such item, or an empty reason.
    """
    if not reason.strip():
        raise ActionError("必须填写理由 / a reason is required")
    with db.begin() as session:
        item = session.get(Item, item_id)
        if item is None:
            raise ActionError(f"没有编号为 {item_id} 的上级条目 / no item {item_id}")
        before = {"is_key": item.is_key, "reason": item.key_reason, "by": item.key_by}
        item.is_key, item.key_reason, item.key_by = is_key, reason, by
        waived = 0
        if is_key:
            item.obligations_at = None
            # Obligations waived only because the item had been marked not key come back.
            for obligation in session.scalars(
                select(Obligation).where(
                    Obligation.item_id == item_id,
                    Obligation.state == ObligationState.WAIVED,
                    Obligation.waived_reason.startswith(_NOT_KEY),
                )
            ):
                obligation.state, obligation.state_since = ObligationState.PENDING, now
                obligation.waived_by = obligation.waived_reason = None
        else:
            rows = session.scalars(
                select(Obligation).where(
                    Obligation.item_id == item_id, Obligation.state.in_(OPEN_STATES)
                )
            ).all()
            for obligation in rows:
                _waive(obligation, reason=f"{_NOT_KEY}{reason}", by=by, now=now)
            waived = len(rows)
        audit.append(
            session,
            at=now,
            actor=by,
            action="item.key_overridden",
            subject=f"item:{item_id}",
            data={"from": before, "to": {"is_key": is_key, "reason": reason}, "waived": waived},
        )
        return KeyChange(item_id, item.title, is_key, waived)


def _waive(obligation: Obligation, *, reason: str, by: str, now: datetime) -> None:
    obligation.state = ObligationState.WAIVED
    obligation.state_since = now
    obligation.waived_by = by
    obligation.waived_reason = reason


def waive_obligation(
    db: Database, obligation_id: int, *, reason: str, by: str, now: datetime
) -> Waived:
    """Release one site from one obligation, with the reason and who decided.

    A waived obligation raises no more notices and counts neither as compliant nor as a breach.

    Raises:
        ActionError: no such obligation, already waived, already reposted, or no reason.
    """
    if not reason.strip():
        raise ActionError("必须填写理由 / a reason is required")
    with db.begin() as session:
        obligation = session.get(Obligation, obligation_id)
        if obligation is None:
            raise ActionError(
                f"没有编号为 {obligation_id} 的转载义务 / no obligation {obligation_id}"
            )
        previous = obligation.state
        if previous is ObligationState.WAIVED:
            raise ActionError(f"转载义务 {obligation_id} 已豁免 / already waived")
        if previous in (ObligationState.REPOSTED, ObligationState.REPOSTED_LATE):
            raise ActionError(f"转载义务 {obligation_id} 已有转载记录，无需豁免 / already reposted")
        _waive(obligation, reason=reason, by=by, now=now)
        audit.append(
            session,
            at=now,
            actor=by,
            action="obligation.waived",
            subject=f"obligation:{obligation_id}",
            data={
                "from": previous.value,
                "reason": reason,
                "item_id": obligation.item_id,
                "site_id": obligation.site_id,
            },
        )
        title = session.scalar(select(Item.title).where(Item.id == obligation.item_id)) or ""
        return Waived(obligation_id, title, obligation.site_id, previous)
