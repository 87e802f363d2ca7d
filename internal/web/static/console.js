// panicroom consoles: one per frame, inline under it, over one websocket.
// Nothing here runs until the developer opens a console; the PIN gate and
// every check live on the server.
(function () {
  "use strict";

  function meta(name) {
    var m = document.querySelector('meta[name="panicroom-' + name + '"]');
    return m ? m.getAttribute("content") : "";
  }
  var prefix = meta("prefix");
  var secret = meta("secret");
  var state = meta("console");
  var panicID = document.body.getAttribute("data-panic");
  if (!prefix || !panicID) { return; }

  // The consoles' styles come with their code, after the first paint.
  var styled = new Promise(function (resolve) {
    var me = document.currentScript;
    if (!me) { resolve(); return; }
    var u = new URL("console.css", me.src);
    u.search = new URL(me.src).search;
    var link = document.createElement("link");
    link.rel = "stylesheet";
    link.href = u.href;
    link.onload = link.onerror = function () { resolve(); };
    document.head.appendChild(link);
  });

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = text; }
    return e;
  }

  // ---- Break: Continue -------------------------------------------------

  // A goroutine stopped by panicroom.Break goes on when asked: the button
  // beside the message, or "continue" typed in any frame's console.
  var breakpoint = meta("breakpoint") === "true";
  var continued = null;

  function proceed() {
    if (!continued) {
      continued = ensureSession().then(function () {
        return api("POST", "panic/" + panicID + "/continue");
      }).then(function (r) {
        return r.text().then(function (t) {
          if (!r.ok) { continued = null; throw new Error(t.trim()); }
          document.body.classList.add("continued");
          document.querySelectorAll(".continue-button").forEach(function (b) {
            b.disabled = true; b.textContent = "Continued";
          });
          return "Continued: the goroutine runs on from Break, with the values assigned here.";
        });
      }).catch(function (e) { continued = null; return "Could not continue: " + e.message; });
    }
    return continued;
  }

  if (breakpoint && meta("parked") === "true") {
    var msgLine = document.getElementById("panic-message");
    if (msgLine) {
      var bar = el("p", "continue-bar");
      var button = el("button", "continue-button", "Continue");
      button.type = "button";
      // Continue changes what the program does, as the console does: it
      // takes the PIN, and says so before the dialog surprises anyone.
      button.title = "Let the goroutine go on from Break (asks for the console's PIN first if this browser has not entered it)";
      var said = el("span", "continue-said");
      button.addEventListener("click", function () {
        button.disabled = true;
        proceed().then(function (msg) { said.textContent = msg; if (!continued) { button.disabled = false; } });
      });
      bar.appendChild(button);
      bar.appendChild(said);
      msgLine.parentNode.insertBefore(bar, msgLine.nextSibling);
    }
  }

  // ---- session: PIN and websocket -------------------------------------

  var socket = null, socketReady = null, nextID = 1, pending = {};

  function api(method, path, body) {
    var opts = { method: method, credentials: "same-origin", headers: { "X-Panicroom-Secret": secret } };
    if (body) {
      opts.headers["Content-Type"] = "application/x-www-form-urlencoded";
      opts.body = body;
    }
    return fetch(prefix + path, opts);
  }

  // ensureSession resolves once the browser holds a valid PIN cookie, asking
  // for the PIN when it does not.
  function ensureSession() {
    return api("GET", "session").then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) {
        if (r.ok) { return j; }
        if (r.status === 401) { return askPIN(j).then(ensureSession); }
        if (olderRun(r.status, j)) { markOlderRun(); throw new Error(olderRunText + "open its recent panics at " + prefix + "."); }
        throw new Error(j.reason || ("HTTP " + r.status));
      });
    });
  }

  // A page kept open across a restart of the app holds the secret of the
  // process that served it: the new one refuses it. Its frames are gone
  // with that process, and "reload" would find no such panic: say so, and
  // point at the new run's panics.
  var olderRunText = "This page belongs to an earlier run of the app, whose frames are gone. The app is running again: ";
  function olderRun(status, j) {
    return status === 403 && /page secret does not match/.test((j && j.reason) || "");
  }
  function markOlderRun() {
    document.querySelectorAll(".console-state").forEach(function (n) {
      n.className = "console-state state-exited";
      n.textContent = olderRunText;
      var a = el("a", null, "open its recent panics");
      a.href = prefix;
      n.appendChild(a);
      n.appendChild(document.createTextNode("."));
    });
  }
  // watchForRestart asks every two seconds, for ten minutes at most,
  // whether an app answers again, and says so when one does.
  function watchForRestart() {
    var tries = 0;
    var timer = setInterval(function () {
      if (++tries > 300) { clearInterval(timer); return; }
      api("GET", "session").then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (j) {
          clearInterval(timer);
          if (olderRun(r.status, j)) { markOlderRun(); }
        });
      }, function () { /* still down */ });
    }, 2000);
  }

  var dialog = null;
  function askPIN(info) {
    return new Promise(function (resolve, reject) {
      if (info && info.locked) {
        reject(new Error("The PIN is locked after 10 wrong attempts. Restart the server to use the console."));
        return;
      }
      api("POST", "pin/print");
      if (!dialog) {
        dialog = el("dialog", "pin-dialog");
        dialog.setAttribute("aria-labelledby", "pin-title");
        var form = el("form");
        form.method = "dialog";
        form.appendChild(el("h2", null, "Enter the debugger PIN")).id = "pin-title";
        var p = el("p", "dim");
        p.appendChild(document.createTextNode("The console runs Go code inside the server. Its PIN was just printed in the terminal running the server, on a line starting with "));
        p.appendChild(el("code", null, "panicroom: debugger PIN"));
        p.appendChild(document.createTextNode("."));
        form.appendChild(p);
        var input = el("input", "pin-input");
        input.name = "pin";
        input.autocomplete = "off";
        input.inputMode = "numeric";
        input.placeholder = "123-456-789";
        input.setAttribute("aria-label", "PIN");
        input.maxLength = 13;
        form.appendChild(input);
        form.appendChild(el("p", "pin-error", ""));
        var row = el("div", "pin-actions");
        var cancel = el("button", null, "Cancel");
        cancel.type = "button";
        cancel.value = "cancel";
        var ok = el("button", "primary", "Unlock");
        ok.type = "submit";
        row.appendChild(cancel);
        row.appendChild(ok);
        form.appendChild(row);
        dialog.appendChild(form);
        document.body.appendChild(dialog);
        cancel.addEventListener("click", function () { dialog.close("cancel"); });
      }
      var form = dialog.querySelector("form"), input = dialog.querySelector("input"), msg = dialog.querySelector(".pin-error");
      msg.textContent = "";
      input.value = "";
      function onSubmit(e) {
        e.preventDefault();
        msg.textContent = "Checking…";
        api("POST", "pin", "pin=" + encodeURIComponent(input.value)).then(function (r) {
          if (r.ok) { cleanup(); dialog.close("ok"); resolve(); return; }
          return r.text().then(function (t) {
            msg.textContent = t.trim();
            if (r.status === 403) { cleanup(); dialog.close("locked"); reject(new Error(t.trim())); }
            input.select();
          });
        }, function (err) { msg.textContent = "Could not reach the server: " + err.message; });
      }
      function onClose() {
        if (dialog.returnValue !== "ok" && dialog.returnValue !== "locked") {
          cleanup();
          reject(new Error("The console needs the PIN."));
        }
      }
      function cleanup() {
        form.removeEventListener("submit", onSubmit);
        dialog.removeEventListener("close", onClose);
      }
      form.addEventListener("submit", onSubmit);
      dialog.addEventListener("close", onClose);
      dialog.returnValue = "";
      dialog.showModal();
      input.focus();
    });
  }

  function connect() {
    if (socketReady) { return socketReady; }
    socketReady = ensureSession().then(function () {
      return new Promise(function (resolve, reject) {
        var url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + prefix + "console/ws";
        // A WebSocket cannot send headers, and a URL ends up in logs: the
        // secret rides as a subprotocol, and the server selects "panicroom".
        var ws = new WebSocket(url, ["panicroom", "panicroom.secret." + secret]);
        var opened = false;
        ws.onopen = function () { opened = true; socket = ws; resolve(ws); };
        ws.onmessage = function (ev) {
          var a;
          try { a = JSON.parse(ev.data); } catch (e) { return; }
          if (a.id && pending[a.id]) {
            var p = pending[a.id];
            delete pending[a.id];
            p(a);
          } else if (a.op === "status" && a.status) {
            showStatus(a.status);
          }
        };
        ws.onclose = function (ev) {
          socket = null;
          socketReady = null;
          if (!opened) { reject(new Error("The console connection was refused. Reload the page.")); }
          // Ask the server whether it is still there, so that the console can
          // say which: an app that exited (os.Exit from a call, a crash) is
          // not one that merely dropped a connection.
          fetch(prefix + "session", { credentials: "same-origin", headers: { "X-Panicroom-Secret": secret } }).then(function () {
            return { code: "closed", message: ev.reason || "The connection to the server closed.", hint: "Reload the page to reconnect." };
          }, function () {
            // Under panicroom run, follow.js hears what became of the app
            // from the runner, pushed: no need to ask.
            if (meta("run")) {
              return { code: "exited", message: "The app is not answering: panicroom run is rebuilding it, or it crashed.", hint: "This page keeps what it showed, but its frames are gone with the process." };
            }
            watchForRestart();
            return { code: "exited", message: "The server is not answering: it exited or crashed.", hint: "Restart it. This page keeps what it showed, but its frames are gone with the process." };
          }).then(function (err) {
            Object.keys(pending).forEach(function (id) {
              pending[id]({ error: err });
              delete pending[id];
            });
            document.querySelectorAll(".console-state").forEach(function (n) {
              n.className = "console-state state-" + err.code;
              n.textContent = err.message + " " + err.hint;
            });
          });
        };
      });
    });
    socketReady.catch(function () { socketReady = null; });
    return socketReady;
  }

  function send(msg) {
    return connect().then(function (ws) {
      return new Promise(function (resolve) {
        msg.id = nextID++;
        pending[msg.id] = resolve;
        ws.send(JSON.stringify(msg));
      });
    });
  }

  function showStatus(st) {
    state = st.State;
    document.querySelectorAll(".console-state").forEach(function (s) { renderState(s, st); });
  }

  function renderState(node, st) {
    node.textContent = "";
    node.className = "console-state state-" + st.State;
    if (st.State === "attached") {
      node.textContent = st.Optimized ? "attached — optimized build: variables may be unreadable" : "";
      return;
    }
    node.textContent = st.State === "attaching" ? "The debugger is attaching…" : ("Console " + st.State + ": " + st.Reason + (st.Fix ? ". " + st.Fix : ""));
  }

  // ---- value trees -------------------------------------------------------

  var longString = 240;

  function summary(v) {
    var s = el("span", "vt-line");
    if (v.Name) { s.appendChild(el("span", "vt-name", v.Name)); s.appendChild(document.createTextNode(" ")); }
    if (v.Type) { s.appendChild(el("span", "vt-type", v.Type)); s.appendChild(document.createTextNode(" ")); }
    if (v.Unreadable) {
      s.appendChild(el("span", "vt-unreadable", "unreadable: " + v.Unreadable));
    } else if (v.Value) {
      var val = el("span", "vt-value vt-" + (v.Kind || "other"), v.Value);
      // A long string shows three lines until its node is opened, so that
      // it does not push every other answer out of view.
      if (v.Kind === "string" && v.Value.length > longString) { val.className += " vt-clip"; }
      s.appendChild(val);
    }
    var facts = [];
    var shown = v.Value || "";
    // A nil map, slice or chan has no length worth saying: nil is the fact.
    var sized = shown !== "nil";
    if (sized && v.Len >= 0 && v.Kind !== "string" && shown.indexOf("len ") < 0) { facts.push("len " + v.Len); }
    if (v.Kind === "string" && v.Len > longString) { facts.push(v.Len + " bytes"); }
    if (sized && v.Cap >= 0 && (v.Kind === "slice" || v.Kind === "chan") && shown.indexOf("cap ") < 0) { facts.push("cap " + v.Cap); }
    if (facts.length) { s.appendChild(el("span", "vt-facts", facts.join(", "))); }
    if (v.Cut) { s.appendChild(el("span", "vt-facts", "(shown above)")); }
    if (v.Addr) { s.title = v.Type + " at 0x" + v.Addr.toString(16); }
    var copy = el("button", "vt-copy", "copy");
    copy.type = "button";
    copy.title = "Copy the value";
    copy.addEventListener("click", function (e) {
      e.preventDefault();
      e.stopPropagation();
      var text = v.Value || v.Type || "";
      if (navigator.clipboard) { navigator.clipboard.writeText(text); }
    });
    s.appendChild(copy);
    return s;
  }

  function tree(v, frame) {
    var expandable = (v.Children && v.Children.length) || v.More;
    if (!expandable) {
      var leaf = el("div", "vt-node vt-leaf");
      leaf.appendChild(summary(v));
      return leaf;
    }
    var d = el("details", "vt-node");
    var s = el("summary");
    s.appendChild(summary(v));
    d.appendChild(s);
    var kids = el("div", "vt-children");
    d.appendChild(kids);
    var filled = false;
    d.addEventListener("toggle", function () {
      if (!d.open || filled) { return; }
      filled = true;
      (v.Children || []).forEach(function (c) { kids.appendChild(tree(c, frame)); });
      if (v.More) { kids.appendChild(moreButton(v.More, kids, frame)); }
      // A pointer or interface has one child, the value behind it: open it
      // too, so that one click shows the fields.
      if ((v.Kind === "ptr" || v.Kind === "interface") && kids.children.length === 1 && kids.firstChild.tagName === "DETAILS") {
        kids.firstChild.open = true;
      }
    });
    return d;
  }

  function moreButton(handle, into, frame) {
    var b = el("button", "vt-more", "load more…");
    b.type = "button";
    b.addEventListener("click", function () {
      b.disabled = true;
      b.textContent = "loading…";
      send({ op: "expand", handle: handle }).then(function (a) {
        b.remove();
        if (a.error) { into.appendChild(errorBlock(a.error)); return; }
        var v = a.value;
        (v.Children || []).forEach(function (c) { into.appendChild(tree(c, frame)); });
        if (v.More) { into.appendChild(moreButton(v.More, into, frame)); }
        if (!v.Children || !v.Children.length) { into.appendChild(tree(v, frame)); }
      });
    });
    return b;
  }

  function errorBlock(err) {
    var box = el("div", "con-error");
    box.appendChild(el("div", "con-error-msg", err.message));
    if (err.hint) { box.appendChild(el("div", "con-error-hint", err.hint)); }
    if (err.value) { box.appendChild(tree(err.value)); }
    return box;
  }

  // ---- one console per frame ---------------------------------------------

  function historyKey() { return "panicroom.history." + panicID; }
  function loadHistory() {
    try { return JSON.parse(sessionStorage.getItem(historyKey()) || "[]"); } catch (e) { return []; }
  }
  function saveHistory(h) {
    try { sessionStorage.setItem(historyKey(), JSON.stringify(h.slice(-200))); } catch (e) { /* full or off */ }
  }

  function openConsole(frameEl) {
    var existing = frameEl.querySelector(".console");
    if (existing) {
      frameEl.open = true;
      existing.querySelector("textarea").focus();
      return;
    }
    var index = parseInt(frameEl.id.replace("frame-", ""), 10);
    var box = el("div", "console");
    box.setAttribute("aria-label", "Console for frame " + index);
    var st = el("div", "console-state");
    renderState(st, { State: state, Reason: meta("reason") });
    box.appendChild(st);

    var locals = el("div", "locals");
    var lh = el("div", "locals-head");
    lh.appendChild(el("span", "locals-title", "Locals"));
    var lsrc = el("span", "dim locals-source", "");
    lh.appendChild(lsrc);
    var refresh = el("button", null, "Refresh live");
    refresh.type = "button";
    lh.appendChild(refresh);
    locals.appendChild(lh);
    var lbody = el("div", "locals-body", "");
    locals.appendChild(lbody);
    // The top-level console's frame is panicroom's own waiting goroutine:
    // its locals say nothing about the app.
    if (!frameEl.hasAttribute("data-autoconsole")) { box.appendChild(locals); }

    var out = el("div", "console-output");
    out.setAttribute("aria-live", "polite");
    box.appendChild(out);
    var inputRow = el("div", "console-input");
    inputRow.appendChild(el("span", "prompt", "›"));
    var input = el("textarea");
    input.rows = 1;
    input.spellcheck = false;
    input.setAttribute("aria-label", "Go expression for frame " + index);
    input.placeholder = "Go expression, call or assignment — Enter runs, Shift+Enter new line, Tab completes";
    inputRow.appendChild(input);
    box.appendChild(inputRow);
    frameEl.querySelector(".body").appendChild(box);
    frameEl.open = true;

    function showVars(vars, source) {
      lbody.textContent = "";
      lsrc.textContent = source;
      if (!vars) { lbody.appendChild(el("div", "dim", "No variables.")); return; }
      if (vars.Missing) { lbody.appendChild(el("div", "dim", vars.Missing)); return; }
      var all = (vars.Args || []).concat(vars.Locals || []);
      if (!all.length) { lbody.appendChild(el("div", "dim", "This frame has no arguments or locals.")); return; }
      all.forEach(function (v) { lbody.appendChild(tree(v, index)); });
    }
    function loadSnapshot() {
      lbody.textContent = "Loading…";
      send({ op: "snapshot", panic: panicID }).then(function (a) {
        if (a.error) { lbody.textContent = ""; lbody.appendChild(errorBlock(a.error)); return; }
        var f = a.snapshot && a.snapshot.Frames ? a.snapshot.Frames[index] : null;
        showVars(f, breakpoint ? "as at Break" : "as at the panic");
      }, function (e) { lbody.textContent = e.message; });
    }
    refresh.addEventListener("click", function () {
      send({ op: "locals", panic: panicID, frame: index }).then(function (a) {
        if (a.error) { lbody.textContent = ""; lbody.appendChild(errorBlock(a.error)); return; }
        showVars(a.vars, "live");
      });
    });

    var history = loadHistory(), pos = history.length, draft = "";

    function run() {
      var expr = input.value.trim();
      if (!expr) { return; }
      history.push(expr);
      saveHistory(history);
      pos = history.length;
      input.value = "";
      var entry = el("div", "con-entry");
      var echo = el("div", "con-echo");
      echo.appendChild(el("span", "prompt", "›"));
      echo.appendChild(el("code", null, expr));
      entry.appendChild(echo);
      var result = el("div", "con-result dim", "…");
      entry.appendChild(result);
      out.appendChild(entry);
      out.scrollTop = out.scrollHeight;
      if (expr === "continue" && breakpoint) {
        proceed().then(function (msg) { result.className = "con-result"; result.textContent = msg; reveal(entry); });
        return;
      }
      send({ op: "eval", panic: panicID, frame: index, expr: expr }).then(function (a) {
        result.textContent = "";
        result.className = "con-result";
        if (a.error) { result.appendChild(errorBlock(a.error)); } else {
          result.appendChild(tree(a.value, index));
          // One line on how the value was obtained, when it matters (a
          // call handed pointers into the parked frames).
          if (a.value.Note) { result.appendChild(el("div", "con-note", a.value.Note)); }
        }
        reveal(entry);
      }, function (e) {
        result.textContent = "";
        result.className = "con-result";
        result.appendChild(errorBlock({ message: e.message }));
        reveal(entry);
      });
    }

    // reveal scrolls the output to an answer: to its end when it fits, to
    // its start when it is taller than the box, so that no answer is shown
    // from its middle.
    function reveal(entry) {
      if (entry.offsetHeight <= out.clientHeight) {
        out.scrollTop = out.scrollHeight;
      } else {
        out.scrollTop = entry.offsetTop;
      }
    }

    function completeAtCursor() {
      var before = input.value.slice(0, input.selectionStart);
      send({ op: "complete", panic: panicID, frame: index, expr: before }).then(function (a) {
        var c = a.candidates || [];
        var m = /[A-Za-z_][A-Za-z0-9_]*$/.exec(before);
        var partial = m ? m[0] : "";
        if (c.length === 1) {
          var add = c[0].slice(partial.length);
          input.setRangeText(add, input.selectionStart, input.selectionStart, "end");
        } else if (c.length > 1) {
          var hint = el("div", "con-candidates", c.join("  "));
          out.appendChild(hint);
          out.scrollTop = out.scrollHeight;
        }
      });
    }

    input.addEventListener("keydown", function (e) {
      if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); run(); return; }
      if (e.key === "Tab" && !e.shiftKey) { e.preventDefault(); completeAtCursor(); return; }
      if (e.key === "l" && e.ctrlKey) { e.preventDefault(); out.textContent = ""; return; }
      if (e.key === "Escape") { e.preventDefault(); frameEl.querySelector("summary").focus(); return; }
      if (e.key === "ArrowUp" && input.value.indexOf("\n") < 0 && pos > 0) {
        if (pos === history.length) { draft = input.value; }
        pos--; input.value = history[pos]; e.preventDefault();
      } else if (e.key === "ArrowDown" && input.value.indexOf("\n") < 0 && pos < history.length) {
        pos++; input.value = pos === history.length ? draft : history[pos]; e.preventDefault();
      }
    });
    input.addEventListener("input", function () {
      input.rows = Math.min(8, input.value.split("\n").length);
    });

    connect().then(function () {
      if (locals.parentNode) { loadSnapshot(); }
      input.focus();
    }, function (err) {
      lbody.textContent = "";
      lbody.appendChild(errorBlock({ message: err.message }));
      input.disabled = true;
      input.placeholder = err.message;
    });
  }

  // ---- wiring -----------------------------------------------------------

  var usable = state !== "off" && state !== "unavailable" && secret;
  document.querySelectorAll(".frame").forEach(function (f) {
    var s = f.querySelector("summary");
    var b = el("button", "console-open", "Console");
    b.type = "button";
    b.title = usable ? "Evaluate Go in this frame (e)" : "Console " + state + ": " + meta("reason");
    b.disabled = !usable;
    b.addEventListener("click", function (e) {
      e.preventDefault();
      e.stopPropagation();
      openConsole(f);
    });
    s.appendChild(b);
  });
  var auto = document.querySelector(".frame[data-autoconsole]");
  if (auto && usable) { styled.then(function () { openConsole(auto); }); }
  document.addEventListener("keydown", function (e) {
    if (e.key !== "e" || e.ctrlKey || e.metaKey || e.altKey || !usable) { return; }
    var t = e.target;
    if (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA")) { return; }
    var f = t && t.closest ? t.closest(".frame") : null;
    if (!f) { f = document.querySelector(".frame-app") || document.querySelector(".frame"); }
    if (f) { e.preventDefault(); openConsole(f); }
  });
})();
