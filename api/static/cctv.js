// CCTV planner: send the form to issue 5's siting API, draw sites and coverage, fill the table.
(function () {
  "use strict";
  var cfg = JSON.parse(document.getElementById("cctv-config").textContent);
  var form = document.getElementById("cctv-form");
  var status = document.getElementById("plan-status");
  var saveButton = document.getElementById("plan-save");
  var map = L.map("cctv-map", {maxZoom: 19, minZoom: 5}).setView([14.9, 103.5], 9);
  window.COM.cctvMap = map;  // for the browser tests (zoom, bounds)
  L.control.scale().addTo(map);
  var outlines = L.geoJSON(cfg.outlines, {
    style: {color: "#333", weight: 1.5, fill: false}, interactive: false,
  }).addTo(map);
  if (outlines.getLayers().length) map.fitBounds(outlines.getBounds());
  var cameras = L.featureGroup().addTo(map);
  var layer = L.featureGroup().addTo(map);
  var circles = [];
  var lastRequest = null;
  // A coverage circle is never drawn smaller than this many pixels across its radius: at
  // province zoom a 200 m circle is under one pixel and vanished (issue 15).
  var MIN_RADIUS_PX = cfg.min_radius_px || 6;

  // Existing cameras: a square symbol (the proposed sites are round), named in the legend.
  (cfg.cameras || []).forEach(function (cam) {
    var icon = L.divIcon({className: "com-camera", iconSize: [10, 10]});
    L.marker([cam.lat, cam.lon], {icon: icon, keyboard: false})
      .bindTooltip(cfg.texts.camera + (cam.name ? ": " + cam.name : "")).addTo(cameras);
  });

  var legend = L.control({position: "bottomright"});
  legend.onAdd = function () {
    var div = L.DomUtil.create("div", "com-cctv-legend");
    [["com-legend-site", cfg.texts.site], ["com-legend-coverage", cfg.texts.coverage],
     ["com-legend-camera", cfg.texts.camera]].forEach(function (entry) {
      var row = L.DomUtil.create("div", "", div);
      L.DomUtil.create("span", "swatch " + entry[0], row);
      row.appendChild(document.createTextNode(entry[1]));
    });
    return div;
  };
  legend.addTo(map);

  // The radius in screen pixels of radius_m metres at a latitude and the map's zoom (Web
  // Mercator: metres per pixel = equator length * cos(lat) / 256 / 2^zoom, as L.Circle uses).
  function radiusPx(radiusM, lat) {
    var metresPerPx = 40075016.686 * Math.cos(lat * Math.PI / 180) / Math.pow(2, map.getZoom() + 8);
    return Math.max(MIN_RADIUS_PX, radiusM / metresPerPx);
  }

  function resizeCircles() {
    circles.forEach(function (c) { c.setRadius(radiusPx(c.options.radiusM, c.getLatLng().lat)); });
  }
  map.on("zoomend", resizeCircles);

  function params() {
    var body = {};
    new FormData(form).forEach(function (v, k) {
      if (v === "") return;
      body[k] = (k === "k" || k === "budget" || k === "radius_m") ? Number(v) : v;
    });
    return body;
  }

  // Fit the area planned (the province, or the district chosen) and every site in view.
  function fitArea(district) {
    var bounds = null;
    outlines.eachLayer(function (l) {
      var code = l.feature && l.feature.properties && l.feature.properties.code;
      if (district && code !== district) return;
      bounds = bounds ? bounds.extend(l.getBounds()) : L.latLngBounds(l.getBounds().getSouthWest(), l.getBounds().getNorthEast());
    });
    if (layer.getLayers().length) bounds = bounds ? bounds.extend(layer.getBounds()) : layer.getBounds();
    if (bounds) map.fitBounds(bounds, {padding: [10, 10]});
  }

  function draw(result) {
    var fc = result.type === "FeatureCollection" ? result : (result.geojson || result.result || result);
    layer.clearLayers();
    circles = [];
    var rows = [];
    (fc.features || []).forEach(function (f) {
      var p = f.properties || {};
      if (!f.geometry || f.geometry.type !== "Point") return;
      var c = f.geometry.coordinates;
      var radiusM = p.radius_m || (fc.properties || {}).radius_m || 0;
      var circle = L.circleMarker([c[1], c[0]], {
        radiusM: radiusM, radius: MIN_RADIUS_PX, className: "com-coverage", color: "#e6550d",
        weight: 1, fillOpacity: 0.15, interactive: false,
      }).addTo(layer);
      circles.push(circle);
      L.circleMarker([c[1], c[0]], {radius: 4, className: "com-site", color: "#fff", weight: 1.5, fillColor: "#e6550d", fillOpacity: 1})
        .bindTooltip("#" + p.order + " " + (p.subdistrict_th || p.subdistrict_code || "")).addTo(layer);
      rows.push([p, c]);
    });
    fitArea(lastRequest && lastRequest.district);
    resizeCircles();
    var body = document.querySelector("#plan-table tbody");
    body.innerHTML = "";
    rows.forEach(function (pc) {
      var p = pc[0], c = pc[1], tr = document.createElement("tr");
      [p.order, p.subdistrict_th || p.subdistrict_code || "", p.points_in_radius,
       p.share_covered !== undefined ? (p.share_covered * 100).toFixed(1) + "%" : "",
       c[1].toFixed(5), c[0].toFixed(5)].forEach(function (v, i) {
        var td = document.createElement("td");
        td.textContent = v === undefined || v === null ? "" : v;
        if (i !== 1) td.className = "num";
        if (i === 0 || i === 2) td.setAttribute("data-sort", v);
        tr.appendChild(td);
      });
      body.appendChild(tr);
    });
    var s = fc.properties || {};
    function pct(x) { return x === undefined || x === null ? "-" : (x * 100).toFixed(1); }
    document.getElementById("plan-summary").textContent = cfg.summary
      .replace("{sites}", s.sites !== undefined ? s.sites : rows.length)
      .replace("{share}", pct(s.share_covered))
      .replace("{with_existing}", pct(s.share_covered_with_existing))
      .replace("{method}", (cfg.methods || {})[s.method] || s.method || "-")
      .replace("{gap}", s.gap !== undefined && s.gap !== null ? s.gap : "-");
  }

  // The message of a refused request in the page's language: the API's problem+json is in
  // English; its known cases are translated through the page's catalogue (api/i18n.py).
  function explain(res) {
    var d = res.data || {}, e = cfg.errors, parts = [];
    (d.errors || []).forEach(function (p) {
      var known = Object.keys(e.messages).filter(function (m) { return (p.msg || "").indexOf(m) >= 0; });
      if (known.length) { parts.push(e.messages[known[0]]); return; }
      var field = (p.loc || [])[(p.loc || []).length - 1];
      parts.push(e.invalid_field.replace("{field}", e.fields[field] || field));
    });
    if (!parts.length) {
      var knownDetail = Object.keys(e.messages).filter(function (m) { return (d.detail || "").indexOf(m) >= 0; });
      parts.push(knownDetail.length ? e.messages[knownDetail[0]] : (e.status[res.status] || e.status.other));
    }
    return cfg.failed + " (" + res.status + "): " + parts.join("; ");
  }

  function showError(res) {
    status.className = "error";
    status.textContent = explain(res);
    status.title = res.data && res.data.detail ? res.data.detail : "";  // the API's words, for support
  }

  function send(body) {
    return fetch(form.getAttribute("data-endpoint"), {
      method: "POST",
      headers: {"Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": window.COM.csrf},
      body: JSON.stringify(body),
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (d) { return {ok: r.ok, status: r.status, data: d}; });
    });
  }

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    status.className = "muted";
    status.title = "";
    status.textContent = cfg.loading;
    lastRequest = params();
    send(lastRequest).then(function (res) {
      if (!res.ok) { showError(res); return; }
      status.textContent = "";
      draw(res.data);
      if (saveButton) saveButton.disabled = false;
    }).catch(function () { showError({status: 0, data: {}}); });
  });

  if (saveButton) {
    saveButton.addEventListener("click", function () {
      send(Object.assign({}, lastRequest, {save: true, name: cfg.plan_name})).then(function (res) {
        status.className = res.ok ? "ok" : "error";
        status.innerHTML = "";
        if (!res.ok) { showError(res); return; }
        var id = res.data.properties && res.data.properties.plan_id;
        var a = document.createElement("a");
        a.href = "/?province=" + encodeURIComponent(lastRequest.province) + "&plan=" + id;
        a.textContent = cfg.saved + " #" + id;
        status.appendChild(a);
      }).catch(function () { showError({status: 0, data: {}}); });
    });
  }
})();
