"""Pages of disputes for admins, newest first."""

from __future__ import annotations

import datetime as dt
from typing import Any

from api.disputes.schemas import DisputeRead
from api.pagination import Page, aware_timestamp, decode_cursor, page_of
from models import Dispute


def _timestamp_and_text_id(when: Any, ident: Any) -> tuple[dt.datetime, str]:
    if not isinstance(ident, str):
        raise TypeError("not a dispute id")
    return aware_timestamp(when), ident


async def page_of_disputes(*, limit: int, cursor: str | None) -> Page[DisputeRead]:
    """Every dispute, newest first, by (created_at, id): Stripe's ids are text, not UUIDs."""
    query = Dispute.select()
    if cursor is not None:
        when, ident = decode_cursor(cursor, _timestamp_and_text_id)
        query = query.where((Dispute.created_at < when) | ((Dispute.created_at == when) & (Dispute.id < ident)))
    rows = await query.order_by(Dispute.created_at, Dispute.id, ascending=False).limit(limit + 1)
    return page_of(rows, limit, _read, lambda r: (r["created_at"], r["id"]))


def _read(r: dict[str, Any]) -> DisputeRead:
    return DisputeRead(
        id=r["id"],
        booking_id=r["booking"],
        amount=r["amount"],
        currency=r["currency"],
        reason=r["reason"],
        status=r["status"],
        evidence_due_by=r["evidence_due_by"],
        evidence_submitted_at=r["evidence_submitted_at"],
        outcome=r["outcome"],
        fee=r["fee"],
        recovered_from_host=r["recovered_from_host"],
        created_at=r["created_at"],
        closed_at=r["closed_at"],
    )
