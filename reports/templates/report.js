(function () {
  "use strict";
  // Data from the account is only ever placed with textContent / setAttribute: never parsed as HTML.
  var DATA = JSON.parse(document.getElementById("report-data").textContent);
  var SEV = { critical: 4, high: 3, medium: 2, low: 1, informational: 0 };
  var STATUS = { FAIL: 0, WAIVED: 1, PASS: 2, NOT_APPLICABLE: 3 };
  var KEYS = ["status", "severity", "service", "region", "framework", "q", "sort", "dir"];
  var DEFAULTS = { status: "", severity: "", service: "", region: "", framework: "", q: "", sort: "status", dir: "asc" };
  var PAGE = 400;
  var state = Object.assign({}, DEFAULTS);
  var limit = PAGE;
  var rows = DATA.findings;
  var checks = DATA.checks;
  var $ = function (id) { return document.getElementById(id); };

  // Bidi controls in account names could reorder what the reader sees (Trojan Source): show them as code points.
  var BIDI = /[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]/g;
  function visible(s) {
    return String(s).replace(BIDI, function (c) { return "<U+" + c.charCodeAt(0).toString(16).toUpperCase() + ">"; });
  }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = visible(text);
    return e;
  }
  function check(r) { return checks[r.c] || { title: r.c, service: "", fw: [], fwl: [], rationale: "", remediation: "" }; }
  function uniq(values) { return Array.from(new Set(values)).filter(Boolean).sort(); }

  function fillSelect(sel, values, label) {
    values.forEach(function (v) {
      var o = el("option", null, label ? label(v) : v);
      o.value = v;
      sel.appendChild(o);
    });
  }

  function readHash() {
    var h = location.hash.replace(/^#/, "");
    if (h.indexOf("=") < 0) return false;
    var p = new URLSearchParams(h);
    state = Object.assign({}, DEFAULTS);
    KEYS.forEach(function (k) { if (p.has(k)) state[k] = p.get(k); });
    ["status", "severity", "service", "region", "framework"].forEach(function (k) {
      var sel = $("f-" + k);
      var ok = Array.prototype.some.call(sel.options, function (o) { return o.value === state[k]; });
      if (!ok) state[k] = "";
    });
    if (!(state.sort in SORTS)) state.sort = DEFAULTS.sort;
    if (state.dir !== "desc") state.dir = "asc";
    return true;
  }

  function writeHash() {
    var p = new URLSearchParams();
    KEYS.forEach(function (k) { if (state[k] !== DEFAULTS[k]) p.set(k, state[k]); });
    var h = p.toString();
    try { history.replaceState(null, "", h ? "#" + h : location.pathname + location.search); } catch (e) { /* file:// quirks */ }
  }

  function syncControls() {
    ["status", "severity", "service", "region", "framework"].forEach(function (k) { $("f-" + k).value = state[k]; });
    $("f-q").value = state.q;
  }

  var SORTS = {
    status: function (r) { return [STATUS[r.s], -SEV[r.v], r.c, r.id]; },
    severity: function (r) { return [-SEV[r.v], STATUS[r.s], r.c, r.id]; },
    check: function (r) { return [r.c, STATUS[r.s], r.id]; },
    resource: function (r) { return [r.id.toLowerCase(), r.c]; },
    region: function (r) { return [r.r, STATUS[r.s], -SEV[r.v], r.c]; }
  };
  function cmp(a, b) {
    for (var i = 0; i < a.length; i++) {
      if (a[i] < b[i]) return -1;
      if (a[i] > b[i]) return 1;
    }
    return 0;
  }

  function matches(r) {
    var c = check(r);
    if (state.status && r.s !== state.status) return false;
    if (state.severity && r.v !== state.severity) return false;
    if (state.service && c.service !== state.service) return false;
    if (state.region && r.r !== state.region) return false;
    if (state.framework && c.fw.indexOf(state.framework) < 0) return false;
    if (state.q) {
      var hay = [r.c, c.title, r.arn, r.id, r.m, r.k, r.r, c.fwl.join(" ")].join(" ").toLowerCase();
      if (hay.indexOf(state.q.toLowerCase()) < 0) return false;
    }
    return true;
  }

  function detail(r, c) {
    var box = el("div", "detail-grid");
    function add(label, value, cls) {
      if (value === undefined || value === null || value === "") return;
      box.appendChild(el("dt", null, label));
      var dd = el("dd", cls);
      if (value instanceof Node) dd.appendChild(value); else dd.textContent = String(value);
      box.appendChild(dd);
    }
    add("Finding", r.m);
    add("Resource ARN", r.arn, "mono");
    add("Resource type", r.t);
    add("Account / region", (r.a || "") + " / " + r.r);
    add("Rule detail", r.k, "mono");
    var keys = Object.keys(r.e || {});
    if (keys.length) {
      var ev = el("dl", "evidence");
      keys.sort().forEach(function (k) {
        var v = r.e[k];
        ev.appendChild(el("dt", null, k));
        ev.appendChild(el("dd", "mono", typeof v === "string" ? v : JSON.stringify(v)));
      });
      add("Evidence", ev);
    }
    if (r.w) {
      add("Waiver", "Owner " + r.w.owner + " · expires " + r.w.expires + " · " + r.w.reason +
        (r.w.matched_by ? " (" + r.w.matched_by + ")" : ""));
    }
    if (c.rationale !== c.remediation) add("Why it matters", c.rationale);
    add("Pass criteria / remediation", c.remediation);
    add("Frameworks", c.fwl.join(", "));
    return box;
  }

  function row(r) {
    var c = check(r);
    var tr = el("tr", "row s-" + r.s);
    tr.setAttribute("data-status", r.s);
    tr.setAttribute("data-severity", r.v);
    tr.setAttribute("tabindex", "0");
    var sev = el("td"); sev.appendChild(el("span", "sev v-" + r.v, r.v)); tr.appendChild(sev);
    var st = el("td"); st.appendChild(el("span", "pill s-" + r.s, DATA.statusLabels[r.s] || r.s)); tr.appendChild(st);
    var ck = el("td", "check");
    ck.appendChild(el("div", "clip title", c.title));
    ck.appendChild(el("div", "mono muted", r.c));
    tr.appendChild(ck);
    var res = el("td", "resource");
    var rid = el("div", "clip mono", r.id + (r.k ? " · " + r.k : ""));
    rid.setAttribute("title", visible(r.arn));
    res.appendChild(rid);
    res.appendChild(el("div", "muted", r.t));
    tr.appendChild(res);
    tr.appendChild(el("td", "mono nowrap", r.r));
    var msg = el("td", "msg");
    msg.appendChild(el("div", "clip", r.m));
    tr.appendChild(msg);
    var dtr = el("tr", "detail s-" + r.s);
    dtr.hidden = true;
    var td = el("td");
    td.colSpan = 6;
    td.appendChild(detail(r, c));
    dtr.appendChild(td);
    function toggle() { dtr.hidden = !dtr.hidden; tr.classList.toggle("open", !dtr.hidden); }
    tr.addEventListener("click", toggle);
    tr.addEventListener("keydown", function (ev) { if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); toggle(); } });
    return [tr, dtr];
  }

  function render() {
    var key = SORTS[state.sort];
    var list = rows.filter(matches).map(function (r) { return [key(r), r]; });
    list.sort(function (a, b) { return cmp(a[0], b[0]); });
    if (state.dir === "desc") list.reverse();
    var body = $("findings-body");
    var frag = document.createDocumentFragment();
    list.slice(0, limit).forEach(function (p) { row(p[1]).forEach(function (t) { frag.appendChild(t); }); });
    body.textContent = "";
    body.appendChild(frag);
    $("findings-count").textContent = "Showing " + Math.min(list.length, limit) + " of " + list.length +
      " matching findings (" + rows.length + " in total)";
    $("findings-empty").hidden = list.length > 0;
    var more = $("findings-more");
    more.hidden = list.length <= limit;
    more.textContent = "Show all " + list.length + " findings";
    Array.prototype.forEach.call(document.querySelectorAll("th[data-sort]"), function (th) {
      th.setAttribute("aria-sort", th.getAttribute("data-sort") === state.sort ?
        (state.dir === "asc" ? "ascending" : "descending") : "none");
    });
    var active = ["status", "severity", "service", "region", "framework"].filter(function (k) { return state[k]; })
      .map(function (k) { return k + ": " + $("f-" + k).selectedOptions[0].textContent; });
    if (state.q) active.push("text: " + state.q);
    $("print-filter").textContent = active.length ? "Filtered by " + active.join(", ") : "All findings";
    document.documentElement.setAttribute("data-rendered", String(Math.min(list.length, limit)));
  }

  function update() { limit = PAGE; writeHash(); render(); }

  fillSelect($("f-service"), uniq(rows.map(function (r) { return check(r).service; })));
  fillSelect($("f-region"), uniq(rows.map(function (r) { return r.r; })));
  fillSelect($("f-framework"), Object.keys(DATA.frameworks).filter(function (f) {
    return rows.some(function (r) { return check(r).fw.indexOf(f) >= 0; });
  }), function (f) { return DATA.frameworks[f]; });

  ["status", "severity", "service", "region", "framework"].forEach(function (k) {
    $("f-" + k).addEventListener("change", function (ev) { state[k] = ev.target.value; update(); });
  });
  $("f-q").addEventListener("input", function (ev) { state.q = ev.target.value; update(); });
  $("f-reset").addEventListener("click", function () { state = Object.assign({}, DEFAULTS); syncControls(); update(); });
  $("findings-more").addEventListener("click", function () { limit = Infinity; render(); });
  Array.prototype.forEach.call(document.querySelectorAll("th[data-sort] button"), function (b) {
    b.addEventListener("click", function () {
      var k = b.parentNode.getAttribute("data-sort");
      state.dir = state.sort === k && state.dir === "asc" ? "desc" : "asc";
      state.sort = k;
      update();
    });
  });
  window.addEventListener("hashchange", function () {
    if (readHash()) { syncControls(); limit = PAGE; render(); $("findings").scrollIntoView(); }
  });
  window.addEventListener("beforeprint", function () { if (limit !== Infinity) { limit = Infinity; render(); } });

  readHash();
  syncControls();
  render();
  $("findings-controls").hidden = false;
})();
