// The dashboard. Every element is built with DOM calls and every value set
// as text, so names, metadata and whatever extensions return are never
// parsed as HTML. Everything goes through POST /api/call (the operation
// registry) and one event stream.
"use strict";

const state = {
  libraries: [],
  library: null,
  extensions: [],
  jobs: [],
  stream: null,
  route: "",
};

// ---- DOM helpers --------------------------------------------------------

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k === "data") Object.assign(node.dataset, v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    node.append(c instanceof Node ? c : String(c));
  }
  return node;
}

const SVG_NS = "http://www.w3.org/2000/svg";
function svg(tag, attrs, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "text") node.textContent = v;
    else if (k === "data") for (const [dk, dv] of Object.entries(v)) node.setAttribute("data-" + dk, dv);
    else node.setAttribute(k, v);
  }
  return append(node, children);
}

function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
}

function toast(message, bad) {
  const t = document.getElementById("toast");
  t.textContent = message;
  t.className = bad ? "bad" : "";
  t.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { t.hidden = true; }, bad ? 8000 : 3000);
}

function fmtBytes(n) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i ? n.toFixed(1) : String(n)) + " " + units[i];
}

function fmtMoney(n) {
  return Number(n).toLocaleString(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
}

// ---- The one endpoint ---------------------------------------------------

class OpFailure extends Error {
  constructor(error) {
    super(error.message);
    this.code = error.code;
  }
}

async function call(method, payload, scoped) {
  const body = { method, payload: payload === undefined ? null : payload };
  if (scoped !== false && state.library) body.library_id = state.library;
  const response = await fetch("/api/call", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
    credentials: "same-origin",
  });
  let answer;
  try {
    answer = await response.json();
  } catch (_) {
    throw new OpFailure({ code: "internal", message: "the daemon answered " + response.status + " without JSON" });
  }
  if (answer.error) throw new OpFailure(answer.error);
  return answer.ok;
}

function failed(error) {
  toast((error.code ? error.code + ": " : "") + error.message, true);
}

function errorBox(error) {
  return el("p", { class: "error", text: (error.code ? error.code + ": " : "") + error.message });
}

// ---- Navigation ---------------------------------------------------------

const PAGES = [
  ["overview", "Overview"],
  ["search", "Search"],
  ["extensions", "Extensions"],
  ["jobs", "Jobs"],
];

function views() {
  const out = [];
  for (const ext of state.extensions) {
    for (const view of ext.views || []) out.push({ ext, view, route: "view/" + ext.id + "/" + view.id });
  }
  return out;
}

function drawTabs() {
  const nav = clear(document.getElementById("tabs"));
  const current = state.route || "overview";
  const link = (route, label) =>
    el("a", { href: "#/" + route, class: current === route ? "active" : "", data: { route } }, label);
  for (const [route, label] of PAGES) nav.append(link(route, label));
  for (const v of views()) nav.append(link(v.route, v.ext.name + ": " + v.view.title));
}

async function route() {
  state.route = location.hash.replace(/^#\/?/, "") || "overview";
  drawTabs();
  const main = clear(document.getElementById("main"));
  const [page, ...rest] = state.route.split("/");
  try {
    if (!state.library && page !== "extensions") {
      main.append(el("div", { class: "card" },
        el("h2", { text: "No library yet" }),
        el("p", { text: "Create one with `sd library create NAME`, then reload this page." })));
      return;
    }
    if (page === "overview") await overview(main);
    else if (page === "search") await searchPage(main);
    else if (page === "extensions") await extensionsPage(main);
    else if (page === "jobs") jobsPage(main);
    else if (page === "view") await viewPage(main, rest[0], rest[1]);
    else main.append(el("p", { text: "No such page." }));
  } catch (e) {
    main.append(errorBox(e));
  }
}

// ---- Overview -----------------------------------------------------------

async function overview(main) {
  const [status, libraries, locations] = await Promise.all([
    call("query:core.status.v1", null, false),
    call("query:libraries.list.v1", null, false),
    call("query:locations.list.v1", {}),
  ]);
  state.libraries = libraries;
  const lib = libraries.find((l) => l.id === state.library) || {};
  const counts = {};
  for (const j of state.jobs) counts[j.state] = (counts[j.state] || 0) + 1;
  const stat = (label, value, id) => el("div", { class: "card stat", data: { stat: id } }, el("b", { text: String(value) }), label);
  main.append(
    el("h2", { text: "Overview" }),
    el("div", { class: "grid" },
      stat("entries in " + (lib.name || "this library"), lib.entries ?? "?", "entries"),
      stat("locations", lib.locations ?? locations.length, "locations"),
      stat("libraries", libraries.length, "libraries"),
      stat("extensions", state.extensions.length, "extensions"),
      stat("jobs running", counts.running || 0, "running"),
      stat("jobs paused", counts.paused || 0, "paused")),
    el("div", { class: "card" },
      el("h3", { text: "Locations" }),
      locations.length
        ? el("table", {},
          el("thead", {}, el("tr", {}, el("th", { text: "Path" }), el("th", { class: "num", text: "Entries" }), el("th", { text: "Last scan" }))),
          el("tbody", {}, locations.map((l) => el("tr", {},
            el("td", { text: l.path }),
            el("td", { class: "num", text: String(l.entries) }),
            el("td", { text: l.scan_incomplete ? "incomplete" : (l.last_scan_completed_at || "never") })))))
        : el("p", { class: "muted", text: "No locations; add one with `sd location add PATH`." })),
    el("div", { class: "card muted" },
      "sd-core " + status.version + " · up " + Math.round(status.uptime_secs) + " s · " + status.operations +
      " operations · data in " + status.data_dir));
}

// ---- Search -------------------------------------------------------------

function highlighted(snippet) {
  // Snippets mark matched words with [ and ]; split into text and <mark>.
  const out = [];
  const re = /\[([^\]]*)\]/g;
  let last = 0;
  for (let m; (m = re.exec(snippet)); ) {
    out.push(snippet.slice(last, m.index), el("mark", { text: m[1] }));
    last = re.lastIndex;
  }
  out.push(snippet.slice(last));
  return out;
}

