// Sortable tables: click a header to sort by that column (numbers by their data-sort value).
(function () {
  "use strict";
  document.querySelectorAll("table.sortable-table").forEach(function (table) {
    table.querySelectorAll("th.sortable").forEach(function (th, index) {
      var ascending = true;
      th.addEventListener("click", function () {
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        var col = Array.prototype.indexOf.call(th.parentNode.children, th);
        function key(row) {
          var cell = row.cells[col];
          var value = cell.getAttribute("data-sort");
          if (value === null) return cell.textContent.trim();
          var n = parseFloat(value);
          return isNaN(n) ? value : n;
        }
        rows.sort(function (a, b) {
          var x = key(a), y = key(b);
          var c = typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y), "th");
          return ascending ? c : -c;
        });
        ascending = !ascending;
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  });
})();
