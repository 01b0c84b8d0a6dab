// CCTV planner: send the form to issue 5's siting API, draw sites and coverage, fill the table.
(function () {
  "use strict";
  var cfg = JSON.parse(document.getElementById("cctv-config").textContent);
  var form = document.getElementById("cctv-form");
  var status = document.getElementById("plan-status");
  var saveButton = document.getElementById("plan-save");
  var map = L.map("cctv-map", {maxZoom: 19, minZoom: 5}).setView([14.9, 103.5], 9);
  L.control.scale().addTo(map);
  var outlines = L.geoJSON(cfg.outlines, {
    style: {color: "#333", weight: 1.5, fill: false}, interactive: false,
  }).addTo(map);
  if (outlines.getLayers().length) map.fitBounds(outlines.getBounds());
  var layer = L.featureGroup().addTo(map);
  var lastRequest = null;

  function params() {
    var body = {};
    new FormData(form).forEach(function (v, k) {
      if (v === "") return;
      body[k] = (k === "k" || k === "budget" || k === "radius_m") ? Number(v) : v;
    });
    return body;
  }

  function draw(result) {
    var fc = result.type === "FeatureCollection" ? result : (result.geojson || result.result || result);
    layer.clearLayers();
    var rows = [];
    (fc.features || []).forEach(function (f) {
      var p = f.properties || {};
      if (!f.geometry) return;
      if (f.geometry.type === "Point") {
        var c = f.geometry.coordinates;
        L.circleMarker([c[1], c[0]], {radius: 7, color: "#fff", weight: 2, fillColor: "#e6550d", fillOpacity: 1})
          .bindTooltip("#" + p.order + " " + (p.subdistrict_th || p.subdistrict_code || "")).addTo(layer);
        rows.push(p.order !== undefined ? [p, c] : [p, c]);
      } else {
        L.geoJSON(f, {style: {color: "#e6550d", weight: 1, fillOpacity: 0.15}, interactive: false}).addTo(layer);
      }
    });
    if (layer.getLayers().length) map.fitBounds(layer.getBounds().pad(0.2));
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

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    status.className = "muted";
    status.textContent = cfg.loading;
    lastRequest = params();
    fetch(form.getAttribute("data-endpoint"), {
      method: "POST",
      headers: {"Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": window.COM.csrf},
      body: JSON.stringify(lastRequest),
    }).then(function (r) {
      return r.json().then(function (d) { return {ok: r.ok, status: r.status, data: d}; });
    }).then(function (res) {
      if (!res.ok) {
        status.className = "error";
        status.textContent = cfg.failed + " (" + res.status + "): " + (res.data.detail || "");
        return;
      }
      status.textContent = "";
      draw(res.data);
      if (saveButton) saveButton.disabled = false;
    }).catch(function (err) { status.className = "error"; status.textContent = cfg.failed + ": " + err; });
  });

  if (saveButton) {
    saveButton.addEventListener("click", function () {
      var body = Object.assign({}, lastRequest, {save: true});
      fetch(form.getAttribute("data-endpoint"), {
        method: "POST",
        headers: {"Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": window.COM.csrf},
        body: JSON.stringify(body),
      }).then(function (r) {
        return r.json().then(function (d) { return {ok: r.ok, status: r.status, data: d}; });
      }).then(function (res) {
        status.className = res.ok ? "ok" : "error";
        status.innerHTML = "";
        if (!res.ok) { status.textContent = cfg.failed + " (" + res.status + "): " + (res.data.detail || ""); return; }
        var id = res.data.properties && res.data.properties.plan_id;
        var a = document.createElement("a");
        a.href = "/?province=" + encodeURIComponent(lastRequest.province) + "&plan=" + id;
        a.textContent = cfg.saved + " #" + id;
        status.appendChild(a);
      });
    });
  }
})();
