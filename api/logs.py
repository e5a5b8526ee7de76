"""The API's access log, without secrets: a query parameter that carries a credential is logged as
`[redacted]`. The API takes no credential in a URL (the WebSocket authenticates with its first
frame), so this only catches clients that put one there anyway."""

from __future__ import annotations

import copy
import logging
import re
from typing import Any

SECRET_QUERY_PARAMETERS = ("token", "access_token", "refresh_token", "code", "password", "secret", "key")
_SECRET_IN_QUERY = re.compile(
    r"(?i)(?P<name>(?:^|[?&])(?:[^=&]*_)?(?:" + "|".join(SECRET_QUERY_PARAMETERS) + r"))=(?P<value>[^&#]*)"
)


def redacted_path(path: str) -> str:
    """`/api/v1/ws?token=eyJ…&x=1` → `/api/v1/ws?token=[redacted]&x=1`."""
    if "?" not in path:
        return path
    base, _, query = path.partition("?")
    return base + "?" + _SECRET_IN_QUERY.sub(lambda m: f"{m['name']}=[redacted]", query)


class RedactSecrets(logging.Filter):
    """On `uvicorn.access`: its record's args are (client, method, path with query, version, status)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], redacted_path(args[2]), *args[3:])
        return True


def access_log_config() -> dict[str, Any]:
    """uvicorn's logging configuration with `RedactSecrets` on the access log."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["redact_secrets"] = {"()": "api.logs.RedactSecrets"}
    config["handlers"]["access"]["filters"] = ["redact_secrets"]
    return config
