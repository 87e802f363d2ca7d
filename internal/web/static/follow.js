// Under "panicroom run", a traceback page follows the app: it keeps an
// EventSource on the run's event stream, which the app serves while it is
// up and the runner serves, on the same address and path, while the app is
// rebuilt or down. When the app dies the EventSource reconnects by itself
// (no polling) and hears the runner, then the next build. A page whose own
// URL is the request that panicked reloads when a newer build is up (it
// repeats the request against the new code); any other page says it is of
// an earlier run, whose frames are gone.
(function () {
  "use strict";
  function meta(name) {
    var m = document.querySelector('meta[name="panicroom-' + name + '"]');
    return m ? m.getAttribute("content") : null;
  }
  var mine = meta("run");
  var prefix = meta("prefix") || "/__panicroom__/";
  if (!mine || !window.EventSource) { return; }
  var ownURL = location.pathname.indexOf(prefix) !== 0;
  var reloadable = ownURL && meta("run-reload") === "1";

  var note = document.createElement("p");
  note.className = "callout callout-info run-follow";
  note.id = "run-follow";
  note.setAttribute("role", "status");
  note.hidden = true;
  var main = document.querySelector("main") || document.body;
  main.insertBefore(note, main.firstChild);

  function say(level, text, link) {
    note.className = "callout callout-" + level + " run-follow";
    note.textContent = text;
    if (link) {
      note.appendChild(document.createTextNode(" "));
      var a = document.createElement("a");
      a.href = link.href;
      a.textContent = link.text;
      note.appendChild(a);
      note.appendChild(document.createTextNode("."));
    }
    note.hidden = false;
    document.body.setAttribute("data-run-state", level === "info" ? "rebuilding" : "older");
  }
  // The console of a page of an earlier run has nothing to talk to.
  function consoleGone(text) {
    document.querySelectorAll(".console-state").forEach(function (n) {
      n.className = "console-state state-exited";
      n.textContent = text;
    });
  }

  var es = new EventSource(prefix + "run/events");
  es.addEventListener("state", function (e) {
    var s;
    try { s = JSON.parse(e.data); } catch (err) { return; }
    if (s.phase === "up" && s.id === mine) {
      note.hidden = true;
      document.body.setAttribute("data-run-state", "current");
      return;
    }
    switch (s.phase) {
    case "building":
    case "starting":
      say("info", "panicroom run is rebuilding the app (build " + s.run + ")… " +
        (reloadable ? "This page reloads when it is up." : "This page is of an earlier run: its frames are gone."));
      consoleGone("The app is being rebuilt: this page's frames are gone with the process that served it.");
      return;
    case "failed":
      say("warn", "The app is down" + (s.title ? ": " + s.title : "") + ". This page's frames are gone with the process that served it" +
        (reloadable ? "; it reloads when a new build is up." : "."), { href: location.href, text: "Show why" });
      consoleGone("The app is down: this page's frames are gone with the process that served it.");
      return;
    case "up":
      if (reloadable) {
        es.close();
        location.reload();
        return;
      }
      es.close();
      say("warn", "This page is of an earlier run of the app, whose frames are gone. A newer build is up:", { href: prefix, text: "open its recent panics" });
      consoleGone("This page is of an earlier run of the app: its frames are gone.");
    }
  });
})();
