// Thai map page: the filter form's dates are typed in the Buddhist era, day first
// (15/01/2568, Thai digits too); on submit each is sent as an ISO date, so links and the
// server's query see 2025-01-15. A day that does not exist is refused in the page. The server
// (MapFilters, com.text.thai.parse_date) reads the same forms when scripts are off.
// Inlined by com/maps/controls.py (add_date_filters) under the page's CSP nonce.
function comDateFilters(formId, fieldIds, message) {
    var form = document.getElementById(formId);
    if (!form) return;
    var fields = fieldIds.map(function (id) { return document.getElementById(id); })
        .filter(function (f) { return f && f.type === "text"; });
    function iso(text) {
        var s = text.trim().replace(/[\u0E50-\u0E59]/g, function (c) {
            return String(c.charCodeAt(0) - 0x0E50);
        });
        if (!s) return "";
        var d, m, y, parts = /^(\d{4})-(\d{1,2})-(\d{1,2})$/.exec(s);
        if (parts) { y = +parts[1]; m = +parts[2]; d = +parts[3]; }
        else {
            parts = /^(\d{1,2})[\/.\-](\d{1,2})[\/.\-](\d{2}|\d{4})$/.exec(s);
            if (!parts) return null;
            d = +parts[1]; m = +parts[2]; y = +parts[3];
            // As parse_date: two digits end a 25xx Buddhist year; 2400 on is Buddhist era.
            if (parts[3].length === 2) y += 2500;
            if (y >= 2400) y -= 543;
        }
        var day = new Date(Date.UTC(y, m - 1, d));
        if (day.getUTCFullYear() !== y || day.getUTCMonth() !== m - 1 || day.getUTCDate() !== d)
            return null;
        return day.toISOString().slice(0, 10);
    }
    fields.forEach(function (f) {
        f.addEventListener("input", function () { f.setCustomValidity(""); });
    });
    form.addEventListener("submit", function (e) {
        var out = [];
        for (var i = 0; i < fields.length; i++) {
            var value = iso(fields[i].value);
            if (value === null) {
                fields[i].setCustomValidity(message);
                fields[i].reportValidity();
                e.preventDefault();
                return;
            }
            out.push(value);
        }
        fields.forEach(function (f, i) {
            // The typed Buddhist-era text stays in sight; a hidden twin carries the ISO date.
            var twin = document.createElement("input");
            twin.type = "hidden";
            twin.className = "com-iso-date";
            twin.name = f.name;
            twin.value = out[i];
            f.dataset.name = f.name;
            f.removeAttribute("name");
            if (out[i]) form.appendChild(twin);
        });
    });
    // Back to a page kept in memory: give the fields their names again.
    window.addEventListener("pageshow", function () {
        fields.forEach(function (f) { if (f.dataset.name) f.name = f.dataset.name; });
        form.querySelectorAll(".com-iso-date").forEach(function (t) { t.remove(); });
    });
}
