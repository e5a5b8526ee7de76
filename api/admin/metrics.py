"""Admin: the marketplace in numbers (SPEC §9); what is counted, and how, is in
`api.admin.metrics_service`."""

from __future__ import annotations

from litestar import Controller, get
from litestar.di import NamedDependency

from api.admin.metrics_service import Metrics, platform_metrics
from api.security import requires_admin
from stayflow.settings import Settings
from stayflow.temporal import TemporalGateway


class AdminMetricsController(Controller):
    path = "/api/v1/admin/metrics"
    tags = ["admin"]
    guards = [requires_admin]

    @get(operation_id="adminMetrics", summary="Users, listings, bookings, money and workflows in numbers")
    async def metrics(self, settings: NamedDependency[Settings], temporal: NamedDependency[TemporalGateway]) -> Metrics:
        return await platform_metrics(temporal, settings.task_queue)
