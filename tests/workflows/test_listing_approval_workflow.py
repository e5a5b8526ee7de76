"""ListingApprovalWorkflow on the time-skipping server: reminders while admins take their time,
checks that fail late, and a recorded history that today's code must replay."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from activities.listings import ListingActivities
from models import Listing, ListingPhoto, Message
from models.identity import Role
from stayflow.settings import Settings
from tests.conftest import RecordHistory
from tests.factories import make_listing, make_user
from tests.helpers import wait_listing_status
from workers.main import build_worker
from workflows.listing_approval import Decision, ListingApprovalWorkflow, ModerationOutcome, ModerationRequest


async def ready_listing(status: str = "draft") -> Listing:
    host = await make_user(role=Role.host, email="host@example.com")
    listing = await make_listing(host, status=status)
    await ListingPhoto(listing=listing.id, storage_key=f"listings/{listing.id}/p.jpg", content_type="image/jpeg",
                       width=800, height=600, size_bytes=1000).save()  # fmt: skip
    return listing


async def wait_for_status(listing: Listing, status: str) -> None:
    await wait_listing_status(listing.id, status, timeout=10)
    await listing.refresh()


async def all_messages_delivered(env: Any) -> None:
    """Wait for every DeliverMessageWorkflow the process started; each must report delivery.
    (Leaving them unfinished would also keep the time-skipping server from skipping later.)"""
    for message in await Message.objects():
        assert await env.client.get_workflow_handle(f"deliver-message-{message.id}").result() is True
        await message.refresh()
        assert message.status == "sent"


async def test_admins_are_reminded_every_day_until_someone_decides(
    own_time_skipping_env: Any,
    settings: Settings,
    task_queue: str,
    record_history: RecordHistory,
) -> None:
    admin = await make_user(role=Role.admin, email="admin@example.com")
    await make_user(role=Role.admin, email="second-admin@example.com")
    listing = await ready_listing()
    env = own_time_skipping_env
    async with build_worker(env.client, settings, task_queue=task_queue):
        handle = await env.client.start_workflow(
            ListingApprovalWorkflow.run, ModerationRequest(listing_id=str(listing.id), host_id=str(listing.host)),
            id=f"listing-approval-{listing.id}-{uuid.uuid4()}", task_queue=task_queue,
        )  # fmt: skip
        await env.sleep(timedelta(hours=23))
        assert await handle.query(ListingApprovalWorkflow.reminders_sent) == 0
        await env.sleep(timedelta(hours=2))
        assert await handle.query(ListingApprovalWorkflow.reminders_sent) == 1
        await env.sleep(timedelta(hours=24))
        assert await handle.query(ListingApprovalWorkflow.reminders_sent) == 2
        reminders = await Message.objects().where(Message.kind == "listing_review_reminder")
        assert sorted(m.recipient for m in reminders) == sorted(["admin@example.com", "second-admin@example.com"] * 2)

        status = await handle.execute_update(ListingApprovalWorkflow.decide, Decision(True, str(admin.id)))
        assert status == "published"
        assert await handle.result() == ModerationOutcome(status="published", reasons=[])
        await all_messages_delivered(env)
        await record_history(env, handle.id, "listing_approval_with_reminders")
    stored = await Listing.objects().get(Listing.id == listing.id)
    assert stored is not None and stored.status == "published" and stored.published_at is not None
    [approved] = await Message.objects().where(Message.kind == "listing_approved")
    assert approved.recipient == "host@example.com"


async def test_a_listing_that_fails_the_checks_goes_back_to_its_host(
    own_time_skipping_env: Any, settings: Settings, task_queue: str
) -> None:
    listing = await ready_listing()
    await ListingPhoto.delete().where(ListingPhoto.listing == listing.id)  # the host deleted the only photo
    env = own_time_skipping_env
    async with build_worker(env.client, settings, task_queue=task_queue):
        outcome = await env.client.execute_workflow(
            ListingApprovalWorkflow.run, ModerationRequest(listing_id=str(listing.id), host_id=str(listing.host)),
            id=f"listing-approval-{listing.id}", task_queue=task_queue,
        )  # fmt: skip
        await all_messages_delivered(env)
    assert outcome.status == "returned_to_host" and any("photo" in r for r in outcome.reasons)
    stored = await Listing.objects().get(Listing.id == listing.id)
    assert stored is not None and stored.status == "draft" and "photo" in (stored.review_notes or "")
    [returned] = await Message.objects().where(Message.kind == "listing_returned")
    assert returned.recipient == "host@example.com" and "photo" in returned.text_body


async def test_decisions_are_refused_before_review_and_rejections_need_a_reason(
    own_time_skipping_env: Any, settings: Settings, task_queue: str
) -> None:
    from temporalio.client import WorkflowUpdateFailedError

    admin = await make_user(role=Role.admin)
    listing = await ready_listing()
    env = own_time_skipping_env
    async with build_worker(env.client, settings, task_queue=task_queue):
        handle = await env.client.start_workflow(
            ListingApprovalWorkflow.run, ModerationRequest(listing_id=str(listing.id), host_id=str(listing.host)),
            id=f"listing-approval-{listing.id}", task_queue=task_queue,
        )  # fmt: skip
        await wait_for_status(listing, "pending_review")
        try:
            await handle.execute_update(ListingApprovalWorkflow.decide, Decision(False, str(admin.id), reason=" "))
            raise AssertionError("a rejection without a reason was accepted")
        except WorkflowUpdateFailedError:
            pass
        status = await handle.execute_update(ListingApprovalWorkflow.decide, Decision(False, str(admin.id), "Blurry"))
        assert status == "rejected"
        try:
            await handle.execute_update(ListingApprovalWorkflow.decide, Decision(True, str(admin.id)))
            raise AssertionError("a second decision was accepted")
        except WorkflowUpdateFailedError:
            pass
        assert (await handle.result()).status == "rejected"
        await all_messages_delivered(env)
    stored = await Listing.objects().get(Listing.id == listing.id)
    assert stored is not None and stored.status == "rejected" and stored.review_notes == "Blurry"


def test_the_worker_runs_every_approval_activity(settings: Settings) -> None:
    from workers.main import activities_for

    names = {getattr(a, "__name__", "") for a in activities_for(settings)}
    assert {a.__name__ for a in (ListingActivities.begin_review, ListingActivities.remind_admins,
                                 ListingActivities.apply_decision)} <= names  # fmt: skip
