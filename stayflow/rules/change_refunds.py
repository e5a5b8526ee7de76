"""Changes compose with the cancellation policy (issue 11 item 3): the rule, as pure functions.

**No sequence of changes and a cancellation may give a guest more money back than cancelling at
the moment of the first change would have, plus what the guest paid for later changes.**

Without it a change is a way around the policy: move a moderate stay 3 days out to 40 days out
(same price, nothing charged), cancel, and the whole stay comes back instead of half its nights.
So the first applied change fixes `refund_at_first_change` (what a guest cancellation of the
booking as it stood then would have refunded, by its frozen terms), and from then on

    refunds of changes + refund of the cancellation <= refund_at_first_change + charges of changes

A cheaper change whose refund would break it is refused (409 naming the rule); a guest's
cancellation gets the policy's refund of the stay as it is now, but at most what the rule leaves.
A host's or admin's cancellation still gives everything back (the guest did nothing wrong).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from stayflow.rules.refunds import Refund

RULE = (
    "No sequence of changes and a cancellation may give a guest more money back than cancelling at the "
    "moment of the first change would have, plus what the guest paid for later changes."
)
RULE_SLUG = "changes-compose-with-the-policy"


@dataclass(frozen=True)
class ChangeHistory:
    """A booking's applied changes, as far as money back is concerned."""

    refund_at_first_change: int
    """What cancelling the booking as it stood at its first applied change would have refunded."""
    differences: Sequence[int] = ()
    """Each applied change's price difference: charged when positive, refunded when negative."""

    @property
    def charged(self) -> int:
        return sum(d for d in self.differences if d > 0)

    @property
    def refunded(self) -> int:
        return sum(-d for d in self.differences if d < 0)

    @property
    def most_back(self) -> int:
        """The most a cancellation may still give back under the rule."""
        return self.refund_at_first_change + self.charged - self.refunded

    def then(self, difference: int) -> ChangeHistory:
        return replace(self, differences=(*self.differences, difference))


def history_of(refunds_when_asked: Sequence[int], differences: Sequence[int]) -> ChangeHistory | None:
    """The history from a booking's applied changes, oldest first: for each, what cancelling the
    booking would have refunded when it was asked, and its difference. None: never changed."""
    if not refunds_when_asked:
        return None
    return ChangeHistory(refunds_when_asked[0], tuple(differences))


def change_breaks_rule(history: ChangeHistory | None, *, refund_now: int, difference: int) -> str | None:
    """Why this change would break the rule (for the guest), or None. `refund_now` is what
    cancelling the booking as it stands would refund now (it becomes the bound at a first change)."""
    after = (history or ChangeHistory(refund_now)).then(difference)
    if after.most_back < 0:
        return (
            f"{RULE} This change would refund {-difference} while at most {after.most_back - difference} "
            "may still come back; cancel under the policy instead."
        )
    return None


def refund_under_rule(refund: Refund, history: ChangeHistory | None) -> Refund:
    """A guest cancellation's policy refund, reduced to what the rule leaves after the changes
    (the service fee goes first, then the cleaning fee, the taxes, the nights)."""
    if history is None or refund.amount <= history.most_back:
        return refund
    over = refund.amount - max(0, history.most_back)
    parts = {"service_fee": refund.service_fee, "cleaning_fee": refund.cleaning_fee, "taxes": refund.taxes}
    parts["nights"] = refund.nights
    for name in ("service_fee", "cleaning_fee", "taxes", "nights"):
        cut = min(over, parts[name])
        parts[name] -= cut
        over -= cut
    return Refund(
        **parts,
        rule=(
            f"{refund.rule}; changes compose with the policy: at most {max(0, history.most_back)} back "
            f"(cancelling at the first change would have refunded {history.refund_at_first_change}, "
            f"plus {history.charged} paid for changes, less {history.refunded} already refunded for them)"
        ),
    )
