// panicroom page behaviour: frame toggles, keyboard navigation, copy as text.
// Loaded as a file (the page's Content-Security-Policy forbids inline script).
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

  var copy = document.getElementById("copy-text");
  function copyTraceback() {
    if (!copy) { return; }
    fetch(copy.getAttribute("data-url"), { headers: { Accept: "text/plain" }, credentials: "same-origin" })
      .then(function (r) {
        if (!r.ok) { throw new Error("HTTP " + r.status); }
        return r.text();
      })
      .then(copyText)
      .then(function () { toast("Traceback copied as text"); },
            function (e) { toast("Could not copy: " + e.message); });
  }
  if (copy) { copy.addEventListener("click", copyTraceback); }

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
    }
  });
})();
