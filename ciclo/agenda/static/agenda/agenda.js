// The agenda: an appointment clicked opens its panel (htmx fills it, this shows it); the panel's
// actions reload the calendar behind it (the "agenda-changed" event, bound in the page's markup).
(function () {
  "use strict";

  function panel() { return document.getElementById("agenda-panel"); }

  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    if (!target || target.id !== "agenda-panel-body" || !window.bootstrap) return;
    window.bootstrap.Offcanvas.getOrCreateInstance(panel()).show();
  });

  // A click on an appointment opens the panel at once, showing the loading state until htmx fills it.
  document.addEventListener("click", function (event) {
    var link = event.target.closest("[data-agenda-open]");
    if (!link || !window.htmx || !panel()) return;
    var body = document.getElementById("agenda-panel-body");
    body.setAttribute("aria-busy", "true");
  });

  document.addEventListener("htmx:afterSettle", function (event) {
    var target = event.detail.target;
    if (target && target.id === "agenda-panel-body") target.removeAttribute("aria-busy");
  });
})();
