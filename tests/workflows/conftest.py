from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Protocol

import msgspec
import pytest

from stayflow.settings import Settings

HISTORIES = Path(__file__).parent / "histories"
"""One recorded run per interesting path, replayed on today's code by test_replay.py."""


@pytest.fixture
def stripe_settings(settings: Settings, fake_stripe: Any) -> Settings:
    """Settings whose real Stripe SDK talks to this test's fake Stripe."""
    return msgspec.structs.replace(settings, stripe_api_key=fake_stripe.api_key, stripe_api_base=fake_stripe.url)


class RecordHistory(Protocol):
    async def __call__(self, env: Any, workflow_id: str, name: str) -> None: ...


@pytest.fixture
def record_history() -> RecordHistory:
    """`await record_history(env, workflow_id, "name")`, once the run has ended: with
    STAYFLOW_RECORD_HISTORIES=1 its history is stored as histories/<name>.json (otherwise nothing)."""

    async def record(env: Any, workflow_id: str, name: str) -> None:
        if os.environ.get("STAYFLOW_RECORD_HISTORIES"):
            history = await env.client.get_workflow_handle(workflow_id).fetch_history()
            (HISTORIES / f"{name}.json").write_text(history.to_json())

    return record
