"""When a guest may change a booking (SPEC §6 step 7), as pure functions.

A change is priced like a new booking; the difference is charged or refunded in full. So a
change that costs less is allowed only while the listing's cancellation policy would still give
the whole stay back: otherwise shortening a stay would be a way around the policy. The policy is
the booking's own (its frozen terms), and so is the clock its check-in is read on. How a sequence
of changes composes with the policy is `stayflow.rules.change_refunds`.
"""

from __future__ import annotations

import datetime as dt

from stayflow.rules.refunds import PaidStay, Policy, refund_for_cancellation


def change_refusal(*, paid: PaidStay, policy: Policy, difference: int, now: dt.datetime) -> str | None:
    """Why this change cannot be made now (in words, for the guest), or None when it can."""
    if paid.clock.stay_started(paid.nightly[0].date, now):
        return "The stay has started; it can no longer be changed."
    if difference < 0:
        decision = refund_for_cancellation(paid=paid, policy=policy, cancelled_by="guest", cancelled_at=now)
        if decision.amount < paid.total:
            return (
                "A change that costs less is refunded in full, so it is possible only while this listing's "
                f"cancellation policy would refund the whole stay; now: {decision.rule}."
            )
    return None
