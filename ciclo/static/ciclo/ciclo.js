// Small behaviours shared by the pages; each one keyed by a data- attribute.
(function () {
  "use strict";

  function counters(root) {
    root.querySelectorAll("[data-counter]").forEach(function (input) {
      var out = document.getElementById(input.dataset.counter);
      if (!out || input.dataset.counterBound) return;
      input.dataset.counterBound = "1";
      var update = function () { out.textContent = input.value.length + "/" + input.maxLength; };
      input.addEventListener("input", update);
      update();
    });
  }

  // Show a choice's complement field only while the choice is selected.
  function complements(root) {
    root.querySelectorAll("[data-complement-for]").forEach(function (box) {
      var input = document.getElementById(box.dataset.complementFor);
      if (!input || box.dataset.bound) return;
      box.dataset.bound = "1";
      var group = input.type === "radio" ? document.querySelectorAll('input[name="' + input.name + '"]') : [input];
      var update = function () { box.hidden = !input.checked; };
      group.forEach(function (el) { el.addEventListener("change", update); });
      update();
    });
  }

  function init(root) { counters(root); complements(root); }
  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.addEventListener("htmx:load", function (event) { init(event.target); });
})();

// New ticket: a person picked from the search results fills the hidden field and loads their contacts.
function cicloChoosePerson(button) {
  "use strict";
  var form = button.closest("form");
  form.querySelector('input[name="person"]').value = button.dataset.personId;
  var chosen = document.getElementById("person-chosen");
  chosen.textContent = "";
  var badge = document.createElement("span");
  badge.className = "badge text-bg-primary fs-6";
  badge.dataset.testid = "person-chosen";
  badge.textContent = button.dataset.personLabel;
  chosen.appendChild(badge);
  document.getElementById("person-results").textContent = "";
  var select = form.querySelector('select[name="contact_person"]');
  if (select && window.htmx) {
    htmx.ajax("GET", select.dataset.contactsUrl + "?person=" + encodeURIComponent(button.dataset.personId), {target: select, swap: "innerHTML"});
  }
}

// A select marked data-autosubmit submits its form when changed (the language menu);
// bound here because the Content-Security-Policy allows no inline handler.
document.addEventListener("change", function (event) {
  "use strict";
  var select = event.target;
  if (select instanceof HTMLSelectElement && select.hasAttribute("data-autosubmit") && select.form) {
    select.form.submit();
  }
});
