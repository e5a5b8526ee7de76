"""What the payments and webhook endpoints answer."""

from __future__ import annotations

import datetime as dt
from uuid import UUID

import msgspec


class LedgerRead(msgspec.Struct):
    id: UUID
    booking_id: UUID
    payment_id: UUID
    kind: str
    amount: int
    currency: str
    created_at: dt.datetime


class WebhookAnswer(msgspec.Struct):
    received: bool
    duplicate: bool = False
