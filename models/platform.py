"""Platform settings admins change at run time (one row). New bookings read them when priced."""

from piccolo.columns import JSONB, UUID, Boolean, Integer, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


class PlatformSettings(Table, tablename="platform_settings"):
    id = Integer(primary_key=True)
    """Always 1."""
    service_fee_bps = Integer(default=1200)
    """Guest service fee in basis points of the nights' subtotal (1200 = 12%)."""
    host_fee_bps = Integer(default=300)
    """Host service fee in basis points of nights + cleaning fee (300 = 3%), kept from the host's earnings."""
    tax_bps = Integer(default=0)
    """Taxes in basis points of nights + cleaning fee."""
    host_response_window_hours = Integer(default=24)
    review_window_days = Integer(default=14)
    listing_review_reminder_hours = Integer(default=24)
    """Admins are reminded when a listing has waited this long for review."""
    payout_delay_hours = Integer(default=24)
    """Hours after check-in when the host's payout is released (frozen per payout when scheduled)."""
    require_payouts_to_publish = Boolean(null=True, default=None)
    """Refuse to submit or publish a listing while its host's payout account cannot be paid. NULL:
    the deployment's default (on in production, off in dev and test; `stayflow.rules.payouts`)."""
    updated_at = Timestamptz(default=TimestamptzNow())


class ReconcilerRun(Table, tablename="reconciler_runs"):
    """One run of the reconciler (`ReconcileWorkflow`): what it found and what it repaired, by kind."""

    id = UUID(primary_key=True)
    workflow_id = Varchar(length=200, unique=True)
    """The run's workflow id (a retried last step records the run once)."""
    started_at = Timestamptz()
    finished_at = Timestamptz(default=TimestamptzNow())
    found = JSONB(default={})
    repaired = JSONB(default={})
    findings = JSONB(default=[])
    """Each finding: kind, booking, what was done (or why not)."""
