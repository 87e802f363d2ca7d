// The index of recent panics updates itself from the server's events, so
// that it can stay open beside a front end whose API calls panic: new rows
// appear on top, a badge and the tab's title count the ones not seen yet.
(function () {
  "use strict";
  var body = document.body;
  var url = body.getAttribute("data-events");
  if (!body.classList.contains("page-index") || !url || !window.EventSource) { return; }
  var table = document.getElementById("recent");
  var tbody = table.querySelector("tbody");
  var badge = document.getElementById("new-badge");
  var kept = document.getElementById("kept");
  var title = document.title;
  var unseen = 0;

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined) { e.textContent = text; }
    return e;
  }
  function liveCell(td, live) {
    td.textContent = "";
    if (live) {
      var b = el("span", "badge badge-live", "live");
      b.title = "the goroutine is parked: its frames can be inspected";
      td.appendChild(b);
    } else {
      td.appendChild(el("span", "dim", "released"));
    }
  }
  function show() {
    badge.hidden = unseen === 0;
    badge.textContent = unseen === 1 ? "1 new" : unseen + " new";
    document.title = unseen ? "(" + unseen + ") " + title : title;
  }
  function seen() {
    if (!unseen) { return; }
    unseen = 0;
    show();
    tbody.querySelectorAll("tr.fresh").forEach(function (tr) { tr.classList.remove("fresh"); });
  }
  // Whatever the developer does on this tab means they have looked.
  ["focus", "click", "keydown"].forEach(function (ev) { window.addEventListener(ev, seen); });

  // Every value goes in through textContent: panic messages and request
  // lines are the app's data, never markup.
  function addRow(r) {
    if (tbody.querySelector('tr[data-id="' + CSS.escape(r.id) + '"]')) { return; }
    var tr = el("tr", "fresh");
    tr.setAttribute("data-id", r.id);
    var t = el("time", "", r.time.substr(11, 8));
    t.setAttribute("datetime", r.time);
    var td = el("td"); td.appendChild(t); tr.appendChild(td);
    td = el("td", "req"); td.appendChild(el("code", "", r.request)); tr.appendChild(td);
    var a = el("a"); a.href = r.url;
    a.appendChild(el("span", "badge badge-" + r.category.replace(/ /g, "-"), r.category));
    a.appendChild(document.createTextNode(" " + r.value));
    td = el("td"); td.appendChild(a); tr.appendChild(td);
    td = el("td"); liveCell(td, r.live); tr.appendChild(td);
    tbody.insertBefore(tr, tbody.firstChild);
    table.hidden = false;
    var empty = document.getElementById("empty");
    if (empty) { empty.remove(); }
    kept.textContent = String(tbody.rows.length);
  }

  var es = new EventSource(url);
  var opened = false;
  es.addEventListener("open", function () {
    // A reconnect follows a restart of the app (or a stream that fell
    // behind): the list on the server is the truth, so fetch it again.
    if (opened) { location.reload(); return; }
    opened = true;
    document.getElementById("live-state").hidden = false;
  });
  es.addEventListener("error", function () { document.getElementById("live-state").hidden = true; });
  es.addEventListener("panic", function (e) {
    addRow(JSON.parse(e.data));
    unseen++;
    show();
  });
  es.addEventListener("update", function (e) {
    var r = JSON.parse(e.data);
    var tr = tbody.querySelector('tr[data-id="' + CSS.escape(r.id) + '"]');
    if (tr) { liveCell(tr.cells[3], r.live); }
  });
})();