function parseWhere(text) {
  const filters = [];
  for (const part of text.split(/\s+/).filter(Boolean)) {
    const eq = part.indexOf("=");
    const dot = part.indexOf(".");
    if (eq < 0 || dot < 0 || dot > eq) throw new OpFailure({ code: "invalid_input", message: "write filters as namespace.key=value, e.g. finance.category=travel" });
    filters.push({ namespace: part.slice(0, dot), key: part.slice(dot + 1, eq), value: part.slice(eq + 1) });
  }
  return filters;
}

async function searchPage(main) {
  const q = el("input", { id: "search-query", type: "search", placeholder: "words to find", size: 30 });
  const kind = el("select", { id: "search-kind" },
    ["", "file", "directory", "symlink", "virtual"].map((k) => el("option", { value: k, text: k || "any kind" })));
  const where = el("input", { id: "search-where", placeholder: "namespace.key=value", size: 24 });
  const semantic = el("input", { id: "search-semantic", type: "checkbox" });
  const results = el("div", { id: "search-results" });
  const detail = el("div", { id: "entry-detail" });
  const run = async (event) => {
    event && event.preventDefault();
    clear(results);
    clear(detail);
    try {
      const payload = { query: q.value, where: parseWhere(where.value), limit: 50 };
      if (kind.value) payload.kind = kind.value;
      const out = await call(semantic.checked ? "query:search.semantic.v1" : "query:search.v1", payload);
      const floor = out.min_score === undefined ? "" : out.results.length
        ? " (similarity " + out.min_score.toFixed(2) + " or more)"
        : out.best_score === undefined || out.best_score === null ? "" : ": nothing close in meaning; the nearest is " + out.best_score.toFixed(2) + " similar, under the floor of " + out.min_score.toFixed(2);
      results.append(el("p", { class: "muted", id: "search-total", text: out.total + " match" + (out.total === 1 ? "" : "es") + floor +
        (out.pending ? " (" + out.pending + " entries still being embedded)" : "") +
        (out.ranking === "newest" ? " (too many to rank by relevance: newest first; add words to narrow them)" : "") }));
      for (const hit of out.results) {
        const e = hit.entry;
        results.append(el("div", { class: "hit", data: { entry: e.id }, onclick: () => showEntry(detail, e.id) },
          el("div", { class: "name", text: e.name }),
          el("div", { class: "muted", text: e.kind + (e.path ? " · " + e.path : "") + " · " + fmtBytes(e.size) }),
          hit.reasons.map((r) => el("div", {}, el("span", { class: "pill", text: r.source }), " ", highlighted(r.snippet)))));
      }
    } catch (e) {
      results.append(errorBox(e));
    }
  };
  main.append(
    el("h2", { text: "Search" }),
    el("form", { class: "bar", onsubmit: run, id: "search-form" },
      el("label", {}, "Words", q),
      el("label", {}, "Kind", kind),
      el("label", {}, "Metadata", where),
      el("label", {}, "By meaning", semantic),
      el("button", { type: "submit", text: "Search" })),
    el("div", { class: "card" }, results),
    detail);
  q.focus();
}

