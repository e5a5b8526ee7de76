"""Recorded histories replay on today's workflow code: a change to a workflow that would break a run
in flight fails here. Record them again with `STAYFLOW_RECORD_HISTORIES=1 make test` (the tests that
record call the `record_history` fixture) when a change is meant to apply to new runs only, and
patch the long-lived booking process instead when runs already in flight must take it."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio import workflow
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer, UnsandboxedWorkflowRunner

from activities.accounts import PasswordResetRequest
from tests.conftest import HISTORIES
from workflows.registry import WORKFLOWS

RECORDED = sorted(HISTORIES.glob("*.json"))


def workflow_type(history_file: Path) -> str:
    started = json.loads(history_file.read_text())["events"][0]
    return str(started["workflowExecutionStartedEventAttributes"]["workflowType"]["name"])


def test_every_workflow_has_a_recorded_history() -> None:
    recorded = {workflow_type(f) for f in RECORDED}
    assert {w.__name__ for w in WORKFLOWS} <= recorded


@pytest.mark.parametrize("history_file", RECORDED, ids=lambda p: p.stem)
async def test_recorded_histories_replay_on_todays_code(history_file: Path) -> None:
    history = WorkflowHistory.from_json(history_file.stem, history_file.read_text())
    await Replayer(workflows=WORKFLOWS).replay_workflow(history)


@workflow.defn(name="PasswordResetWorkflow")
class PasswordResetWorkflowThatWaitsFirst:
    """Today's password reset with one step added in front: not what its recorded runs did."""

    @workflow.run
    async def run(self, request: PasswordResetRequest) -> None:
        await workflow.sleep(timedelta(seconds=1))


async def test_a_workflow_whose_steps_changed_fails_the_replay() -> None:
    history_file = HISTORIES / "password_reset_with_outage.json"
    history = WorkflowHistory.from_json(history_file.stem, history_file.read_text())
    replayer = Replayer(workflows=[PasswordResetWorkflowThatWaitsFirst], workflow_runner=UnsandboxedWorkflowRunner())
    with pytest.raises(Exception, match=r"[Nn]ondetermin"):
        await replayer.replay_workflow(history)
