"""XML as the KML, GPX and XLSX readers walk it: tag names, children, text, refusals.

Parsing itself is done with defusedxml (no entities, no external references); these helpers
read the parsed elements without their namespaces and explain what defusedxml refused.
"""

from __future__ import annotations

from typing import Any

from defusedxml import DefusedXmlException

from com.errors import UploadError

__all__ = ["child_named", "local_name", "refuse_xml_entities", "text_of", "xml_refusal"]


def local_name(tag: object) -> str:
    """Return a tag without its namespace: ``{http://...}Placemark`` -> ``Placemark``."""
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def child_named(elem: Any, name: str) -> Any:
    """Return the first child element called ``name`` (any namespace), or None."""
    for c in elem:
        if local_name(c.tag) == name:
            return c
    return None


def text_of(elem: Any) -> str:
    """Return all the text inside an element, stripped; ``""`` for None."""
    return "".join(elem.itertext()).strip() if elem is not None else ""


def xml_refusal(exc: BaseException) -> str:
    """Name what defusedxml refused, without its repr (which quotes system ids)."""
    name = getattr(exc, "name", None)
    return f"entity {name!r}" if isinstance(name, str) and name else "an external reference"


def refuse_xml_entities(exc: BaseException, what: str) -> None:
    """Raise a clear UploadError when defusedxml refused entities somewhere in ``exc``'s chain.

    openpyxl wraps the refusal in a generic "invalid XML" ValueError; say what it was (issue 8).
    """
    seen: BaseException | None = exc
    for _ in range(10):
        if seen is None:
            return
        if isinstance(seen, DefusedXmlException):
            raise UploadError(
                f"the {what} declares XML entities or external references, which are refused "
                f"(possible XML bomb or file disclosure: {xml_refusal(seen)})"
            ) from exc
        seen = seen.__cause__ or seen.__context__
