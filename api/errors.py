"""Every failure leaves the API as RFC 9457 `application/problem+json`.

`type` is a stable URI per kind of problem, `title` its human name, `detail` what happened
this time, and `errors` the field-level messages of a validation failure.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from http import HTTPStatus
from typing import Any

import asyncpg
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.plugins.problem_details import (
    ProblemDetailsConfig,
    ProblemDetailsException,
    ProblemDetailsPlugin,
)
from temporalio.client import WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.service import RPCError

from stayflow.temporal import TemporalUnavailable

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


def invalid_fields(problems: Sequence[tuple[str, str]]) -> Problem:
    """The 422 for (field, message) pairs: every message in `detail`, each next to its field in `errors`."""
    return Problem(422, "; ".join(f"{field}: {message}" for field, message in problems), errors=field_errors(*problems))


def invalid(field: str, message: str) -> Problem:
    """The 422 for one field: `raise invalid("listing_id", "you cannot book your own listing")`."""
    return invalid_fields([(field, message)])


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
    # Litestar's own 404s may name server paths (the media files' "no file … match the path /srv/…").
    echo = exc.detail and exc.detail != HTTPStatus(status).phrase and status != 404
    detail = exc.detail if echo else _default_detail(status)
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


# What a failure of the database or of Temporal means to the caller, when the service that met it
# had nothing more specific to say (`create_app` registers these as its exception handlers).


def _update_refused(exc: WorkflowUpdateFailedError) -> Problem:
    """The process's validator refused the update: its state does not allow it (any more)."""
    return Problem(409, str(exc.cause or exc), slug="illegal-transition")


def _update_unanswered(exc: WorkflowUpdateRPCTimeoutOrCancelledError) -> Problem:
    """Unknown whether the process took the update: repeating the (idempotent) request is safe."""
    return Problem(
        503,
        "This is taking long; repeat the request with the same Idempotency-Key to see how it went.",
        slug="unavailable",
        headers={"Retry-After": "10"},
    )


RETRY_AFTER_SECONDS = "5"


def _temporal_unreachable(exc: RPCError | TemporalUnavailable) -> Problem:
    log.warning("Temporal refused, did not answer in time or could not be reached: %s", exc)
    return Problem(
        503,
        "Our background processes cannot take this right now; try again in a moment.",
        headers={"Retry-After": RETRY_AFTER_SECONDS},
    )


def _database_unavailable(exc: Exception) -> Problem:
    """PostgreSQL is down, restarting or refusing connections: nothing was done, try again."""
    log.warning("PostgreSQL unavailable: %s", exc)
    return Problem(
        503,
        "Our database is unavailable right now; nothing was changed. Try again in a moment.",
        headers={"Retry-After": RETRY_AFTER_SECONDS},
    )


def _dates_taken(exc: asyncpg.exceptions.ExclusionViolationError) -> Problem:
    """The only exclusion constraint: two bookings holding one night of a listing."""
    return Problem(409, "Those dates were just taken.", slug="dates-unavailable")


def _already_exists(exc: asyncpg.exceptions.UniqueViolationError) -> Problem:
    return Problem(409, "This exists already (a request racing itself?); reload and try again.", slug="conflict")


def _unstorable_text(exc: asyncpg.exceptions.DataError) -> Problem:
    """PostgreSQL refuses NUL characters in text; that is bad input, not our failure."""
    return Problem(
        422,
        "Text fields must not contain NUL characters.",
        slug="validation-error",
        errors=[{"field": "body", "message": "contains a NUL character"}],
    )


_PROBLEM_FOR: dict[type[Exception], Callable[[Any], Problem]] = {
    WorkflowUpdateFailedError: _update_refused,
    WorkflowUpdateRPCTimeoutOrCancelledError: _update_unanswered,
    RPCError: _temporal_unreachable,
    TemporalUnavailable: _temporal_unreachable,
    # The server went away (restart, crash, admin shutdown), is starting, or refuses connections.
    asyncpg.exceptions.PostgresConnectionError: _database_unavailable,
    asyncpg.exceptions.ConnectionDoesNotExistError: _database_unavailable,
    asyncpg.exceptions.CannotConnectNowError: _database_unavailable,
    asyncpg.exceptions.OperatorInterventionError: _database_unavailable,
    asyncpg.exceptions.TooManyConnectionsError: _database_unavailable,
    ConnectionRefusedError: _database_unavailable,
    ConnectionResetError: _database_unavailable,
    asyncpg.exceptions.ExclusionViolationError: _dates_taken,
    asyncpg.exceptions.UniqueViolationError: _already_exists,
    asyncpg.exceptions.CharacterNotInRepertoireError: _unstorable_text,
    asyncpg.exceptions.UntranslatableCharacterError: _unstorable_text,
}


def _known_problem(exc: BaseException | None) -> Problem | None:
    """The problem for the first failure in the chain of causes that has one (ORMs wrap driver errors)."""
    while exc is not None:
        for kind in type(exc).__mro__:
            if kind in _PROBLEM_FOR:
                return _PROBLEM_FOR[kind](exc)
        exc = exc.__cause__ or exc.__context__
    return None


def internal_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    known = _known_problem(exc)
    if known is not None:
        return known.to_response(request)
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return Problem(500, "Something went wrong on our side; it has been logged.").to_response(request)


exception_handlers: dict[int | type[Exception], Callable[[Request[Any, Any, Any], Any], Response[Any]]] = {
    **{kind: internal_error_handler for kind in _PROBLEM_FOR},
    Exception: internal_error_handler,
}
"""For `create_app`: Temporal's refusals and timeouts, its RPC failures and PostgreSQL's constraint
violations become problems here, once, instead of in every handler."""


problem_details_plugin = ProblemDetailsPlugin(
    ProblemDetailsConfig(exception_to_problem_detail_map={HTTPException: _from_http_exception})
)
