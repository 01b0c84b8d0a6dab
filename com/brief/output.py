"""Render a brief as PDF or DOCX bytes, or write it to a file named by its format."""

from __future__ import annotations

from pathlib import Path

from com.brief.content import brief_blocks
from com.brief.model import Brief
from com.errors import ValidationError

BRIEF_FORMATS = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}


def render_brief(brief: Brief, fmt: str) -> bytes:
    """Return the brief in ``fmt`` (``pdf`` or ``docx``)."""
    blocks = brief_blocks(brief)
    if fmt == "pdf":
        from com.brief.pdf import render_pdf  # deferred: ReportLab is only needed here

        return render_pdf(brief, blocks)
    if fmt == "docx":
        from com.brief.docx import render_docx  # deferred: python-docx is only needed here

        return render_docx(brief, blocks)
    raise ValidationError(f"รูปแบบ {fmt!r} ไม่รองรับ ใช้ pdf หรือ docx / format {fmt!r}: "
                          "use pdf or docx")


def brief_format(path: Path | str) -> str:
    """Return the format a file name asks for (``.pdf`` or ``.docx``)."""
    fmt = Path(path).suffix.lower().lstrip(".")
    if fmt not in BRIEF_FORMATS:
        raise ValidationError(f"ไฟล์ {str(path)!r} ต้องลงท้ายด้วย .pdf หรือ .docx / "
                              f"{str(path)!r}: the file must end in .pdf or .docx")
    return fmt


def write_brief(brief: Brief, path: Path | str) -> Path:
    """Write the brief to ``path`` in the format its suffix names; return the path."""
    out = Path(path)
    data = render_brief(brief, brief_format(out))
    out.write_bytes(data)
    return out
