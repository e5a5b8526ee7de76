"""`GET /metrics`: the API's request metrics in Prometheus' text format (Litestar's Prometheus plugin).

Series: `stayflow_api_requests_total` and `stayflow_api_request_duration_seconds` (a histogram),
labelled by method, route template (`/api/v1/bookings/{booking_id}`, never the raw path, so ids
do not multiply series) and status code; `stayflow_api_requests_in_progress`;
`stayflow_api_requests_error_total` (5xx). Several API processes on one host share counts through
prometheus_client's multiprocess mode: set `PROMETHEUS_MULTIPROC_DIR` to an empty directory.
"""

from __future__ import annotations

from litestar.config.app import AppConfig
from litestar.middleware._internal.exceptions import ExceptionHandlerMiddleware
from litestar.plugins.prometheus import PrometheusConfig, PrometheusController, PrometheusMiddleware
from litestar.types import ASGIApp

METRICS_PATH = "/metrics"


class _RequestMetricsMiddleware(PrometheusMiddleware):
    """Counts every answer with its real status. It runs outside the JWT and rate-limit middleware
    (so refused requests count too); those raise their 401/429 rather than send it, so the stack
    below is wrapped in Litestar's exception handling, which turns them into the answers we count."""

    def __init__(self, app: ASGIApp, config: PrometheusConfig) -> None:
        super().__init__(ExceptionHandlerMiddleware(app=app, debug=None), config)


class MetricsController(PrometheusController):
    path = METRICS_PATH
    include_in_schema = False
    opt = {"exclude_from_auth": True}


metrics_config = PrometheusConfig(
    app_name="stayflow-api",
    prefix="stayflow_api",
    group_path=True,
    exclude=[f"^{METRICS_PATH}$"],  # scrapes are not traffic
    middleware_class=_RequestMetricsMiddleware,
)


def instrument_requests(app_config: AppConfig) -> AppConfig:
    """`on_app_init` hook, registered after the JWT auth's: puts the metrics middleware outermost."""
    app_config.middleware.insert(0, metrics_config.middleware)
    return app_config


__all__ = ["METRICS_PATH", "MetricsController", "instrument_requests", "metrics_config"]
