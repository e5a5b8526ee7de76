"""Side effects of the listing approval process: status changes and the messages they cause."""

from __future__ import annotations

import datetime as dt
from typing import Any
from uuid import UUID

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.notifications import record_notification
from models import Listing, ListingPhoto, PlatformSettings, User
from stayflow import templates
from stayflow.audit import Actor, record_admin_action
from stayflow.rules import listing_status
from stayflow.rules.listing_checks import ListingFacts, moderation_problems
from stayflow.rules.listing_status import ListingStatus
from stayflow.rules.roles import Role
from stayflow.settings import Settings
from workflows.payloads.listings import AdminReminder, BeginReview, ListingDecision, ReviewStart


class ListingActivities:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def _listing_url(self, listing_id: str) -> str:
        return f"{self.settings.public_url.rstrip('/')}/api/v1/listings/{listing_id}"

    async def _load(self, listing_id: str) -> tuple[Listing, User]:
        listing = await Listing.objects().get(Listing.id == UUID(listing_id))
        if listing is None:
            raise ApplicationError(f"no listing {listing_id}", non_retryable=True)
        host = await User.objects().get(User.id == listing.host)
        assert host is not None
        return listing, host

    @activity.defn
    async def begin_review(self, request: BeginReview) -> ReviewStart:
        """Re-run the automatic checks; pass: `pending_review`; fail: back to the host with reasons."""
        listing, host = await self._load(request.listing_id)
        platform = await PlatformSettings.objects().get(PlatformSettings.id == 1)
        reminder_hours = platform.listing_review_reminder_hours if platform else 24
        photos = await ListingPhoto.count().where(ListingPhoto.listing == listing.id)
        problems = moderation_problems(ListingFacts.of(listing, photos))
        now = dt.datetime.now(dt.UTC)
        if not problems:
            # The API moved it to `pending_review` when it started this run; this only repairs a
            # listing that reached review another way. Anything else (archived meanwhile) ends it.
            ready = (
                await Listing.update({Listing.status: ListingStatus.pending_review, Listing.review_notes: None})
                .where(
                    (Listing.id == listing.id)
                    & Listing.status.is_in([ListingStatus.pending_review, *listing_status.TRANSITIONS["begin_review"]])
                )
                .returning(Listing.id)
            )
            if ready:
                return ReviewStart(problems=[], reminder_hours=reminder_hours)
            problems = [f"a listing that is {listing.status} cannot be reviewed"]
        # Not ready: back to the host as a draft, out of search, with the reasons.
        await Listing.update(
            {Listing.review_notes: "; ".join(problems), Listing.status: ListingStatus.draft, Listing.updated_at: now}
        ).where((Listing.id == listing.id) & Listing.status.is_in([ListingStatus.pending_review, ListingStatus.draft]))
        url = self._listing_url(request.listing_id)
        message_ids = await record_notification(
            user_id=host.id,
            kind="listing_returned",
            dedupe_key=f"listing_returned:{request.review_id}",
            notice=templates.listing_returned_email(
                full_name=host.full_name, title=listing.title, problems=problems, listing_url=url
            ),
            link=url,
        )
        return ReviewStart(problems=problems, reminder_hours=reminder_hours, message_ids=message_ids)

    @activity.defn
    async def remind_admins(self, request: AdminReminder) -> list[str]:
        listing, _ = await self._load(request.listing_id)
        admins = await User.objects().where((User.role == Role.admin) & User.suspended_at.is_null())
        waited = int((dt.datetime.now(dt.UTC) - listing.updated_at).total_seconds() // 3600)
        queue_url = f"{self.settings.public_url.rstrip('/')}/api/v1/admin/listings?status=pending_review"
        ids: list[str] = []
        for admin in admins:
            ids += await record_notification(
                user_id=admin.id,
                kind="listing_review_reminder",
                dedupe_key=f"listing_review_reminder:{request.review_id}:{request.reminder_number}:{admin.id}",
                notice=templates.listing_review_reminder_email(
                    full_name=admin.full_name, title=listing.title, waiting_hours=waited, queue_url=queue_url
                ),
                link=queue_url,
            )
        return ids

    @activity.defn
    async def apply_decision(self, request: ListingDecision) -> list[str]:
        """Publish or reject, audited as the admin's action (idempotent: a retry finds the listing already moved)."""
        listing, host = await self._load(request.listing_id)
        action = "approve" if request.approve else "reject"
        target = listing_status.TARGET[action]
        now = dt.datetime.now(dt.UTC)
        changes: dict[Any, Any] = {
            Listing.status: target,
            Listing.updated_at: now,
            Listing.review_notes: None if request.approve else request.reason,
        }
        if request.approve:
            changes[Listing.published_at] = now
        async with Listing._meta.db.transaction():
            moved = (
                await Listing.update(changes)
                .where((Listing.id == listing.id) & (Listing.status == ListingStatus.pending_review))
                .returning(Listing.id)
            )
            if moved:  # a retry finds the listing already moved, and its audit row already written
                await record_admin_action(
                    Actor(user_id=UUID(request.admin_id)),
                    f"listing.{action}",
                    "listing",
                    listing.id,
                    before={"status": ListingStatus.pending_review},
                    after={"status": target},
                    reason=request.reason or None,
                )
        url = self._listing_url(request.listing_id)
        notice = (
            templates.listing_approved_email(full_name=host.full_name, title=listing.title, listing_url=url)
            if request.approve
            else templates.listing_rejected_email(
                full_name=host.full_name, title=listing.title, reason=request.reason, listing_url=url
            )
        )
        return await record_notification(
            user_id=host.id,
            kind="listing_approved" if request.approve else "listing_rejected",
            dedupe_key=f"listing_decision:{request.review_id}",
            notice=notice,
            link=url,
        )
