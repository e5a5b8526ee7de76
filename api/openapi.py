"""The OpenAPI document as the API really answers, and its interactive docs served offline.

Litestar describes each handler's success answer; what every route shares is stated here once,
from what the app itself knows about a route (not per handler): the RFC 9457 problem answers
(401/403 behind auth, 404 with a path id, 409 on writes, 422 with input, 429 where a rate limit
applies), `security: []` on the routes the JWT auth lets through, and the routes Litestar does
not list (`/metrics`, the `/api/v1/ws` WebSocket, `/media/...`). The docs UIs (Scalar at
`/schema`, Swagger UI at `/schema/swagger`) load their JavaScript and CSS from this API, out of
two PyPI wheels installed with it, so they work with no internet.
"""

from __future__ import annotations

import importlib.util
import os
import re
from collections.abc import Callable
from http import HTTPStatus
from pathlib import Path
from typing import Any

from litestar import Litestar, Router
from litestar._openapi.plugin import OpenAPIPlugin
from litestar.middleware.rate_limit import RateLimitMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import OpenAPIRenderPlugin, ScalarRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import (
    OpenAPI,
    OpenAPIHeader,
    OpenAPIMediaType,
    OpenAPIType,
    Operation,
    Parameter,
    PathItem,
    Reference,
    Schema,
)
from litestar.openapi.spec import OpenAPIResponse as OResponse
from litestar.routes import HTTPRoute
from litestar.security.jwt import JWTAuth
from litestar.static_files import create_static_files_router

from api.metrics import METRICS_PATH
from stayflow.storage import MEDIA_URL_PREFIX

PROBLEM_MEDIA_TYPE = "application/problem+json"
DOCS_ASSETS_PATH = "/schema/assets"
BEARER_SCHEME = "BearerToken"
_WRITES = {"POST", "PUT", "PATCH", "DELETE"}
_ALSO = {("GET", "/ready"): {503}}  # answers its own problem when a dependency is down

_SCALAR_JS = "scalar.standalone.js"
_SWAGGER_FILES = ("swagger-ui-bundle.js", "swagger-ui-standalone-preset.js", "swagger-ui.css", "favicon-32x32.png")


# --- the docs UIs, offline ------------------------------------------------------------------


def _package_dir(package: str, *parts: str) -> Path:
    spec = importlib.util.find_spec(package)  # finds the files without importing the package
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"{package} is not installed: `make dev`/`make test` install it with the API")
    return Path(next(iter(spec.submodule_search_locations)), *parts)


def docs_asset_directories() -> list[Path | os.PathLike[Any] | str]:
    """Where the docs' files are: Swagger UI's dist folder, Scalar's bundle and our small stylesheet."""
    swagger = next(_package_dir("swagger_ui_bundle", "vendor").glob("swagger-ui-*"))
    scalar = _package_dir("star_openapi_scalar", "templates", "scalar", "js")
    return [swagger, scalar, Path(__file__).parent / "docs_assets"]


def docs_assets_router() -> Router:
    return create_static_files_router(
        path=DOCS_ASSETS_PATH,
        directories=docs_asset_directories(),
        include_in_schema=False,
        opt={"exclude_from_auth": True},
        cache_control=None,
    )


def docs_render_plugins() -> list[OpenAPIRenderPlugin]:
    favicon = f"<link rel='icon' type='image/png' href='{DOCS_ASSETS_PATH}/favicon-32x32.png'>"
    return [
        ScalarRenderPlugin(
            js_url=f"{DOCS_ASSETS_PATH}/{_SCALAR_JS}", css_url=f"{DOCS_ASSETS_PATH}/scalar.css", favicon=favicon
        ),
        SwaggerRenderPlugin(
            path="/swagger",
            js_url=f"{DOCS_ASSETS_PATH}/swagger-ui-bundle.js",
            css_url=f"{DOCS_ASSETS_PATH}/swagger-ui.css",
            standalone_preset_js_url=f"{DOCS_ASSETS_PATH}/swagger-ui-standalone-preset.js",
            favicon=favicon,
        ),
    ]


