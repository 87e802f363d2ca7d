// panicroom page behaviour: frame toggles, keyboard navigation, copy as text.
// Loaded as a file (the page's Content-Security-Policy forbids inline script).

// The script of one kind of page is loaded from here, after the page is
// parsed, so that it neither weighs on nor holds up the first paint of the
// others: console.js, the consoles (most of the script), on the pages that
// have them; index.js on the list of recent panics. Each takes this file's
// ?v= so that it is cached alike.
(function () {
  "use strict";
  var me = document.currentScript;
  var body = document.body;
  var name = body.hasAttribute("data-panic") ? "console.js" : body.classList.contains("page-index") ? "index.js" : "";
  if (!me || !name) { return; }
  var u = new URL(name, me.src);
  u.search = new URL(me.src).search;
  var s = document.createElement("script");
  s.src = u.href;
  document.head.appendChild(s);
})();

(function () {
  "use strict";
  var SHOW_ALL = "panicroom.showAllFrames";
  var body = document.body;

  function store(key, value) {
    try { localStorage.setItem(key, value); } catch (e) { /* storage off: keep the page usable */ }
  }
  function load(key) {
    try { return localStorage.getItem(key); } catch (e) { return null; }
  }

  var showAll = document.getElementById("show-all");
  if (showAll) {
    showAll.checked = load(SHOW_ALL) === "1";
    body.classList.toggle("show-all", showAll.checked);
    showAll.addEventListener("change", function () {
      body.classList.toggle("show-all", showAll.checked);
      store(SHOW_ALL, showAll.checked ? "1" : "0");
    });
  }

  document.querySelectorAll(".group-toggle").forEach(function (b) {
    b.addEventListener("click", function () {
      b.parentElement.classList.add("expanded");
      b.setAttribute("aria-expanded", "true");
      var first = b.parentElement.querySelector(".frame > summary");
      if (first) { first.focus(); }
    });
  });

  // Frames that start closed carry no source, and the Goroutines section
  // no groups; each is fetched once, when first opened. toggle does not
  // bubble: listen in capture.
  document.addEventListener("toggle", function (e) {
    var f = e.target;
    if (!f.open || !f.querySelector) { return; }
    var later = f.querySelector(":scope > .src-later[data-src], :scope > .body > .src-later[data-src]");
    if (!later || later.getAttribute("aria-busy")) { return; }
    later.setAttribute("aria-busy", "true");
    fetch(later.getAttribute("data-src"), { credentials: "same-origin" })
      .then(function (r) {
        return r.text().then(function (t) {
          if (!r.ok) { throw new Error(t.trim() || "HTTP " + r.status); }
          return t;
        });
      })
      .then(function (html) {
        // The server's html/template escaped every byte of source. A
        // closed frame's body is its own placeholder (a console opened
        // meanwhile stays below the source); the goroutines' is replaced.
        if (later.classList.contains("body")) {
          later.className = "body";
          later.removeAttribute("aria-busy");
          later.insertAdjacentHTML("afterbegin", html);
        } else {
          later.insertAdjacentHTML("beforebegin", html);
          later.remove();
        }
      }, function (err) {
        later.removeAttribute("aria-busy");
        if (later.classList.contains("body")) {
          later.className = "body";
          later = later.insertBefore(document.createElement("p"), later.firstChild);
        }
        later.className = "nosrc";
        later.textContent = "Could not load this part of the page: " + err.message;
      });
  }, true);

  function toast(text) {
    var t = document.querySelector(".toast");
    if (!t) {
      t = document.createElement("div");
      t.className = "toast";
      t.setAttribute("role", "status");
      body.appendChild(t);
    }
    t.textContent = text;
    t.classList.add("visible");
    setTimeout(function () { t.classList.remove("visible"); }, 1600);
  }

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    var ta = document.createElement("textarea");
    ta.value = text;
    ta.setAttribute("readonly", "");
    ta.style.position = "fixed";
    ta.style.opacity = "0";
    body.appendChild(ta);
    ta.select();
    var ok = document.execCommand("copy");
    body.removeChild(ta);
    return ok ? Promise.resolve() : Promise.reject(new Error("copy refused"));
  }

  // The text and Markdown are rendered by the server, where the page's
  // masking of secrets is; the buttons only fetch and copy them.
  function copier(id, done) {
    var b = document.getElementById(id);
    if (!b) { return function () {}; }
    var f = function () {
      fetch(b.getAttribute("data-url"), { credentials: "same-origin" })
        .then(function (r) {
          if (!r.ok) { throw new Error("HTTP " + r.status); }
          return r.text();
        })
        .then(copyText)
        .then(function () { toast(done); },
              function (e) { toast("Could not copy: " + e.message); });
    };
    b.addEventListener("click", f);
    return f;
  }
  var copyTraceback = copier("copy-text", "Traceback copied as text");
  var copyMarkdown = copier("copy-markdown", "Copied as Markdown, for an issue or a chat");

  function visibleFrames() {
    return Array.prototype.filter.call(document.querySelectorAll(".frame"), function (f) {
      return f.offsetParent !== null;
    });
  }
  function focusFrame(delta) {
    var frames = visibleFrames();
    if (!frames.length) { return; }
    var cur = document.activeElement && document.activeElement.closest ? document.activeElement.closest(".frame") : null;
    var i = frames.indexOf(cur);
    i = i < 0 ? (delta > 0 ? 0 : frames.length - 1) : Math.min(frames.length - 1, Math.max(0, i + delta));
    var s = frames[i].querySelector("summary");
    s.focus();
    frames[i].scrollIntoView({ block: "nearest" });
  }
  document.addEventListener("focusin", function (e) {
    document.querySelectorAll(".frame.focused").forEach(function (f) { f.classList.remove("focused"); });
    var f = e.target.closest && e.target.closest(".frame");
    if (f) { f.classList.add("focused"); }
  });

  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey) { return; }
    var t = e.target;
    if (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.isContentEditable)) { return; }
    switch (e.key) {
    case "j": case "ArrowDown":
      if (e.key === "ArrowDown" && !(t && t.closest && t.closest(".frame"))) { return; }
      focusFrame(1); e.preventDefault(); break;
    case "k": case "ArrowUp":
      if (e.key === "ArrowUp" && !(t && t.closest && t.closest(".frame"))) { return; }
      focusFrame(-1); e.preventDefault(); break;
    case "o":
      var f = t && t.closest && t.closest(".frame");
      if (f) { f.open = !f.open; e.preventDefault(); }
      break;
    case "a":
      if (showAll) { showAll.click(); e.preventDefault(); }
      break;
    case "c":
      copyTraceback(); e.preventDefault(); break;
    case "m":
      copyMarkdown(); e.preventDefault(); break;
    }
  });
})();