async function showEntry(container, id) {
  clear(container);
  try {
    const e = await call("query:vdfs.entry.v1", { id });
    const meta = Object.entries(e.metadata || {});
    container.append(el("div", { class: "card", id: "entry-card" },
      el("h3", { text: e.name }),
      el("p", { class: "muted", text: [e.kind, e.path, fmtBytes(e.size), e.modified_at && "modified " + e.modified_at, e.content_hash && "blake3 " + e.content_hash.slice(0, 16) + "…"].filter(Boolean).join(" · ") }),
      el("h3", { text: "Metadata" }),
      meta.length
        ? el("table", {}, el("tbody", {}, meta.flatMap(([ns, kv]) => Object.entries(kv).map(([k, v]) =>
          el("tr", {}, el("td", { text: ns }), el("td", { text: k }), el("td", {}, el("pre", { text: typeof v === "string" ? v : JSON.stringify(v) })))))))
        : el("p", { class: "muted", text: "none" }),
      el("h3", { text: "Sidecars" }),
      e.sidecars.length
        ? el("ul", { class: "plain" }, e.sidecars.map((s) => el("li", { text: s.namespace + " / " + s.name + " (" + s.content_type + ", " + fmtBytes(s.size) + ")" })))
        : el("p", { class: "muted", text: "none" })));
  } catch (err) {
    container.append(errorBox(err));
  }
}

// ---- Extensions ---------------------------------------------------------

function permissionsInWords(ext) {
  const c = ext.consent || { methods: [], libraries: [], network: [] };
  const p = ext.permissions;
  const items = [];
  const effect = { read: "reads", write: "changes data", destructive: "deletes or overwrites data" };
  for (const m of c.methods) {
    items.push(el("li", {}, "May call " + m.prefix + "*" + (m.reaches.length ? ":" : ", which reaches nothing today"),
      el("ul", { class: "plain" }, m.reaches.map((r) => el("li", { title: r.method },
        (r.description || r.method) + " (" + effect[r.effect] + (r.provider === "core" ? "" : ", from " + r.provider) + ")"))),
      m.people_only.length ? el("div", { class: "muted", text: "never " + m.people_only.join(", ") + ": for people only" }) : null));
  }
  if (!c.methods.length) items.push(el("li", { text: "May call no operation." }));
  items.push(el("li", {
    text: "Libraries: " + (c.libraries.length ? c.libraries.map((l) => l.id === "*" ? "every library, present and future" : (l.name || l.id)).join(", ") : "none"),
  }));
  items.push(el("li", { text: "Network: " + (c.network.length ? c.network.join(", ") : "no network access") }));
  for (const line of (c.files ? c.files.summary : [])) items.push(el("li", { class: "files", text: line }));
  items.push(el("li", {
    text: "Limits: " + p.max_memory_mb + " MiB memory, " + p.max_cpu_ms_per_call + " ms CPU per call, " +
      p.rate_limits.requests_per_minute + " calls a minute, " + p.rate_limits.concurrent_jobs + " jobs at once",
  }));
  if (c.upgrade) {
    const u = c.upgrade;
    items.push(el("li", { class: u.asks_for_more ? "error" : "", text: "Upgrade from " + u.from_version + (u.asks_for_more ? ": asks for more (" + [...u.added_methods, ...u.added_libraries, ...u.added_network, ...u.raised_limits].join(", ") + ")" : ": asks for nothing new") }));
  }
  return el("ul", { class: "plain" }, items);
}

function counters(stats) {
  const names = ["calls", "denied_permission", "denied_rate", "bad_requests", "traps", "restarts", "network_refused", "events_delivered", "events_failed"];
  return el("p", { class: "muted" }, names.map((n) => n.replace(/_/g, " ") + " " + (stats[n] ?? 0)).join(" · "),
    stats.last_error ? el("span", { class: "error", text: " · last error: " + stats.last_error }) : null);
}

async function refreshExtensions() {
  state.extensions = await call("query:extensions.list.v1", null, false);
  drawTabs();
}

async function extensionAction(method, id, confirmText) {
  if (confirmText && !confirm(confirmText)) return;
  try {
    await call(method, { id }, false);
    toast(method.split(".")[1] + " " + id + ": done");
  } catch (e) {
    failed(e);
  }
  await refreshExtensions();
  route();
}

// The folders a person granted an extension: each with a button that takes
// it back, and a form that grants another. Paths are shown as text, with
// control and invisible characters made visible.
function showPath(path) {
  return /[\u0000-\u001f\u007f-\u009f\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff]/.test(path)
    ? JSON.stringify(path).replace(/[\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff]/g,
      (ch) => "\\u" + ch.charCodeAt(0).toString(16).padStart(4, "0"))
    : path;
}