def docs_openapi_config(*, title: str, version: str, description: str) -> OpenAPIConfig:
    return OpenAPIConfig(
        title=title,
        version=version,
        description=description,
        path="/schema",
        render_plugins=docs_render_plugins(),
    )


# --- the document ---------------------------------------------------------------------------

_PROBLEM_SCHEMA = Schema(
    type=OpenAPIType.OBJECT,
    description="RFC 9457 problem details. `type` is a stable URI per kind of problem.",
    required=["type", "title", "status"],
    properties={
        "type": Schema(type=OpenAPIType.STRING, format=None, examples=["https://stayflow.dev/problems/not-found"]),
        "title": Schema(type=OpenAPIType.STRING, examples=["Not Found"]),
        "status": Schema(type=OpenAPIType.INTEGER, minimum=400, maximum=599),
        "detail": Schema(type=OpenAPIType.STRING),
        "errors": Schema(
            type=OpenAPIType.ARRAY,
            description="Field-level messages of a validation failure.",
            items=Reference("#/components/schemas/FieldError"),
        ),
    },
)
_FIELD_ERROR_SCHEMA = Schema(
    type=OpenAPIType.OBJECT,
    required=["field", "message"],
    properties={
        "field": Schema(type=OpenAPIType.STRING, description="The field, parameter or `body`."),
        "message": Schema(type=OpenAPIType.STRING),
        "source": Schema(
            one_of=[Schema(type=OpenAPIType.STRING), Schema(type=OpenAPIType.NULL)],
            description="Where the field was: `body`, `query`, `path`, `header`, `cookie`.",
        ),
    },
)

_WHEN = {
    400: "The request body is not valid JSON.",
    401: "No valid access token (send `Authorization: Bearer <token>`), or wrong credentials.",
    403: "The caller may not do this.",
    404: "Nothing here, or nothing the caller may see.",
    409: "Conflicts with the current state (dates taken, an illegal status change, a duplicate).",
    413: "The request body is too large.",
    422: "The input is not valid; `errors` names each field.",
    429: "Too many requests; wait the `Retry-After` seconds.",
    503: "Not ready: a dependency is unreachable.",
}


def _problem(status: int) -> OResponse:
    headers: dict[str, OpenAPIHeader | Reference] | None = None
    if status == 429:
        headers = {"Retry-After": OpenAPIHeader(schema=Schema(type=OpenAPIType.INTEGER), description="Seconds.")}
    return OResponse(
        description=_WHEN.get(status, HTTPStatus(status).phrase),
        headers=headers,
        content={PROBLEM_MEDIA_TYPE: OpenAPIMediaType(schema=Reference("#/components/schemas/Problem"))},
    )


def _rate_limited(handler: Any) -> bool:
    return any(
        isinstance(getattr(m, "middleware", None), type) and issubclass(m.middleware, RateLimitMiddleware)
        for m in handler.resolve_middleware()
    )


def _describe_operation(operation: Operation, handler: Any, method: str, public: bool, path: str) -> None:
    responses = operation.responses if operation.responses is not None else {}
    operation.responses = responses
    has_body = operation.request_body is not None
    parameters = [p for p in operation.parameters or [] if isinstance(p, Parameter)]
    statuses: set[int] = set()
    if "400" in responses or has_body or method in _WRITES:
        statuses.add(400)  # replaces Litestar's own `ValidationException` schema; a raw body read may fail too
    if has_body:
        statuses.add(413)
    if has_body or parameters:
        statuses.add(422)
    statuses.add(401)  # public routes too: a bad token, or bad credentials (login, refresh, reset)
    if not public:
        statuses.add(403)
    if "{" in path:
        statuses.add(404)
    if method in _WRITES:
        statuses.add(409)
    if _rate_limited(handler):
        statuses.add(429)
    statuses |= _ALSO.get((method, path), set())
    for status in sorted(statuses):
        responses[str(status)] = _problem(status)
    operation.security = [] if public else [{BEARER_SCHEME: []}]


