// Fit the map to its areas (a district from ?district=...) clear of the controls drawn over
// the map's sides: the zoom buttons on the left, the layer list on the right. Run after the
// controls exist. Inlined by com/maps/build.py.
function comFitView(map, bounds) {
    var box = map.getContainer().getBoundingClientRect();
    function edge(selector, side) {
        var el = map.getContainer().querySelector(selector);
        if (!el || !el.offsetWidth) return 0;
        var r = el.getBoundingClientRect();
        return side === "left" ? r.right - box.left : box.right - r.left;
    }
    map.fitBounds(bounds, {
        paddingTopLeft: [edge(".leaflet-control-zoom", "left") + 8, 40],
        paddingBottomRight: [edge(".leaflet-control-layers", "right") + 8, 30],
        animate: false,
    });
}
