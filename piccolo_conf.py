"""Piccolo's entry point: the engine (one asyncpg pool per process) and the app registry."""

from piccolo.conf.apps import AppRegistry
from piccolo.engine.postgres import PostgresEngine

from stayflow.settings import get_settings

_settings = get_settings()


DB = PostgresEngine(
    config={
        "dsn": _settings.database_dsn,  # without STAYFLOW_DATABASE_URL: `make dev`'s embedded PostgreSQL
        # Search statements are prepared; a generic plan cannot see the dates or the price range
        # and picks hash anti-joins over all bookings (see docs/architecture.md, "Search performance").
        "server_settings": {"plan_cache_mode": "force_custom_plan"},
    },
    # Extensions are created by migrations, not by every process at start-up.
    extensions=(),
    log_queries=False,
)

APP_REGISTRY = AppRegistry(apps=["models.piccolo_app"])
