// Live field dashboard: refresh the funnel and the recent-response counts of the survey page
// from /api/surveys/<code>/field every few seconds. The page works without it (the numbers are
// then those of the last page load).
(function () {
  "use strict";
  var section = document.getElementById("field");
  if (!section || !window.fetch || !section.dataset.fieldUrl) {
    return;
  }

  function show(selector, value) {
    var cell = section.querySelector(selector);
    if (cell) {
      cell.textContent = String(value);
    }
  }

  function refresh() {
    return fetch(section.dataset.fieldUrl, {credentials: "same-origin",
                                           headers: {"Accept": "application/json"}})
      .then(function (reply) { return reply.ok ? reply.json() : null; })
      .then(function (data) {
        if (!data) {
          return;
        }
        Object.keys(data.funnel).forEach(function (stage) {
          show('#funnel tr[data-stage="' + stage + '"] td', data.funnel[stage]);
        });
        Object.keys(data.live).forEach(function (window_) {
          show('#live tr[data-window="' + window_ + '"] td', data.live[window_]);
        });
        section.dataset.updated = new Date().toISOString();
      })
      .catch(function () { /* offline for a moment: keep the numbers shown */ });
  }

  window.patronageFieldRefresh = refresh;
  window.setInterval(refresh, 1000 * Number(section.dataset.refreshSeconds || 15));
}());
