// Sections of a page still being computed when it was sent (web/analysis.py, web/overview.py):
// each placeholder (data-section-src) asks its address until the section is ready (200, its
// HTML) and takes its place, or goes when the answer holds no section (nothing to show); 202
// means still being computed: asked again after data-retry seconds. The sections are
// asked one after another, in page order; the one asked for goes to the front of the
// server's queue of computations (reporting/page_jobs.py).
// Their charts are drawn by charts.js (window.patronageCharts). When the last one is in, the
// performance mark "patronage-sections-loaded" is set (for benchmarks/pages.py; each section
// marks "patronage-section-<key>" when it is in). Without this
// script the placeholder keeps a link that reloads the page.
(function () {
  "use strict";

  function swap(holder, html) {
    var box = document.createElement("div");
    box.innerHTML = html;
    var section = box.querySelector("section");
    if (!section) {  // the data give this part nothing to show
      holder.parentNode.removeChild(holder);
      return;
    }
    holder.parentNode.replaceChild(section, holder);
    performance.mark("patronage-" + section.id);  // "patronage-section-<key>", for the benchmark
    if (window.patronageCharts) window.patronageCharts.drawIn(section);
  }

  function failed(holder) {
    holder.removeAttribute("aria-busy");
    var note = holder.querySelector(".computing");
    if (note) note.textContent = holder.getAttribute("data-failed");
  }

  function load(holder) {
    var wait = 1000 * (parseFloat(holder.getAttribute("data-retry")) || 1);
    return new Promise(function (resolve) {
      function ask() {
        fetch(holder.getAttribute("data-section-src"), {credentials: "same-origin"})
          .then(function (response) {
            if (response.status === 202) {
              window.setTimeout(ask, wait);
              return;
            }
            if (!response.ok) throw new Error(String(response.status));
            return response.text().then(function (html) { swap(holder, html); resolve(); });
          })
          .catch(function () { failed(holder); resolve(); });
      }
      ask();
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var holders = Array.prototype.slice.call(document.querySelectorAll("[data-section-src]"));
    holders.reduce(function (done, holder) {
      return done.then(function () { return load(holder); });
    }, Promise.resolve()).then(function () {
      performance.mark("patronage-sections-loaded");
    });
  });
})();
