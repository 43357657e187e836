/**
 * The dashboard's browser script (a TS string module so `deno compile` carries it). It polls
 * `GET /api/stats` about once a second, keeps the last 60 samples, computes rates from counter
 * deltas and draws bars and SVG lines by hand: no framework, nothing loaded from elsewhere.
 *
 * The script is plain ES2020 inside `String.raw`, so it must not contain a backquote or a
 * dollar-brace sequence.
 *
 * @module
 */

/** The JavaScript served at `GET /dashboard.js`. */
export const DASHBOARD_SCRIPT = String.raw`"use strict";
(function () {
  var POLL_MS = 1000;
  var SAMPLES_MAX = 60;
  var SVG_NS = "http://www.w3.org/2000/svg";
  var CHART_W = 600, CHART_H = 160;
  var STATS_URL = "/api/stats";
  // Each sample: { timeMs, methods: {name: {req, err}}, rejected: {reason: n}, reqRate, errRate,
  // byMethod: {name: {req, err}} (rates per second), rejectRate: {reason: r} }.
  var samples = [];
  var previous = null;
  var timer = 0;

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    for (var key in attrs || {}) node.setAttribute(key, attrs[key]);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function svgEl(tag, attrs) {
    var node = document.createElementNS(SVG_NS, tag);
    for (var key in attrs || {}) node.setAttribute(key, attrs[key]);
    return node;
  }

  function sizeLabel(bytes) {
    var units = ["B", "KiB", "MiB", "GiB"];
    var i = 0;
    while (bytes >= 1024 && bytes % 1024 === 0 && i < units.length - 1) {
      bytes /= 1024;
      i++;
    }
    return bytes + " " + units[i];
  }

  function rateLabel(r) {
    if (r === 0) return "0";
    if (r < 10) return r.toFixed(1);
    return String(Math.round(r));
  }

  function percent(part, whole) {
    return whole > 0 ? Math.min(100, (100 * part) / whole) : 0;
  }

  // Counters only grow; a decrease means the server restarted, and the delta restarts at 0.
  function delta(now, before) {
    return now >= before ? now - before : 0;
  }

  function toSample(stats) {
    var methods = {};
    stats.methods.forEach(function (m) {
      methods[m.name] = { req: m.okTotal + m.errorTotal, err: m.errorTotal };
    });
    var sample = {
      timeMs: stats.timeMs, methods: methods, rejected: stats.rejectedByReason,
      reqRate: 0, errRate: 0, byMethod: {}, rejectRate: {},
    };
    if (previous === null) return sample;
    var seconds = (stats.timeMs - previous.timeMs) / 1000;
    if (!(seconds > 0)) return sample;
    Object.keys(methods).forEach(function (name) {
      var before = previous.methods[name] || { req: 0, err: 0 };
      var req = delta(methods[name].req, before.req) / seconds;
      var err = delta(methods[name].err, before.err) / seconds;
      sample.byMethod[name] = { req: req, err: err };
      sample.reqRate += req;
      sample.errRate += err;
    });
    Object.keys(stats.rejectedByReason).forEach(function (reason) {
      var before = previous.rejected[reason] || 0;
      sample.rejectRate[reason] = delta(stats.rejectedByReason[reason], before) / seconds;
    });
    return sample;
  }

  function renderPool(pool) {
    var box = document.getElementById("pool-classes");
    box.replaceChildren();
    pool.classes.forEach(function (c) {
      var label = sizeLabel(c.blockSizeBytes);
      var row = el("div", { "class": "row pool-class", "data-class-bytes": String(c.blockSizeBytes) });
      row.appendChild(el("span", { "class": "label" }, label));
      var bar = el("div", {
        "class": "bar", role: "meter", "aria-label": label + " blocks in use",
        "aria-valuemin": "0", "aria-valuemax": String(c.blocksTotal),
        "aria-valuenow": String(c.blocksInUse),
        "aria-valuetext": c.blocksInUse + " of " + c.blocksTotal + " blocks in use, peak " +
          c.blocksInUseHighWatermark,
      });
      var fill = el("div", { "class": "fill", "data-in-use": String(c.blocksInUse) });
      fill.style.width = percent(c.blocksInUse, c.blocksTotal) + "%";
      var peak = el("div", { "class": "peak", title: "high watermark: " + c.blocksInUseHighWatermark });
      peak.style.left = percent(c.blocksInUseHighWatermark, c.blocksTotal) + "%";
      bar.appendChild(fill);
      bar.appendChild(peak);
      row.appendChild(bar);
      var value = c.blocksInUse + " / " + c.blocksTotal + " · peak " + c.blocksInUseHighWatermark;
      if (c.allocFailuresTotal > 0) value += " · " + c.allocFailuresTotal + " failed";
      row.appendChild(el("span", { "class": "value" }, value));
      box.appendChild(row);
    });
  }

  function linePoints(values, width, height, max) {
    var step = values.length > 1 ? width / (SAMPLES_MAX - 1) : 0;
    var offset = width - step * (values.length - 1);
    return values.map(function (v, i) {
      var y = height - (max > 0 ? (v / max) * (height - 4) : 0) - 1;
      return (offset + i * step).toFixed(1) + "," + y.toFixed(1);
    }).join(" ");
  }

  function niceMax(max) {
    if (max <= 1) return 1;
    var p = Math.pow(10, Math.floor(Math.log10(max)));
    var steps = [1, 2, 5, 10];
    for (var i = 0; i < steps.length; i++) if (steps[i] * p >= max) return steps[i] * p;
    return 10 * p;
  }

  function pointList(values, width, height, max) {
    return linePoints(values, width, height, max).split(" ");
  }

  function drawSeries(svg, values, cls, size, max) {
    var points = pointList(values, size.w, size.h, max);
    if (cls === "req") {
      // The area under the requests line, closed along the floor.
      var first = points[0].split(",")[0], last = points[points.length - 1].split(",")[0];
      svg.appendChild(svgEl("polygon", {
        "class": "area", points: first + "," + size.h + " " + points.join(" ") + " " + last + "," + size.h,
      }));
    }
    svg.appendChild(svgEl("polyline", { "class": cls, points: points.join(" ") }));
    points.forEach(function (p) {
      var xy = p.split(",");
      svg.appendChild(svgEl("circle", { "class": "dot " + cls, cx: xy[0], cy: xy[1], r: "2.5" }));
    });
  }

  function renderChart() {
    var svg = document.getElementById("rate-chart");
    // The drawing uses the chart's real pixel size, so dots stay round and text unstretched.
    var size = { w: Math.max(120, Math.round(svg.clientWidth || CHART_W)), h: CHART_H };
    var rated = samples.slice(1);
    var reqs = rated.map(function (s) { return s.reqRate; });
    var errs = rated.map(function (s) { return s.errRate; });
    var max = niceMax(Math.max.apply(null, [0].concat(reqs, errs)));
    svg.setAttribute("viewBox", "0 0 " + size.w + " " + size.h);
    svg.replaceChildren();
    [0.25, 0.5, 0.75].forEach(function (f) {
      var y = (size.h * f).toFixed(1);
      svg.appendChild(svgEl("line", { "class": "grid", x1: "0", x2: String(size.w), y1: y, y2: y }));
    });
    var top = svgEl("text", { x: "4", y: "12" });
    top.textContent = rateLabel(max) + "/s";
    svg.appendChild(top);
    if (rated.length > 0) {
      drawSeries(svg, reqs, "req", size, max);
      drawSeries(svg, errs, "err", size, max);
    }
    svg.setAttribute("data-points", String(rated.length));
    svg.setAttribute("data-max-rate", String(max));
    var last = rated[rated.length - 1];
    document.getElementById("rate-now").textContent = last === undefined
      ? "waiting for a second sample…"
      : "now: " + rateLabel(last.reqRate) + " requests/s, " + rateLabel(last.errRate) +
        " errors/s; scale 0–" + rateLabel(max) + "/s";
  }

  function sparkline(name) {
    var rated = samples.slice(1);
    var reqs = rated.map(function (s) { return (s.byMethod[name] || { req: 0 }).req; });
    var errs = rated.map(function (s) { return (s.byMethod[name] || { err: 0 }).err; });
    var max = niceMax(Math.max.apply(null, [0].concat(reqs, errs)));
    var svg = svgEl("svg", {
      "class": "spark", viewBox: "0 0 140 24", preserveAspectRatio: "none", "aria-hidden": "true",
    });
    if (rated.length > 0) {
      svg.appendChild(svgEl("polyline", { "class": "req", points: linePoints(reqs, 140, 24, max) }));
      svg.appendChild(svgEl("polyline", { "class": "err", points: linePoints(errs, 140, 24, max) }));
    }
    return svg;
  }

  function renderMethods(stats) {
    var body = document.querySelector("#methods tbody");
    var last = samples[samples.length - 1];
    var active = stats.methods.filter(function (m) { return m.okTotal + m.errorTotal > 0; });
    body.replaceChildren();
    if (active.length === 0) {
      body.appendChild(el("tr", {}, "")).appendChild(el("td", { colspan: "6", "class": "empty" },
        "No calls yet."));
      return;
    }
    active.forEach(function (m) {
      var rate = last.byMethod[m.name] || { req: 0, err: 0 };
      var row = el("tr", { "data-method": m.name });
      row.appendChild(el("th", { scope: "row" }, m.name));
      row.appendChild(el("td", { "class": "num" }, rateLabel(rate.req)));
      row.appendChild(el("td", { "class": "num" + (rate.err > 0 ? " err-nonzero" : "") },
        rateLabel(rate.err)));
      row.appendChild(el("td", { "class": "num" }, String(m.okTotal + m.errorTotal)));
      var codes = Object.keys(m.errorsByCode).map(function (c) {
        return c + " " + m.errorsByCode[c];
      }).join(", ");
      row.appendChild(el("td", { "class": "num", title: codes }, String(m.errorTotal)));
      var cell = el("td");
      cell.appendChild(sparkline(m.name));
      row.appendChild(cell);
      body.appendChild(row);
    });
  }

  function renderRejections(stats) {
    var box = document.getElementById("rejections");
    var last = samples[samples.length - 1];
    var reasons = Object.keys(stats.rejectedByReason);
    var max = Math.max.apply(null, [0].concat(reasons.map(function (r) {
      return stats.rejectedByReason[r];
    })));
    box.replaceChildren();
    reasons.forEach(function (reason) {
      var total = stats.rejectedByReason[reason];
      var row = el("div", { "class": "row rejection", "data-reason": reason });
      row.appendChild(el("span", { "class": "label" }, reason.replace(/_/g, " ")));
      var bar = el("div", {
        "class": "bar", role: "meter", "aria-label": reason + " rejections",
        "aria-valuemin": "0", "aria-valuemax": String(max), "aria-valuenow": String(total),
      });
      var fill = el("div", { "class": "fill reject", "data-total": String(total) });
      fill.style.width = percent(total, max) + "%";
      bar.appendChild(fill);
      row.appendChild(bar);
      row.appendChild(el("span", { "class": "value" },
        total + " total · " + rateLabel(last.rejectRate[reason] || 0) + "/s"));
      box.appendChild(row);
    });
  }

  function setStatus(state, text) {
    var status = document.getElementById("status");
    status.setAttribute("data-state", state);
    status.textContent = text;
  }

  function render(stats) {
    var sample = toSample(stats);
    previous = sample;
    samples.push(sample);
    // One more than the window: the first kept sample is the base of the oldest rate.
    while (samples.length > SAMPLES_MAX + 1) samples.shift();
    renderPool(stats.pool);
    renderChart();
    renderMethods(stats);
    renderRejections(stats);
    setStatus("live", "live · updated " + new Date(stats.timeMs).toLocaleTimeString());
  }

  function poll() {
    fetch(STATS_URL, { cache: "no-store", headers: { accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(render)
      .catch(function (error) {
        setStatus("stale", "no data (" + error.message + "), retrying");
      })
      .finally(function () {
        timer = document.hidden ? 0 : setTimeout(poll, POLL_MS);
      });
  }

  document.addEventListener("visibilitychange", function () {
    // A hidden tab stops polling; when it shows again the rates restart from a fresh base.
    if (document.hidden) {
      clearTimeout(timer);
      timer = 0;
    } else if (timer === 0) {
      previous = null;
      samples = [];
      poll();
    }
  });
  poll();
})();
`;
