// The dashboard filter bar folds on a phone: the figures come first, the filters one tap away
// (the chosen ones stay listed under the bar). It is open on wider screens and without scripts.
(function () {
  if (!window.matchMedia("(max-width: 600px)").matches) return;
  document.querySelectorAll("details[data-fold-on-phone]").forEach(function (panel) {
    panel.open = false;
  });
})();
