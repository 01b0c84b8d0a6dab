// Target list: export (issue 4's ranking export) and the planner's fiscal-year declaration.
(function () {
  "use strict";
  var cfg = JSON.parse(document.getElementById("targets-config").textContent);
  document.querySelectorAll("[data-export]").forEach(function (button) {
    button.addEventListener("click", function () {
      var format = button.getAttribute("data-export");
      // Issue 7's exports: CSV safe against formula injection, XLSX; rank, score, Gi* included.
      window.location.href = "/api/exports/subdistricts." + format + "?province=" +
        encodeURIComponent(cfg.province);
    });
  });
  var form = document.getElementById("declare-form");
  if (!form) return;
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var out = document.getElementById("declare-result");
    var body = {};
    new FormData(form).forEach(function (v, k) { body[k] = k === "province" ? v : Number(v); });
    fetch(form.getAttribute("data-endpoint"), {
      method: "POST",
      headers: {"Content-Type": "application/json", "X-CSRF-Token": window.COM.csrf},
      body: JSON.stringify(body),
    }).then(function (r) {
      return r.json().then(function (data) { return {ok: r.ok, status: r.status, data: data}; });
    }).then(function (res) {
      out.className = res.ok ? "ok" : "error";
      out.textContent = res.ok ? cfg.declared : cfg.failed + " (" + res.status + "): " + (res.data.detail || "");
    });
  });
})();
