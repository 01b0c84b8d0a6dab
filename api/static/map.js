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