function grantsBlock(ext) {
  const granted = (ext.consent && ext.consent.files) ? ext.consent.files.granted : [];
  const input = el("input", { name: "path", placeholder: "/absolute/path/to/a/folder", size: 40 });
  const change = async (method, path, verb) => {
    try {
      await call(method, { extension: ext.id, path }, false);
      toast(verb + " " + showPath(path) + " for " + ext.id);
    } catch (e) { failed(e); }
    await refreshExtensions();
    route();
  };
  return el("div", { class: "grants", data: { grants: ext.id } },
    el("b", { text: "Folders it can read and add" }),
    granted.length
      ? el("ul", { class: "plain" }, granted.map((g) => el("li", { data: { grant: g } }, el("code", { text: showPath(g) }), " ",
        el("button", { class: "plain", data: { action: "revoke" }, text: "Revoke",
          onclick: () => change("action:grants.revoke.input.v1", g, "revoked") }))))
      : el("p", { class: "muted", text: "None: it reads no file until you grant it a folder." }),
    el("form", { class: "bar", data: { grantForm: ext.id }, onsubmit: (event) => {
      event.preventDefault();
      if (input.value.trim()) change("action:grants.add.input.v1", input.value.trim(), "granted");
    } }, input, el("button", { type: "submit", text: "Grant folder" })));
}

// What the install box names: an http(s) URL of a package, a path on this
// machine, or an extension ID (ID@VERSION) from a registered index.
function installSource(text, allowUnsigned) {
  const t = text.trim();
  const source = /^https?:\/\//.test(t) ? { url: t } : t.startsWith("/") ? { path: t } : { name: t };
  if (allowUnsigned) source.allow_unsigned = true;
  return source;
}

function publisherLine(publisher, origin) {
  const from = origin ? (origin.kind === "index" ? "from " + origin.index : (origin.url || origin.path)) : "";
  if (publisher) return el("p", { class: "publisher", text: "Publisher: key " + publisher.fingerprint + " (signature verified)" + (from ? "; " + from : "") });
  if (origin && origin.kind === "local") return el("p", { class: "publisher muted", text: "Unsigned: built or placed on this machine (" + from + ")" });
  return el("p", { class: "publisher error", text: "Unsigned: nothing says who made it or that it is unchanged" + (from ? " (" + from + ")" : "") });
}

// Shows what installing `source` grants, with its publisher, and installs
// exactly the module shown when the person agrees.
async function review(into, source, verb) {
  clear(into);
  try {
    const found = await call("query:extensions.inspect.v1", source, false);
    const m = found.manifest;
    into.append(el("div", { class: "card", data: { review: m.id } },
      el("h3", { text: m.name + " " + m.version + " (" + m.id + ") asks for:" }),
      el("p", { text: m.description }),
      publisherLine(found.publisher, found.origin),
      permissionsInWords({ consent: found.consent, permissions: m.permissions }),
      el("button", {
        id: "install-confirm", text: "Allow and " + verb, onclick: async () => {
          try {
            await call("action:extensions.install.input.v1", { ...source, expect_blake3: found.module_blake3 }, false);
            toast(verb + "ed " + m.id + " " + m.version);
            await refreshExtensions();
            route();
          } catch (e) { failed(e); }
        },
      }), " ",
      el("button", { class: "plain", text: "Cancel", onclick: () => clear(into) })));
  } catch (e) {
    into.append(errorBox(e));
  }
}

// Installed extensions a registered index has newer versions of; none when
// no index is registered.
async function updatesBlock() {
  const box = el("div", { class: "card", id: "updates" }, el("h3", { text: "Updates" }));
  let outdated;
  try {
    outdated = await call("query:extensions.outdated.v1", null, false);
  } catch (e) {
    if (e.code === "not_found") {
      box.append(el("p", { class: "muted", text: "No extension index registered: add one with `sd ext index add URL`." }));
    } else {
      box.append(errorBox(e));
    }
    return box;
  }
  if (!outdated.length) box.append(el("p", { class: "muted", text: "Every extension is up to date." }));
  const into = el("div", { id: "update-review" });
  for (const o of outdated) {
    const target = o.id + "@" + o.available.version;
    box.append(el("div", { class: "bar", data: { update: o.id } },
      el("span", { text: o.id + " " + o.installed + " → " + o.available.version +
        (o.other_publisher ? " (signed by another publisher than the installed one: it would be refused)" : "") }), " ",
      el("button", { text: "Review update", onclick: () => review(into, { name: target }, "update") })));
  }
  box.append(into);
  return box;
}

