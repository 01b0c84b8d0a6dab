// Risk points of the operations map: one compact array drawn as a Leaflet.markercluster group.
// Each row is [lat, lon, category index, severity, date text, name, flags] (flags: 1 =
// approximate location, 2 = synthetic); markers and popups are made here, in the browser, so
// 10,000 points cost a few hundred kilobytes of page instead of megabytes.
// Inlined by com/maps/layers.py (RiskPointLayer) inside the page's nonce-carrying script.
// A cluster takes the colour of its most frequent category (ties: the category listed first),
// instead of markercluster's green/yellow/orange by size; its title names that category.
function comRiskPointLayer(cats, rows, t, options) {
    var icons = cats.map(function (c) {
        return L.divIcon({className: "com-point", html: c.svg,
                          iconSize: [16, 16], iconAnchor: [8, 8], popupAnchor: [0, -6]});
    });
    function popup(r) {
        var c = cats[r[2]];
        var div = document.createElement("div");
        div.className = "com-popup";
        var h = document.createElement("h4");
        h.textContent = r[5] || c.label;
        div.appendChild(h);
        var p = document.createElement("div");
        p.textContent = c.label + " · " + t.severity + " " + r[3] + " · " +
            t.reported + " " + (r[4] || "-");
        div.appendChild(p);
        if (r[6] & 1) { var a = document.createElement("div");
            a.className = "com-approx"; a.textContent = t.approximate; div.appendChild(a); }
        if (r[6] & 2) { var s = document.createElement("div");
            s.className = "com-synthetic-tag"; s.textContent = t.synthetic;
            div.appendChild(s); }
        return div;
    }
    function clusterIcon(cluster) {
        var counts = {}, best = 0, children = cluster.getAllChildMarkers();
        for (var j = 0; j < children.length; j++) {
            var k = children[j].comRow[2];
            counts[k] = (counts[k] || 0) + 1;
            if (counts[k] > counts[best] || counts[best] === undefined
                || (counts[k] === counts[best] && k < best)) best = k;
        }
        var n = cluster.getChildCount(), c = cats[best];
        var size = n < 10 ? 30 : n < 100 ? 36 : 44;
        var div = document.createElement("div");
        div.style.background = c.colour;
        div.title = t.cluster_tip + ": " + c.label;
        var span = document.createElement("span");
        span.textContent = n;
        div.appendChild(span);
        return L.divIcon({className: "marker-cluster com-cluster", html: div.outerHTML,
                          iconSize: L.point(size, size)});
    }
    var group = L.markerClusterGroup(L.extend({iconCreateFunction: clusterIcon}, options));

    var markers = new Array(rows.length);
    for (var i = 0; i < rows.length; i++) {
        var r = rows[i];
        var mk = L.marker([r[0], r[1]], {icon: icons[r[2]], keyboard: false});
        mk.comRow = r;
        mk.bindPopup(function (layer) { return popup(layer.comRow); });
        markers[i] = mk;
    }
    group.addLayers(markers);
    return group;
}
