// Pictures of drawn charts, kept in the tab's sessionStorage so that the next visit to a page
// shows its charts at once, before Plotly has even been loaded (static/charts.js then brings
// the live charts in when the browser is idle, or as soon as the reader reaches for one).
// A picture is found by a hash of what decides how the chart looks: the figure as the page
// sent it, the chart's width, the page's language and the Plotly bundle's address. A picture is
// our own SVG, shown through an <img> (an image cannot run scripts, whatever text it holds);
// the live chart replaces it anyway, so a stale picture never outlives a second or two.
// sessionStorage belongs to the tab and goes with it; the oldest pictures make room for new ones.
// The log-in page (where logging out leads) names this script with data-forget: the tab's
// pictures go.
(function () {
  "use strict";
  var PREFIX = "patronage-chart:";
  var INDEX = "patronage-charts";
  var MOST = 60;             // pictures kept at most
  var LARGEST = 400 * 1024;  // characters: a chart of thousands of points is drawn, not kept
  var SVG_NS = "http://www.w3.org/2000/svg";

  function storage() {
    try {
      return window.sessionStorage;
    } catch (error) {  // storage refused (a browser setting)
      return null;
    }
  }

  function hash(text) {
    // Two 32-bit FNV-1a lanes with different primes: 64 bits, plenty for a tab's few charts
    // (and a wrong picture would be replaced by the live chart moments later).
    var a = 0x811c9dc5, b = 0x5bd1e995;
    for (var i = 0; i < text.length; i++) {
      var c = text.charCodeAt(i);
      a = Math.imul(a ^ c, 16777619);
      b = Math.imul(b ^ c, 0x5bd1e995);
      b ^= b >>> 13;
    }
    return (a >>> 0).toString(36) + "-" + (b >>> 0).toString(36);
  }

  function keyOf(figure, width, bundle) {
    return PREFIX + hash([bundle || "", document.documentElement.lang || "", width, figure]
                         .join("\n"));
  }

  function index(store) {
    try {
      return JSON.parse(store.getItem(INDEX) || "[]");
    } catch (error) {
      return [];
    }
  }

  function find(figure, width, bundle) {
    // {svg, height} of the picture of this figure at this width, or null.
    var store = storage();
    if (!store) return null;
    try {
      var kept = store.getItem(keyOf(figure, width, bundle));
      return kept ? JSON.parse(kept) : null;
    } catch (error) {
      return null;
    }
  }

  function svgOf(plot) {
    // One SVG document of Plotly's layers (the plot, then what is drawn above it), without
    // the invisible layers that catch the pointer and without a tooltip being shown.
    var layers = plot.querySelectorAll("svg.main-svg");
    if (!layers.length) return null;
    var picture = layers[0].cloneNode(true);
    for (var i = 1; i < layers.length; i++) {
      Array.prototype.forEach.call(layers[i].childNodes, function (node) {
        picture.appendChild(node.cloneNode(true));
      });
    }
    Array.prototype.forEach.call(
      picture.querySelectorAll(".draglayer, .hoverlayer > *, .zoomlayer > *"),
      function (node) { node.parentNode.removeChild(node); });
    var background = document.createElementNS(SVG_NS, "rect");
    background.setAttribute("width", "100%");
    background.setAttribute("height", "100%");
    background.setAttribute("fill", window.getComputedStyle(layers[0]).backgroundColor || "#fff");
    picture.insertBefore(background, picture.firstChild);
    picture.removeAttribute("style");
    picture.setAttribute("xmlns", SVG_NS);
    return new XMLSerializer().serializeToString(picture);
  }

  function put(store, key, value) {
    var keys = index(store).filter(function (k) { return k !== key; });
    while (keys.length >= MOST) store.removeItem(keys.shift());
    for (;;) {
      try {
        store.setItem(key, value);
        break;
      } catch (error) {  // full: the oldest pictures go first
        if (!keys.length) return;
        store.removeItem(keys.shift());
      }
    }
    keys.push(key);
    try {
      store.setItem(INDEX, JSON.stringify(keys));
    } catch (error) {  // no room for the list: the picture goes too
      store.removeItem(key);
    }
  }

  function keep(figure, width, bundle, plot) {
    // Keep the picture of the chart drawn in plot (Plotly's div), unless already kept.
    var store = storage();
    if (!store) return;
    var key = keyOf(figure, width, bundle);
    try {
      if (store.getItem(key) !== null) return;
      var svg = svgOf(plot);
      if (!svg || svg.length > LARGEST) return;
      put(store, key, JSON.stringify({svg: svg, height: plot.getBoundingClientRect().height}));
    } catch (error) {
      // A picture is only a head start: without one the chart is drawn as on a first visit.
    }
  }

  function image(picture) {
    var img = document.createElement("img");
    img.className = "chart-snapshot";
    img.alt = "";
    img.src = "data:image/svg+xml;charset=utf-8," + encodeURIComponent(picture.svg);
    return img;
  }

  function forget() {
    var store = storage();
    if (!store) return;
    try {
      var keys = [];
      for (var i = 0; i < store.length; i++) {
        if (store.key(i).indexOf(PREFIX) === 0) keys.push(store.key(i));
      }
      keys.forEach(function (key) { store.removeItem(key); });
      store.removeItem(INDEX);
    } catch (error) {
      // nothing kept, or storage refused
    }
  }

  window.patronageSnapshots = {find: find, keep: keep, image: image};
  var script = document.currentScript;
  if (script && script.hasAttribute("data-forget")) forget();
})();
