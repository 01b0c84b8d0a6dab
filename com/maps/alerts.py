"""The live alerts layer of the map (issue 17): new detector alerts arrive without a reload."""

from __future__ import annotations

import folium
from branca.element import MacroElement
from folium.template import Template

from com.maps.scripts import script
from com.maps.style import compact_json

STREAM_URL = "/api/alerts/stream"
_TEXT = {
    "th": {"alert": "แจ้งเตือน", "device": "อุปกรณ์", "confidence": "ความเชื่อมั่น",
           "observed": "เวลา", "locale": "th-TH-u-ca-buddhist"},
    "en": {"alert": "Alert", "device": "Device", "confidence": "confidence",
           "observed": "at", "locale": "en-GB"},
}


class _LiveAlerts(MacroElement):
    """Subscribes the page to the alert stream; ``js/live_alerts.js`` draws and pulses."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        ({{ this.script }})({{ this._parent.get_name() }}, {{ this.text_json }},
                            {{ this.url_json }});
        {% endmacro %}
        """
    )

    def __init__(self, *, lang: str, url: str) -> None:
        super().__init__()
        self._name = "LiveAlerts"
        self.script = script("live_alerts")
        self.text_json = compact_json(_TEXT.get(lang, _TEXT["th"]))
        self.url_json = compact_json(url)


def add_live_alerts(*, lang: str = "th", m: folium.Map, url: str = STREAM_URL) -> folium.Map:
    """Add the live alerts layer: each alert of the SSE stream appears and pulses.

    The stream applies the caller's province and sensitive rules; the page adds the layer
    only for signed-in callers (anonymous callers are refused by the stream).
    """
    _LiveAlerts(lang=lang, url=url).add_to(m)
    return m
