// panicroom run: a page shown while the app is down follows the runner's
// state through server-sent events, and reloads itself when a new build is
// up or has failed in its turn. No polling: the runner pushes.
(function () {
  "use strict";
  var seqMeta = document.querySelector('meta[name="panicroom-run-seq"]');
  var urlMeta = document.querySelector('meta[name="panicroom-run-events"]');
  if (!seqMeta || !urlMeta || !window.EventSource) { return; }
  var seq = parseInt(seqMeta.getAttribute("content"), 10);
  var label = document.getElementById("run-state");
  var es = new EventSource(urlMeta.getAttribute("content"));
  es.addEventListener("state", function (e) {
    var s;
    try { s = JSON.parse(e.data); } catch (err) { return; }
    if (s.seq === seq) { return; }
    if (s.phase === "building" || s.phase === "starting") {
      if (label) {
        label.textContent = "build " + s.run + ": " + (s.phase === "building" ? "building…" : "starting…");
        label.classList.add("building");
      }
      return;
    }
    // Up or failed anew: what this page shows is out of date.
    es.close();
    location.reload();
  });
})();
