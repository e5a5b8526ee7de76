"""Host-guest messaging (SPEC §8): conversations about a listing or a booking, and their messages.

Not to be confused with `messages` (models/messages.py), the record of emails and SMS we send.
Every message has a sequence number within its conversation (`seq`, 1, 2, 3 …, assigned under
the conversation's row lock), and each participant's read marker is the last `seq` they read,
so unread counts are exact. One conversation per booking, and one inquiry per listing and
guest (partial unique indexes, migration m0014).
"""

from piccolo.columns import UUID, ForeignKey, Integer, OnDelete, Text, Timestamptz
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from models.bookings import Booking
from models.identity import User
from models.listings import Listing


class Conversation(Table, tablename="conversations"):
    id = UUID(primary_key=True)
    listing = ForeignKey(Listing, on_delete=OnDelete.restrict, index=True)
    booking = ForeignKey(Booking, on_delete=OnDelete.restrict, null=True, default=None)
    """Set for a conversation about a booking; null for a guest's inquiry about a listing."""
    host = ForeignKey(User, on_delete=OnDelete.restrict)
    guest = ForeignKey(User, on_delete=OnDelete.restrict)
    last_seq = Integer(default=0)
    """`seq` of the newest message."""
    host_last_read_seq = Integer(default=0)
    guest_last_read_seq = Integer(default=0)
    created_at = Timestamptz(default=TimestamptzNow())
    last_message_at = Timestamptz(default=TimestamptzNow())
    """Newest activity: the inbox is sorted by it."""


class ConversationMessage(Table, tablename="conversation_messages"):
    id = UUID(primary_key=True)
    conversation = ForeignKey(Conversation, on_delete=OnDelete.cascade)
    seq = Integer()
    sender = ForeignKey(User, on_delete=OnDelete.restrict)
    body = Text()
    created_at = Timestamptz(default=TimestamptzNow())