async function extensionsPage(main) {
  await refreshExtensions();
  const target = el("input", { id: "install-path", placeholder: "package URL, /path/to/package.sdpkg or folder, or an ID from an index", size: 50 });
  const unsigned = el("input", { type: "checkbox", id: "allow-unsigned" });
  const into = el("div", { id: "install-review" });
  const inspect = (event) => {
    event.preventDefault();
    review(into, installSource(target.value, unsigned.checked), "install");
  };
  main.append(el("h2", { text: "Extensions" }));
  if (!state.extensions.length) main.append(el("p", { class: "muted", text: "No extension installed." }));
  for (const ext of state.extensions) {
    const loaded = ext.state === "loaded";
    main.append(el("div", { class: "card", data: { extension: ext.id } },
      el("h3", {}, ext.name + " " + ext.version + " ", el("span", { class: "pill " + ext.state, text: ext.state })),
      el("p", { text: ext.description }),
      ext.detail ? el("p", { class: "error", text: String(ext.detail) }) : null,
      el("p", { class: "muted publisher", text: ext.publisher ? "Publisher: key " + ext.publisher.fingerprint + " (updates must be signed by it)" : "Installed unsigned" }),
      el("b", { text: "Allowed to" }),
      permissionsInWords(ext),
      grantsBlock(ext),
      counters(ext.stats),
      el("p", { class: "muted", text: ext.operations.length + " operations, " + ext.jobs.length + " jobs, " + (ext.views || []).length + " views · module " + fmtBytes(ext.module_size) + " · blake3 " + ext.module_hash.slice(0, 16) + "…" }),
      loaded
        ? el("button", { class: "plain", text: "Unload", onclick: () => extensionAction("action:extensions.unload.input.v1", ext.id) })
        : el("button", { class: "plain", text: "Load", onclick: () => extensionAction("action:extensions.load.input.v1", ext.id) }),
      " ",
      el("button", { class: "plain", text: "Reload", onclick: () => extensionAction("action:extensions.reload.input.v1", ext.id) }),
      " ",
      el("button", { class: "danger", text: "Remove", onclick: () => extensionAction("action:extensions.remove.input.v1", ext.id, "Remove " + ext.name + "? Its operations and jobs stop; its data stays in the library.") })));
  }
  main.append(await updatesBlock());
  main.append(el("div", { class: "card" },
    el("h3", { text: "Install" }),
    el("form", { class: "bar", onsubmit: inspect }, target,
      el("label", {}, unsigned, " allow unsigned"),
      el("button", { type: "submit", text: "Review permissions" })),
    into));
}

// ---- Jobs ---------------------------------------------------------------

function jobRow(job) {
  const pct = Math.round(Math.max(0, Math.min(1, job.progress)) * 100);
  const bar = el("span", {});
  bar.style.width = pct + "%";
  const control = (label, method) =>
    el("button", { class: "plain", data: { action: label.toLowerCase() }, text: label, onclick: async () => {
      try { await call(method, { id: job.id }); } catch (e) { failed(e); }
    } });
  const buttons = [];
  if (job.state === "running" || job.state === "queued") buttons.push(control("Pause", "action:jobs.pause.input.v1"));
  if (job.state === "paused") buttons.push(control("Resume", "action:jobs.resume.input.v1"));
  if (["running", "queued", "paused"].includes(job.state)) buttons.push(control("Cancel", "action:jobs.cancel.input.v1"));
  return el("tr", { class: "state-" + job.state, data: { job: job.id, state: job.state, progress: String(pct) } },
    el("td", {}, el("b", { text: job.name }), el("div", { class: "muted", text: job.owner })),
    el("td", {}, el("span", { class: "pill " + job.state, text: job.state })),
    el("td", {}, el("span", { class: "progress", role: "progressbar", "aria-valuenow": String(pct), "aria-valuemin": "0", "aria-valuemax": "100" }, bar), " ",
      el("span", { class: "pct", text: pct + "%" })),
    el("td", {}, el("div", { text: job.message }),
      el("div", { class: "muted", text: job.items + " items · " + fmtBytes(job.bytes) + " · " + job.checkpoints + " checkpoints · run " + job.runs +
        (job.warnings.length ? " · " + job.warnings.length + " warnings" : "") }),
      job.error ? el("div", { class: "error", text: job.error }) : null),
    el("td", {}, buttons));
}

