// The map page: every paragraph as a WebGL point (plotly scattergl), coloured by topic,
// each topic's label drawn at its points' median; click a point to open its paragraph.
(function () {
  "use strict";
  const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#bcbd22",
                   "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd", "#e6550d"];
  const OUTLIER = "#c8c8c8";
  const box = document.getElementById("map");

  function colour(topic) { return topic < 0 ? OUTLIER : PALETTE[topic % PALETTE.length]; }

  fetch(box.dataset.points).then(function (r) {
    if (!r.ok) { return r.json().then(function (e) { throw new Error(e.detail); }); }
    return r.json();
  }).then(function (d) {
    const trace = {
      type: "scattergl", mode: "markers", x: d.x, y: d.y, customdata: d.id,
      text: d.text, hovertemplate: "%{text}<extra></extra>",
      marker: { size: 6, opacity: 0.8, color: d.topic.map(colour) },
    };
    const annotations = d.labels.map(function (l) {
      return { x: l.x, y: l.y, text: l.label, showarrow: false, font: { size: 13, color: "#102a43" },
               bgcolor: "rgba(255,255,255,0.75)", borderpad: 2 };
    });
    const layout = { margin: { l: 10, r: 10, t: 10, b: 10 }, hovermode: "closest", dragmode: "pan",
                     xaxis: { visible: false }, yaxis: { visible: false, scaleanchor: "x" }, annotations: annotations };
    Plotly.newPlot(box, [trace], layout, { scrollZoom: true, displaylogo: false, responsive: true }).then(function () {
      box.dataset.ready = "1";
      box.dataset.labels = String(annotations.length);
    });
    box.on("plotly_click", function (ev) {
      if (ev.points && ev.points.length) {
        window.location.href = "/paragraph?id=" + encodeURIComponent(ev.points[0].customdata);
      }
    });
  }).catch(function (e) {
    box.textContent = "The map could not be drawn: " + e.message;
  });
})();
