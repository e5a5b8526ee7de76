"""Every failure leaves the API as RFC 9457 `application/problem+json`.

`type` is a stable URI per kind of problem, `title` its human name, `detail` what happened
this time, and `errors` the field-level messages of a validation failure.
"""

from __future__ import annotations

import logging
import re
from http import HTTPStatus
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.plugins.problem_details import (
    ProblemDetailsConfig,
    ProblemDetailsException,
    ProblemDetailsPlugin,
)

log = logging.getLogger("stayflow.api")

PROBLEM_BASE = "https://stayflow.dev/problems/"

_SLUGS = {
    400: "bad-request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    413: "payload-too-large",
    415: "unsupported-media-type",
    422: "validation-error",
    429: "rate-limited",
    500: "internal-error",
    503: "unavailable",
}


class Problem(ProblemDetailsException):
    """Raise this from handlers: `Problem(409, "That email is already registered.")`."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        slug: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        if errors is not None:
            extra["errors"] = errors
        super().__init__(
            status_code=status,
            detail=detail,
            title=HTTPStatus(status).phrase,
            type_=PROBLEM_BASE + (slug or _SLUGS.get(status, "error")),
            headers=headers,
            extra=extra or None,
        )


def caused_by(exc: BaseException | None, kind: type[BaseException]) -> bool:
    """Whether `kind` is anywhere in the chain of causes (ORMs wrap driver errors)."""
    while exc is not None:
        if isinstance(exc, kind):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def field_errors(*pairs: tuple[str, str]) -> list[dict[str, Any]]:
    return [{"field": field, "message": message} for field, message in pairs]


def _from_http_exception(exc: HTTPException) -> ProblemDetailsException:
    if isinstance(exc, ProblemDetailsException):
        return exc
    status = exc.status_code
    if status >= 500:
        log.error("server error: %s", exc, exc_info=exc)
    headers = dict(exc.headers or {})
    if status == 429 and "Retry-After" not in headers:
        # Litestar's rate limiter sends RateLimit-Reset (seconds); HTTP clients look for Retry-After.
        headers["Retry-After"] = headers.get("RateLimit-Reset", "60")
    if isinstance(exc, ValidationException):
        return _from_validation(exc, headers)
    detail = exc.detail if exc.detail and exc.detail != HTTPStatus(status).phrase else _default_detail(status)
    return Problem(status, detail, headers=headers or None)


_MISSING_PARAMETER = re.compile(r"Missing required (\w+) parameter '([^']+)'")


def _from_validation(exc: ValidationException, headers: dict[str, str]) -> ProblemDetailsException:
    items = exc.extra if isinstance(exc.extra, list) else []
    errors = [
        {"field": item.get("key") or "body", "message": item.get("message", ""), "source": item.get("source")}
        for item in items
        if isinstance(item, dict)
    ]
    malformed = (
        any(
            "malformed" in str(e["message"]).lower() or "json is malformed" in str(e["message"]).lower() for e in errors
        )
        or "malformed" in str(exc.detail).lower()
    )
    if malformed:
        return Problem(400, "The request body is not valid JSON.", slug="malformed-body", errors=errors or None)
    missing = _MISSING_PARAMETER.match(str(exc.detail)) if not errors else None
    if missing:  # Litestar names a missing header, query or path parameter only in its detail
        source, name = missing.groups()
        errors = [{"field": name, "message": f"the {source} {name} is required", "source": source}]
        return Problem(422, f"The {source} {name} is required.", errors=errors, headers=headers or None)
    return Problem(422, "The request is not valid.", errors=errors, headers=headers or None)


def _default_detail(status: int) -> str:
    return {
        401: "Sign in first: send a valid access token as `Authorization: Bearer <token>`.",
        403: "You are not allowed to do this.",
        404: "Nothing here, or nothing you may see.",
        405: "This path does not take that method.",
        413: "The request body is too large.",
        429: "Too many requests; wait before trying again.",
    }.get(status, HTTPStatus(status).phrase)


def _unstorable_text(exc: BaseException | None) -> bool:
    """PostgreSQL refuses NUL characters in text; that is bad input, not our failure."""
    import asyncpg

    while exc is not None:
        if isinstance(
            exc, asyncpg.exceptions.CharacterNotInRepertoireError | asyncpg.exceptions.UntranslatableCharacterError
        ):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def internal_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    if _unstorable_text(exc):
        return Problem(
            422,
            "Text fields must not contain NUL characters.",
            slug="validation-error",
            errors=[{"field": "body", "message": "contains a NUL character"}],
        ).to_response(request)
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return Problem(500, "Something went wrong on our side; it has been logged.").to_response(request)


problem_details_plugin = ProblemDetailsPlugin(
    ProblemDetailsConfig(exception_to_problem_detail_map={HTTPException: _from_http_exception})
)
