"""`stayflow worker` serves the Temporal SDK's metrics for Prometheus at STAYFLOW_WORKER_METRICS_ADDRESS."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from stayflow.devstack import free_port
from workflows.password_reset import PasswordResetOutcome, PasswordResetWorkflow
from workflows.payloads.accounts import PasswordResetRequest


def _completed(text: str, workflow_type: str) -> float:
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name.startswith("temporal_workflow_completed") and sample.labels.get("workflow_type") == workflow_type
    )


async def test_worker_serves_temporal_sdk_metrics(dev_server_env: Any, task_queue: str) -> None:
    port = free_port()
    env = os.environ | {
        "STAYFLOW_TEMPORAL_ADDRESS": dev_server_env.client.service_client.config.target_host,
        "STAYFLOW_TASK_QUEUE": task_queue,
        "STAYFLOW_WORKER_METRICS_ADDRESS": f"127.0.0.1:{port}",
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "stayflow.cli", "worker"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    metrics = f"http://127.0.0.1:{port}/metrics"
    try:
        # Nobody registered under this address: the workflow ends after its one activity.
        outcome = await dev_server_env.client.execute_workflow(
            PasswordResetWorkflow.run,
            PasswordResetRequest(request_id=str(uuid.uuid4()), email="nobody@example.com"),
            id=f"metrics-{uuid.uuid4()}",
            task_queue=task_queue,
            result_type=PasswordResetOutcome,
        )
        assert outcome == PasswordResetOutcome(account_found=False, delivered=False)

        deadline = time.monotonic() + 30
        async with httpx.AsyncClient() as http:
            while True:
                response = await http.get(metrics)
                assert response.status_code == 200
                if _completed(response.text, "PasswordResetWorkflow") >= 1 or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.5)
        assert _completed(response.text, "PasswordResetWorkflow") == 1
        text = response.text
        assert f'task_queue="{task_queue}"' in text
        assert "temporal_activity_execution_latency" in text
        assert "temporal_workflow_task_schedule_to_start_latency" in text
    finally:
        worker.send_signal(signal.SIGTERM)
        output, _ = worker.communicate(timeout=60)
    assert worker.returncode == 0, output
