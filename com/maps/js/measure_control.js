// Click-to-measure distance (km) and area (ha, rai) on the map. Inlined by com/maps/controls.py.
// COM's own rather than folium's MeasureControl: leaflet-measure compiles its templates with
// `new Function`, which the pages' Content-Security-Policy (no 'unsafe-eval') refuses.
// Distances are geodesic (Leaflet's map.distance, haversine); areas use the spherical excess
// of the ring, as Leaflet.draw does.
function comMeasureControl(map, labels) {
    var R = 6378137, rad = Math.PI / 180, red = "#d7301f";
    function area(ll) {
        if (ll.length < 3) return 0;
        var sum = 0;
        for (var i = 0; i < ll.length; i++) {
            var a = ll[i], b = ll[(i + 1) % ll.length];
            sum += (b.lng - a.lng) * rad
                * (2 + Math.sin(a.lat * rad) + Math.sin(b.lat * rad));
        }
        return Math.abs(sum * R * R / 2);
    }
    function length(ll) {
        var total = 0;
        for (var i = 1; i < ll.length; i++) total += map.distance(ll[i - 1], ll[i]);
        return total;
    }
    function metres(m) {
        return m >= 1000 ? (m / 1000).toFixed(2) + " km" : Math.round(m) + " m";
    }
    var ctl = L.control({position: "topleft"});
    ctl.onAdd = function () {
        var box = L.DomUtil.create(
            "div", "leaflet-control-measure leaflet-bar leaflet-control");
        var button = L.DomUtil.create("a", "leaflet-control-measure-toggle", box);
        button.href = "#";
        button.title = labels.measure;
        button.setAttribute("role", "button");
        button.setAttribute("aria-label", labels.measure);
        button.textContent = "\u21A6";
        var out = L.DomUtil.create("div", "com-measure-result", box);
        out.hidden = true;
        L.DomEvent.disableClickPropagation(box);
        var points = [], drawn = L.featureGroup(), active = false;
        function show() {
            drawn.clearLayers();
            var off = {color: red, interactive: false};
            if (points.length > 1) {
                L.polyline(points, L.extend({weight: 2}, off)).addTo(drawn);
            }
            if (points.length > 2) {
                L.polygon(points, L.extend({weight: 0, fillOpacity: 0.15}, off))
                    .addTo(drawn);
            }
            points.forEach(function (p) {
                L.circleMarker(p, L.extend({radius: 3}, off)).addTo(drawn);
            });
            if (!points.length) { out.textContent = labels.hint; return; }
            var a = area(points);
            var text = labels.distance + " " + metres(length(points));
            if (a > 0) {
                text += " · " + labels.area + " " + (a / 10000).toFixed(2) + " ha ("
                    + (a / 1600).toFixed(1) + " rai)";
            }
            out.textContent = text;
        }
        function add(e) { points.push(e.latlng); map.closePopup(); show(); }
        L.DomEvent.on(button, "click", function (e) {
            L.DomEvent.preventDefault(e);
            active = !active;
            var how = active ? "addClass" : "removeClass";
            L.DomUtil[how](box, "active");
            // While measuring, shapes and markers let clicks through to the map
            // (a layer with a popup stops the click from reaching it).
            L.DomUtil[how](map.getContainer(), "com-measuring");
            out.hidden = !active;
            if (active) {
                drawn.addTo(map);
                map.on("click", add);
                show();
            } else {
                map.off("click", add);
                points = [];
                drawn.clearLayers();
                drawn.remove();
            }
        });
        return box;
    };
    ctl.addTo(map);
}
