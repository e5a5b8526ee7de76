"""`stayflow worker`: runs every Stayflow workflow and activity on the task queue, and the email
and SMS deliveries on their own queue with their own slots (`workflows.messaging`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Callable
from typing import Any

from temporalio.client import Client
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.worker import Worker

from activities.accounts import AccountActivities
from activities.bookings import BookingActivities
from activities.calendar_feeds import CalendarFeedActivities
from activities.changes import ChangeActivities
from activities.conversations import ConversationActivities
from activities.disputes import DisputeActivities
from activities.documents import DocumentActivities
from activities.listings import ListingActivities
from activities.notifications import NotificationActivities
from activities.payments import PaymentActivities
from activities.payouts import PayoutActivities
from activities.reconcile import ReconcileActivities
from activities.reviews import ReviewActivities
from stayflow.providers.email import email_sender_for
from stayflow.providers.payments import payments_for
from stayflow.providers.sms import sms_sender_for
from stayflow.settings import Settings
from stayflow.temporal import temporal_address
from stayflow.versioning import build_id, worker_deployment_config
from workers.schedules import ensure_reconciler_schedule
from workflows.messaging import delivery_task_queue
from workflows.registry import WORKFLOWS

log = logging.getLogger("stayflow.worker")


def activities_for(settings: Settings) -> list[Callable[..., Any]]:
    accounts = AccountActivities(settings)
    listings = ListingActivities(settings)
    payments = PaymentActivities(payments_for(settings))
    payouts = PayoutActivities(payments_for(settings), settings)
    disputes = DisputeActivities(payments_for(settings), settings)
    documents = DocumentActivities()
    bookings = BookingActivities(settings)
    changes = ChangeActivities()
    reviews = ReviewActivities(settings)
    conversations = ConversationActivities(settings)
    calendar_feeds = CalendarFeedActivities(settings)
    reconcile = ReconcileActivities(settings)
    notifications = NotificationActivities(email_sender_for(settings), sms_sender_for(settings))
    return [
        *delivery_activities(notifications),
        accounts.issue_password_reset,
        listings.begin_review,
        listings.remind_admins,
        listings.apply_decision,
        # money through Stripe, with its ledger rows: the booking's, a change's, a cancellation's
        payments.authorize_payment,
        payments.confirm_authentication,
        payments.capture_payment,
        payments.void_payment,
        payments.authorize_change,
        payments.capture_change,
        payments.void_change,
        payments.refund_change,
        payments.settle_cancellation,
        payments.release_hold,
        # host payouts through Stripe Connect, with their journal entries
        payouts.payout_plan,
        payouts.release_payout,
        # disputes (chargebacks): the row and its journal entries, the payout held, the evidence
        disputes.open_dispute,
        disputes.submit_evidence,
        disputes.close_dispute,
        disputes.tell_about_dispute,
        # invoices, receipts and credit notes
        documents.issue_invoice_and_receipt,
        documents.issue_change_documents,
        # a booking's rows and what it tells guest and host
        bookings.place_booking,
        bookings.set_booking_status,
        bookings.notify,
        bookings.notify_all,
        changes.move_dates,
        changes.set_change_status,
        changes.settle_failed_change,
        reviews.remind_reviewers,
        reviews.publish_reviews,
        reviews.tell_reviewees,
        notifications.record,
        conversations.record_message_digest,
        calendar_feeds.list_calendar_feeds,
        calendar_feeds.sync_calendar_feed,
        # the reconciler: what a crash left behind (its repairs are the activities above)
        reconcile.find_inconsistencies,
        reconcile.restart_payout,
        reconcile.record_run,
    ]


def delivery_activities(notifications: NotificationActivities) -> list[Callable[..., Any]]:
    """Handing messages to SendGrid and Twilio: scheduled on the delivery queue (also registered on
    the main one, for runs that scheduled them there before deliveries had their own queue)."""
    return [notifications.send_message, notifications.send_messages, notifications.mark_message_failed]


DELIVERY_SLOTS = 16
"""Deliveries one worker runs at a time: a hanging provider holds at most these, never a payment's slot."""


class StayflowWorker:
    """The two pollers of one worker process: `main` (every workflow and activity) and
    `deliveries` (emails and SMS, at most DELIVERY_SLOTS at a time), both of this build."""

    def __init__(self, main: Worker, deliveries: Worker) -> None:
        self.main = main
        self.deliveries = deliveries
        self._stack = contextlib.AsyncExitStack()

    async def __aenter__(self) -> StayflowWorker:
        await self._stack.enter_async_context(self.deliveries)
        await self._stack.enter_async_context(self.main)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._stack.aclose()


def build_worker(client: Client, settings: Settings, *, task_queue: str | None = None) -> StayflowWorker:
    """The worker of this build: it takes work once its version is current (`stayflow promote`),
    and keeps serving the pinned runs it started after a newer build is promoted."""
    queue = task_queue or settings.task_queue
    deliveries = Worker(
        client,
        task_queue=delivery_task_queue(queue),
        activities=delivery_activities(NotificationActivities(email_sender_for(settings), sms_sender_for(settings))),
        deployment_config=worker_deployment_config(settings),
        max_concurrent_activities=DELIVERY_SLOTS,
    )
    return StayflowWorker(_main_worker(client, settings, queue), deliveries)


def _main_worker(client: Client, settings: Settings, queue: str) -> Worker:
    return Worker(
        client,
        task_queue=queue,
        workflows=WORKFLOWS,
        activities=activities_for(settings),
        deployment_config=worker_deployment_config(settings),
        # Every booking starts several new workflows (capture, deliveries): poll for new work as
        # eagerly as for cached work, so that tasks do not queue at the server while we idle.
        max_concurrent_workflow_task_polls=8,
        nonsticky_to_sticky_poll_ratio=1.0,
        max_concurrent_activity_task_polls=8,
    )


async def _connect_with_retry(settings: Settings, runtime: Runtime | None) -> Client:
    address = temporal_address(settings)
    delay = 0.5
    while True:
        try:
            return await Client.connect(address, namespace=settings.temporal_namespace, runtime=runtime)
        except RuntimeError as exc:  # the frontend is not up yet
            log.warning("Temporal at %s not reachable (%s); retrying in %.0fs", address, exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10)


async def run_worker(settings: Settings) -> None:
    from piccolo_conf import DB

    # Temporal's sandbox imports the workflow modules afresh for every new run; with
    # PYTHONDONTWRITEBYTECODE set that means compiling them from source each time (measured with
    # py-spy under bench/booking.py). Keep their bytecode cached, whatever the environment says.
    sys.dont_write_bytecode = False

    runtime = None
    if settings.worker_metrics_address:
        runtime = Runtime(
            telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=settings.worker_metrics_address))
        )
    await DB.start_connection_pool(min_size=1, max_size=10)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        client = await _connect_with_retry(settings, runtime)
        worker = build_worker(client, settings)
        await ensure_reconciler_schedule(client, settings)
        log.info(
            "worker of build %s.%s polling task queue %r on %s (new runs come once it is promoted: stayflow promote)",
            settings.worker_deployment,
            build_id(settings),
            settings.task_queue,
            temporal_address(settings),
        )
        async with worker:
            await stop.wait()
    finally:
        with contextlib.suppress(Exception):
            await DB.close_connection_pool()
