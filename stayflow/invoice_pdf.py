"""An invoice, receipt or credit note as a one-page PDF (fpdf2, no system dependencies).

Text is set in Noto Sans (Latin, Greek, Cyrillic: PyPI `fontpkg-noto-sans`, SIL OFL); a name or
line in Chinese, Japanese or Korean falls back to Noto Sans CJK (PyPI `cvttf-notosanscjk-regular`,
SIL OFL), loaded only for a document that needs it, because parsing it costs seconds.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import threading
from functools import cache
from importlib.metadata import version
from importlib.resources import files
from pathlib import Path
from typing import Any

from fpdf import FPDF

from stayflow.templates import money

TITLES = {"invoice": "Invoice", "receipt": "Receipt", "credit_note": "Credit note"}
TEXT = "NotoSans"
CJK = "NotoSansCJK"


@cache
def text_font() -> Path:
    return Path(str(files("fontpkg_noto_sans") / "files" / "NotoSans[wdth,wght].ttf"))


def font_cache_dirs() -> list[Path]:
    """Where made font instances are kept, best first: the user's cache (`$XDG_CACHE_HOME` or
    `~/.cache`), else a private folder of this user's in the temp dir."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return [base / "stayflow" / "fonts", Path(tempfile.gettempdir()) / f"stayflow-fonts-{os.getuid()}"]


@cache
def text_font_at(weight: int) -> Path:
    """A static instance of the variable text font, made once per installation and kept in the
    user's cache: instancing costs about 20 s of CPU (measured), which fpdf2 would otherwise spend on
    every document and a per-process copy on the first document of every API or worker process."""
    from fontTools.ttLib import TTFont
    from fontTools.varLib.instancer import instantiateVariableFont

    source = text_font()
    name = f"NotoSans-{version('fontpkg-noto-sans')}-{source.stat().st_size}-wght{weight}.ttf"
    for folder in font_cache_dirs():
        try:
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError:
            continue
        target = folder / name
        if target.exists():
            return target
        with TTFont(str(source)) as font:
            instance = instantiateVariableFont(font, {"wght": weight, "wdth": 100})
            # Two first renders at once (threads or processes) each write their own file; the
            # rename is atomic, so a reader never sees half a font.
            partial = target.with_suffix(f".{os.getpid()}.{threading.get_ident()}.partial")
            instance.save(str(partial))
            partial.replace(target)
        return target
    raise OSError("no writable folder for the invoice fonts: set XDG_CACHE_HOME")


@cache
def cjk_font() -> Path:
    return Path(str(files("cvttf_NotoSansCJK_Regular") / "NotoSansCJKtc-Regular.otf"))


@cache
def _text_coverage() -> frozenset[int]:
    from fontTools.ttLib import TTFont

    with TTFont(str(text_font()), lazy=True) as font:
        return frozenset(font.getBestCmap())


def needs_cjk(*texts: str) -> bool:
    """Whether some character is not in the text font (a whitespace or control character never is)."""
    covered = _text_coverage()
    return any(ord(c) not in covered and not c.isspace() for text in texts for c in text)


def render_document(*, kind: str, number: str, issued_at: dt.datetime, billed_to: str, currency: str,
                    lines: list[dict[str, Any]], total: int) -> bytes:  # fmt: skip
    descriptions = [str(line["description"])[:80] for line in lines]
    pdf = FPDF(format="A4")
    pdf.set_title(f"{TITLES.get(kind, kind)} {number}")
    pdf.add_font(TEXT, "", text_font_at(400))
    pdf.add_font(TEXT, "B", text_font_at(700))
    if needs_cjk(billed_to, *descriptions):
        pdf.add_font(CJK, "", cjk_font())
        pdf.set_fallback_fonts([CJK], exact_match=False)
    pdf.add_page()
    pdf.set_font(TEXT, "B", 18)
    pdf.cell(0, 12, f"Stayflow - {TITLES.get(kind, kind)} {number}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(TEXT, "", 11)
    pdf.cell(0, 7, f"Issued: {issued_at:%Y-%m-%d %H:%M} UTC", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 7, f"Billed to: {billed_to}", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)
    pdf.set_font(TEXT, "B", 11)
    pdf.cell(140, 8, "Description", border="B")
    pdf.cell(0, 8, "Amount", border="B", align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(TEXT, "", 11)
    for description, line in zip(descriptions, lines, strict=True):
        pdf.cell(140, 7, description)
        pdf.cell(0, 7, money(int(line["amount"]), currency), align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(TEXT, "B", 12)
    pdf.cell(140, 10, "Total", border="T")
    pdf.cell(0, 10, money(total, currency), border="T", align="R", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
