"""The brief as an editable DOCX (python-docx), in TH Sarabun New (Laksaman where absent)."""

from __future__ import annotations

import io

from com.brief.content import Block, Heading, PageBreak, Picture, Table, Text
from com.brief.fonts import DOCX_FONT
from com.brief.model import Brief

BODY_PT = 16  # TH Sarabun's usual size in Thai government documents


def _set_font(style: object, size: int | None = None) -> None:
    from docx.oxml.ns import qn
    from docx.shared import Pt

    font = style.font  # type: ignore[attr-defined]
    font.name = DOCX_FONT
    if size:
        font.size = Pt(size)
    fonts = style.element.get_or_add_rPr().get_or_add_rFonts()  # type: ignore[attr-defined]
    # Thai is a complex script: Word takes its font from w:cs, not w:ascii.
    for key in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
        fonts.set(qn(key), DOCX_FONT)
    rpr = style.element.get_or_add_rPr()  # type: ignore[attr-defined]
    if size and rpr.find(qn("w:szCs")) is None:
        sz_cs = rpr.makeelement(qn("w:szCs"), {qn("w:val"): str(size * 2)})
        rpr.append(sz_cs)


def render_docx(brief: Brief, blocks: list[Block]) -> bytes:
    """Return the brief as a DOCX staff can edit (the same blocks as the PDF)."""
    from docx import Document
    from docx.enum.text import WD_BREAK
    from docx.shared import Inches, RGBColor

    document = Document()
    _set_font(document.styles["Normal"], BODY_PT)
    for name in ("Title", "Heading 1", "Heading 2", "Table Grid"):
        _set_font(document.styles[name])
    document.core_properties.title = f"รายงานสรุปการประชุม ปีงบประมาณ {brief.fiscal_year_be}"
    document.core_properties.author = brief.made_by
    section = document.sections[0]
    width = int(section.page_width or 0) - int(section.left_margin or 0) \
        - int(section.right_margin or 0)
    for block in blocks:
        if isinstance(block, Heading):
            document.add_heading(block.text, level=block.level)
        elif isinstance(block, Text):
            run = document.add_paragraph().add_run(block.text)
            if block.strong:
                run.bold = True
                run.font.color.rgb = RGBColor(0xA0, 0x10, 0x10)
        elif isinstance(block, Table):
            table = document.add_table(rows=1, cols=len(block.headers), style="Table Grid")
            for cell, text in zip(table.rows[0].cells, block.headers, strict=True):
                cell.text = text
                for run in cell.paragraphs[0].runs:
                    run.bold = True
            for row in block.rows:
                for cell, text in zip(table.add_row().cells, row, strict=True):
                    cell.text = text
        elif isinstance(block, Picture):
            document.add_picture(io.BytesIO(block.png),
                                 width=int(width * block.width_share) or Inches(6))
        elif isinstance(block, PageBreak):
            document.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()
