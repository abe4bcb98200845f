(function () {
  "use strict";
  var D = JSON.parse(document.getElementById("st-data").textContent);
  // Servers, then clients, then any other node (a lock's protected resource).
  var N = D.names.length, S = D.servers, C = S + D.clients, ev = [];
  // Unpack the flat events: [time, kind, node, peer, sent].
  for (var q = 0, tp = 0; q + 4 < D.ev.length; q += 5) {
    tp += D.ev[q];
    ev.push([tp, D.ev[q + 1], D.ev[q + 2], D.ev[q + 3], tp - D.ev[q + 4]]);
  }
  var slider = document.getElementById("st-slider");
  slider.max = String(Math.max(0, ev.length - 1));
  // Per node, the steps at which its view changed (ascending) and the views.
  var vs = [], vv = [];
  for (var n = 0; n < N; n++) { vs.push([]); vv.push([]); }
  var lastLog = [], lastFields = [];
  D.views.forEach(function (c) {
    if (c[1] >= N) return;
    // A field written 0 is the node's previous view's field at that place. A log is [cells
    // kept from the end of the node's previous log, new cells...].
    if (c[2]) {
      var pf = lastFields[c[1]] || [];
      c[2][2] = c[2][2].map(function (f, i) { return f === 0 ? pf[i] : f; });
      lastFields[c[1]] = c[2][2];
      var prev = lastLog[c[1]] || [], k = c[2][3][0];
      c[2][3] = prev.slice(prev.length - k).concat(c[2][3].slice(1));
      lastLog[c[1]] = c[2][3];
    }
    vs[c[1]].push(c[0]); vv[c[1]].push(c[2]);
  });
  var rolesOf = [];
  for (n = 0; n < N; n++) rolesOf.push([]);
  D.roles.forEach(function (r) { if (r[1] < N) rolesOf[r[1]].push(r); });
  // Whether clients have roles of their own (a lock's holders and waiters).
  var clientRoles = D.roles.some(function (r) { return r[1] >= S && r[1] < C; });
  var hl = {};
  D.highlight.forEach(function (h) { hl[h[0]] = h[1]; });
  var focusOps = {};
  D.focusOps.forEach(function (i) { focusOps[i] = true; });
  function esc(s) {
    return String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  }
  function secs(t) { return (t / 1e9).toFixed(6) + "s"; }
  // The last index i with a[i] <= x, or -1.
  function upto(a, x) {
    var lo = 0, hi = a.length;
    while (lo < hi) { var m = (lo + hi) >> 1; if (a[m] <= x) lo = m + 1; else hi = m; }
    return lo - 1;
  }
  var COLORS = { leader: "#2e9e4f", holder: "#2e9e4f", candidate: "#f0a030", waiting: "#f0a030",
    down: "#d04040", paused: "#8a5cc2", uncertain: "#e8d060", blocked: "#8e44ad" };
  function termColor(t) { return "hsl(" + ((t * 67) % 360) + ",55%,80%)"; }
  function roleAt(n, t) {
    var r = rolesOf[n], best = null;
    for (var i = 0; i < r.length && r[i][0] <= t; i++) best = r[i];
    return best;
  }
  function label(i) {
    var e = ev[i], k = D.kinds[e[1]], l = D.labels[i];
    var who = D.names[e[2]], from = D.names[e[3]];
    var txt = secs(e[0]) + " " + k + " ";
    if (k === "deliver" || k.indexOf("drop") === 0 || k === "duplicate") txt += from + " → " + who;
    else txt += who;
    return txt + (l ? ": " + l : "");
  }
  function card(n, t, i) {
    var k = upto(vs[n], i), v = k >= 0 ? vv[n][k] : undefined;
    var role, term = null, fields = [], log = [], len = 0;
    if (v === null) { role = "down"; }
    else if (v === undefined) { role = i < N ? "starting" : "—"; }
    else { role = v[0]; term = v[1]; fields = v[2]; log = v[3]; len = v[4]; }
    if ((v !== null) && (!role || role === "")) {
      var r = roleAt(n, t);
      role = r ? r[2] : "up"; term = r ? r[3] : null;
    }
    var h = "<div class=\"node" + (hl[n] !== undefined ? " hl" : "") + "\" data-node=\"" + n + "\">";
    h += "<div class=\"name\">" + esc(D.names[n]) + "</div>";
    h += "<div class=\"role\" style=\"background:" + (COLORS[role] || "#ddd") + "\">" + esc(role) +
      (term !== null ? " · term " + term : "") + "</div>";
    if (hl[n] !== undefined) h += "<div class=\"why\">" + esc(hl[n]) + "</div>";
    fields.forEach(function (f) { h += "<div class=\"f\"><b>" + esc(f[0]) + "</b> " + esc(f[1]) + "</div>"; });
    if (len > 0) {
      h += "<div class=\"log\">" + (len > log.length ? "<span class=\"more\">…" + (len - log.length) + "</span>" : "");
      log.forEach(function (c) {
        h += "<span class=\"e\" style=\"background:" + termColor(c[1]) + "\" title=\"" + esc(c[2]) + "\">" +
          c[0] + ":" + c[1] + "<br><small>" + esc(c[2]) + "</small></span>";
      });
      h += "</div>";
    }
    return h + "</div>";
  }
  function draw(i) {
    i = Math.max(0, Math.min(ev.length - 1, i | 0));
    if (String(slider.value) !== String(i)) slider.value = String(i);
    var t = ev[i][0];
    document.getElementById("st-event").innerHTML = "<b>step " + i + " of " + (ev.length - 1) +
      "</b> · " + esc(label(i));
    var h = "";
    for (var n = 0; n < S; n++) h += card(n, t, i);
    document.getElementById("st-nodes").innerHTML = h;
    // Clients: the operation each has pending (culprits and unplaced ones marked). An
    // operation is [number, client, invoked, returned or null, text].
    var pend = {};
    D.ops.forEach(function (o) {
      if (o[2] <= t && (o[3] === null || o[3] > t)) pend[o[1]] = [o[0], o];
    });
    h = "<b>Clients</b><table><tr><th>client</th>" + (clientRoles ? "<th>role</th>" : "") +
      "<th>pending operation</th><th>since</th></tr>";
    for (n = S; n < C; n++) {
      var p = pend[n - S];
      h += "<tr" + (p && focusOps[p[0]] ? " class=\"culprit\"" : "") + "><td>" + esc(D.names[n]) +
        (hl[n] !== undefined ? " <span class=\"why\">(" + esc(hl[n]) + ")</span>" : "") + "</td>";
      if (clientRoles) {
        // A client's role (lock holder, waiting, ...) from its role timeline.
        var cr = roleAt(n, t), rn = cr ? cr[2] : "";
        h += "<td style=\"background:" + (COLORS[rn] || "#fff") + "\">" + esc(rn) + "</td>";
      }
      h += "<td>" + (p ? "#" + p[0] + " " + esc(p[1][4]) : "idle") + "</td><td>" +
        (p ? secs(p[1][2]) : "") + "</td></tr>";
      if (n - S > 60) { h += "<tr><td colspan=\"3\">… " + (C - n - 1) + " more clients</td></tr>"; break; }
    }
    document.getElementById("st-clients").innerHTML = h + "</table>";
    // Messages in flight: sent by now, delivered (or dropped) later.
    var fl = [];
    for (var j = i + 1; j < ev.length && fl.length < 40; j++) {
      var e = ev[j], k = D.kinds[e[1]];
      if ((k === "deliver" || k.indexOf("drop") === 0) && e[4] <= t) fl.push(j);
    }
    h = "<b>Messages in flight</b> (" + (fl.length >= 40 ? "first 40" : fl.length) + ")<ul>";
    fl.forEach(function (j) {
      var e = ev[j], k = D.kinds[e[1]];
      h += "<li>" + esc(D.names[e[3]]) + " → " + esc(D.names[e[2]]) + " sent " + secs(e[4]) +
        (k === "deliver" ? ", arrives " : ", " + k + " at ") + secs(e[0]) +
        (D.labels[j] ? ": " + esc(D.labels[j]) : "") + "</li>";
    });
    document.getElementById("st-flight").innerHTML = h + "</ul>";
    var fs = D.faults.filter(function (f) { return f[0] <= t && t < f[1]; });
    document.getElementById("st-faults").innerHTML = "<b>Faults in force</b> " +
      (fs.length ? fs.map(function (f) { return esc(f[2]); }).join("; ") : "none");
  }
  function go(d) { draw(Number(slider.value) + d); }
  slider.addEventListener("input", function () { draw(Number(slider.value)); });
  document.getElementById("st-first").onclick = function () { draw(0); };
  document.getElementById("st-back10").onclick = function () { go(-10); };
  document.getElementById("st-prev").onclick = function () { go(-1); };
  document.getElementById("st-next").onclick = function () { go(1); };
  document.getElementById("st-fwd10").onclick = function () { go(10); };
  document.getElementById("st-focus").onclick = function () { draw(D.start); };
  document.addEventListener("keydown", function (e) {
    if (e.key === "ArrowLeft") go(-1); else if (e.key === "ArrowRight") go(1);
  });
  draw(D.start);
  // `#only` shows the step-through view alone (screenshots, a focused link).
  if (/only/.test(location.hash)) {
    var keep = document.getElementById("stepper"), title = document.getElementById("step");
    Array.prototype.forEach.call(document.body.children, function (el) {
      if (el !== keep && el !== title && el.tagName !== "H1" && el.id !== "verdict") el.style.display = "none";
    });
  }
  // `#step=N` moves the slider as a reader would (tests and links use it).
  var m = /step=(\d+)/.exec(location.hash);
  if (m) { slider.value = m[1]; slider.dispatchEvent(new Event("input")); }
  document.getElementById("stepper").setAttribute("data-ready", String(Math.round(performance.now())));
})();