def _undocumented_paths() -> dict[str, PathItem]:
    """Routes Litestar does not list: the metrics scrape, the live WebSocket and uploaded media."""
    text = Schema(type=OpenAPIType.STRING)
    return {
        METRICS_PATH: PathItem(
            get=Operation(
                tags=["operations"],
                operation_id="metrics",
                summary="Request metrics in Prometheus' text format",
                security=[],
                responses={
                    "200": OResponse(
                        description="Prometheus exposition format.",
                        content={"text/plain": OpenAPIMediaType(schema=text)},
                    )
                },
            )
        ),
        "/api/v1/ws": PathItem(
            get=Operation(
                tags=["live"],
                operation_id="liveUpdates",
                summary="Live updates over a WebSocket",
                description="Open with a WebSocket upgrade. Authenticate with `?token=<access token>` or a first "
                'frame `{"type": "auth", "token": …}`; the server then sends `ready` and pushes '
                "messages, notifications and booking changes as JSON frames. It closes with code 4401 "
                "when the token is missing, expires or its session is revoked.",
                security=[],
                parameters=[
                    Parameter(name="token", param_in="query", required=False, schema=text, description="Access token.")
                ],
                responses={"101": OResponse(description="Switching Protocols: the WebSocket is open.")},
            )
        ),
        f"{MEDIA_URL_PREFIX}/{{file_path}}": PathItem(
            get=Operation(
                tags=["media"],
                operation_id="media",
                summary="An uploaded photo at its stable URL",
                security=[],
                parameters=[Parameter(name="file_path", param_in="path", required=True, schema=text)],
                responses={
                    "200": OResponse(
                        description="The image.",
                        content={
                            f"image/{kind}": OpenAPIMediaType(schema=Schema(type=OpenAPIType.STRING, format=None))
                            for kind in ("jpeg", "png", "webp")
                        },
                    ),
                    "404": _problem(404),
                },
            )
        ),
    }


def describe_truthfully(openapi: OpenAPI, routes: dict[str, HTTPRoute], is_public: Callable[[str, Any], bool]) -> None:
    for route in routes.values():
        path = route.path_format or "/"
        path_item = openapi.paths.get(path) if openapi.paths else None
        if path_item is None:
            continue
        for method, (handler, _) in route.route_handler_map.items():
            operation = getattr(path_item, method.lower(), None)
            if isinstance(operation, Operation):
                _describe_operation(operation, handler, method, is_public(path, handler), path)
    openapi.paths = {**(openapi.paths or {}), **_undocumented_paths()}
    if openapi.components.schemas is None:
        openapi.components.schemas = {}
    openapi.components.schemas |= {"Problem": _PROBLEM_SCHEMA, "FieldError": _FIELD_ERROR_SCHEMA}


class _TruthfulOpenAPIPlugin(OpenAPIPlugin):
    """Litestar's own plugin (it always builds it itself), finishing the document it builds once."""

    __slots__ = ()
    is_public: Callable[[str, Any], bool] = staticmethod(lambda _path, _handler: False)

    def _build_openapi(self) -> OpenAPI:
        openapi = super()._build_openapi()
        describe_truthfully(openapi, self.included_routes, type(self).is_public)
        return openapi


def document_truthfully(app: Litestar, jwt_auth: JWTAuth[Any, Any]) -> None:
    """Make `app`'s OpenAPI document (`/schema/openapi.json`, the docs UIs) say what the API does."""
    excluded = jwt_auth.exclude if isinstance(jwt_auth.exclude, list) else [jwt_auth.exclude or "$^"]
    pattern = re.compile("|".join(excluded))

    def is_public(path: str, handler: Any) -> bool:
        return bool(handler.opt.get(jwt_auth.exclude_opt_key)) or bool(pattern.search(path))

    plugin = app.plugins.get(OpenAPIPlugin)
    # The plugin's slots forbid per-instance overrides; a subclass per app carries this app's rule.
    plugin.__class__ = type(
        "TruthfulOpenAPIPlugin", (_TruthfulOpenAPIPlugin,), {"__slots__": (), "is_public": staticmethod(is_public)}
    )
