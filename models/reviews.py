"""Reviews after a stay: the guest reviews the stay, the host reviews the guest (SPEC §7)."""

from piccolo.columns import JSONB, UUID, ForeignKey, Integer, OnDelete, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from models.bookings import Booking
from models.identity import User
from models.listings import Listing


class Review(Table, tablename="reviews"):
    id = UUID(primary_key=True)
    booking = ForeignKey(Booking, on_delete=OnDelete.restrict, index=True)
    listing = ForeignKey(Listing, on_delete=OnDelete.restrict, index=True)
    author = ForeignKey(User, on_delete=OnDelete.restrict)
    subject = ForeignKey(User, on_delete=OnDelete.restrict, index=True)
    """Who is reviewed: the host (guest's review of the stay) or the guest (host's review)."""
    author_role = Varchar(length=5)
    rating = Integer()
    categories = JSONB(null=True, default=None)
    comment = Text(default="")
    created_at = Timestamptz(default=TimestamptzNow())
    published_at = Timestamptz(null=True, default=None)
    """Double-blind: set when both have written or the review window closes."""
    reply = Text(null=True, default=None)
    replied_at = Timestamptz(null=True, default=None)
