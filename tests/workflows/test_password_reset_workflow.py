"""PasswordResetWorkflow on Temporal's time-skipping server, with the real SendGrid SDK talking to
a local fake SendGrid: outages are retried with backoff and the email goes out exactly once."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import msgspec
import pytest
from temporalio.client import WorkflowHandle
from temporalio.testing import ActivityEnvironment

from activities.accounts import AccountActivities
from activities.notifications import NotificationActivities
from models import Message, PasswordResetToken
from models.messages import DeliveryStatus
from stayflow.providers.email import email_sender_for
from stayflow.providers.sms import OutboxSmsSender
from stayflow.settings import Settings
from tests.factories import make_user
from tests.fakes.sendgrid import FakeSendGrid
from workers.main import build_worker
from workflows.password_reset import PasswordResetOutcome, PasswordResetWorkflow
from workflows.payloads.accounts import PasswordResetRequest
from workflows.payloads.notifications import DeliverMessage

HISTORIES = Path(__file__).parent / "histories"


def with_sendgrid(settings: Settings, fake: FakeSendGrid) -> Settings:
    return msgspec.structs.replace(settings, sendgrid_api_key=fake.api_key, sendgrid_api_base=fake.url)


async def run_reset(
    env: Any, settings: Settings, task_queue: str, email: str
) -> tuple[PasswordResetOutcome, WorkflowHandle]:
    request_id = f"password-reset-{uuid.uuid4()}"
    async with build_worker(env.client, settings, task_queue=task_queue):
        handle = await env.client.start_workflow(
            PasswordResetWorkflow.run,
            PasswordResetRequest(request_id=request_id, email=email),
            id=request_id,
            task_queue=task_queue,
        )
        return await handle.result(), handle


async def test_sendgrid_outage_delays_the_email_and_it_goes_out_once(
    time_skipping_env: Any, settings: Settings, task_queue: str, fake_sendgrid: FakeSendGrid
) -> None:
    await make_user(email="ada@example.com", full_name="Ada Lovelace")
    fake_sendgrid.fail_next = 3  # SendGrid answers 503 three times in a row
    outcome, handle = await run_reset(time_skipping_env, with_sendgrid(settings, fake_sendgrid), task_queue,
                                      "ada@example.com")  # fmt: skip
    assert outcome == PasswordResetOutcome(account_found=True, delivered=True)
    assert len(fake_sendgrid.received) == 4
    [mail] = fake_sendgrid.delivered
    assert mail.to == ["ada@example.com"]
    assert mail.authorization == f"Bearer {fake_sendgrid.api_key}"
    assert mail.body["subject"] == "Reset your Stayflow password"
    assert "/reset-password?token=" in mail.content("text/plain")
    assert "Hi Ada" in mail.content("text/html")
    message = await Message.objects().first()
    assert message is not None
    assert message.status == DeliveryStatus.sent
    assert message.provider == "sendgrid" and message.provider_message_id == mail.message_id
    assert message.attempts == 4
    if os.environ.get("STAYFLOW_RECORD_HISTORIES"):
        history = await handle.fetch_history()
        (HISTORIES / "password_reset_with_outage.json").write_text(history.to_json())


async def test_rejected_api_key_fails_the_message_without_endless_retries(
    time_skipping_env: Any, settings: Settings, task_queue: str, fake_sendgrid: FakeSendGrid
) -> None:
    await make_user(email="ada@example.com")
    wrong_key = msgspec.structs.replace(with_sendgrid(settings, fake_sendgrid), sendgrid_api_key="SG.revoked")
    outcome, _ = await run_reset(time_skipping_env, wrong_key, task_queue, "ada@example.com")
    assert outcome == PasswordResetOutcome(account_found=True, delivered=False)
    assert len(fake_sendgrid.received) == 1 and not fake_sendgrid.delivered
    message = await Message.objects().first()
    assert message is not None and message.status == DeliveryStatus.failed
    assert "401" in (message.last_error or "")


async def test_unknown_email_sends_nothing(
    time_skipping_env: Any, settings: Settings, task_queue: str, fake_sendgrid: FakeSendGrid
) -> None:
    outcome, _ = await run_reset(time_skipping_env, with_sendgrid(settings, fake_sendgrid), task_queue,
                                 "nobody@example.com")  # fmt: skip
    assert outcome == PasswordResetOutcome(account_found=False, delivered=False)
    assert fake_sendgrid.received == []
    assert await Message.count() == 0 and await PasswordResetToken.count() == 0


async def test_a_retried_issue_activity_mints_one_token_and_one_message(settings: Settings) -> None:
    await make_user(email="ada@example.com")
    activities = AccountActivities(settings)
    request = PasswordResetRequest(request_id="password-reset-fixed", email="ada@example.com")
    env = ActivityEnvironment()
    first = await env.run(activities.issue_password_reset, request)
    second = await env.run(activities.issue_password_reset, request)
    assert first is not None and first == second
    assert await PasswordResetToken.count() == 1 and await Message.count() == 1


async def test_sending_a_sent_message_again_does_not_call_the_provider(
    settings: Settings, fake_sendgrid: FakeSendGrid
) -> None:
    await make_user(email="ada@example.com")
    message_id = await ActivityEnvironment().run(
        AccountActivities(settings).issue_password_reset,
        PasswordResetRequest(request_id="password-reset-once", email="ada@example.com"),
    )
    assert message_id is not None
    notifications = NotificationActivities(email_sender_for(with_sendgrid(settings, fake_sendgrid)), OutboxSmsSender())
    first = await ActivityEnvironment().run(notifications.send_message, DeliverMessage(message_id))
    second = await ActivityEnvironment().run(notifications.send_message, DeliverMessage(message_id))
    assert first == second
    assert len(fake_sendgrid.delivered) == 1


@pytest.mark.parametrize("history_file", sorted(HISTORIES.glob("*.json")), ids=lambda p: p.stem)
async def test_recorded_histories_replay_on_todays_code(history_file: Path) -> None:
    """Workflow code changes must stay compatible with runs already in flight (or be patched)."""
    from temporalio.client import WorkflowHistory
    from temporalio.worker import Replayer

    from workers.main import WORKFLOWS

    history = WorkflowHistory.from_json(history_file.stem, history_file.read_text())
    await Replayer(workflows=WORKFLOWS).replay_workflow(history)
