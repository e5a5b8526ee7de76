from __future__ import annotations

import msgspec
from httpx import AsyncClient

from api.app import create_app
from stayflow.devstack import free_port
from stayflow.settings import Settings
from tests.helpers import api_client


async def test_health_answers_without_auth(client: AsyncClient) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_ready_checks_database_and_temporal(client: AsyncClient) -> None:
    response = await client.get("/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {"database": "ok", "temporal": "ok"}}


async def test_ready_names_temporal_when_it_is_down(settings: Settings) -> None:
    nowhere = msgspec.structs.replace(settings, temporal_address=f"127.0.0.1:{free_port()}")
    async with api_client(create_app(nowhere)) as client:
        response = await client.get("/ready")
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["temporal"] != "ok"
    assert "temporal" in body["detail"]


async def test_openapi_schema_documents_routes_and_bearer_auth(client: AsyncClient) -> None:
    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.1")
    assert "/api/v1/auth/login" in schema["paths"]
    assert "/api/v1/users/me" in schema["paths"]
    assert any(s.get("scheme", "").lower() == "bearer" for s in schema["components"]["securitySchemes"].values())
    ui = await client.get("/schema")
    assert ui.status_code == 200
    assert "text/html" in ui.headers["content-type"]


async def test_unknown_path_is_problem_json(client: AsyncClient) -> None:
    response = await client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == 404
    assert body["type"].endswith("/not-found")
    assert body["title"] == "Not Found"


async def test_security_headers_on_every_answer(client: AsyncClient) -> None:
    response = await client.get("/health")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
