"""The map's own JavaScript, read from the package's ``js/`` folder to inline in the page."""

from __future__ import annotations

from functools import cache
from importlib import resources


@cache
def script(name: str) -> str:
    """Return the function in ``com/maps/js/<name>.js``, ready to inline as an expression.

    Each file holds one named function declaration after a header of ``//`` comments; the
    header is dropped, so the text can stand in parentheses inside a folium template. Inlined
    code runs in folium's map script, which the page gives the response's CSP nonce
    (``api/templates/map.html``), so no ``'unsafe-inline'`` and no extra request is needed.

    Parameters
    ----------
    name
        The file's name without ``.js``: ``risk_points``, ``area_feature``, ``html_control``,
        ``map_notice`` or ``measure_control``.

    Returns
    -------
    str
        The JavaScript function declaration.

    Examples
    --------
    >>> script("map_notice").startswith("function comMapNotice(")
    True
    """
    source = resources.files("com.maps").joinpath("js", f"{name}.js").read_text(encoding="utf-8")
    lines = source.splitlines()
    while lines and lines[0].lstrip().startswith("//"):
        lines.pop(0)
    return "\n".join(lines).strip()
