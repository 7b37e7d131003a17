// The explore page (the notebook view): a search box whose results, grouped as the search page groups them,
// appear beside the map, each hit also drawn on the map as a numbered star. Text is set with textContent only.
(function () {
  "use strict";
  const form = document.getElementById("explore-form");
  const list = document.getElementById("explore-results");
  const status = document.getElementById("explore-status");
  const box = document.getElementById("map");
  const map = box && window.paratopicMap ? window.paratopicMap(box) : null;

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = text; }
    return node;
  }

  function link(hit) {
    const a = el("a", null, hit.text);
    a.href = "/paragraph?id=" + encodeURIComponent(hit.id);
    return a;
  }

  function meta(hit) {
    const span = el("span", "meta");
    const parts = [];
    if (hit.title) { parts.push(el("span", "title", hit.title)); }
    if (hit.source) { parts.push(el("span", "source", hit.source)); }
    if (hit.date) { parts.push(el("span", "date", hit.date)); }
    if (hit.topic && hit.topic.topic >= 0) {
      const a = el("a", "topic", hit.topic.label);
      a.href = "/topics/" + hit.topic.topic;
      parts.push(a);
    }
    parts.forEach(function (p, i) {
      if (i) { span.appendChild(document.createTextNode(" · ")); }
      span.appendChild(p);
    });
    return span;
  }

  function render(groups) {
    list.replaceChildren();
    if (!groups.length) { list.appendChild(el("li", "none", "No hits.")); }
    groups.forEach(function (g, i) {
      const li = el("li", "hit");
      li.appendChild(el("div", "score", (i + 1) + ". " + g.score.toFixed(3)));
      const body = el("div", "body");
      const p = el("p", "text");
      p.appendChild(link(g));
      body.appendChild(p);
      body.appendChild(meta(g));
      if (g.members.length) {
        const details = el("details");
        details.appendChild(el("summary", null, "+" + g.members.length + " more in this group"));
        const ul = el("ul");
        g.members.forEach(function (m) {
          const item = el("li");
          item.appendChild(link(m));
          item.appendChild(document.createTextNode(" "));
          item.appendChild(meta(m));
          ul.appendChild(item);
        });
        details.appendChild(ul);
        body.appendChild(details);
      }
      li.appendChild(body);
      list.appendChild(li);
    });
  }

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    const q = form.elements.q.value.trim();
    if (!q) { return; }
    status.textContent = "Searching…";
    fetch("/api/search?k=10&q=" + encodeURIComponent(q)).then(function (r) {
      return r.json().then(function (body) {
        if (!r.ok) { throw new Error(body.detail); }
        return body;
      });
    }).then(function (body) {
      status.textContent = "Results for “" + body.query + "”";
      render(body.groups);
      if (map) { map.mark(body.groups); }
      form.dataset.done = String((Number(form.dataset.done) || 0) + 1);
    }).catch(function (e) {
      status.textContent = "The search failed: " + e.message;
      status.className = "error";
    });
  });
})();
