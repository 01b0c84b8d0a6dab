// Live detector alerts (issue 17): listens to the Server-Sent Events of /api/alerts/stream and
// adds each new alert to the map without a reload, pulsing for a while so it catches the eye.
// The pulse animates a Leaflet circle marker's radius and opacity from script (no CSS
// animation: the pages' Content-Security-Policy keeps styles to the stylesheet).
// Inlined by com/maps/alerts.py inside the page's nonce-carrying map script.
function comLiveAlerts(map, t, url) {
    if (!window.EventSource) { return; }
    var layer = L.featureGroup().addTo(map);
    var container = map.getContainer();
    var count = 0;
    function popup(p) {
        var div = document.createElement("div");
        div.className = "com-popup";
        var h = document.createElement("h4");
        h.textContent = t.alert + ": " + (p.kind_th || p.kind);
        div.appendChild(h);
        var d = document.createElement("div");
        d.textContent = t.device + " " + p.device_id + " · " + t.confidence + " " +
            (p.confidence === null ? "-" : Math.round(p.confidence * 100) + "%");
        div.appendChild(d);
        var w = document.createElement("div");
        w.textContent = t.observed + " " + new Date(p.observed_at).toLocaleString(t.locale) +
            " · " + (p.status_th || p.status);
        div.appendChild(w);
        return div;
    }
    function pulse(marker) {
        var start = null;
        var lifetime = 20000, period = 1500;
        function step(now) {
            if (start === null) { start = now; }
            var age = now - start;
            if (age > lifetime) {
                marker.setRadius(8);
                marker.setStyle({opacity: 1, fillOpacity: 0.9});
                return;
            }
            var k = (age % period) / period;
            marker.setRadius(8 + 16 * k);
            marker.setStyle({opacity: 1 - k, fillOpacity: 0.9 - 0.6 * k});
            window.requestAnimationFrame(step);
        }
        window.requestAnimationFrame(step);
    }
    var source = new EventSource(url);
    source.addEventListener("alert", function (event) {
        var feature = JSON.parse(event.data);
        var c = feature.geometry.coordinates, p = feature.properties;
        var marker = L.circleMarker([c[1], c[0]], {
            radius: 8, color: "#b30000", weight: 2, fillColor: "#ff3b30", fillOpacity: 0.9,
            className: "com-alert"
        }).addTo(layer);
        marker.bindPopup(function () { return popup(p); });
        marker.getElement && marker.getElement() &&
            marker.getElement().setAttribute("data-event-id", p.event_id);
        pulse(marker);
        count += 1;
        container.setAttribute("data-com-alerts", String(count));
    });
    container.setAttribute("data-com-alerts", "0");
}
