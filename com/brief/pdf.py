"""The brief as PDF, through ReportLab with Laksaman embedded.

ReportLab (pure Python, BSD, maintained since 2000) rather than WeasyPrint: it needs no system
libraries (WeasyPrint needs Debian's Pango/HarfBuzz) and embeds a subset of the TrueType font
with a ToUnicode map, so the text layer is searchable. It breaks lines only at spaces, so Thai
lines are broken here on pythainlp's word boundaries (:mod:`com.brief.thaiwrap`).
"""

from __future__ import annotations

import io
from functools import lru_cache
from xml.sax.saxutils import escape

from com.brief.content import SYNTHETIC_TH_EN, Block, Heading, PageBreak, Picture, Table, Text
from com.brief.fonts import BOLD, REGULAR, font_file
from com.brief.model import Brief
from com.brief.thaiwrap import wrap_thai

FONT, FONT_BOLD = "Laksaman", "Laksaman-Bold"
SIZES = {0: 24.0, 1: 18.0, 2: 16.0}
BODY, CELL = 13.0, 11.0
#: SimpleDocTemplate's frame pads its width by 6 pt on each side.
FRAME_PADDING = 12.0


@lru_cache(maxsize=1)
def _register_fonts() -> None:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    # ReportLab places Thai vowel and tone marks by the font's own rules (GSUB/GPOS, e.g. a tone
    # mark above an upper vowel in ที่ ปั้น) only when it can shape with HarfBuzz (uharfbuzz, a
    # dependency); without it the marks of stacked syllables overlap.
    for name, file in ((FONT, REGULAR), (FONT_BOLD, BOLD)):
        pdfmetrics.registerFont(TTFont(name, str(font_file(file)), shapable=True))


def thai_shaping() -> bool:
    """Return True when the brief's fonts are shaped (Thai marks placed by HarfBuzz)."""
    from reportlab.pdfbase import pdfmetrics

    _register_fonts()
    return all(bool(pdfmetrics.getFont(name).shapable) for name in (FONT, FONT_BOLD))


def _paragraph(text: str, width: float, *, font: str = FONT, size: float = BODY,
               colour: str = "#000000") -> object:
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.pdfbase.pdfmetrics import stringWidth
    from reportlab.platypus import Paragraph

    style = ParagraphStyle(f"{font}-{size}", fontName=font, fontSize=size,
                           leading=size * 1.25, textColor=colour, spaceAfter=size * 0.3)
    lines = wrap_thai(text, width, lambda s: stringWidth(s, font, size))
    return Paragraph("<br/>".join(escape(line) for line in lines), style)


def _table(block: Table, width: float) -> object:
    from reportlab.lib import colors
    from reportlab.platypus import Table as RLTable
    from reportlab.platypus import TableStyle

    shares = block.widths or [1 / len(block.headers)] * len(block.headers)
    widths = [width * s for s in shares]
    pad = 6.0

    def cells(row: list[str], font: str) -> list[object]:
        return [_paragraph(v, w - pad, font=font, size=CELL) for v, w in
                zip(row, widths, strict=True)]

    data = [cells(block.headers, FONT_BOLD), *(cells(r, FONT) for r in block.rows)]
    table = RLTable(data, colWidths=widths, repeatRows=1)
    table.setStyle(TableStyle([
        ("FONTNAME", (0, 0), (-1, -1), FONT),
        ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef5")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), pad / 2),
        ("RIGHTPADDING", (0, 0), (-1, -1), pad / 2),
    ]))
    return table


def _picture(block: Picture, width: float, height: float) -> object:
    from reportlab.lib.utils import ImageReader
    from reportlab.platypus import Image

    w_px, h_px = ImageReader(io.BytesIO(block.png)).getSize()
    w = width * block.width_share
    h = w * h_px / w_px
    if h > height:
        w, h = w * height / h, height
    return Image(io.BytesIO(block.png), width=w, height=h)


def _flowables(blocks: list[Block], width: float, height: float) -> list[object]:
    from reportlab.platypus import PageBreak as RLPageBreak
    from reportlab.platypus import Spacer

    out: list[object] = []
    for block in blocks:
        if isinstance(block, Heading):
            out.append(_paragraph(block.text, width, font=FONT_BOLD, size=SIZES[block.level]))
        elif isinstance(block, Text):
            out.append(_paragraph(block.text, width, font=FONT_BOLD if block.strong else FONT,
                                  colour="#a01010" if block.strong else "#000000"))
        elif isinstance(block, Table):
            out += [_table(block, width), Spacer(1, 6)]
        elif isinstance(block, Picture):
            out.append(_picture(block, width, height - 60))
        elif isinstance(block, PageBreak):
            out.append(RLPageBreak())
    while out and isinstance(out[-1], RLPageBreak):
        out.pop()
    return out


def render_pdf(brief: Brief, blocks: list[Block]) -> bytes:
    """Return the brief as an A4 PDF (Laksaman embedded, page numbers, synthetic mark)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.platypus import SimpleDocTemplate

    _register_fonts()
    buffer = io.BytesIO()
    margin = 18 * mm
    doc = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=margin, rightMargin=margin,
                            topMargin=margin, bottomMargin=margin,
                            title=f"รายงานสรุปการประชุม ปีงบประมาณ {brief.fiscal_year_be}",
                            author=brief.made_by, creator="COM", initialFontName=FONT)

    def footer(canvas: object, document: object) -> None:
        canvas.saveState()  # type: ignore[attr-defined]
        canvas.setFont(FONT, 10)  # type: ignore[attr-defined]
        page = canvas.getPageNumber()  # type: ignore[attr-defined]
        note = f"{SYNTHETIC_TH_EN}   " if brief.synthetic else ""
        canvas.drawRightString(A4[0] - margin, margin / 2,  # type: ignore[attr-defined]
                               f"{note}หน้า {page}")
        canvas.restoreState()  # type: ignore[attr-defined]

    flowables = _flowables(blocks, doc.width - FRAME_PADDING, doc.height - FRAME_PADDING)
    doc.build(flowables, onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()
