// The map: the index's paragraphs as WebGL points (plotly scattergl), coloured by topic, read from
// /api/map.bin (14 bytes a point, sampled by the server over its budget); the labels of the largest topics in
// view drawn at their clusters (more appear as you zoom in); hover a point for its text, click to open it.
// paratopicMap(box) returns {ready: Promise, mark(groups)}; mark() draws search hits (with their "xy") on top.
(function () {
  "use strict";
  const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#bcbd22",
                   "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd", "#e6550d"];
  const OUTLIER = "#c8c8c8";
  const LABELS_SHOWN = 30;  // labels drawn at once: the largest topics whose centre is in view

  function escaped(text) {  // annotation text is plotly's pseudo-HTML: show a label's "<", ">" and "&" as text
    return String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  }

  function colour(topic) { return topic < 0 ? OUTLIER : PALETTE[topic % PALETTE.length]; }

  function parse(buffer) {
    const magic = String.fromCharCode.apply(null, new Uint8Array(buffer, 0, 4));
    if (magic !== "PTM1") { throw new Error("the server sent something that is not a map (" + magic + ")"); }
    const size = new DataView(buffer).getUint32(4, true);
    const header = JSON.parse(new TextDecoder("utf-8").decode(new Uint8Array(buffer, 8, size)));
    const n = header.sent;
    let at = 8 + size;
    const x = new Float32Array(buffer, at, n); at += 4 * n;
    const y = new Float32Array(buffer, at, n); at += 4 * n;
    const row = new Uint32Array(buffer, at, n); at += 4 * n;
    const topic = new Int16Array(buffer, at, n);
    return { header: header, x: x, y: y, row: row, topic: topic };
  }

  // The largest topics' labels whose centre is in view (range: [x0, x1, y0, y1]), skipping any whose box would
  // overlap one already placed (boxes estimated from the label's length in the plot's pixels): zooming in
  // spreads the clusters apart and brings in the labels of smaller topics.
  function annotationsFor(labels, range, width, height) {
    const placed = [];
    const shown = [];
    for (let i = 0; i < labels.length && shown.length < LABELS_SHOWN; i++) {
      const l = labels[i];
      if (l.x < range[0] || l.x > range[1] || l.y < range[2] || l.y > range[3]) { continue; }
      const px = (l.x - range[0]) / ((range[1] - range[0]) || 1) * width;
      const py = (l.y - range[2]) / ((range[3] - range[2]) || 1) * height;
      const half = { w: 3.7 * String(l.label).length + 4, h: 10 };
      const clash = placed.some(function (b) {
        return Math.abs(b.x - px) < b.w + half.w && Math.abs(b.y - py) < b.h + half.h;
      });
      if (clash) { continue; }
      placed.push({ x: px, y: py, w: half.w, h: half.h });
      shown.push(l);
    }
    return shown.map(function (l) {
      return { x: l.x, y: l.y, text: escaped(l.label), showarrow: false, font: { size: 13, color: "#102a43" },
               bgcolor: "rgba(255,255,255,0.75)", borderpad: 2, captureevents: false };
    });
  }

  function viewOf(box) {
    const xr = box.layout.xaxis.range, yr = box.layout.yaxis.range;
    return [[xr[0], xr[1], yr[0], yr[1]], Math.max(box.clientWidth - 20, 1), Math.max(box.clientHeight - 20, 1)];
  }

  function tooltip(box) {
    const tip = document.createElement("div");
    tip.className = "map-tip";
    tip.hidden = true;
    box.parentNode.insertBefore(tip, box.nextSibling);
    return tip;
  }

  function showTip(tip, ev, lines) {
    tip.replaceChildren();
    lines.forEach(function (line, i) {
      const el = document.createElement(i === 0 ? "strong" : "div");
      el.textContent = line;
      tip.appendChild(el);
    });
    const e = ev.event || {};
    tip.style.left = ((e.pageX || 0) + 12) + "px";
    tip.style.top = ((e.pageY || 0) + 12) + "px";
    tip.hidden = false;
  }

  window.paratopicMap = function (box) {
    const started = performance.now();
    const tip = tooltip(box);
    const points = new Map();  // row -> what /api/point said
    let data = null;
    const labelOf = {};
    let marked = [];
    let groups = [];  // per point trace: the indexes of its points in the map's arrays
    let hitsTrace = 0;

    function point(row) {
      if (!points.has(row)) {
        points.set(row, fetch("/api/point/" + row).then(function (r) { return r.json(); }));
      }
      return points.get(row);
    }

    const ready = fetch(box.dataset.src).then(function (r) {
      if (!r.ok) { return r.json().then(function (e) { throw new Error(e.detail); }); }
      return r.arrayBuffer();
    }).then(function (buffer) {
      data = parse(buffer);
      const h = data.header;
      h.labels.forEach(function (l) { labelOf[l.topic] = l.label; });
      // One trace per colour (topics share PALETTE's colours in turn): plotly then parses 17 colours, not one
      // per point, which measured a third of the draw at 100k points.
      const members = [];
      for (let i = 0; i < h.sent; i++) {
        const c = data.topic[i] < 0 ? PALETTE.length : data.topic[i] % PALETTE.length;
        (members[c] = members[c] || []).push(i);
      }
      const size = h.sent > 200000 ? 2 : h.sent > 20000 ? 3 : 6;
      const traces = [];
      groups = [];
      members.forEach(function (list, c) {
        if (!list) { return; }
        const idx = Uint32Array.from(list);
        const x = new Float32Array(idx.length), y = new Float32Array(idx.length);
        for (let j = 0; j < idx.length; j++) { x[j] = data.x[idx[j]]; y[j] = data.y[idx[j]]; }
        groups.push(idx);
        traces.push({ type: "scattergl", mode: "markers", x: x, y: y, hoverinfo: "none",
                      marker: { size: size, opacity: h.sent > 20000 ? 0.5 : 0.8,
                                color: c === PALETTE.length ? OUTLIER : PALETTE[c] } });
      });
      hitsTrace = traces.length;
      const hits = { type: "scattergl", mode: "markers", x: [], y: [], customdata: [], hoverinfo: "none",
                     marker: { size: 14, symbol: "star", color: "#ffd000", line: { color: "#102a43", width: 1.5 } } };
      const layout = { margin: { l: 10, r: 10, t: 10, b: 10 }, hovermode: "closest", dragmode: "pan", showlegend: false,
                       xaxis: { visible: false }, yaxis: { visible: false, scaleanchor: "x" },
                       annotations: [] };
      traces.push(hits);
      return Plotly.newPlot(box, traces, layout, { scrollZoom: true, displaylogo: false, responsive: true });
    }).then(function () {
      const h = data.header;
      const view = viewOf(box);
      return Plotly.relayout(box, { annotations: annotationsFor(h.labels, view[0], view[1], view[2]) });
    }).then(function () {
      const h = data.header;
      box.dataset.sent = String(h.sent);
      box.dataset.total = String(h.n);
      box.dataset.labels = String(box.layout.annotations.length);
      const note = document.getElementById("map-note");
      if (note && h.sampled) {
        note.textContent = "Showing a sample of " + h.sent.toLocaleString() + " of " + h.n.toLocaleString() +
          " paragraphs (every topic keeps some); labels are placed over all of them.";
      }
      box.on("plotly_relayout", function (ev) {
        if (!ev || !("xaxis.range[0]" in ev || "xaxis.autorange" in ev || "yaxis.range[0]" in ev)) { return; }
        const view = viewOf(box);
        Plotly.relayout(box, { annotations: annotationsFor(h.labels, view[0], view[1], view[2]) });
      });
      box.on("plotly_hover", function (ev) {
        const p = ev.points && ev.points[0];
        if (!p) { return; }
        if (p.curveNumber === hitsTrace) {
          const g = marked[p.pointIndex];
          if (g) { showTip(tip, ev, [(p.pointIndex + 1) + ". " + (g.topic ? g.topic.label : ""), g.text]); }
          return;
        }
        const at = groups[p.curveNumber][p.pointIndex];
        const row = data.row[at];
        const topic = data.topic[at];
        showTip(tip, ev, [topic < 0 ? "outlier" : (labelOf[topic] || "topic " + topic), "…"]);
        point(row).then(function (info) {
          if (!tip.hidden) {
            showTip(tip, ev, [info.topic ? info.topic.label : "", info.text,
                              [info.title, info.source, info.date].filter(Boolean).join(" · ")]);
          }
        });
      });
      box.on("plotly_unhover", function () { tip.hidden = true; });
      box.on("plotly_click", function (ev) {
        const p = ev.points && ev.points[0];
        if (!p) { return; }
        if (p.curveNumber === hitsTrace) {
          window.location.href = "/paragraph?id=" + encodeURIComponent(p.customdata);
          return;
        }
        point(data.row[groups[p.curveNumber][p.pointIndex]]).then(function (info) {
          window.location.href = "/paragraph?id=" + encodeURIComponent(info.id);
        });
      });
      return new Promise(function (resolve) { requestAnimationFrame(function () { resolve(); }); });
    }).then(function () {
      box.dataset.paintMs = String(Math.round(performance.now()));  // since navigation start
      box.dataset.drawMs = String(Math.round(performance.now() - started));  // since this script ran
      box.dataset.ready = "1";
    }).catch(function (e) {
      box.dataset.ready = "error";
      box.textContent = "The map could not be drawn: " + e.message;
    });

    function mark(groups) {
      const placed = groups.filter(function (g) { return g.xy; });
      return ready.then(function () {
        if (!data) { return; }
        marked = placed;
        return Plotly.restyle(box, {
          x: [placed.map(function (g) { return g.xy[0]; })], y: [placed.map(function (g) { return g.xy[1]; })],
          customdata: [placed.map(function (g) { return g.id; })],
        }, [hitsTrace]);
      });
    }

    return { ready: ready, mark: mark };
  };

  const auto = document.getElementById("map");
  if (auto && auto.dataset.auto === "1") { window.paratopicMap(auto); }
})();
