"""The OpenAPI document tells the truth: schemathesis sends generated requests (valid and invalid)
to every documented operation of the app, in process, and every answer must be a status the
document declares, with its content type and schema, and never a 5xx."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import msgspec
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.python.asgi import shutdown_lifespans
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.app import create_app
from stayflow.settings import Settings

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES_PER_OPERATION = 4  # ~80 operations x 2 modes: about 40 s on a loaded 2-core machine
NOT_OVER_HTTP = {"/api/v1/ws"}  # a WebSocket upgrade, which schemathesis cannot make


@pytest.fixture
def app_in_its_own_loop(api_settings: Settings, dev_server_env: Any) -> Iterator[Any]:
    """Schemathesis runs the app in a thread with its own event loop; the app then opens its own
    pool there (the session's pool belongs to the test loop), and gives it back at the end."""
    from piccolo_conf import DB

    session_pool, DB.pool = DB.pool, None
    address = dev_server_env.client.service_client.config.target_host
    app = create_app(msgspec.structs.replace(api_settings, temporal_address=address))
    try:
        yield app
    finally:
        shutdown_lifespans()
        DB.pool = session_pool


def _bearer(schema: Any) -> dict[str, str]:
    email = f"host-{uuid.uuid4().hex[:8]}@example.com"
    password = "a long enough passphrase"
    register = schema["/api/v1/auth/register"]["POST"].Case(
        body={"email": email, "password": password, "full_name": "Hosting Person", "role": "host"},
        media_type="application/json",
    )
    assert register.call().status_code == 201
    login = schema["/api/v1/auth/login"]["POST"].Case(
        body={"email": email, "password": password}, media_type="application/json"
    )
    answer = login.call()
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def test_every_answer_is_one_the_document_declares(app_in_its_own_loop: Any) -> None:
    schema = schemathesis.openapi.from_asgi("/schema/openapi.json", app_in_its_own_loop)
    headers = _bearer(schema)
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    assert len(operations) > 60
    for operation in operations:
        if operation.path in NOT_OVER_HTTP:
            continue
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=EXAMPLES_PER_OPERATION,
                deadline=None,
                database=None,
                derandomize=True,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            def conforms(case: Any) -> None:
                response = case.call(headers=headers)
                case.validate_response(response, checks=CHECKS)

            try:
                conforms()
            except Unsatisfiable:
                pass  # nothing invalid to send (no parameters, or none schemathesis can break)
            except (Exception, BaseExceptionGroup) as exc:
                failures.append(f"{operation.method.upper()} {operation.path} ({mode.value}): {exc}"[:1500])
    assert not failures, f"{len(failures)} operations answer what the document does not say:\n" + "\n\n".join(failures)
