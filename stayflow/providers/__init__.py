"""Clients of the outside world, each behind one small interface and chosen by settings in
one place (`email_sender_for`, `sms_sender_for`, `payments_for`). With no keys set, local fakes
stand in so that a developer can run everything offline."""


class DeliveryError(Exception):
    """The provider did not take the message. `permanent`: retrying cannot help."""

    def __init__(self, detail: str, *, permanent: bool) -> None:
        super().__init__(detail)
        self.permanent = permanent


def permanent_http_failure(status: int) -> bool:
    """A 4xx other than timeouts and rate limits: the same request will fail again."""
    return 400 <= status < 500 and status not in (408, 429)
