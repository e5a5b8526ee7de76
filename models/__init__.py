"""Piccolo tables and migrations: the system of record. Nothing else lives here."""

from models.audit import AuditEntry
from models.bookings import Booking, BookingChange, Invoice, InvoiceCounter, LedgerEntry, Payment, StripeEvent
from models.calendar_sync import CalendarFeed, ListingCalendarToken
from models.conversations import Conversation, ConversationMessage
from models.identity import PasswordResetToken, RateLimitBucket, RefreshToken, RevokedAccessToken, Session, User
from models.listings import CalendarBlock, Listing, ListingPhoto, ListingReport, ListingSeason, PriceOverride
from models.messages import Message, Notification, NotificationPreference
from models.payouts import Dispute, HostPayoutAccount, LedgerPosting, Payout
from models.platform import PlatformSettings, ReconcilerRun
from models.reviews import Review

ALL_TABLES = (
    User,
    Session,
    RefreshToken,
    RevokedAccessToken,
    PasswordResetToken,
    RateLimitBucket,
    Message,
    Notification,
    NotificationPreference,
    Listing,
    ListingPhoto,
    CalendarBlock,
    PriceOverride,
    ListingSeason,
    CalendarFeed,
    ListingCalendarToken,
    ListingReport,
    Booking,
    BookingChange,
    Payment,
    LedgerEntry,
    Invoice,
    InvoiceCounter,
    StripeEvent,
    PlatformSettings,
    Review,
    Conversation,
    ConversationMessage,
    AuditEntry,
    HostPayoutAccount,
    Payout,
    Dispute,
    LedgerPosting,
    ReconcilerRun,
)

__all__ = [
    "ALL_TABLES",
    "AuditEntry",
    "Booking",
    "BookingChange",
    "CalendarBlock",
    "CalendarFeed",
    "Conversation",
    "ConversationMessage",
    "Dispute",
    "HostPayoutAccount",
    "Invoice",
    "InvoiceCounter",
    "LedgerEntry",
    "LedgerPosting",
    "Listing",
    "ListingCalendarToken",
    "ListingPhoto",
    "ListingReport",
    "ListingSeason",
    "Message",
    "Notification",
    "NotificationPreference",
    "PasswordResetToken",
    "Payment",
    "Payout",
    "PlatformSettings",
    "PriceOverride",
    "RateLimitBucket",
    "ReconcilerRun",
    "RefreshToken",
    "Review",
    "RevokedAccessToken",
    "Session",
    "StripeEvent",
    "User",
]
