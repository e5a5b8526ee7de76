"""A host's monthly payout statement as a PDF (fpdf2, landscape A4), in the invoices' fonts:
Noto Sans, with Noto Sans CJK for a name or title that needs it (`stayflow.invoice_pdf`)."""

from __future__ import annotations

from typing import Literal

from fpdf import FPDF

from stayflow.invoice_pdf import CJK, TEXT, cjk_font, needs_cjk, text_font_at
from stayflow.rules.payouts import Statement, StatementLine, StatementTotal
from stayflow.templates import money

# (heading, width in mm, right-aligned)
_COLUMNS = (
    ("Guest", 24, False),
    ("Listing", 46, False),
    ("Check-in", 20, False),
    ("Nights", 12, True),
    ("Gross", 24, True),
    ("Host fee", 21, True),
    ("Earnings", 24, True),
    ("Refunded", 22, True),
    ("Reversed", 22, True),
    ("Paid", 24, True),
    ("Paid at", 20, False),
    ("Status", 18, False),
)
_STATUS = {"partially_reversed": "part reversed"}


def _fit(pdf: FPDF, text: str, width: float) -> str:
    """`text` cut with an ellipsis to fit a cell `width` mm wide."""
    room = width - 2 * pdf.c_margin
    if pdf.get_string_width(text) <= room:
        return text
    while text and pdf.get_string_width(text + "…") > room:
        text = text[:-1]
    return text.rstrip() + "…"


def _row(pdf: FPDF, cells: list[str], *, bold: bool = False, border: Literal[0, 1] | str = 0) -> None:
    pdf.set_font(TEXT, "B" if bold else "", 8)
    for (_, width, right), text in zip(_COLUMNS, cells, strict=True):
        pdf.cell(width, 6, _fit(pdf, text, width), border=border, align="R" if right else "L")
    pdf.ln(6)


def _line_cells(line: StatementLine) -> list[str]:
    c = line.currency
    return [
        line.guest_first_name,
        line.listing_title,
        line.check_in.isoformat(),
        str(line.nights),
        money(line.gross, c),
        money(line.host_fee, c),
        money(line.earnings, c),
        money(line.refunded, c),
        money(line.reversed, c),
        money(line.net_paid, c),
        line.paid_at.strftime("%Y-%m-%d") if line.paid_at else "",
        _STATUS.get(line.payout_status, line.payout_status),
    ]


def _total_cells(total: StatementTotal) -> list[str]:
    c = total.currency
    noun = "booking" if total.bookings == 1 else "bookings"
    return [
        f"Total {c}",
        f"{total.bookings} {noun}",
        "",
        "",
        money(total.gross, c),
        money(total.host_fee, c),
        money(total.earnings, c),
        money(total.refunded, c),
        money(total.reversed, c),
        money(total.net_paid, c),
        "",
        f"due {money(total.outstanding, c)}" if total.outstanding else "",
    ]


def render_statement(statement: Statement) -> bytes:
    pdf = FPDF(orientation="L", format="A4")
    pdf.set_title(f"Payout statement {statement.month}")
    pdf.add_font(TEXT, "", text_font_at(400))
    pdf.add_font(TEXT, "B", text_font_at(700))
    texts = [statement.host_name, *(t for line in statement.lines for t in (line.guest_first_name, line.listing_title))]
    if needs_cjk(*texts):
        pdf.add_font(CJK, "", cjk_font())
        pdf.set_fallback_fonts([CJK], exact_match=False)
    pdf.add_page()
    pdf.set_font(TEXT, "B", 16)
    pdf.cell(0, 10, f"Stayflow - Payout statement {statement.month}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(TEXT, "", 10)
    pdf.cell(0, 6, f"Host: {statement.host_name}", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(
        0, 6,
        f"Payouts released from {statement.starts_at:%Y-%m-%d %H:%M} UTC to {statement.ends_at:%Y-%m-%d %H:%M} UTC;"
        " amounts in each booking's currency, as the books stand today.",
        new_x="LMARGIN", new_y="NEXT",
    )  # fmt: skip
    pdf.ln(4)
    _row(pdf, [heading for heading, _, _ in _COLUMNS], bold=True, border="B")
    for line in statement.lines:
        _row(pdf, _line_cells(line))
    if not statement.lines:
        pdf.set_font(TEXT, "", 10)
        pdf.cell(0, 8, "No payouts are released in this month.", new_x="LMARGIN", new_y="NEXT")
    for total in statement.totals:
        _row(pdf, _total_cells(total), bold=True, border="T")
    pdf.ln(4)
    pdf.set_font(TEXT, "", 8)
    pdf.multi_cell(
        0, 5,
        "Gross: nights and cleaning fee. Earnings: gross less the host fee. Refunded: what cancellation refunds "
        "took back of the earnings. Reversed: taken back after the payout. Paid: transferred to your Stripe "
        "account, less reversals.",
    )  # fmt: skip
    return bytes(pdf.output())
