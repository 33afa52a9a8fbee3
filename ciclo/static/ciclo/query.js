// The query page's multiple choices (types, CRs): checkboxes in a <details> drop-down.
// Its face lists the ticked choices as they change; a click elsewhere or Escape closes it.
(function () {
  "use strict";

  function summarise(box) {
    var face = box.querySelector("[data-multi-summary]");
    if (!face) return;
    var ticked = Array.prototype.filter.call(box.querySelectorAll("input[type=checkbox]"), function (input) {
      return input.checked;
    }).map(function (input) { return input.dataset.label; });
    face.textContent = ticked.length ? ticked.join("; ") : face.dataset.all;
  }

  function bind(root) {
    root.querySelectorAll("[data-multi-choice]").forEach(function (box) {
      if (box.dataset.bound) return;
      box.dataset.bound = "1";
      box.addEventListener("change", function () { summarise(box); });
      box.addEventListener("keydown", function (event) {
        if (event.key === "Escape" && box.open) {
          box.open = false;
          box.querySelector("summary").focus();
        }
      });
    });
  }

  document.addEventListener("click", function (event) {
    document.querySelectorAll("[data-multi-choice][open]").forEach(function (box) {
      if (!box.contains(event.target)) box.open = false;
    });
  });
  document.addEventListener("DOMContentLoaded", function () { bind(document); });
  document.addEventListener("htmx:load", function (event) { bind(event.target); });
})();
