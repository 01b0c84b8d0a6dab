"""The printable Thai meeting brief (issue 18): data assembled once, rendered as PDF or DOCX.

:func:`assemble_brief` gathers a typed :class:`Brief` from the functions ``com kpi`` and
``com rank`` call (and the map's privacy-aware loader); :func:`render_pdf` and
:func:`render_docx` only lay that model out. A brief covers a list of provinces; a region's
brief adds the region's summary (:func:`com.brief.sections.region_summary`).
"""

from com.brief.assemble import assemble_brief
from com.brief.model import Brief, ProvinceBrief
from com.brief.output import BRIEF_FORMATS, render_brief, write_brief

__all__ = [
    "BRIEF_FORMATS",
    "Brief",
    "ProvinceBrief",
    "assemble_brief",
    "render_brief",
    "write_brief",
]
