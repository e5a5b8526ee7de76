"""A rolling upgrade with Worker Versioning, on the real Temporal dev server: workers of an old
and a new build run side by side; once the new build is promoted (with the operators' command,
`stayflow promote`), new runs go only to it, the booking-like auto-upgrade run moves to it, and a
pinned run the old build started finishes on the old build."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import msgspec
import pytest
from temporalio.api.enums.v1 import VersioningBehavior as ServerBehavior
from temporalio.client import Client, WorkflowHandle
from temporalio.common import VersioningBehavior, WorkerDeploymentVersion
from temporalio.worker import Worker, WorkerDeploymentConfig
from temporalio.workflow import _Definition

from stayflow.settings import Settings
from stayflow.versioning import build_id, deployment_version, describe_deployment, promote, worker_deployment_config
from tests.integration.versioning_probes import AutoUpgradeProbe, BuildReporter, PinnedProbe, ProbeResult
from workers.main import WORKFLOWS, build_worker
from workflows.booking import BookingWorkflow
from workflows.booking_change import BookingChangeWorkflow
from workflows.calendar_sync import CalendarSyncWorkflow
from workflows.cancellation import CancellationRefundWorkflow
from workflows.dispute import DisputeWorkflow
from workflows.listing_approval import ListingApprovalWorkflow
from workflows.message_digest import MessageDigestWorkflow
from workflows.messaging import DeliverMessageWorkflow, NotifyWorkflow
from workflows.password_reset import PasswordResetWorkflow
from workflows.payloads.accounts import PasswordResetRequest
from workflows.payment_capture import PaymentCaptureWorkflow
from workflows.payout import PayoutWorkflow
from workflows.reconcile import ReconcileWorkflow
from workflows.review_reminders import ReviewReminderWorkflow

PINNED = VersioningBehavior.PINNED
AUTO_UPGRADE = VersioningBehavior.AUTO_UPGRADE


def test_short_processes_are_pinned_and_long_lived_ones_auto_upgrade() -> None:
    behaviors = {cls: _Definition.must_from_class(cls).versioning_behavior for cls in WORKFLOWS}
    assert behaviors == {
        BookingWorkflow: AUTO_UPGRADE,
        ListingApprovalWorkflow: AUTO_UPGRADE,
        ReviewReminderWorkflow: AUTO_UPGRADE,
        MessageDigestWorkflow: AUTO_UPGRADE,
        PayoutWorkflow: AUTO_UPGRADE,  # waits from capture until after check-in
        DisputeWorkflow: AUTO_UPGRADE,  # waits for the bank's decision, weeks to months
        PaymentCaptureWorkflow: PINNED,
        CancellationRefundWorkflow: PINNED,
        BookingChangeWorkflow: PINNED,
        PasswordResetWorkflow: PINNED,
        NotifyWorkflow: PINNED,
        DeliverMessageWorkflow: PINNED,
        CalendarSyncWorkflow: PINNED,
        ReconcileWorkflow: PINNED,  # one pass of the reconciler, seconds
    }


async def test_the_real_worker_joins_the_deployment_as_this_build(settings: Settings, dev_server_env: Any) -> None:
    configured = msgspec.structs.replace(settings, worker_deployment="stayflow-eu", build_id="2025.06.1")
    worker = build_worker(dev_server_env.client, configured, task_queue=f"test-{uuid.uuid4()}")
    for poller in (worker.main, worker.deliveries):  # the delivery queue is served by the same build
        assert poller.config()["deployment_config"] == WorkerDeploymentConfig(
            version=WorkerDeploymentVersion("stayflow-eu", "2025.06.1"),
            use_worker_versioning=True,
            # None by default: a workflow that declares no behavior stops the worker from starting.
            default_versioning_behavior=VersioningBehavior.UNSPECIFIED,
        )
    assert build_id(settings) == build_id(settings) != ""  # the derived id is stable


@asynccontextmanager
async def build_running(client: Client, settings: Settings, probe_queue: str) -> AsyncIterator[None]:
    """Every worker of one build: the real one (the product's workflows) and the probes' one."""
    async with (
        build_worker(client, settings),
        Worker(
            client,
            task_queue=probe_queue,
            workflows=[PinnedProbe, AutoUpgradeProbe],
            activities=[BuildReporter(build_id(settings)).report_build],
            deployment_config=worker_deployment_config(settings),
        ),
    ):
        yield


async def run_promote(settings: Settings, address: str) -> str:
    """`stayflow promote`, as an operator runs it (without blocking the workers in this loop)."""
    env = os.environ | {
        "STAYFLOW_TEMPORAL_ADDRESS": address,
        "STAYFLOW_WORKER_DEPLOYMENT": settings.worker_deployment,
        "STAYFLOW_BUILD_ID": build_id(settings),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "stayflow.cli", "promote", "--wait", "30",
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await process.communicate()
    assert process.returncode == 0, out.decode()
    return out.decode()


async def ran_on(handle: WorkflowHandle[Any, Any]) -> tuple[str, int]:
    """The build that completed the run's last workflow task, and the run's behavior, as the
    server records them (what `temporal workflow describe` shows)."""
    info = (await handle.describe()).raw_description.workflow_execution_info.versioning_info
    return info.deployment_version.build_id, info.behavior


async def reported(handle: WorkflowHandle[Any, Any]) -> list[str]:
    """Wait until the probe's first workflow task is done; the builds it recorded so far."""
    for _ in range(100):
        builds: list[str] = await handle.query("task_builds")
        if builds:
            return builds
        await asyncio.sleep(0.1)
    raise AssertionError(f"{handle.id} never ran")


async def test_new_runs_go_to_the_promoted_build_while_pinned_runs_finish_on_theirs(
    settings: Settings, dev_server_env: Any, task_queue: str
) -> None:
    client: Client = dev_server_env.client
    address = client.service_client.config.target_host
    deployment = f"upgrade-{uuid.uuid4().hex[:12]}"
    old = msgspec.structs.replace(settings, worker_deployment=deployment, build_id="old", task_queue=task_queue)
    new = msgspec.structs.replace(old, build_id="new")
    probes = f"{task_queue}-probes"

    def probe(cls: Any, name: str) -> Any:
        return client.start_workflow(cls.run, id=f"{name}-{uuid.uuid4()}", task_queue=probes)

    async def reset_password(name: str) -> WorkflowHandle[Any, Any]:
        request = PasswordResetRequest(request_id=f"{name}-{uuid.uuid4()}", email=f"{name}@nobody.example")
        handle = await client.start_workflow(
            PasswordResetWorkflow.run, request, id=request.request_id, task_queue=task_queue
        )
        assert (await asyncio.wait_for(handle.result(), 30)).account_found is False
        return handle

    async with AsyncExitStack() as stack:
        await stack.enter_async_context(build_running(client, old, probes))
        assert "is current" in await run_promote(old, address)
        pinned_on_old = await probe(PinnedProbe, "pinned")
        booking_like = await probe(AutoUpgradeProbe, "auto")
        assert await reported(pinned_on_old) == ["old"]
        assert await reported(booking_like) == ["old"]
        assert await ran_on(await reset_password("before")) == ("old", ServerBehavior.VERSIONING_BEHAVIOR_PINNED)

        # The new release starts next to the old one; it takes nothing until it is promoted.
        await stack.enter_async_context(build_running(client, new, probes))
        said = await run_promote(new, address)
        assert f"{deployment}.new is current" in said and "before: old" in said
        info = await describe_deployment(client, deployment)
        assert info is not None and info.routing_config.current_deployment_version.build_id == "new"

        # (a) New runs go only to the new build, though the old workers still poll.
        pinned_on_new = [await probe(PinnedProbe, f"pinned-new-{n}") for n in range(4)]
        for handle in pinned_on_new:
            assert await reported(handle) == ["new"]
        for n in range(3):
            reset = await reset_password(f"after-{n}")
            assert await ran_on(reset) == ("new", ServerBehavior.VERSIONING_BEHAVIOR_PINNED)

        # (b) The run the old build started finishes there, its activity too; the auto-upgrade
        # run (the booking's behavior) carries on on the new build.
        for handle in (pinned_on_old, booking_like, *pinned_on_new):
            await handle.signal("finish")
        assert await asyncio.wait_for(pinned_on_old.result(), 30) == ProbeResult(["old", "old"], "old")
        assert await ran_on(pinned_on_old) == ("old", ServerBehavior.VERSIONING_BEHAVIOR_PINNED)
        upgraded = await asyncio.wait_for(booking_like.result(), 30)
        assert upgraded.task_builds[-1] == "new" and upgraded.activity_build == "new"
        assert await ran_on(booking_like) == ("new", ServerBehavior.VERSIONING_BEHAVIOR_AUTO_UPGRADE)
        for handle in pinned_on_new:
            assert await asyncio.wait_for(handle.result(), 30) == ProbeResult(["new", "new"], "new")


async def test_promote_refuses_a_build_no_worker_serves(settings: Settings, dev_server_env: Any) -> None:
    from stayflow.versioning import PromotionError

    nobody = msgspec.structs.replace(settings, worker_deployment=f"empty-{uuid.uuid4().hex[:12]}", build_id="ghost")
    with pytest.raises(PromotionError, match=r"no worker of .*ghost has polled"):
        await promote(dev_server_env.client, deployment_version(nobody), wait_seconds=1)
