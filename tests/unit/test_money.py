from hypothesis import given
from hypothesis import strategies as st

from stayflow.money import format_money, minor_digits
from stayflow.templates import money


def test_amounts_read_in_their_currency_precision() -> None:
    assert format_money(123450, "USD") == "USD 1,234.50"
    assert format_money(1234, "JPY") == "JPY 1,234"
    assert format_money(12345, "KWD") == "KWD 12.345"
    assert format_money(0, "EUR") == "EUR 0.00"


def test_a_negative_amount_is_the_positive_one_with_a_minus() -> None:
    # The hand-written formatter printed -36,150 cents as "-362.50" (floor division).
    assert format_money(-36150, "USD") == "-USD 361.50"
    assert format_money(-5, "USD") == "-USD 0.05"


def test_emails_and_documents_use_the_same_formatter() -> None:
    assert money(-36150, "USD") == "-USD 361.50"


@given(st.integers(min_value=-(10**12), max_value=10**12), st.sampled_from(["USD", "EUR", "JPY", "KWD", "CLP"]))
def test_the_text_gives_back_the_exact_amount(amount: int, currency: str) -> None:
    text = format_money(amount, currency)
    digits = text.split(" ", 1)[1].replace(",", "").replace(".", "")
    assert int(digits) == abs(amount)
    assert text.startswith("-") == (amount < 0)
    assert minor_digits(currency) == (len(text.split(".")[1]) if "." in text else 0)
