// Draw every chart whose Plotly figure the page carries in a data-figure attribute, with the
// page's configuration (script#chart-config: the toolbar's one button and Plotly's messages in
// the reader's language). The title is written above the plot as text, so it wraps on a phone
// and the toolbar never covers it; the downloaded image carries it again. What the element
// already holds (the sentence on what the chart means) stays under the plot.
// A chart with data-links ({trace: [address per point]}) opens the address of the bar or point
// clicked; the same addresses follow the plot as links, hidden until a keyboard reaches them, and
// a focused link shows its point's tooltip.
// A chart drawn is kept as a picture for the tab's next visit to the page (chart_snapshots.js):
// then the page shows the picture at once and brings the live chart in when the browser is idle
// (or as soon as the reader reaches for it), so a repeat visit does not wait for Plotly.
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
      // Slanted labels at 45° or upright, never at Plotly's 30°: at 30° the labels of a close
      // row of categories run into each other (their lines are closer than a character).
      if (layout.xaxis.tickangle === "auto" && !layout.xaxis.autotickangles) {
        layout.xaxis.autotickangles = [0, 45, 90];
      }
    }
    layout.title = {text: ""};
    return layout;
  }

  // Labelled points (importance-performance, Kano): each name is written where it covers no
  // other name, no point and nothing outside the plotting area: beside its point if there is
  // room, else a little further away with a thin line to the point. The names become the
  // chart's annotations (measured once, as Plotly first wrote them beside their points) and are
  // placed again whenever the chart is laid out anew (a phone turned, a window resized).
  var GAP = 3;  // pixels between a name and what it must not touch

  function boxAt(cx, cy, size) {
    return {left: cx - size.w / 2, right: cx + size.w / 2, top: cy - size.h / 2,
            bottom: cy + size.h / 2, cx: cx, cy: cy};
  }

  function candidates(point, size, r) {
    // Beside the point first (above, below, right, left, then the corners), then on rings
    // further out, nearest first.
    var w = size.w / 2, h = size.h / 2, d = r + GAP;
    var near = [[0, -(d + h)], [0, d + h], [d + w, 0], [-(d + w), 0],
                [d + w, -(d + h)], [-(d + w), -(d + h)], [d + w, d + h], [-(d + w), d + h]];
    var places = near.map(function (o) { return {dx: o[0], dy: o[1], beside: true}; });
    for (var ring = 1; ring <= 9; ring++) {
      var reach = r + ring * size.h;
      for (var k = 0; k < 16; k++) {
        var angle = -Math.PI / 2 + k * Math.PI / 8;
        places.push({dx: Math.cos(angle) * (reach + w), dy: Math.sin(angle) * (reach + h),
                     beside: false});
      }
    }
    return places;
  }

  function covered(box, obstacles) {
    var area = 0;
    obstacles.forEach(function (o) {
      var x = Math.min(box.right, o.right) - Math.max(box.left, o.left) + GAP;
      var y = Math.min(box.bottom, o.bottom) - Math.max(box.top, o.top) + GAP;
      if (x > 0 && y > 0) area += x * y;
    });
    return area;
  }

  function labelled(plot) {
    // The traces whose points carry names beside them (not inside: the path diagram's nodes).
    var found = [];
    plot.data.forEach(function (trace, t) {
      var text = trace.mode && /text/.test(trace.mode);
      if (trace.type === "scatter" && Array.isArray(trace.text) &&
          (text || trace._patronageLabels) && trace.textposition !== "middle center") {
        found.push(t);
      }
    });
    return found;
  }

  function placeLabels(plot) {
    var traces = labelled(plot);
    var layers = plot.querySelectorAll(".scatterlayer .trace");
    var svg = plot.querySelector(".main-svg");
    var size = plot._fullLayout && plot._fullLayout._size;
    if (!traces.length || !svg || !size) return Promise.resolve();
    var origin = svg.getBoundingClientRect();
    if (!origin.width) return Promise.resolve();  // not shown: placed when laid out again
    var area = {left: origin.left + size.l, top: origin.top + size.t,
                right: origin.left + size.l + size.w, bottom: origin.top + size.t + size.h};
    // Every point of every trace is in the way of the names.
    var markers = [];
    var points = {};
    Array.prototype.forEach.call(layers, function (layer, t) {
      var boxes = Array.prototype.map.call(layer.querySelectorAll(".points path"), function (e) {
        var b = e.getBoundingClientRect();
        return {left: b.left, right: b.right, top: b.top, bottom: b.bottom,
                cx: (b.left + b.right) / 2, cy: (b.top + b.bottom) / 2, r: b.width / 2};
      });
      points[t] = boxes;
      markers = markers.concat(boxes.filter(function (b) { return b.right > b.left; }));
    });
    var wanted = [];
    traces.forEach(function (t) {
      var trace = plot.data[t];
      if (!trace._patronageLabels) {  // the names' sizes, as Plotly wrote them the first time
        var texts = layers[t] ? layers[t].querySelectorAll(".textpoint text") : [];
        if (texts.length !== trace.text.length) return;
        trace._patronageLabels = Array.prototype.map.call(texts, function (e) {
          var b = e.getBoundingClientRect();
          return {w: b.width + 2, h: b.height + 2};
        });
      }
      if (!points[t] || points[t].length !== trace.text.length) return;
      trace.text.forEach(function (text, i) {
        var point = points[t][i];
        if (text && point.right > point.left) {
          wanted.push({trace: t, index: i, text: String(text), point: point,
                       size: trace._patronageLabels[i]});
        }
      });
    });
    if (!wanted.length) return Promise.resolve();
    // The most crowded points choose first, while there is room around them.
    wanted.forEach(function (label) {
      label.crowd = markers.filter(function (m) {
        return Math.abs(m.cx - label.point.cx) < label.size.w &&
          Math.abs(m.cy - label.point.cy) < 3 * label.size.h;
      }).length;
    });
    wanted.sort(function (a, b) { return b.crowd - a.crowd || a.index - b.index; });
    var placed = [];
    wanted.forEach(function (label) {
      var p = label.point, best = null, bestCost = Infinity;
      var options = candidates(p, label.size, Math.max(p.r, 4));
      for (var k = 0; k < options.length; k++) {
        var box = boxAt(p.cx + options[k].dx, p.cy + options[k].dy, label.size);
        var outside = box.left < area.left || box.right > area.right ||
          box.top < area.top || box.bottom > area.bottom;
        var cost = covered(box, placed) + covered(box, markers) + (outside ? 1e6 : 0);
        if (cost === 0) { best = options[k]; break; }
        if (cost < bestCost) { bestCost = cost; best = options[k]; }
      }
      var chosen = boxAt(p.cx + best.dx, p.cy + best.dy, label.size);
      placed.push(chosen);
      label.place = best;
    });
    var font = (plot._fullLayout.font || {});
    var notes = (plot.layout.annotations || []).filter(function (note) {
      return note.name !== "point-label";
    });
    wanted.forEach(function (label) {
      var trace = plot.data[label.trace];
      var note = {name: "point-label", text: label.text, xref: trace.xaxis || "x",
                  yref: trace.yaxis || "y", x: trace.x[label.index], y: trace.y[label.index],
                  xanchor: "center", yanchor: "middle", captureevents: false,
                  font: {size: (trace.textfont && trace.textfont.size) || font.size || 12}};
      if (label.place.beside) {
        note.showarrow = false;
        note.xshift = label.place.dx;
        note.yshift = -label.place.dy;
      } else {
        note.showarrow = true;
        note.ax = label.place.dx;
        note.ay = label.place.dy;
        note.arrowhead = 0;
        note.arrowwidth = 1;
        note.arrowcolor = "#8a8f98";
        note.standoff = label.point.r + 1;
      }
      notes.push(note);
    });
    var modes = traces.map(function (t) { return plot.data[t].mode.replace(/\+?text/, ""); });
    return Plotly.update(plot, {mode: modes}, {annotations: notes}, traces);
  }

  function keepLabelsPlaced(plot) {
    // Laid out anew at another width: the names are placed again (our own update excepted).
    plot.on("plotly_relayout", function (change) {
      if (change && !("annotations" in change)) placeLabels(plot);
    });
  }

  function pointName(trace, index) {
    var category = trace.orientation === "h" ? (trace.y || [])[index] : (trace.x || [])[index];
    var text = Array.isArray(trace.text) ? trace.text[index] : "";
    var name = trace.type === "scatter" && text && isNaN(parseFloat(text)) ? text : category;
    return [name, trace.name].filter(function (part) { return part; }).join(" · ");
  }

  function linkClicks(plot, links) {
    plot.on("plotly_click", function (event) {
      var point = event.points && event.points[0];
      var address = point && (links[point.curveNumber] || [])[point.pointNumber];
      if (address) window.location.assign(address);
    });
    plot.classList.add("linked");
  }

  function linkList(element, plot, data, links, config) {
    // Built from the figure alone: there before Plotly is, when the chart is a picture.
    var list = document.createElement("ul");
    list.className = "chart-links";
    list.setAttribute("aria-label", config.labels.respondents || "Respondents");
    Object.keys(links).forEach(function (curve) {
      var trace = data[curve];
      (links[curve] || []).forEach(function (address, index) {
        if (!address || !trace) return;
        var item = document.createElement("li");
        var link = document.createElement("a");
        link.href = address;
        link.textContent = pointName(trace, index) + " →";
        link.addEventListener("focus", function () {
          if (!plot._fullLayout) return;  // still a picture
          Plotly.Fx.hover(plot, [{curveNumber: Number(curve), pointNumber: index}]);
        });
        link.addEventListener("blur", function () {
          if (plot._fullLayout) Plotly.Fx.unhover(plot);
        });
        item.appendChild(link);
        list.appendChild(item);
      });
    });
    element.insertBefore(list, plot.nextSibling);
  }

  // Plotly's bundle is added to the page when first needed: at once when a chart has to be
  // drawn, after the page is shown when every chart is there as a picture (chart_snapshots.js).
  var loading = null;

  function bundle() {
    var link = document.querySelector("link[data-plotly]");
    return link ? link.getAttribute("href") : "";
  }

  function loadPlotly() {
    if (window.Plotly) return Promise.resolve();
    if (!loading) {
      loading = new Promise(function (resolve, reject) {
        var script = document.createElement("script");
        script.src = bundle();
        script.onload = resolve;
        script.onerror = reject;
        document.head.appendChild(script);
      });
    }
    return loading;
  }

  function afterLoad(callback) {
    if (document.readyState === "complete") callback();
    else window.addEventListener("load", callback);
  }

  function whenPlotly(callback) {
    // At once when Plotly is there or coming; else after the page's load event, so that a page
    // shown from pictures is not held up by the bundle.
    if (window.Plotly || loading) loadPlotly().then(callback);
    else afterLoad(function () { loadPlotly().then(callback); });
  }

  var idle = window.requestIdleCallback || function (callback) {
    return window.setTimeout(callback, 50);
  };

  function frame(element, layout) {
    // The chart's title above, then the plot's place (before what the element holds).
    var title = titleOf(layout);
    var after = element.firstChild;
    if (title) {
      var caption = document.createElement("p");
      caption.className = "chart-title";
      caption.textContent = title;
      element.insertBefore(caption, after);
    }
    var plot = document.createElement("div");
    plot.className = "chart-plot";
    element.insertBefore(plot, after);
    return plot;
  }

  function plotInto(element, plot, figure, config, width) {
    var layout = figure.layout || {};
    var title = titleOf(layout);
    var name = "patronage-" + (element.id || "chart").replace(/^chart-/, "");
    var options = Object.assign({}, config.plotly, {
      modeBarButtons: [[{name: "download", title: config.labels.download || "Download",
                         icon: Plotly.Icons.camera, click: download(title, name)}]]
    });
    var drawn = Plotly.newPlot(plot, figure.data, fit(layout, width < NARROW), options)
      .then(function () { return placeLabels(plot); })
      .then(function () { keepLabelsPlaced(plot); });
    var links = element.getAttribute("data-links");
    if (links) drawn = drawn.then(function () { linkClicks(plot, JSON.parse(links)); });
    return drawn;
  }

  function draw(element, config, width) {
    // width: the element's, when read with the other charts' before any was drawn (one layout
    // for them all instead of one per chart).
    var source = element.getAttribute("data-figure");
    var figure = JSON.parse(source);
    if (width === undefined) width = element.clientWidth;
    var plot = frame(element, figure.layout || {});
    var links = element.getAttribute("data-links");
    return plotInto(element, plot, figure, config, width).then(function () {
      if (links) linkList(element, plot, figure.data, JSON.parse(links), config);
      idle(function () { window.patronageSnapshots.keep(source, width, bundle(), plot); });
    });
  }

  // A chart shown as the picture kept on an earlier visit: drawn live underneath it when the
  // browser is idle after the page is shown, or at once when the reader points at it, touches
  // it or reaches it with the keyboard; a click on the picture is passed on to the live chart
  // (a bar or point then opens its respondents).
  function showPicture(element, picture, config, width) {
    var source = element.getAttribute("data-figure");
    var figure = JSON.parse(source);
    var plot = frame(element, figure.layout || {});
    plot.style.position = "relative";
    plot.style.height = picture.height + "px";
    var img = window.patronageSnapshots.image(picture);
    plot.appendChild(img);
    var links = element.getAttribute("data-links");
    if (links) linkList(element, plot, figure.data, JSON.parse(links), config);
    var state = {live: null, click: null};
    state.goLive = function () {
      if (!state.live) {
        state.live = loadPlotly().then(function () {
          return plotInto(element, plot, JSON.parse(source), config, width);
        }).then(function () {
          plot.removeChild(img);
          plot.style.position = plot.style.height = "";
          if (state.click) replay(plot, state.click);
        });
      }
      return state.live;
    };
    ["pointerenter", "touchstart", "focusin"].forEach(function (type) {
      element.addEventListener(type, state.goLive, {passive: true});
    });
    img.addEventListener("click", function (event) {
      var box = img.getBoundingClientRect();
      state.click = {x: event.clientX - box.left, y: event.clientY - box.top};
      state.goLive();
    });
    element.patronagePicture = state;
    return img.decode ? img.decode().catch(function () {}) : Promise.resolve();
  }

  function replay(plot, click) {
    // The click made on the picture, made again where it was on the live chart.
    var box = plot.getBoundingClientRect();
    var x = box.left + click.x, y = box.top + click.y;
    var target = document.elementFromPoint(x, y);
    if (!target || !plot.contains(target)) return;
    ["mousemove", "mousedown", "mouseup"].forEach(function (type) {
      target.dispatchEvent(new MouseEvent(type, {
        bubbles: true, cancelable: true, view: window, clientX: x, clientY: y, button: 0,
        buttons: type === "mousedown" ? 1 : 0
      }));
    });
  }

  function goLiveLater(elements) {
    // Once the page has loaded, the pictures become live charts one at a time when idle.
    var pending = elements.slice();
    function next() {
      if (!pending.length) return;
      idle(function () { pending.shift().patronagePicture.goLive().then(next, next); });
    }
    afterLoad(next);
  }

  function inView(element) {
    var box = element.getBoundingClientRect();
    return box.bottom > 0 && box.top < window.innerHeight && box.right > 0 &&
      box.left < window.innerWidth;
  }

  function reserve(element) {
    // An undrawn chart keeps the height its plot will take, so nothing moves when it is drawn
    // (a link to a section lower down lands where it should).
    var layout = JSON.parse(element.getAttribute("data-figure")).layout || {};
    element.style.minHeight = (layout.height || 450) + "px";
  }

  // The charts in view are drawn at once; the others when they come near the view, or when the
  // browser is idle, or before printing, whichever comes first: a page of ten charts opens as
  // fast as one with the chart at its top.
  function drawLater(elements, config) {
    var pending = elements.slice();
    var observer = null;
    function drawOne(element) {
      var index = pending.indexOf(element);
      if (index < 0) return;
      pending.splice(index, 1);
      if (observer) observer.unobserve(element);
      whenPlotly(function () {
        element.style.minHeight = "";
        draw(element, config);
      });
    }
    if ("IntersectionObserver" in window) {
      observer = new IntersectionObserver(function (entries) {
        entries.forEach(function (entry) { if (entry.isIntersecting) drawOne(entry.target); });
      }, {rootMargin: "600px 0px"});
      pending.forEach(function (element) { observer.observe(element); });
    }
    (function next() {
      if (!pending.length) return;
      idle(function () { drawOne(pending[0]); next(); });
    })();
    window.addEventListener("beforeprint", function () { pending.slice().forEach(drawOne); });
  }

  // The charts under root (the page, or a section swapped in by sections.js): those kept as
  // pictures shown at once, those in view without one drawn at once (Plotly's bundle is then
  // added at once), the others later; resolves when those in view are shown.
  function drawIn(root) {
    var config = pageConfig();
    var elements = Array.prototype.slice.call(root.querySelectorAll("[data-figure]"));
    // Every position and width is read before anything is drawn.
    var visible = elements.map(inView);
    var widths = elements.map(function (element) { return element.clientWidth; });
    var address = bundle();
    var pictures = elements.map(function (element, i) {
      return window.patronageSnapshots.find(element.getAttribute("data-figure"), widths[i],
                                            address);
    });
    var shown = [], live = [], later = [];
    elements.forEach(function (element, i) {
      if (pictures[i]) {
        var decoded = showPicture(element, pictures[i], config, widths[i]);
        if (visible[i]) shown.push(decoded);
        live.push(element);
      } else if (visible[i]) {
        shown.push(loadPlotly().then(function () { return draw(element, config, widths[i]); }));
      } else {
        reserve(element);
        later.push(element);
      }
    });
    return Promise.all(shown).then(function () {
      drawLater(later, config);
      goLiveLater(live);
    });
  }

  window.patronageCharts = {drawIn: drawIn};
  document.addEventListener("DOMContentLoaded", function () {
    drawIn(document).then(function () {
      // Marked for the page benchmark (benchmarks/pages.py): the charts in view are drawn.
      performance.mark("patronage-charts-drawn");
    });
  });
})();