// Progress arrives several times a second. A row whose job is in the same
// state keeps its element and its buttons, and only its other cells are
// redrawn: a button under the pointer or holding keyboard focus is not
// swapped for a copy between a press and its release.
function drawJobs() {
  const body = document.getElementById("jobs-body");
  if (!body) return;
  if (!state.jobs.length) {
    clear(body);
    body.append(el("tr", {}, el("td", { colspan: "5", class: "muted", text: "No jobs yet." })));
    return;
  }
  const shown = new Map([...body.querySelectorAll("tr[data-job]")].map((row) => [row.dataset.job, row]));
  const rows = state.jobs.map((job) => {
    const fresh = jobRow(job);
    const row = shown.get(job.id);
    if (!row || row.dataset.state !== job.state) return fresh;
    const cells = [...fresh.cells];
    cells.slice(0, -1).forEach((cell, i) => row.cells[i].replaceWith(cell));
    row.className = fresh.className;
    Object.assign(row.dataset, fresh.dataset);
    return row;
  });
  rows.forEach((row, i) => {
    if (body.children[i] !== row) body.insertBefore(row, body.children[i] || null);
  });
  while (body.children.length > rows.length) body.lastElementChild.remove();
}

function jobsPage(main) {
  main.append(el("h2", { text: "Jobs" }),
    el("table", { id: "jobs" },
      el("thead", {}, el("tr", {}, ["Job", "State", "Progress", "Detail", ""].map((h) => el("th", { text: h })))),
      el("tbody", { id: "jobs-body" })));
  drawJobs();
}

// ---- Extension views ----------------------------------------------------

function rowsOf(output, path) {
  const v = valueAt(output, path);
  return Array.isArray(v) ? v : [];
}

function filterForm(view, values, onApply) {
  const inputs = view.filters.map((f) => {
    let input;
    if (f.kind === "select" && f.options_from) {
      // Choices the data knows (filled in by fillChoices after each load).
      input = el("select", { name: f.field, data: { from: f.options_from } });
    } else if (f.kind === "select") {
      input = el("select", { name: f.field }, el("option", { value: "", text: "any" }), f.options.map((o) => el("option", { value: o, text: o })));
    } else {
      input = el("input", { name: f.field, type: f.kind === "date" ? "date" : f.kind === "integer" ? "number" : "text" });
    }
    if (!f.options_from) input.value = values[f.field] ?? "";
    return [f, input];
  });
  const form = el("form", { class: "bar", data: { filters: view.id }, onsubmit: (event) => {
    event.preventDefault();
    const next = {};
    for (const [f, input] of inputs) {
      if (input.value === "") continue;
      next[f.field] = f.kind === "integer" ? Number(input.value) : input.value;
    }
    onApply(next);
  } }, inputs.map(([f, input]) => el("label", {}, f.label, input)), view.filters.length ? el("button", { type: "submit", text: "Apply" }) : null);
  return form;
}

const PALETTE = ["#2f6fde", "#e07b39", "#3aa17e", "#c9463d", "#8a5cc7", "#d4a72c", "#4aa3c8", "#b5577f", "#6b8e23", "#7f7f7f"];

function cell(value, format) {
  if (value === undefined || value === null) return "";
  if (format === "money") return fmtMoney(value);
  if (format === "number") return Number(value).toLocaleString();
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}

function tableView(container, ext, view, rows, reload) {
  const numeric = (c) => c.format === "money" || c.format === "number";
  const edit = view.edit;
  const currencyColumn = view.columns.some((c) => c.field === "currency");
  const body = rows.map((row) => el("tr", { data: { key: edit ? String(row[edit.key]) : "" } }, view.columns.map((c) => {
    if (edit && c.field === edit.column) {
      const field = edit.options.length
        ? el("select", { data: { edit: c.field } }, edit.options.map((o) => el("option", { value: o, text: o })))
        : el("input", { data: { edit: c.field } });
      if (edit.options.length && !edit.options.includes(String(row[c.field]))) field.append(el("option", { value: String(row[c.field]), text: String(row[c.field]) }));
      field.value = String(row[c.field] ?? "");
      field.addEventListener("change", async () => {
        const payload = {};
        payload[edit.key] = row[edit.key];
        payload[edit.column] = field.value;
        try {
          await call(edit.operation, payload);
          toast(c.label + " changed to " + field.value);
        } catch (e) { failed(e); }
        reload();
      });
      return el("td", {}, field);
    }
    return el("td", { class: numeric(c) ? "num" : "", text: cell(row[c.field], c.format) });
  })));
  // Sums of numeric columns, per currency when rows carry one.
  const groups = {};
  for (const row of rows) {
    const g = currencyColumn ? String(row.currency ?? "") : "";
    groups[g] = groups[g] || {};
    for (const c of view.columns.filter(numeric)) groups[g][c.field] = (groups[g][c.field] || 0) + (Number(row[c.field]) || 0);
  }
  const foot = Object.keys(groups).sort().map((g) => el("tr", { data: { total: g } }, view.columns.map((c, i) => {
    if (numeric(c)) return el("td", { class: "num", data: { sum: c.field }, text: cell(groups[g][c.field], c.format) });
    if (c.field === "currency") return el("td", { text: g });
    return el("td", { text: i === 0 ? "Total (" + rows.filter((r) => !currencyColumn || String(r.currency ?? "") === g).length + ")" : "" });
  })));
  container.append(el("table", { class: "view-table", data: { view: view.id } },
    el("thead", {}, el("tr", {}, view.columns.map((c) => el("th", { class: numeric(c) ? "num" : "", text: c.label })))),
    el("tbody", {}, body.length ? body : el("tr", {}, el("td", { colspan: String(view.columns.length), class: "muted", text: "Nothing here." }))),
    el("tfoot", {}, foot)));
}

