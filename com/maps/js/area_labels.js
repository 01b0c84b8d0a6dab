// Subdistrict names written on the map from district zoom on (LABEL_ZOOM in
// com/maps/layers.py), so a planner reads them without hovering; at province zoom they would
// only clutter the map, so they are left out there. Inlined by com/maps/layers.py.
function comAreaLabels(map, areas, minZoom) {
    if (!map.getPane("comLabels")) {
        // Above the areas (overlayPane, 400), under the points (markerPane, 600); labels never
        // catch the mouse, so clicks reach the subdistrict underneath.
        var pane = map.createPane("comLabels");
        pane.style.zIndex = 450;
        pane.style.pointerEvents = "none";
    }
    var labels = L.layerGroup();
    areas.eachLayer(function (layer) {
        var name = layer.feature && layer.feature.properties.label;
        if (!name) return;
        labels.addLayer(L.marker(layer.getCenter(), {
            pane: "comLabels", interactive: false, keyboard: false,
            icon: L.divIcon({className: "com-area-label", html: "", iconSize: null}),
        }).on("add", function (e) {
            e.target.getElement().textContent = name;
        }));
    });
    function update() {
        var show = map.getZoom() >= minZoom && map.hasLayer(areas);
        if (show && !map.hasLayer(labels)) labels.addTo(map);
        if (!show && map.hasLayer(labels)) labels.remove();
    }
    map.on("zoomend overlayadd overlayremove", update);
    update();
}
