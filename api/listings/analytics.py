"""Host analytics (SPEC §9): occupancy, nights, revenue, rates and bookings per listing and in
total; what each figure counts is in `api.listings.analytics_service`."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.params import QueryParameter

from api.listings.analytics_service import Analytics, host_analytics
from api.security import CurrentUser


class HostAnalyticsController(Controller):
    path = "/api/v1/host/analytics"
    tags = ["host"]

    @get(operation_id="hostAnalytics", summary="Occupancy, nights, revenue, rates, bookings per listing and in total")
    async def analytics(
        self,
        request: Request[CurrentUser, Any, Any],
        from_: Annotated[dt.date, QueryParameter(name="from", description="first day of the period")],
        to: Annotated[dt.date, QueryParameter(description="day after the last day of the period")],
    ) -> Analytics:
        return await host_analytics(request.user.id, from_, to)