// Selects whose choices come from the output: the first is what the
// operation chose when the field was left empty.
function fillChoices(form, view, output, values) {
  for (const f of view.filters.filter((f) => f.options_from)) {
    const select = form.querySelector("select[name='" + f.field + "']");
    if (!select) continue;
    clear(select);
    const choices = rowsOf(output, f.options_from).map(String);
    const chosen = values[f.field] ?? choices[0] ?? "";
    if (chosen && !choices.includes(chosen)) choices.unshift(chosen);
    select.append(...choices.map((o) => el("option", { value: o, text: o })));
    select.value = chosen;
    select.onchange = () => form.requestSubmit();
  }
}

function valueAt(output, path) {
  let v = output;
  for (const part of (path ? path.split(".") : [])) v = v == null ? undefined : v[part];
  return v;
}

function chartView(container, view, rows, unit) {
  const xs = [...new Set(rows.map((r) => String(r[view.x])))].sort();
  const series = view.series ? [...new Set(rows.map((r) => String(r[view.series])))].sort() : [view.y];
  const value = {};
  for (const r of rows) {
    const k = String(r[view.x]) + "\u0000" + (view.series ? String(r[view.series]) : view.y);
    value[k] = (value[k] || 0) + (Number(r[view.y]) || 0);
  }
  const get = (x, s) => value[x + "\u0000" + s] || 0;
  const stacked = view.kind === "bar_chart" && view.stacked;
  let max = 0;
  for (const x of xs) {
    if (stacked) max = Math.max(max, series.reduce((a, s) => a + get(x, s), 0));
    else for (const s of series) max = Math.max(max, get(x, s));
  }
  // A round top for the axis: 1, 2, 2.5 or 5 times a power of ten per tick.
  const rough = (max || 1) / 4;
  const power = Math.pow(10, Math.floor(Math.log10(rough)));
  const tick = [1, 2, 2.5, 5, 10].map((m) => m * power).find((t) => t >= rough);
  max = tick * 4;
  const W = 760, H = 320, left = 60, bottom = 40, top = 28, plotH = H - bottom - top, plotW = W - left - 10;
  const y = (v) => top + plotH - (v / max) * plotH;
  const chart = svg("svg", { viewBox: "0 0 " + W + " " + H, width: "100%", role: "img", "aria-label": view.title, class: "chart", data: { view: view.id } });
  for (let i = 0; i <= 4; i++) {
    const v = (max * i) / 4;
    chart.append(svg("line", { x1: left, x2: W - 10, y1: y(v), y2: y(v), stroke: "#e3e6ea" }),
      svg("text", { x: left - 6, y: y(v) + 4, "text-anchor": "end", text: fmtMoney(v) }));
  }
  const unitText = unit === undefined || unit === null ? "" : String(unit);
  if (unitText) chart.append(svg("text", { x: left - 6, y: 12, "text-anchor": "end", "font-weight": "bold", class: "unit", text: unitText }));
  const amount = (v) => fmtMoney(v) + (unitText ? " " + unitText : "");
  const colour = (s) => PALETTE[series.indexOf(s) % PALETTE.length];
  const step = plotW / Math.max(xs.length, 1);
  if (view.kind === "bar_chart") {
    xs.forEach((x, i) => {
      const g = svg("g", { class: "bar", data: { x } });
      const barW = Math.max(4, step * 0.7);
      const x0 = left + i * step + (step - barW) / 2;
      let base = 0;
      series.forEach((s, j) => {
        const v = get(x, s);
        if (!v) return;
        const w = stacked ? barW : barW / series.length;
        const bx = stacked ? x0 : x0 + j * w;
        const from = stacked ? base : 0;
        const rect = svg("rect", { x: bx, y: y(from + v), width: w, height: Math.max(0, y(from) - y(from + v)), fill: colour(s), data: { series: s, value: String(v) } },
          svg("title", { text: x + " · " + s + ": " + amount(v) }));
        g.append(rect);
        base += v;
      });
      g.append(svg("text", { x: left + i * step + step / 2, y: H - bottom + 16, "text-anchor": "middle", text: x }));
      chart.append(g);
    });
  } else {
    series.forEach((s) => {
      const points = xs.map((x, i) => (left + i * step + step / 2) + "," + y(get(x, s))).join(" ");
      chart.append(svg("polyline", { points, fill: "none", stroke: colour(s), "stroke-width": "2", class: "line", data: { series: s } }));
      xs.forEach((x, i) => chart.append(svg("circle", { cx: left + i * step + step / 2, cy: y(get(x, s)), r: 3, fill: colour(s), class: "point", data: { x, series: s, value: String(get(x, s)) } },
        svg("title", { text: x + " · " + s + ": " + amount(get(x, s)) }))));
    });
    xs.forEach((x, i) => chart.append(svg("text", { x: left + i * step + step / 2, y: H - bottom + 16, "text-anchor": "middle", text: x })));
  }
  container.append(chart, el("div", { class: "legend" }, series.map((s) => {
    const swatch = el("i", {});
    swatch.style.background = colour(s);
    return el("span", {}, swatch, s);
  })));
  if (!rows.length) container.append(el("p", { class: "muted", text: "Nothing to draw yet." }));
}

