"""Piccolo tables and migrations: the system of record. Nothing else lives here."""

from models.bookings import Booking
from models.identity import PasswordResetToken, RateLimitBucket, RefreshToken, RevokedAccessToken, Session, User
from models.listings import CalendarBlock, Listing, ListingPhoto, ListingReport, PriceOverride
from models.messages import Message
from models.platform import PlatformSettings

ALL_TABLES = (
    User,
    Session,
    RefreshToken,
    RevokedAccessToken,
    PasswordResetToken,
    RateLimitBucket,
    Message,
    Listing,
    ListingPhoto,
    CalendarBlock,
    PriceOverride,
    ListingReport,
    Booking,
    PlatformSettings,
)

__all__ = [
    "ALL_TABLES",
    "Booking",
    "CalendarBlock",
    "Listing",
    "ListingPhoto",
    "ListingReport",
    "Message",
    "PasswordResetToken",
    "PlatformSettings",
    "PriceOverride",
    "RateLimitBucket",
    "RefreshToken",
    "RevokedAccessToken",
    "Session",
    "User",
]
