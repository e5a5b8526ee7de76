"""Platform settings admins change at run time (SPEC §9): typed, bounded, audited.

A change applies to what starts after it: quotes and new bookings price with the new fees,
and a booking keeps the fees, host response window and review window it was made with.
`require_payouts_to_publish` reads as what is in force; `null` sets it back to the deployment's
default (on in production, off in dev and test).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, patch
from litestar.di import NamedDependency
from litestar.params import JSONBody

from api.admin import service
from api.admin.audit import actor_of
from api.calendar.service import current_platform
from api.security import CurrentUser, requires_admin
from models import PlatformSettings
from stayflow.rules.payouts import payouts_required_to_publish
from stayflow.settings import Settings

ServiceFeeBps = Annotated[int, msgspec.Meta(ge=0, le=2500, description="guest service fee, basis points (1200 = 12%)")]
HostFeeBps = Annotated[
    int, msgspec.Meta(ge=0, le=2000, description="host service fee on nights + cleaning fee, basis points (300 = 3%)")
]
TaxBps = Annotated[int, msgspec.Meta(ge=0, le=3000, description="taxes on nights + cleaning fee, basis points")]
HostResponseHours = Annotated[
    int, msgspec.Meta(ge=1, le=72, description="hours a host has to answer a request (the card hold lasts 7 days)")
]
ReviewWindowDays = Annotated[int, msgspec.Meta(ge=1, le=60, description="days after check-out to write a review")]
ReminderHours = Annotated[
    int, msgspec.Meta(ge=1, le=168, description="hours between reminders to admins of a listing waiting for moderation")
]

SETTING_FIELDS = (
    "service_fee_bps",
    "host_fee_bps",
    "tax_bps",
    "host_response_window_hours",
    "review_window_days",
    "listing_review_reminder_hours",
    "require_payouts_to_publish",
)


class PlatformSettingsRead(msgspec.Struct):
    service_fee_bps: int
    host_fee_bps: int
    tax_bps: int
    host_response_window_hours: int
    review_window_days: int
    listing_review_reminder_hours: int
    require_payouts_to_publish: bool
    """In force now: a listing is submitted and published only once its host can be paid."""
    updated_at: dt.datetime


class PlatformSettingsPatch(msgspec.Struct, forbid_unknown_fields=True):
    """Only the fields sent change; `note` says why (kept in the audit log)."""

    service_fee_bps: ServiceFeeBps | msgspec.UnsetType = msgspec.UNSET
    host_fee_bps: HostFeeBps | msgspec.UnsetType = msgspec.UNSET
    tax_bps: TaxBps | msgspec.UnsetType = msgspec.UNSET
    host_response_window_hours: HostResponseHours | msgspec.UnsetType = msgspec.UNSET
    review_window_days: ReviewWindowDays | msgspec.UnsetType = msgspec.UNSET
    listing_review_reminder_hours: ReminderHours | msgspec.UnsetType = msgspec.UNSET
    require_payouts_to_publish: (
        Annotated[
            bool | None,
            msgspec.Meta(
                description="refuse to submit or publish a listing until its host's Stripe account can be paid;"
                " null: the deployment's default (on in production, off in dev and test)"
            ),
        ]
        | msgspec.UnsetType
    ) = msgspec.UNSET
    note: Annotated[str, msgspec.Meta(min_length=1, max_length=1000)] | msgspec.UnsetType = msgspec.UNSET


def settings_read(row: PlatformSettings, settings: Settings) -> PlatformSettingsRead:
    values = {name: getattr(row, name) for name in SETTING_FIELDS}
    values["require_payouts_to_publish"] = payouts_required_to_publish(row.require_payouts_to_publish, settings.env)
    return PlatformSettingsRead(**values, updated_at=row.updated_at)


class AdminSettingsController(Controller):
    path = "/api/v1/admin/settings"
    tags = ["admin"]
    guards = [requires_admin]

    @get(operation_id="adminGetSettings", summary="The platform settings in force")
    async def read(self, settings: NamedDependency[Settings]) -> PlatformSettingsRead:
        return settings_read(await current_platform(), settings)

    @patch(operation_id="adminChangeSettings", summary="Change platform settings (for what starts afterwards)")
    async def change(
        self,
        request: Request[CurrentUser, Any, Any],
        data: JSONBody[PlatformSettingsPatch],
        settings: NamedDependency[Settings],
    ) -> PlatformSettingsRead:
        """A value out of bounds is a 422 and nothing changes; a change is audited with before and after."""
        sent = {name: getattr(data, name) for name in SETTING_FIELDS if getattr(data, name) is not msgspec.UNSET}
        note = data.note if isinstance(data.note, str) else None
        return settings_read(await service.change_settings(actor_of(request), sent, note), settings)
