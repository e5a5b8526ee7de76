"""`create_app()`: the whole API assembled in one readable place."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncGenerator
from typing import Any

from litestar import Litestar, Router
from litestar.datastructures import State
from litestar.di import Provide
from litestar.static_files import create_static_files_router
from litestar.stores.memory import MemoryStore
from litestar.stores.registry import StoreRegistry
from temporalio.client import Client

from api.accounts.admin import AdminUsersController
from api.accounts.auth import AuthController, SessionsController, auth_rate_limit
from api.accounts.phone import PhoneController
from api.accounts.users import MeController, PublicProfileController
from api.accounts.verification import EmailVerificationController
from api.admin.audit import AuditLogController
from api.admin.metrics import AdminMetricsController
from api.admin.settings import AdminSettingsController
from api.bookings.controllers import AdminBookingsController, BookingsController, HostBookingsController
from api.calendar.controllers import CalendarController
from api.calendar.feeds import CalendarFeedsController
from api.conversations.controllers import ConversationsController
from api.conversations.live import LiveHub, live_updates
from api.dev import DevOutboxController
from api.disputes.controllers import AdminDisputesController
from api.errors import exception_handlers, problem_details_plugin
from api.headers import security_headers_hook
from api.health import HealthController
from api.ledger.controllers import AdminLedgerController
from api.listings.analytics import HostAnalyticsController
from api.listings.controllers import AmenitiesController, HostListingsController, ListingsController
from api.listings.media_access import photo_is_public
from api.listings.moderation import AdminListingsController, AdminReportsController, ReportsController
from api.listings.photos import PhotosController
from api.metrics import MetricsController, instrument_requests
from api.notifications.controllers import NotificationPreferencesController, NotificationsController
from api.openapi import docs_assets_router, docs_openapi_config, document_truthfully
from api.payments.controllers import PaymentsController, StripeWebhookController
from api.payouts.controllers import HostPayoutsController
from api.proxies import client_address_middleware
from api.reviews.controllers import (
    BookingReviewsController,
    ListingReviewsController,
    ReviewRepliesController,
    UserReviewsController,
)
from api.security import TokenIssuer, build_jwt_auth
from stayflow.providers.payments import payments_for
from stayflow.settings import Settings, get_settings
from stayflow.storage import MEDIA_URL_PREFIX, media_root, media_storage_for
from stayflow.temporal import TemporalGateway

log = logging.getLogger("stayflow.api")


def create_app(settings: Settings | None = None, *, temporal_client: Client | None = None) -> Litestar:
    settings = settings or get_settings()
    settings.check_can_start()
    jwt_auth = build_jwt_auth(settings)
    tokens = TokenIssuer(jwt_auth, settings)
    temporal = TemporalGateway(settings, temporal_client)
    payments = payments_for(settings)
    storage = media_storage_for(settings)
    media_root(settings).mkdir(parents=True, exist_ok=True)
    live = LiveHub()

    @contextlib.asynccontextmanager
    async def database_pool(_: Litestar) -> AsyncGenerator[None, None]:
        from piccolo_conf import DB

        owns_pool = DB.pool is None  # tests share one pool across many apps
        if owns_pool:
            await DB.start_connection_pool(min_size=1, max_size=20)
        try:
            yield
        finally:
            if owns_pool:
                await DB.close_connection_pool()

    @contextlib.asynccontextmanager
    async def live_delivery(_: Litestar) -> AsyncGenerator[None, None]:
        from piccolo_conf import DB

        async with live.running(DB.config["dsn"]):
            yield

    route_handlers: list[Any] = [
        HealthController,
        MetricsController,
        # Per-IP rate limit on the public auth routes (login, register, forgot, reset, refresh).
        Router(path="/", route_handlers=[AuthController], middleware=[auth_rate_limit(settings).middleware]),
        EmailVerificationController,
        SessionsController,
        MeController,
        PhoneController,
        PublicProfileController,
        AdminUsersController,
        AmenitiesController,
        ListingsController,
        HostListingsController,
        PhotosController,
        CalendarController,
        CalendarFeedsController,
        ReportsController,
        AdminListingsController,
        AdminReportsController,
        BookingsController,
        HostBookingsController,
        PaymentsController,
        StripeWebhookController,
        HostPayoutsController,
        AdminLedgerController,
        AdminDisputesController,
        HostAnalyticsController,
        BookingReviewsController,
        ListingReviewsController,
        UserReviewsController,
        ReviewRepliesController,
        NotificationsController,
        NotificationPreferencesController,
        ConversationsController,
        live_updates,
        AdminBookingsController,
        AdminSettingsController,
        AdminMetricsController,
        AuditLogController,
        # Uploaded photos at stable URLs (a CDN or the S3 store's own URLs take over in production).
        create_static_files_router(
            path=MEDIA_URL_PREFIX,
            directories=[media_root(settings)],
            guards=[photo_is_public],  # a suspended listing's photos are not public
            include_in_schema=False,
            opt={"exclude_from_auth": True},
        ),
        docs_assets_router(),
    ]
    if settings.env in ("dev", "test"):  # it holds reset links: never in production
        route_handlers.append(DevOutboxController)

    app = Litestar(
        route_handlers=route_handlers,
        lifespan=[database_pool, live_delivery],
        on_app_init=[jwt_auth.on_app_init, instrument_requests],
        plugins=[problem_details_plugin],
        exception_handlers={**exception_handlers},  # a copy: plugins add their own to it
        dependencies={
            "settings": Provide(lambda: settings, use_cache=True, sync_to_thread=False),
            "tokens": Provide(lambda: tokens, use_cache=True, sync_to_thread=False),
            "temporal": Provide(lambda: temporal, use_cache=True, sync_to_thread=False),
            "payments": Provide(lambda: payments, use_cache=True, sync_to_thread=False),
            "storage": Provide(lambda: storage, use_cache=True, sync_to_thread=False),
            "live": Provide(lambda: live, use_cache=True, sync_to_thread=False),
        },
        stores=StoreRegistry(default_factory=lambda _name: MemoryStore()),
        middleware=client_address_middleware(settings),  # the client's address: trusted proxies only
        before_send=[security_headers_hook(settings)],  # on every answer, errors included
        request_max_body_size=settings.max_request_body_bytes,
        state=State({"settings": settings, "live": live}),
        openapi_config=docs_openapi_config(
            title="Stayflow API",
            version="0.1.0",
            description="Short-term rental marketplace: accounts, listings, bookings, payments. "
            "Errors are RFC 9457 problem details; money is integer minor units.",
        ),
        debug=False,
    )
    document_truthfully(app, jwt_auth)
    return app


def app_factory() -> Litestar:
    """Entry point for `uvicorn --factory api.app:app_factory`."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    return create_app()
