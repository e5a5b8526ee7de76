"""Piccolo tables and migrations: the system of record. Nothing else lives here."""

from models.audit import AuditEntry
from models.bookings import Booking, Invoice, InvoiceCounter, LedgerEntry, Payment, StripeEvent
from models.identity import PasswordResetToken, RateLimitBucket, RefreshToken, RevokedAccessToken, Session, User
from models.listings import CalendarBlock, Listing, ListingPhoto, ListingReport, PriceOverride
from models.messages import Message
from models.platform import PlatformSettings
from models.reviews import Review

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
    Payment,
    LedgerEntry,
    Invoice,
    InvoiceCounter,
    StripeEvent,
    PlatformSettings,
    Review,
    AuditEntry,
)

__all__ = [
    "ALL_TABLES",
    "AuditEntry",
    "Booking",
    "CalendarBlock",
    "Invoice",
    "InvoiceCounter",
    "LedgerEntry",
    "Listing",
    "ListingPhoto",
    "ListingReport",
    "Message",
    "PasswordResetToken",
    "Payment",
    "PlatformSettings",
    "PriceOverride",
    "RateLimitBucket",
    "RefreshToken",
    "Review",
    "RevokedAccessToken",
    "Session",
    "StripeEvent",
    "User",
]
