// Upload page: drag-and-drop or file picker, XHR upload with progress, column mapping when the
// file's columns are not recognised, then the per-row report (issue 3's API).
(function () {
  "use strict";
  var cfg = JSON.parse(document.getElementById("upload-config").textContent);
  var form = document.getElementById("upload-form");
  var input = document.getElementById("file");
  var zone = document.getElementById("dropzone");
  var fileName = document.getElementById("file-name");
  var errorBox = document.getElementById("upload-error");
  var progressBox = document.getElementById("progress-box");
  var progress = document.getElementById("progress");
  var progressLabel = document.getElementById("progress-label");
  var mappingBox = document.getElementById("mapping");
  var mappingGrid = document.getElementById("mapping-grid");
  var submit = document.getElementById("upload-submit");
  var chosen = null;

  var api = {
    create: form.getAttribute("data-endpoint"),
    upload: function (id) { return "/api/uploads/" + id; },
    report: function (id) { return "/api/uploads/" + id + "/report.csv?excel=true"; },
  };

  function choose(file) {
    chosen = file;
    fileName.textContent = file ? file.name + " (" + Math.ceil(file.size / 1024) + " KB)" : "";
    mappingBox.hidden = true;
    mappingGrid.innerHTML = "";
  }
  input.addEventListener("change", function () { choose(input.files[0] || null); });
  zone.addEventListener("click", function (e) { if (e.target !== input) input.click(); });
  ["dragenter", "dragover"].forEach(function (ev) {
    zone.addEventListener(ev, function (e) { e.preventDefault(); zone.classList.add("over"); });
  });
  ["dragleave", "drop"].forEach(function (ev) {
    zone.addEventListener(ev, function (e) { e.preventDefault(); zone.classList.remove("over"); });
  });
  zone.addEventListener("drop", function (e) {
    if (e.dataTransfer.files.length) choose(e.dataTransfer.files[0]);
  });

  function showError(text) { errorBox.textContent = text; errorBox.hidden = !text; }

  function columnsFrom(problem) {
    if (problem && Array.isArray(problem.columns)) return problem.columns;
    var detail = (problem && problem.detail) || "";
    var m = detail.match(/Columns in the file: (.*?)\. Expected/);
    if (!m) return null;
    var names = [], re = /'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)"/g, x;
    while ((x = re.exec(m[1]))) names.push(x[1] !== undefined ? x[1] : x[2]);
    return names.length ? names : null;
  }

  function showMapping(columns) {
    mappingGrid.innerHTML = "";
    columns.forEach(function (col) {
      var label = document.createElement("label");
      label.textContent = col;
      var select = document.createElement("select");
      select.setAttribute("data-column", col);
      var none = document.createElement("option");
      none.value = ""; none.textContent = cfg.notUsed;
      select.appendChild(none);
      cfg.fields.forEach(function (f) {
        var o = document.createElement("option");
        o.value = f[0]; o.textContent = f[1];
        select.appendChild(o);
      });
      mappingGrid.appendChild(label);
      mappingGrid.appendChild(select);
    });
    mappingBox.hidden = false;
  }

  function mapping() {
    var out = {};
    mappingGrid.querySelectorAll("select").forEach(function (s) {
      if (s.value) out[s.getAttribute("data-column")] = s.value;
    });
    return out;
  }

  function setText(id, value) { document.getElementById(id).textContent = value; }

  function csvCell(value) {
    var text = value === null || value === undefined ? "" : String(value);
    // A cell starting with = + - @ tab or CR would run as a formula in a spreadsheet; a plain
    // number ("-12.5") is data. The same rule as com/io/escape.py.
    if (/^[=+\-@\t\r]/.test(text) && !/^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(text)) {
      text = "'" + text;
    }
    return /[",\n\r]/.test(text) ? '"' + text.replace(/"/g, '""') + '"' : text;
  }

  function errorsCsv(rows) {
    var lines = [["row", "status", "column", "reason", "reason_th", "reason_code", "original"]
      .join(",")];
    rows.forEach(function (r) {
      lines.push([r.row, r.status, r.column, r.reason, r.reason_th, r.reason_code,
                  JSON.stringify(r.original || {})].map(csvCell).join(","));
    });
    // BOM so Excel reads the Thai text as UTF-8.
    return new Blob(["\ufeff" + lines.join("\r\n") + "\r\n"], {type: "text/csv;charset=utf-8"});
  }

  function showReport(summary) {
    var id = summary.upload_id;
    setText("count-total", summary.rows);
    setText("count-stored", summary.stored);
    setText("count-rejected", summary.rejected);
    setText("count-duplicate", summary.duplicates);
    setText("report-file", summary.filename || "");
    document.getElementById("download-report").href = api.report(id);
    var report = document.getElementById("report");
    report.hidden = false;
    report.setAttribute("data-upload-id", id);
    fetch(api.upload(id), {headers: {"Accept": "application/json"}})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        var problems = ((data && data.report) || []).filter(function (r) { return r.status !== "stored"; });
        var link = document.getElementById("download-errors");
        link.href = URL.createObjectURL(errorsCsv(problems));
        link.download = "upload-" + id + "-errors.csv";
        var body = document.querySelector("#report-rows tbody");
        body.innerHTML = "";
        problems.forEach(function (r) {
          var tr = document.createElement("tr");
          tr.className = "status-" + r.status;
          var status = (cfg.statuses && cfg.statuses[r.status]) || r.status;
          // The reason in the page's language (Thai and English both come with each row).
          var reason = (cfg.lang === "th" && r.reason_th) || r.reason || r.warnings || "";
          [r.row, status, r.column || "", reason].forEach(function (v, i) {
            var td = document.createElement("td");
            td.textContent = v === null || v === undefined ? "" : v;
            if (i === 0) td.className = "num";
            tr.appendChild(td);
          });
          body.appendChild(tr);
        });
      });
  }

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    showError("");
    if (!chosen) { input.click(); return; }
    var data = new FormData();
    data.append("file", chosen, chosen.name);
    data.append("province", document.getElementById("province").value);
    var map = mapping();
    if (Object.keys(map).length) data.append("mapping", JSON.stringify(map));
    var xhr = new XMLHttpRequest();
    xhr.open("POST", api.create);
    xhr.setRequestHeader("X-CSRF-Token", window.COM.csrf);
    xhr.setRequestHeader("Accept", "application/json");
    progressBox.hidden = false;
    progress.value = 0;
    progressLabel.textContent = cfg.uploading;
    submit.disabled = true;
    xhr.upload.onprogress = function (ev) {
      if (ev.lengthComputable) progress.value = Math.round((ev.loaded / ev.total) * 100);
    };
    xhr.upload.onload = function () {
      progress.removeAttribute("value");  // indeterminate while the server checks the rows
      progressLabel.textContent = cfg.processing;
    };
    xhr.onload = function () {
      submit.disabled = false;
      progressBox.hidden = true;
      var body = null;
      try { body = JSON.parse(xhr.responseText); } catch (err) { body = null; }
      if (xhr.status >= 200 && xhr.status < 300 && body) { showReport(body); return; }
      var columns = xhr.status === 422 ? columnsFrom(body) : null;
      if (columns) showMapping(columns);
      showError(cfg.failed + " (" + xhr.status + "): " + ((body && (body.detail || body.title)) || xhr.statusText));
    };
    xhr.onerror = function () {
      submit.disabled = false; progressBox.hidden = true; showError(cfg.failed);
    };
    xhr.send(data);
  });
})();
