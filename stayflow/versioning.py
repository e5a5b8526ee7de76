"""Worker Versioning: which build a worker runs as, and making a build the one new runs go to.

Every worker belongs to the Worker Deployment `settings.worker_deployment` (default `stayflow`)
with a build id (STAYFLOW_BUILD_ID, else derived from the code: see `code_build_id`). A new build
takes no work until it is promoted (`stayflow promote`, which `make dev` and the compose stack
run): from then on new runs start on it, auto-upgrade runs (the booking) move to it, and pinned
runs finish on the build that started them.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata, resources

from temporalio.api.deployment.v1 import WorkerDeploymentInfo
from temporalio.api.workflowservice.v1 import (
    DescribeWorkerDeploymentRequest,
    SetWorkerDeploymentCurrentVersionRequest,
)
from temporalio.client import Client
from temporalio.common import VersioningBehavior, WorkerDeploymentVersion
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import WorkerDeploymentConfig

from stayflow.settings import Settings

# No default behavior: the SDK then refuses to start a worker with a workflow that does not
# declare PINNED or AUTO_UPGRADE in its `@workflow.defn`, so none is versioned by accident.
DEFAULT_VERSIONING_BEHAVIOR = VersioningBehavior.UNSPECIFIED
PROMOTE_TIMEOUT_SECONDS = 60.0


class PromotionError(RuntimeError):
    """The build cannot be made current (no worker of it has polled, or the server refused)."""


@lru_cache(maxsize=1)
def code_build_id() -> str:
    """`<package version>-<12 hex digits of the workflows/ sources>`: the same code always gives
    the same id (a checkout and the image agree), and any change to a workflow, a payload type or
    a retry policy in `workflows/` gives a new one. `stayflow build-id` prints it."""
    digest = hashlib.sha256()
    package = resources.files("workflows")
    for source in sorted((entry for entry in package.iterdir() if entry.name.endswith(".py")), key=lambda e: e.name):
        digest.update(source.name.encode() + b"\0" + source.read_bytes() + b"\0")
    return f"{metadata.version('stayflow')}-{digest.hexdigest()[:12]}"


def build_id(settings: Settings) -> str:
    return settings.build_id or code_build_id()


def deployment_version(settings: Settings, *, build: str | None = None) -> WorkerDeploymentVersion:
    return WorkerDeploymentVersion(deployment_name=settings.worker_deployment, build_id=build or build_id(settings))


def worker_deployment_config(settings: Settings) -> WorkerDeploymentConfig:
    return WorkerDeploymentConfig(
        version=deployment_version(settings),
        use_worker_versioning=True,
        default_versioning_behavior=DEFAULT_VERSIONING_BEHAVIOR,
    )


@dataclass(frozen=True)
class Promotion:
    version: WorkerDeploymentVersion
    previous_build_id: str | None
    """The build that was current before (None: unversioned workers, i.e. the first promotion)."""


async def describe_deployment(client: Client, deployment_name: str) -> WorkerDeploymentInfo | None:
    """The deployment's versions and routing; None while no versioned worker ever polled."""
    try:
        response = await client.workflow_service.describe_worker_deployment(
            DescribeWorkerDeploymentRequest(namespace=client.namespace, deployment_name=deployment_name)
        )
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return None
        raise
    return response.worker_deployment_info


def _has_polled(info: WorkerDeploymentInfo | None, version: WorkerDeploymentVersion) -> bool:
    return info is not None and any(
        summary.deployment_version.build_id == version.build_id for summary in info.version_summaries
    )


async def promote(
    client: Client,
    version: WorkerDeploymentVersion,
    *,
    wait_seconds: float = PROMOTE_TIMEOUT_SECONDS,
    allow_no_pollers: bool = False,
) -> Promotion:
    """Make `version` the deployment's current version once one of its workers has polled (the
    server refuses a version nobody serves, unless `allow_no_pollers`). Promoting the version
    that is already current changes nothing."""
    deadline = time.monotonic() + wait_seconds
    while not allow_no_pollers:
        info = await describe_deployment(client, version.deployment_name)
        if _has_polled(info, version):
            break
        if time.monotonic() >= deadline:
            raise PromotionError(
                f"no worker of {version.to_canonical_string()} has polled within {wait_seconds:.0f}s: "
                f"start one with STAYFLOW_BUILD_ID={version.build_id} first"
            )
        await asyncio.sleep(0.5)
    while True:
        try:
            response = await client.workflow_service.set_worker_deployment_current_version(
                SetWorkerDeploymentCurrentVersionRequest(
                    namespace=client.namespace,
                    deployment_name=version.deployment_name,
                    build_id=version.build_id,
                    allow_no_pollers=allow_no_pollers,
                    identity="stayflow promote",
                )
            )
            break
        except RPCError as exc:
            # Right after the first poll the version may not be registered everywhere yet.
            retryable = exc.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION)
            if not retryable or time.monotonic() >= deadline:
                raise PromotionError(f"cannot make {version.to_canonical_string()} current: {exc.message}") from exc
            await asyncio.sleep(0.5)
    previous = response.previous_deployment_version.build_id or None
    return Promotion(version=version, previous_build_id=previous)
