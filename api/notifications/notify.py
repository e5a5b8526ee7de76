"""Telling a user about something the API did itself (no process involved): the API renders
the notice and starts `NotifyWorkflow`, which records it and delivers its email and SMS."""

from __future__ import annotations

import logging
from uuid import UUID

from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from models import Listing, User
from stayflow import templates
from stayflow.rules.notifications import kind_named
from stayflow.settings import Settings
from stayflow.templates import Notice
from stayflow.temporal import TemporalGateway
from workflows.messaging import NotifyWorkflow, notify_workflow_id
from workflows.payloads.notifications import NotificationRequest

log = logging.getLogger("stayflow.api")


async def notify_in_background(
    temporal: TemporalGateway,
    settings: Settings,
    *,
    user_id: UUID,
    kind: str,
    dedupe_key: str,
    notice: Notice,
    link: str = "",
) -> None:
    """Start telling `user_id` about the event `dedupe_key` (once per key). Never raises: the
    action the API already took stands even if Temporal cannot be reached (logged)."""
    kind_named(kind)  # an undeclared kind is a bug: fail here, not in a retrying activity
    request = NotificationRequest.of(user_id=user_id, kind=kind, dedupe_key=dedupe_key, notice=notice, link=link)
    try:
        client = await temporal.client()
        await client.start_workflow(
            NotifyWorkflow.run,
            request,
            id=notify_workflow_id(dedupe_key),
            task_queue=settings.task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            static_summary=f"Notify: {kind}",
        )
    except WorkflowAlreadyStartedError:
        pass  # this event is already being told
    except (RPCError, RuntimeError, TimeoutError, OSError) as exc:
        log.error("could not start the %s notification %s: %s", kind, dedupe_key, exc)


async def tell_host_of_suspension(temporal: TemporalGateway, settings: Settings, listing_id: UUID, reason: str) -> None:
    listing = (
        await Listing.select(Listing.host, Listing.title, Listing.updated_at).where(Listing.id == listing_id).first()
    )
    if listing is None:
        return
    host = await User.select(User.full_name).where(User.id == listing["host"]).first()
    url = f"{settings.public_url.rstrip('/')}/api/v1/listings/{listing_id}"
    await notify_in_background(
        temporal,
        settings,
        user_id=listing["host"],
        kind="listing_suspended",
        # One notification per suspension (a listing restored and suspended again is told again).
        dedupe_key=f"listing_suspended:{listing_id}:{listing['updated_at'].isoformat()}",
        notice=templates.listing_suspended_email(
            full_name=host["full_name"] if host else "", title=listing["title"], reason=reason, listing_url=url
        ),
        link=url,
    )
