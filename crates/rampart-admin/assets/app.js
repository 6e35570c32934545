// Rampart's dashboard. No framework, no build step.
//
// Every value shown here may come from an attacker (paths, user names,
// error details recorded from traffic), so the page is built only with
// createElement, textContent and setAttribute: never innerHTML or
// insertAdjacentHTML. The CSP on every admin response forbids inline
// script as a second line of defence.
"use strict";

(function () {
  if (document.body.id === "login-page") {
    if (new URLSearchParams(location.search).has("failed")) {
      document.getElementById("login-error").hidden = false;
    }
    return;
  }

  let csrf = null;
  let stream = null;
  let overviewTimer = null;

  // --- helpers -------------------------------------------------------------

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v !== null && v !== undefined) e.setAttribute(k, String(v));
    }
    for (const c of children) {
      if (c === null || c === undefined) continue;
      e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return e;
  }

  function svg(tag, attrs) {
    const e = document.createElementNS("http://www.w3.org/2000/svg", tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
    return e;
  }

  function flash(text, ok) {
    const f = document.getElementById("flash");
    f.textContent = text;
    f.className = ok ? "flash ok" : "flash";
    f.hidden = false;
    setTimeout(() => { f.hidden = true; }, 5000);
  }

  async function api(method, path, body) {
    const headers = { "Accept": "application/json" };
    if (method !== "GET") {
      headers["X-CSRF-Token"] = csrf || "";
      if (body !== undefined) headers["Content-Type"] = "application/json";
    }
    const resp = await fetch(path, {
      method,
      headers,
      credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (resp.status === 401) {
      location.assign("/login");
      throw new Error("signed out");
    }
    const text = await resp.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch (_) { data = null; }
    if (!resp.ok) {
      throw new Error((data && data.detail) || resp.statusText);
    }
    return data;
  }

  function fill(tbody, rows) {
    tbody.replaceChildren(...rows);
  }

  function cell(value, cls) {
    return el("td", cls ? { class: cls } : {}, value === null || value === undefined ? "" : value);
  }

  // --- views ---------------------------------------------------------------

  const views = ["overview", "events", "offenders", "operations", "reports", "inventory", "disclosures"];

  function show(view) {
    if (!views.includes(view)) view = "overview";
    for (const v of views) {
      document.getElementById("view-" + v).hidden = v !== view;
    }
    for (const a of document.querySelectorAll("header nav a")) {
      a.classList.toggle("active", a.dataset.view === view);
    }
    clearInterval(overviewTimer);
    if (view === "overview") {
      loadOverview();
      overviewTimer = setInterval(loadOverview, 5000);
    }
    if (view === "events") startEvents();
    if (view === "offenders") loadOffenders();
    if (view === "operations") loadOperations();
    if (view === "reports") loadScan();
    if (view === "disclosures") loadDisclosures();
    if (view === "inventory") loadInventory();
  }

  // Overview: cards, two charts, top rules.
  async function loadOverview() {
    let o;
    try { o = await api("GET", "/api/v1/overview"); } catch (e) { return; }
    const sum = (k) => o.minutes.reduce((n, m) => n + m[k], 0);
    document.getElementById("card-requests").textContent = sum("requests");
    document.getElementById("card-blocked").textContent = sum("blocked");
    const latest = [...o.minutes].reverse().find((m) => m.requests > 0);
    document.getElementById("card-p99").textContent = (latest ? latest.p99_ms.toFixed(2) : "0") + " ms";
    document.getElementById("card-total").textContent = o.total;
    barChart(document.getElementById("chart-requests"), o.minutes);
    lineChart(document.getElementById("chart-p99"), o.minutes.map((m) => m.p99_ms));
    fill(document.querySelector("#top-rules tbody"),
      o.top_rules.map(([rule, n]) => el("tr", {}, cell(rule), cell(n))));
  }

  function barChart(host, minutes) {
    const w = 600, h = 160, n = minutes.length;
    const max = Math.max(1, ...minutes.map((m) => m.requests));
    const s = svg("svg", { viewBox: `0 0 ${w} ${h}`, preserveAspectRatio: "none", role: "img" });
    const bw = w / n;
    minutes.forEach((m, i) => {
      const rh = (m.requests / max) * (h - 14);
      const bh = (m.blocked / max) * (h - 14);
      s.append(svg("rect", { class: "bar-req", x: i * bw, y: h - rh, width: Math.max(1, bw - 1), height: rh }));
      s.append(svg("rect", { class: "bar-blocked", x: i * bw, y: h - bh, width: Math.max(1, bw - 1), height: bh }));
    });
    const label = svg("text", { class: "axis", x: 2, y: 10 });
    label.textContent = `max ${max}/min`;
    s.append(label);
    host.replaceChildren(s);
  }

  function lineChart(host, values) {
    const w = 600, h = 160, n = values.length;
    const max = Math.max(0.001, ...values);
    const pts = values.map((v, i) => `${(i / Math.max(1, n - 1)) * w},${h - (v / max) * (h - 14)}`);
    const s = svg("svg", { viewBox: `0 0 ${w} ${h}`, preserveAspectRatio: "none", role: "img" });
    s.append(svg("polyline", { class: "line-p99", points: pts.join(" ") }));
    const label = svg("text", { class: "axis", x: 2, y: 10 });
    label.textContent = `max ${max.toFixed(2)} ms`;
    s.append(label);
    host.replaceChildren(s);
  }

  // Events: the latest from the store, then live over SSE.
  function eventRow(e) {
    return el("tr", { class: "event" },
      cell(e.ts),
      cell(e.decision, "decision-" + e.decision),
      cell(e.status),
      cell(e.method),
      cell(e.path),
      cell(e.operation),
      cell(e.principal),
      cell(e.client_ip),
      cell((e.rules || []).join(", ")),
      cell(e.reason));
  }

  function filters() {
    const form = document.getElementById("event-filters");
    const q = new URLSearchParams();
    for (const [k, v] of new FormData(form).entries()) {
      if (v) q.set(k, v);
    }
    return q;
  }

  async function startEvents() {
    if (stream) { stream.close(); stream = null; }
    const q = filters();
    const tbody = document.querySelector("#events-table tbody");
    const state = document.getElementById("stream-state");
    try {
      const data = await api("GET", "/api/v1/events?" + q.toString() + "&limit=200");
      fill(tbody, data.events.map(eventRow));
    } catch (e) {
      fill(tbody, []);
      state.textContent = "store: " + e.message;
    }
    stream = new EventSource("/api/v1/events/stream?" + q.toString());
    stream.addEventListener("open", () => { state.textContent = "live"; });
    stream.addEventListener("error", () => { state.textContent = "reconnecting"; });
    stream.addEventListener("exchange", (msg) => {
      let e;
      try { e = JSON.parse(msg.data); } catch (_) { return; }
      tbody.prepend(eventRow(e));
      while (tbody.children.length > 500) tbody.lastElementChild.remove();
    });
    stream.addEventListener("lagged", (msg) => {
      state.textContent = `live (${Number(msg.data)} events skipped)`;
    });
  }

  // Offenders, blocks and detections.
  async function loadOffenders() {
    try {
      const [off, blocks, det] = await Promise.all([
        api("GET", "/api/v1/offenders"),
        api("GET", "/api/v1/blocks").catch(() => ({ blocks: [] })),
        api("GET", "/api/v1/detections").catch(() => ({ detections: [] })),
      ]);
      fill(document.querySelector("#offenders-table tbody"), off.offenders.map((o) => {
        const btn = o.blocked_now
          ? el("button", { type: "button", class: "unblock", "data-subject": o.subject }, "Unblock")
          : el("button", { type: "button", class: "block", "data-subject": o.subject }, "Block 1h");
        return el("tr", { class: "offender" }, cell(o.subject), cell(o.blocked), cell(o.flagged),
          cell(o.denied_objects), cell(o.last_seen), cell(o.last_rule), el("td", {}, btn));
      }));
      fill(document.querySelector("#blocks-table tbody"), blocks.blocks.map((b) =>
        el("tr", { class: "block-row" }, cell(b.subject),
          cell(b.restriction.type === "throttle" ? `throttle ${b.restriction.per_minute}/min` : "block"),
          cell(b.reason), cell(b.until),
          el("td", {}, el("button", { type: "button", class: "unblock", "data-subject": b.subject }, "Unblock")))));
      fill(document.querySelector("#detections-table tbody"), det.detections.map((d) =>
        el("tr", {}, cell(d.at), cell(d.kind), cell(d.subject), cell(JSON.stringify(d.action)),
          cell(`${d.evidence.metric}: ${d.evidence.observed} (threshold ${d.evidence.threshold})`))));
    } catch (e) {
      flash(e.message);
    }
  }

  async function block(subject, ttl, reason) {
    try {
      await api("POST", "/api/v1/blocks", { subject, ttl, reason: reason || "blocked from the dashboard" });
      flash("Blocked " + subject, true);
    } catch (e) { flash(e.message); }
    loadOffenders();
  }

  async function unblock(subject) {
    try {
      await api("DELETE", "/api/v1/blocks/" + encodeURIComponent(subject));
      flash("Unblocked " + subject, true);
    } catch (e) { flash(e.message); }
    loadOffenders();
  }

  // Operations: mode switches and traffic.
  async function loadOperations() {
    let data;
    try { data = await api("GET", "/api/v1/operations"); } catch (e) { flash(e.message); return; }
    fill(document.querySelector("#operations-table tbody"), data.operations.map((o) => {
      const sel = el("select", { class: "mode", "data-api": o.api, "data-operation": o.operation,
        "aria-label": "mode of " + o.operation });
      sel.append(el("option", { value: "" }, `config (${o.configured_mode})`));
      for (const m of ["enforce", "monitor", "off"]) sel.append(el("option", { value: m }, m));
      sel.value = o.override || "";
      const t = o.traffic || {};
      return el("tr", { class: "operation", "data-operation": o.operation },
        cell(o.api), cell(o.operation + (o.deprecated ? " (deprecated)" : "")), cell(o.method), cell(o.path),
        el("td", {}, sel), cell(t.requests), cell(t.blocked), cell(t.flagged), cell(t.errors), cell(t.last_seen));
    }));
  }

  async function setMode(apiName, op, mode) {
    try {
      await api("PUT", `/api/v1/operations/${encodeURIComponent(apiName)}/${encodeURIComponent(op)}/mode`,
        { mode: mode || null });
      flash(`${op}: ${mode || "mode from the config"}`, true);
    } catch (e) { flash(e.message); }
    loadOperations();
  }

  // Reports: audit (run in place) and an uploaded scan.
  async function runAudit() {
    const summary = document.getElementById("audit-summary");
    summary.textContent = "Running…";
    let r;
    try { r = await api("GET", "/api/v1/reports/audit"); } catch (e) { summary.textContent = e.message; return; }
    const rows = [];
    summary.textContent = r.specs.map((s) => `${s.title}: score ${s.score.overall}/100, ${s.findings.length} findings`).join("; ");
    for (const s of r.specs) {
      for (const f of s.findings) {
        rows.push(el("tr", {}, cell(f.severity, "sev-" + f.severity), cell(f.rule), cell(f.owasp),
          cell(f.line ? `${f.file}:${f.line}:${f.column}` : f.pointer), cell(f.message)));
      }
    }
    fill(document.querySelector("#audit-table tbody"), rows);
  }

  async function loadScan() {
    const summary = document.getElementById("scan-summary");
    let r;
    try { r = await api("GET", "/api/v1/reports/scan"); } catch (_) { return; }
    const findings = Array.isArray(r.findings) ? r.findings : [];
    summary.textContent = `${findings.length} findings` + (r.target ? ` against ${r.target}` : "");
    fill(document.querySelector("#scan-table tbody"), findings.map((f) =>
      el("tr", {}, cell(f.severity, "sev-" + f.severity), cell(f.check || f.rule), cell(f.owasp || f.category),
        cell(f.operation), cell(f.title || f.summary || f.message))));
  }

  // Inventory: shadow endpoints, zombies, sensitive fields.
  async function loadInventory() {
    const summary = document.getElementById("inventory-summary");
    let inv;
    try { inv = await api("GET", "/api/v1/inventory?since=7d"); } catch (e) { summary.textContent = e.message; return; }
    summary.textContent = `${inv.events} exchanges since ${inv.since || "the start"}`;
    const shadow = [], zombies = [], sensitive = [];
    for (const a of inv.apis) {
      for (const s of a.shadow) {
        shadow.push(el("tr", { class: "shadow" }, cell(s.method), cell(s.template), cell(s.calls),
          cell(s.version_of), cell(s.last_seen),
          cell(s.sensitive_fields.map((f) => `${f.pointer} (${f.class})`).join(", "))));
      }
      const z = a.zombies || {};
      for (const op of z.never_called || []) zombies.push(el("tr", {}, cell(op), cell("declared, never called in the window")));
      for (const op of z.deprecated_in_use || []) zombies.push(el("tr", {}, cell(op), cell("deprecated, still called")));
      for (const o of a.operations) {
        for (const f of o.sensitive_fields) {
          sensitive.push(el("tr", f.unprotected ? { class: "overdue" } : {}, cell(o.operation), cell(f.pointer), cell(f.class),
            cell(typeof f.protection === "string" ? f.protection : JSON.stringify(f.protection)), cell(f.count)));
        }
      }
    }
    fill(document.querySelector("#shadow-table tbody"), shadow);
    fill(document.querySelector("#zombie-table tbody"), zombies);
    fill(document.querySelector("#sensitive-table tbody"), sensitive);
  }

  // Disclosures: the queue, overdue first, and one report's history.
  function day(ms) { return new Date(ms).toISOString().slice(0, 10); }

  async function loadDisclosures() {
    const summary = document.getElementById("disclosure-summary");
    let d;
    try { d = await api("GET", "/api/v1/disclosures"); } catch (e) { summary.textContent = e.message; return; }
    summary.textContent = `${d.reports.length} reports, ${d.overdue} overdue (deadline ${d.sla_days} days)`;
    fill(document.querySelector("#disclosures-table tbody"), d.reports.map(({ report: r, sla }) =>
      el("tr", { class: "clickable disclosure" + (sla.overdue ? " overdue" : ""), "data-id": r.id },
        cell(r.id), cell(r.state), cell(r.title), cell(r.severity), cell((r.operations || []).join(", ")),
        cell(sla.days_open), cell(sla.overdue ? `overdue by ${-sla.days_left} days` : `${sla.days_left} days left`),
        cell(day(r.received_ms)))));
  }

  async function showDisclosure(id) {
    let d;
    try { d = await api("GET", "/api/v1/disclosures/" + encodeURIComponent(id)); } catch (e) { flash(e.message); return; }
    document.getElementById("disclosure-title").textContent = `#${d.report.id} ${d.report.title} (${d.report.state})`;
    document.getElementById("disclosure-description").textContent = d.report.description;
    fill(document.querySelector("#disclosure-history tbody"), (d.history || []).map((h) =>
      el("tr", {}, cell(h.at_ms ? new Date(h.at_ms).toISOString() : ""), cell(h.from), cell(h.to),
        cell(h.actor), cell(h.note))));
  }

  // --- wiring --------------------------------------------------------------

  document.addEventListener("click", (ev) => {
    const t = ev.target;
    if (!(t instanceof HTMLElement)) return;
    if (t.matches("button.block")) block(t.dataset.subject, "1h");
    if (t.matches("button.unblock")) unblock(t.dataset.subject);
    const row = t.closest("tr.disclosure");
    if (row) showDisclosure(row.dataset.id);
  });
  document.addEventListener("change", (ev) => {
    const t = ev.target;
    if (t instanceof HTMLSelectElement && t.matches("select.mode")) {
      setMode(t.dataset.api, t.dataset.operation, t.value);
    }
  });
  document.getElementById("event-filters").addEventListener("submit", (ev) => {
    ev.preventDefault();
    startEvents();
  });
  document.getElementById("block-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const f = new FormData(ev.target);
    block(f.get("subject"), f.get("ttl"), f.get("reason"));
  });
  document.getElementById("run-audit").addEventListener("click", runAudit);
  document.getElementById("reload-config").addEventListener("click", async () => {
    try { await api("POST", "/api/v1/reload"); flash("Configuration reloaded", true); }
    catch (e) { flash(e.message); }
  });
  document.getElementById("logout").addEventListener("click", async () => {
    try { await api("POST", "/logout"); } catch (_) { /* signed out either way */ }
    location.assign("/login");
  });
  window.addEventListener("hashchange", () => show(location.hash.slice(1)));

  (async function start() {
    try {
      const s = await api("GET", "/api/v1/session");
      csrf = s.csrf;
      const st = await api("GET", "/api/v1/status");
      document.getElementById("status-line").textContent =
        `v${st.version} · ${st.mode} · ${st.apis.map((a) => a.name).join(", ")}`;
    } catch (_) { return; }
    document.body.dataset.ready = "true";
    show(location.hash.slice(1) || "overview");
  })();
})();
