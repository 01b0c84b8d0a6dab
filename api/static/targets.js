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
  // Issue 18: the meeting brief of the newest declared fiscal year, downloaded as a file.
  var brief = document.getElementById("brief-form");
  if (brief) {
    var fy = document.getElementById("brief-fy");
    fetch("/api/targets?province=" + encodeURIComponent(cfg.province)).then(function (r) {
      return r.ok ? r.json() : {lists: []};
    }).then(function (data) {
      var years = (data.lists || []).map(function (l) { return l.fiscal_year_be; });
      if (years.length) fy.value = Math.max.apply(null, years);
      brief.setAttribute("data-ready", "1");
    });
    brief.addEventListener("submit", function (e) {
      e.preventDefault();
      var format = (e.submitter && e.submitter.getAttribute("data-format")) || "pdf";
      window.location.href = brief.getAttribute("data-endpoint") + "?province=" +
        encodeURIComponent(cfg.province) + "&fy=" + encodeURIComponent(fy.value) +
        "&format=" + format;
    });
  }
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
