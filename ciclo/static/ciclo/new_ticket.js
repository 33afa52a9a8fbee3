// New ticket: choosing the person from the search results, or the one just added beside them.
(function () {
  "use strict";

  function choose(form, id, label) {
    form.querySelector('input[name="person"]').value = id;
    var chosen = document.getElementById("person-chosen");
    chosen.textContent = "";
    var badge = document.createElement("span");
    badge.className = "badge text-bg-primary fs-6";
    badge.dataset.testid = "person-chosen";
    badge.textContent = label;
    chosen.appendChild(badge);
    document.getElementById("person-results").textContent = "";
    var search = document.getElementById("person-search");
    if (search) search.classList.remove("is-invalid");
    var select = form.querySelector('select[name="contact_person"]');
    if (select && window.htmx) {
      htmx.ajax("GET", select.dataset.contactsUrl + "?person=" + encodeURIComponent(id), {target: select, swap: "innerHTML"});
    }
  }

  // A person picked from the results.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("#person-results [data-person-id]");
    if (!button) return;
    choose(button.closest("form"), button.dataset.personId, button.dataset.personLabel);
  });

  // Enter in the add-a-person fields adds the person; it must not submit the ticket's form.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Enter" || !event.target.closest("[data-new-person]")) return;
    var submit = event.target.closest("[data-new-person]").querySelector("[data-new-person-submit]");
    if (!submit) return;
    event.preventDefault();
    submit.click();
  });

  // The person just added becomes the ticket's person.
  document.addEventListener("htmx:load", function (event) {
    var created = event.target.querySelector ? event.target.querySelector("[data-person-created]") : null;
    if (!created && event.target.matches && event.target.matches("[data-person-created]")) created = event.target;
    if (!created) return;
    choose(created.closest("form"), created.dataset.personId, created.dataset.personLabel);
  });
})();
