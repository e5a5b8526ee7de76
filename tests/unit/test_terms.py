import json

from stayflow.rules.terms import BookingTerms, stored_terms, terms_json


def test_terms_read_back_as_they_were_frozen() -> None:
    terms = BookingTerms(
        cancellation_policy="strict", guest_fee_bps=1200, host_fee_bps=300, tax_bps=700, currency="EUR"
    )
    stored = terms_json(terms)
    assert stored_terms(stored) == terms
    assert stored_terms(json.dumps(stored)) == terms  # as piccolo may hand JSONB over
    assert stored["check_in_time"] == "15:00" and stored["time_zone"] == "UTC"
