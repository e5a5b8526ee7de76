"""Liveness and readiness for load balancers and orchestrators."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
from litestar import Controller, Response, get
from litestar.di import NamedDependency

from models import User
from stayflow.temporal import TemporalGateway


class Health(msgspec.Struct):
    status: str


class HealthController(Controller):
    tags = ["operations"]

    @get("/health", operation_id="health", summary="The process is up", exclude_from_auth=True)
    async def health(self) -> Health:
        return Health("ok")

    @get(
        "/ready",
        operation_id="ready",
        summary="PostgreSQL and Temporal are reachable",
        exclude_from_auth=True,
    )
    async def ready(self, temporal: NamedDependency[TemporalGateway]) -> Response[dict[str, Any]]:
        checks = {"database": await _check(_database()), "temporal": await _check(temporal.check())}
        failing = [name for name, result in checks.items() if result != "ok"]
        if not failing:
            return Response({"status": "ready", "checks": checks})
        return Response(
            {
                "type": "https://stayflow.dev/problems/unavailable",
                "title": "Service Unavailable",
                "status": 503,
                "detail": "Not ready: " + ", ".join(f"{name} ({checks[name]})" for name in failing),
                "checks": checks,
            },
            status_code=503,
            media_type="application/problem+json",
        )


async def _database() -> None:
    await User.raw("SELECT 1")


async def _check(probe: Any) -> str:
    try:
        await asyncio.wait_for(probe, timeout=3)
        return "ok"
    except Exception as exc:  # any failure is "not ready", named in the answer
        return f"{type(exc).__name__}: {exc}"[:200] or "unreachable"
