// Draw every chart whose Plotly figure the page carries in a data-figure attribute.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("[data-figure]").forEach(function (element) {
    var figure = JSON.parse(element.getAttribute("data-figure"));
    Plotly.newPlot(element, figure.data, figure.layout, {displaylogo: false, responsive: true});
  });
});
