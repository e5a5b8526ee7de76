"""Test-only workflows that say which build ran them: one pinned like the short processes, one
auto-upgrading like the booking. Each waits for `finish`, then asks its build through an activity."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.common import VersioningBehavior


class BuildReporter:
    """The activity a worker of one build registers: its answer names the process that ran it."""

    def __init__(self, build_id: str) -> None:
        self.build_id = build_id

    @activity.defn(name="report_build")
    async def report_build(self) -> str:
        return self.build_id


@dataclass(frozen=True)
class ProbeResult:
    task_builds: list[str]
    """The build of each workflow task: at the start, and after `finish`."""
    activity_build: str


class _Probe:
    def __init__(self) -> None:
        self._finish = False
        self._task_builds: list[str] = []

    def _note_build(self) -> None:
        version = workflow.info().get_current_deployment_version()
        self._task_builds.append(version.build_id if version else "unversioned")

    @workflow.signal
    def finish(self) -> None:
        self._finish = True

    @workflow.query
    def task_builds(self) -> list[str]:
        return self._task_builds

    async def _run(self) -> ProbeResult:
        self._note_build()
        await workflow.wait_condition(lambda: self._finish)
        self._note_build()
        activity_build = await workflow.execute_activity(
            "report_build", start_to_close_timeout=timedelta(seconds=10), result_type=str
        )
        return ProbeResult(task_builds=self._task_builds, activity_build=activity_build)


@workflow.defn(name="PinnedProbe", versioning_behavior=VersioningBehavior.PINNED)
class PinnedProbe(_Probe):
    @workflow.run
    async def run(self) -> ProbeResult:
        return await self._run()


@workflow.defn(name="AutoUpgradeProbe", versioning_behavior=VersioningBehavior.AUTO_UPGRADE)
class AutoUpgradeProbe(_Probe):
    @workflow.run
    async def run(self) -> ProbeResult:
        return await self._run()