async function viewPage(main, extId, viewId) {
  const found = views().find((v) => v.ext.id === extId && v.view.id === viewId);
  if (!found) {
    main.append(el("p", { text: "No view " + viewId + " in extension " + extId + "." }));
    return;
  }
  const { ext, view } = found;
  let values = {};
  const body = el("div", { class: "card" });
  let form;
  const load = async () => {
    clear(body);
    const input = Object.assign({}, view.input || {}, values);
    try {
      const output = await call(view.operation, input);
      const rows = rowsOf(output, view.rows);
      fillChoices(form, view, output, values);
      if (view.kind === "table") tableView(body, ext, view, rows, load);
      else chartView(body, view, rows, view.unit ? valueAt(output, view.unit) : undefined);
    } catch (e) {
      body.append(errorBox(e));
    }
  };
  const tools = [];
  if (view.export) {
    tools.push(el("button", { class: "plain", id: "export-" + view.id, text: "Download " + view.export.filename, onclick: async () => {
      try {
        const out = await call(view.export.operation, Object.assign({}, view.input || {}, values));
        const blob = new Blob([String(out[view.export.field] ?? "")], { type: "text/plain;charset=utf-8" });
        const a = el("a", { download: view.export.filename });
        a.href = URL.createObjectURL(blob);
        document.body.append(a);
        a.click();
        a.remove();
        setTimeout(() => URL.revokeObjectURL(a.href), 10000);
      } catch (e) { failed(e); }
    } }));
  }
  form = filterForm(view, values, (next) => { values = next; load(); });
  main.append(el("h2", { text: ext.name + ": " + view.title }), form, el("div", {}, tools), body);
  await load();
}

// ---- Live updates -------------------------------------------------------

function follow() {
  if (state.stream) state.stream.close();
  if (!state.library) return;
  const stream = new EventSource("/api/events?library_id=" + encodeURIComponent(state.library));
  stream.addEventListener("jobs", (e) => {
    state.jobs = JSON.parse(e.data);
    drawJobs();
  });
  stream.addEventListener("event", (e) => {
    const ev = JSON.parse(e.data);
    if (ev.kind.startsWith("extension.")) refreshExtensions().catch(failed);
  });
  stream.addEventListener("failure", (e) => failed(JSON.parse(e.data)));
  state.stream = stream;
}

// ---- Start --------------------------------------------------------------

async function start() {
  const select = document.getElementById("library");
  try {
    state.libraries = await call("query:libraries.list.v1", null, false);
    state.extensions = await call("query:extensions.list.v1", null, false);
  } catch (e) {
    failed(e);
  }
  const saved = localStorage.getItem("library");
  state.library = (state.libraries.find((l) => l.id === saved) || state.libraries[0] || {}).id || null;
  for (const l of state.libraries) select.append(el("option", { value: l.id, text: l.name }));
  if (state.library) select.value = state.library;
  select.addEventListener("change", () => {
    state.library = select.value;
    localStorage.setItem("library", state.library);
    follow();
    route();
  });
  window.addEventListener("hashchange", route);
  follow();
  await route();
}

start();
