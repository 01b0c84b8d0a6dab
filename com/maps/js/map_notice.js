// A notice centred at the top of the map, inside its container (so full screen keeps it).
// Inlined by com/maps/controls.py.
function comMapNotice(map, text) {
    var div = L.DomUtil.create("div", "com-synthetic", map.getContainer());
    div.textContent = text;
}
