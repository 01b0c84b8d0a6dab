// A fixed Leaflet control holding static HTML (the legend). Inlined by com/maps/controls.py.
function comHtmlControl(map, position, cssClass, html) {
    var ctl = L.control({position: position});
    ctl.onAdd = function () {
        var div = L.DomUtil.create("div", cssClass);
        div.innerHTML = html;
        L.DomEvent.disableClickPropagation(div);
        L.DomEvent.disableScrollPropagation(div);
        return div;
    };
    ctl.addTo(map);
}
