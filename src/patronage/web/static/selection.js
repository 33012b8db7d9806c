// Selecting customers on a list: "select all on this list" ticks every row, and the selection
// form shows only the fields of the chosen action. Without this script every box and field
// still works (the whole list is sent with "all", every field is shown).
(function () {
  "use strict";
  if (window.patronageSelection) { return; }
  window.patronageSelection = true;
  function rows(formId) {
    return document.querySelectorAll('input[name="customer_id"][form="' + formId + '"]');
  }
  function setUp() {
    document.querySelectorAll("input[data-select-all]").forEach(function (all) {
      var formId = all.getAttribute("data-select-all");
      all.addEventListener("change", function () {
        rows(formId).forEach(function (box) { box.checked = all.checked; });
      });
      rows(formId).forEach(function (box) {
        box.addEventListener("change", function () { if (!box.checked) { all.checked = false; } });
      });
    });
    document.querySelectorAll("select[data-selection-action]").forEach(function (action) {
      var form = action.form;
      function show() {
        form.querySelectorAll("fieldset[data-for]").forEach(function (fields) {
          fields.hidden = fields.getAttribute("data-for") !== action.value;
        });
      }
      action.addEventListener("change", show);
      show();
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setUp);
  } else {
    setUp();
  }
})();
