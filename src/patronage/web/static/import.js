// The import page: while the file is read and checked (a large file takes a while), the buttons
// are disabled and say so. Without this script the form still posts as usual.
(function () {
  "use strict";
  var form = document.getElementById("import-form");
  if (!form) { return; }
  var input = document.getElementById("import-file");
  var chosen = form.querySelector(".file-pick .chosen");
  if (input && chosen) {
    input.addEventListener("change", function () {
      chosen.textContent = input.files.length ? input.files[0].name : chosen.getAttribute("data-none");
    });
  }
  form.addEventListener("submit", function (event) {
    var pressed = event.submitter;
    if (pressed && pressed.name) {
      // A disabled button is not sent: keep which one was pressed.
      var kept = document.createElement("input");
      kept.type = "hidden"; kept.name = pressed.name; kept.value = pressed.value;
      form.appendChild(kept);
    }
    form.querySelectorAll("button").forEach(function (button) { button.disabled = true; });
    form.setAttribute("aria-busy", "true");
    var busy = form.querySelector(".busy");
    if (busy) { busy.textContent = form.getAttribute("data-busy"); }
  });
})();
