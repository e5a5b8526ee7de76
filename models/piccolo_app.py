import os

from piccolo.conf.apps import AppConfig

from models.identity import (
    PasswordResetToken,
    RateLimitBucket,
    RefreshToken,
    RevokedAccessToken,
    Session,
    User,
)
from models.messages import Message

APP_CONFIG = AppConfig(
    app_name="models",
    migrations_folder_path=os.path.join(os.path.dirname(os.path.abspath(__file__)), "piccolo_migrations"),
    table_classes=[
        User,
        Session,
        RefreshToken,
        RevokedAccessToken,
        PasswordResetToken,
        RateLimitBucket,
        Message,
    ],
    migration_dependencies=[],
    commands=[],
)
