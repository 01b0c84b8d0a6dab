"""Render a brief as PDF or DOCX bytes, or write it to a file named by its format."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy.engine import Connection

from com.brief.content import brief_blocks
from com.brief.model import Brief
from com.errors import ValidationError
from com.security import audit

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


def write_brief(
    brief: Brief, path: Path | str, *, conn: Connection | None = None, principal: Any = None
) -> Path:
    """Write the brief to ``path`` in the format its suffix names; return the path.

    With ``conn`` and ``principal``, the file is audited as an export (:func:`audit_brief`).
    """
    out = Path(path)
    fmt = brief_format(out)
    data = render_brief(brief, fmt)
    out.write_bytes(data)
    if conn is not None and principal is not None:
        audit_brief(conn, brief, fmt, principal=principal, size=len(data))
    return out


def audit_brief(
    conn: Connection, brief: Brief, fmt: str, *, principal: Any, size: int,
    client: str | None = None,
) -> None:
    """Write the ``export.<fmt>`` audit row of a brief handed out (API and CLI alike)."""
    provinces = [p.province_code for p in brief.provinces]
    audit.record(
        conn, principal=principal, action=f"export.{fmt}",
        target=f"brief:{','.join(provinces)}:{brief.fiscal_year_be}",
        details={"provinces": provinces, "fiscal_year_be": brief.fiscal_year_be,
                 "top": brief.top_n, "since": [str(p.since.since) for p in brief.provinces],
                 "bytes": size, "sensitive_exact": brief.exact_positions,
                 "region": brief.region.key if brief.region else None},
        client=client,
    )
