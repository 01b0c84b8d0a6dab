// Map page: a new province reloads the page with no district chosen (an inline onchange
// handler would be refused by the Content-Security-Policy).
(function () {
  var province = document.getElementById("f-province");
  if (!province) return;
  province.addEventListener("change", function () {
    province.form.district.value = "";
    province.form.submit();
  });
})();

// Map page: copy the link of the current view (the filters are all in the URL).
(function () {
  var button = document.getElementById("copy-link");
  if (!button) return;
  button.addEventListener("click", function () {
    var url = button.getAttribute("data-url");
    function done() { button.textContent = button.getAttribute("data-done"); }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(url).then(done, function () { window.prompt("URL", url); });
    } else {
      window.prompt("URL", url);
    }
  });
})();
