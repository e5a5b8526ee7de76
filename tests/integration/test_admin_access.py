"""Every admin route refuses guests and hosts, including routes added after this test was written."""

from __future__ import annotations

import re
import uuid

from httpx import AsyncClient
from litestar.routes import HTTPRoute

from api.app import create_app
from models import AuditEntry, PlatformSettings, User
from stayflow.rules.roles import Role
from stayflow.settings import Settings
from tests.factories import make_user, signed_in_user

ADMIN_PREFIX = "/api/v1/admin"
_PARAM = re.compile(r"\{[^}]+\}")


def admin_routes(settings: Settings) -> list[tuple[str, str]]:
    """(method, path template) of every admin route the app serves."""
    found: list[tuple[str, str]] = []
    for route in create_app(settings).routes:
        if isinstance(route, HTTPRoute) and route.path.startswith(ADMIN_PREFIX):
            found.extend((method, route.path) for method in sorted(route.methods - {"OPTIONS", "HEAD"}))
    return found


async def test_guest_and_host_get_403_on_every_admin_route(client: AsyncClient, api_settings: Settings) -> None:
    routes = admin_routes(api_settings)
    served = {(method, _PARAM.sub("{id}", path)) for method, path in routes}
    assert {
        ("GET", "/api/v1/admin/users"),
        ("POST", "/api/v1/admin/users/{id}/suspend"),
        ("POST", "/api/v1/admin/listings/{id}/approve"),
        ("POST", "/api/v1/admin/reports/{id}/resolve"),
        ("GET", "/api/v1/admin/bookings"),
        ("GET", "/api/v1/admin/bookings/{id}"),
        ("POST", "/api/v1/admin/bookings/{id}/cancel"),
        ("GET", "/api/v1/admin/settings"),
        ("PATCH", "/api/v1/admin/settings"),
        ("GET", "/api/v1/admin/metrics"),
        ("GET", "/api/v1/admin/audit-log"),
    } <= served, served
    target = await make_user()
    settings_before = (await PlatformSettings.select().where(PlatformSettings.id == 1))[0]
    # A body any admin handler would need: if a guard were missing, the answer would not be 403.
    body = {"reason": "because", "role": "admin", "resolution": "done", "service_fee_bps": 0}
    for role in (Role.guest, Role.host):
        caller = await signed_in_user(client, role=role)
        headers = caller.headers | {"Idempotency-Key": str(uuid.uuid4())}
        for method, template in routes:
            path = _PARAM.sub(str(target.id), template)  # a real user; for other routes, an unknown id
            response = await client.request(method, path, headers=headers, json=body if method != "GET" else None)
            assert response.status_code == 403, (role, method, path, response.text)
            assert response.headers["content-type"].startswith("application/problem+json")
    assert (await PlatformSettings.select().where(PlatformSettings.id == 1))[0] == settings_before
    stored = await User.objects().get(User.id == target.id)
    assert stored is not None and stored.role == Role.guest and stored.suspended_at is None
    assert await AuditEntry.count() == 0
