"""The brief's Thai letterforms: Laksaman (fonts-thai-tlwg), metrics of TH Sarabun PSK."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from com.errors import ValidationError

#: Where Debian's fonts-thai-tlwg installs Laksaman (scripts/setup.sh installs the package).
FONT_DIRS = (Path("/usr/share/fonts/truetype/tlwg"), Path("/usr/share/fonts/opentype/tlwg"),
             Path("/usr/local/share/fonts"))
REGULAR, BOLD = "Laksaman.ttf", "Laksaman-Bold.ttf"
#: What a DOCX names: TH Sarabun New where Office has it; fonts-thai-tlwg's fontconfig rules
#: resolve that name to Laksaman (same metrics) on Debian/LibreOffice (fc-match "TH Sarabun New").
DOCX_FONT = "TH Sarabun New"
DOCX_FALLBACK_FONT = "Laksaman"


@lru_cache(maxsize=4)
def font_file(name: str = REGULAR) -> Path:
    """Return the path of a Laksaman TrueType file.

    Raises
    ------
    com.errors.ValidationError
        When fonts-thai-tlwg is not installed.
    """
    for folder in FONT_DIRS:
        path = folder / name
        if path.is_file():
            return path
    raise ValidationError(
        f"ไม่พบฟอนต์ {name} ติดตั้งแพ็กเกจ fonts-thai-tlwg / font {name} not found: "
        "install Debian's fonts-thai-tlwg (scripts/setup.sh)"
    )


@lru_cache(maxsize=1)
def matplotlib_family() -> str:
    """Register Laksaman with matplotlib and return its family name."""
    from matplotlib import font_manager  # deferred: matplotlib is heavy

    for name in (REGULAR, BOLD):
        font_manager.fontManager.addfont(str(font_file(name)))
    return "Laksaman"
