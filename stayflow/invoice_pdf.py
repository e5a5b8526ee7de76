"""An invoice, receipt or credit note as a one-page PDF (fpdf2, no system dependencies)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fpdf import FPDF

from stayflow.templates import money

TITLES = {"invoice": "Invoice", "receipt": "Receipt", "credit_note": "Credit note"}


def render_document(*, kind: str, number: str, issued_at: dt.datetime, billed_to: str, currency: str,
                    lines: list[dict[str, Any]], total: int) -> bytes:  # fmt: skip
    pdf = FPDF(format="A4")
    pdf.set_title(f"{TITLES.get(kind, kind)} {number}")
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 18)
    pdf.cell(0, 12, f"Stayflow - {TITLES.get(kind, kind)} {number}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 11)
    pdf.cell(0, 7, f"Issued: {issued_at:%Y-%m-%d %H:%M} UTC", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 7, f"Billed to: {billed_to}", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)
    pdf.set_font("Helvetica", "B", 11)
    pdf.cell(140, 8, "Description", border="B")
    pdf.cell(0, 8, "Amount", border="B", align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 11)
    for line in lines:
        description = str(line["description"]).encode("latin-1", "replace").decode("latin-1")
        pdf.cell(140, 7, description[:80])
        pdf.cell(0, 7, money(int(line["amount"]), currency), align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "B", 12)
    pdf.cell(140, 10, "Total", border="T")
    pdf.cell(0, 10, money(total, currency), border="T", align="R", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
