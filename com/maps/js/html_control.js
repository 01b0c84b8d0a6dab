// A fixed Leaflet control holding static HTML (the legend). Inlined by com/maps/controls.py.
// With `toggle` ({show, hide} labels, folded) a button folds the body away: folded at first on a
// small map (a phone, or a window too low for the legend and the layer list) or when asked
// (a district's view, which it would cover), open otherwise; the
// body's height is kept within the map so no entry is cut off (issue 15).
function comHtmlControl(map, position, cssClass, html, toggle) {
    var ctl = L.control({position: position});
    ctl.onAdd = function () {
        var div = L.DomUtil.create("div", cssClass);
        L.DomEvent.disableClickPropagation(div);
        L.DomEvent.disableScrollPropagation(div);
        if (!toggle) { div.innerHTML = html; return div; }
        var button = L.DomUtil.create("button", "com-legend-toggle", div);
        button.type = "button";
        var body = L.DomUtil.create("div", "com-legend-wrap", div);
        body.id = "com-legend-" + L.Util.stamp(div);
        body.innerHTML = html;
        button.setAttribute("aria-controls", body.id);
        function show(open) {
            body.hidden = !open;
            button.setAttribute("aria-expanded", open ? "true" : "false");
            button.textContent = (open ? "\u25BE " : "\u25B8 ") + (open ? toggle.hide : toggle.show);
            L.DomUtil[open ? "removeClass" : "addClass"](div, "com-folded");
            fit();
        }
        function fit() {
            // Room left under the controls at the top of the same side, so nothing is clipped.
            var size = map.getSize();
            var side = position.indexOf("left") >= 0 ? ".leaflet-left" : ".leaflet-right";
            var top = map.getContainer().querySelector(".leaflet-top" + side);
            var used = top ? top.getBoundingClientRect().height : 0;
            var room = size.y - used - button.offsetHeight - 30;
            room = Math.max(room, 80);
            body.style.maxHeight = room + "px";
            // Scroll only when it must: balanced columns can overflow by a pixel or so.
            body.style.overflowY = body.scrollHeight > room + 2 ? "auto" : "visible";
        }
        var size = map.getSize();
        show(!(toggle.folded || size.x < 600 || size.y < 460));
        L.DomEvent.on(button, "click", function () { show(body.hidden); });
        map.on("resize", fit);
        setTimeout(fit, 0);
        return div;
    };
    ctl.addTo(map);
}
