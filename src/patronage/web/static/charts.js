// Draw every chart whose Plotly figure the page carries in a data-figure attribute, with the
// page's configuration (script#chart-config: the toolbar's one button and Plotly's messages in
// the reader's language). The title is written above the plot as text, so it wraps on a phone
// and the toolbar never covers it; the downloaded image carries it again.
(function () {
  "use strict";
  var NARROW = 560;

  function pageConfig() {
    var holder = document.getElementById("chart-config");
    return holder ? JSON.parse(holder.textContent) : {plotly: {displaylogo: false}, labels: {}};
  }

  function titleOf(layout) {
    var title = layout.title;
    if (!title) return "";
    return typeof title === "string" ? title : (title.text || "");
  }

  function download(title, name) {
    return function (gd) {
      var layout = Object.assign({}, gd.layout, {
        title: {text: title, x: 0.02, xanchor: "left"},
        margin: Object.assign({}, gd.layout.margin, {t: 60})
      });
      Plotly.downloadImage({data: gd.data, layout: layout}, {
        format: "png", filename: name, scale: 2,
        width: gd._fullLayout.width, height: gd._fullLayout.height + 30
      });
    };
  }

  function fit(layout, narrow) {
    // Axis labels push the margins instead of colliding; nothing zooms on a tap or a scroll.
    Object.keys(layout).forEach(function (key) {
      if (/^[xy]axis\d*$/.test(key) && layout[key]) {
        layout[key].automargin = true;
        layout[key].fixedrange = true;
      }
    });
    ["xaxis", "yaxis"].forEach(function (key) {
      layout[key] = Object.assign({automargin: true, fixedrange: true}, layout[key] || {});
    });
    layout.margin = Object.assign({}, layout.margin || {}, {t: 34});
    if (narrow) {
      layout.margin.l = Math.min(layout.margin.l || 50, 10);
      layout.margin.r = Math.min(layout.margin.r || 20, 10);
      // The legend goes under everything (angled tick labels included), never on them.
      layout.legend = Object.assign({}, layout.legend || {},
                                    {orientation: "h", x: 0, xanchor: "left", yref: "container",
                                     y: 0, yanchor: "bottom"});
      layout.margin.b = Math.max(layout.margin.b || 40, 40);
      layout.xaxis.tickangle = layout.xaxis.tickangle === undefined ? "auto" : layout.xaxis.tickangle;
    }
    layout.title = {text: ""};
    return layout;
  }

  function draw(element, config) {
    var figure = JSON.parse(element.getAttribute("data-figure"));
    var layout = figure.layout || {};
    var title = titleOf(layout);
    var narrow = element.clientWidth < NARROW;
    if (title) {
      var caption = document.createElement("p");
      caption.className = "chart-title";
      caption.textContent = title;
      element.appendChild(caption);
    }
    var plot = document.createElement("div");
    plot.className = "chart-plot";
    element.appendChild(plot);
    var name = "patronage-" + (element.id || "chart").replace(/^chart-/, "");
    var options = Object.assign({}, config.plotly, {
      modeBarButtons: [[{name: "download", title: config.labels.download || "Download",
                         icon: Plotly.Icons.camera, click: download(title, name)}]]
    });
    Plotly.newPlot(plot, figure.data, fit(layout, narrow), options);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var config = pageConfig();
    document.querySelectorAll("[data-figure]").forEach(function (element) {
      draw(element, config);
    });
  });
})();
