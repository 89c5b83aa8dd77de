// Synnefo's user web application: a client of the public APIs (docs/ui.md).
// It signs in through the identity API and keeps the token in sessionStorage (gone with
// the tab; never in a cookie, so no cross-site request can use it). The DOM is built with
// createElement/textContent only: nothing the API returns is ever parsed as HTML.
"use strict";

(function () {
  const _ = window.gettext || ((s) => s);
  const fmt = (s, args) => s.replace(/%\((\w+)\)s/g, (m, k) => String(args[k]));
  const COMPUTE = "/compute/v2.1";
  const NETWORK = "/network/v2.0";
  // Synnefo's own fields (progress detail, attachments) are asked for the documented way.
  const SNF_HEADERS = {"X-Synnefo-Extensions": "true"};  // SNF: fields (docs/api.md)
  const POLL_FAST = 2000, POLL_IDLE_MAX = 30000, POLL_HIDDEN = 60000, POLL_ERROR_MAX = 30000;
  const PAGE_SIZE = 50;
  // Default login user by OS when the image does not name one (the original's map).
  const OS_USERS = {ubuntu: "ubuntu", debian: "debian", fedora: "fedora", centos: "centos",
                    windows: "Administrator"};

  const state = {token: null, user: null, servers: new Map(), flavors: [], images: [],
                 since: null, pollTimer: null, delay: POLL_FAST, lastActivity: Date.now(),
                 failures: 0, page: 0};

  // -- DOM helpers --------------------------------------------------------------------
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
      else if (k === "text") el.textContent = v;
      else el.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }
  const $ = (id) => document.getElementById(id);
  function show(el, on) { el.hidden = !on; }
  function notice(text) {
    const n = $("notice");
    n.textContent = text;
    show(n, true);
    clearTimeout(notice.t);
    notice.t = setTimeout(() => show(n, false), 6000);
  }
  function copyButton(text, label) {
    return h("button", {type: "button", class: "copy", "aria-label": label || _("Copy"),
      onclick: async () => {
        try { await navigator.clipboard.writeText(text); notice(_("Copied.")); }
        catch (e) { notice(_("Select the text and copy it by hand.")); }
      }}, _("Copy"));
  }
  function confirmDialog(text) {
    const d = $("confirm");
    $("confirm-text").textContent = text;
    return new Promise((resolve) => {
      d.addEventListener("close", () => resolve(d.returnValue === "ok"), {once: true});
      d.returnValue = "";
      d.showModal();
      $("confirm-cancel").focus();
    });
  }
  function mb(bytes) { return Math.round(bytes / 1048576); }

  // -- the API ---------------------------------------------------------------------------
  class ApiError extends Error {
    constructor(status, message) { super(message); this.status = status; }
  }
  // The message of an API fault body ({"itemNotFound": {"message": ...}}, Neutron's
  // {"NeutronError": {...}} alike), or null.
  function faultOf(body) {
    if (!body || typeof body !== "object") return null;
    const v = Object.values(body).find((x) => x && typeof x === "object" && x.message);
    return v ? v.message : null;
  }
  function faultMessage(body, status) {
    return faultOf(body) || fmt(_("The service answered %(status)s."), {status: status});
  }
  async function api(method, path, body, extraHeaders) {
    const headers = Object.assign({"Accept": "application/json"}, extraHeaders || {});
    if (state.token) headers["X-Auth-Token"] = state.token;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let resp;
    try {
      resp = await fetch(path, {method, headers, credentials: "omit", cache: "no-store",
                                body: body === undefined ? undefined : JSON.stringify(body)});
    } catch (e) {
      unreachable(true);
      throw new ApiError(0, _("The service cannot be reached."));
    }
    const text = await resp.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
    // A 5xx carrying the API's own fault (503: a console that cannot be reached right now)
    // came from the service, which is up; a gateway's error page means it is not.
    unreachable(resp.status >= 502 && !faultOf(data));
    if (resp.status === 304) return {notModified: true};
    if (resp.status === 401 && state.token && !path.startsWith("/identity/")) {
      forget();
      throw new ApiError(401, _("Your session ended; sign in again."));
    }
    if (!resp.ok) throw new ApiError(resp.status, faultMessage(data, resp.status));
    if (data && typeof data === "object") data._headers = resp.headers;
    return data || {};
  }
  function unreachable(down) {
    const b = $("banner");
    if (down) {
      b.textContent = _("The service cannot be reached right now. Retrying by itself…");
      show(b, true);
    } else if (!b.hidden) {
      show(b, false);
      notice(_("Connected again."));
    }
  }

  // -- sign in / out ------------------------------------------------------------------
  async function signIn(ev) {
    ev.preventDefault();
    const name = $("signin-user").value.trim(), password = $("signin-password").value;
    const err = $("signin-error");
    show(err, false);
    $("signin-submit").disabled = true;
    try {
      const resp = await fetch("/identity/v3/auth/tokens", {
        method: "POST", credentials: "omit", cache: "no-store",
        headers: {"Content-Type": "application/json", "Accept": "application/json"},
        body: JSON.stringify({auth: {
          identity: {methods: ["password"], password: {user: {
            name: name, domain: {id: "default"}, password: password}}},
          scope: {project: {name: name, domain: {id: "default"}}}}})});
      if (!resp.ok) {
        let body = null;
        try { body = await resp.json(); } catch (e) { body = null; }
        err.textContent = resp.status === 401 ? _("Wrong user name or password.")
          : faultMessage(body, resp.status);
        show(err, true);
        return;
      }
      state.token = resp.headers.get("X-Subject-Token");
      state.user = name;
      sessionStorage.setItem("snf-ui", JSON.stringify({token: state.token, user: name}));
      $("signin-password").value = "";
      start();
    } catch (e) {
      err.textContent = _("The service cannot be reached.");
      show(err, true);
    } finally {
      $("signin-submit").disabled = false;
    }
  }
  async function signOut() {
    const token = state.token;
    if (token) {
      try {
        await fetch("/identity/v3/auth/tokens", {method: "DELETE", credentials: "omit",
          headers: {"X-Auth-Token": token, "X-Subject-Token": token}});
      } catch (e) { /* the token expires by itself */ }
    }
    forget();
    notice(_("Signed out."));
  }
  function forget() {
    state.token = null;
    state.user = null;
    current = null;
    state.servers.clear();
    state.since = null;
    sessionStorage.removeItem("snf-ui");
    clearTimeout(state.pollTimer);
    show($("nav"), false);
    show($("signout"), false);
    $("whoami").textContent = "";
    $("view").replaceChildren();
    show($("signin"), true);
    $("signin-user").focus();
  }
  async function start() {
    show($("signin"), false);
    show($("nav"), true);
    show($("signout"), true);
    $("whoami").textContent = state.user;
    try {
      const [fl, im] = await Promise.all([api("GET", COMPUTE + "/flavors/detail"),
                                          api("GET", COMPUTE + "/images/detail", undefined, SNF_HEADERS)]);
      state.flavors = fl.flavors || [];
      state.images = im.images || [];
    } catch (e) { notice(e.message); }
    await poll(true);
    // The menu is usable while the above loads: a view the user opened meanwhile stays
    // (rendering it again would throw away what they began to type).
    if (!location.hash || location.hash === "#/") location.hash = "#/machines";
    else if (!current) route();
  }

  // -- live updates: changes-since, backing off when idle or hidden -----------------------
  async function poll(once) {
    clearTimeout(state.pollTimer);
    if (!state.token) return;
    let changed = false;
    try {
      const q = state.since ? "?changes-since=" + encodeURIComponent(state.since) : "";
      const data = await api("GET", COMPUTE + "/servers/detail" + q, undefined, SNF_HEADERS);
      state.failures = 0;
      if (!data.notModified) {
        const date = data._headers && data._headers.get("Date");
        // the server's clock, a little before this answer: nothing is missed
        state.since = new Date((date ? Date.parse(date) : Date.now()) - 2000).toISOString();
        for (const s of data.servers || []) {
          if (s.status === "DELETED") state.servers.delete(s.id);
          else state.servers.set(s.id, s);
          changed = true;
        }
        if (!q) {  // a full list: drop what it no longer has
          const ids = new Set((data.servers || []).map((s) => s.id));
          for (const id of [...state.servers.keys()]) if (!ids.has(id)) state.servers.delete(id);
        }
      }
    } catch (e) {
      state.failures += 1;
    }
    try {
      if (changed) refresh();
    } finally {  // a view's error must never stop the updates
      schedule(changed || once === true);
    }
  }
  function busy() {
    for (const s of state.servers.values()) {
      if (s.status === "BUILD" || s.status === "REBOOT" || s.status === "RESIZE" ||
          s["OS-EXT-STS:task_state"]) return true;
    }
    return false;
  }
  function schedule(changed) {
    if (!state.token) return;
    let delay;
    if (state.failures) delay = Math.min(POLL_FAST * 2 ** state.failures, POLL_ERROR_MAX);
    else if (document.hidden) delay = POLL_HIDDEN;
    else if (changed || busy() || Date.now() - state.lastActivity < 10000) delay = POLL_FAST;
    else delay = Math.min(state.delay * 2, POLL_IDLE_MAX);  // idle: slow down
    state.delay = delay;
    state.pollTimer = setTimeout(poll, delay);
  }
  function poke() {  // user activity or an action: update soon
    state.lastActivity = Date.now();
    if (state.delay > POLL_FAST && state.token) {
      state.delay = POLL_FAST;
      clearTimeout(state.pollTimer);
      state.pollTimer = setTimeout(poll, 300);
    }
  }
  document.addEventListener("visibilitychange", () => { if (!document.hidden) poke(); });
  ["keydown", "pointerdown"].forEach((t) => document.addEventListener(t, poke, {passive: true}));

  // -- servers: words for states -----------------------------------------------------------
  function flavorOf(s) { return state.flavors.find((f) => f.id === (s.flavor && s.flavor.id)); }
  function imageOf(s) { return state.images.find((i) => i.id === (s.image && s.image.id)); }
  function buildStep(s) {
    const p = s.progress || 0, img = imageOf(s);
    if (p <= 0) return _("Queued");
    if (p >= 100) return _("Customising and booting");
    if (img && img["OS-EXT-IMG-SIZE:size"]) {
      const total = mb(img["OS-EXT-IMG-SIZE:size"]);
      return fmt(_("Copying %(done)s of %(total)s MB"), {done: Math.round(total * p / 100),
                                                          total: total});
    }
    return fmt(_("Copying the image: %(p)s done"), {p: p + "%"});
  }
  const STATUS_WORDS = {ACTIVE: _("Running"), SHUTOFF: _("Stopped"), BUILD: _("Building"),
    REBOOT: _("Rebooting"), HARD_REBOOT: _("Rebooting"), RESIZE: _("Resizing"),
    ERROR: _("Failed"), DELETED: _("Deleted"), UNKNOWN: _("Unknown")};
  function statusWord(s) { return STATUS_WORDS[s.status] || s.status; }
  function statusBadge(s) {
    return h("span", {class: "status st-" + s.status.toLowerCase(), "data-status": s.status},
             statusWord(s));
  }
  function progressBar(s) {
    if (s.status !== "BUILD") return null;
    const p = s.progress || 0;
    return h("div", {class: "build"},
      h("progress", {max: 100, value: p, "aria-label": _("Build progress")}),
      h("span", {class: "step"}, buildStep(s)));
  }
  function addresses(s) {
    const out = [];
    for (const [net, list] of Object.entries(s.addresses || {})) {
      for (const a of list) out.push({net: net, addr: a.addr, version: a.version});
    }
    return out;
  }
  function loginUser(s) {
    const img = imageOf(s), meta = (img && img.metadata) || {};
    if (meta.users) return meta.users.split(/\s+/)[0];
    const os = (meta.OS || meta.os || "").toLowerCase();
    return OS_USERS[os] || "root";
  }
  // The actions a state allows (the original's table), in order.
  function actionsFor(s) {
    const busyNow = !!s["OS-EXT-STS:task_state"];
    if (busyNow) return ["delete"];
    switch (s.status) {
      case "ACTIVE": return ["shutdown", "reboot", "hard-reboot", "console", "resize", "delete"];
      case "SHUTOFF": return ["start", "resize", "delete"];
      case "REBOOT": case "HARD_REBOOT": return ["shutdown", "delete"];
      default: return ["delete"];
    }
  }
  const ACTION_LABELS = {start: _("Start"), shutdown: _("Shut down"), reboot: _("Reboot"),
    "hard-reboot": _("Hard reboot"), console: _("Console"), resize: _("Resize"),
    delete: _("Delete")};
  const ACTION_QUESTIONS = {
    start: _("Start %(name)s?"), shutdown: _("Shut down %(name)s?"),
    reboot: _("Reboot %(name)s (the guest is asked to restart)?"),
    "hard-reboot": _("Hard reboot %(name)s (like pressing reset: unsaved data is lost)?"),
    delete: _("Delete %(name)s? Its disk is destroyed; this cannot be undone.")};

  async function doAction(s, action, extra) {
    const q = ACTION_QUESTIONS[action];
    if (q && !(await confirmDialog(fmt(q, {name: s.name})))) return;
    const path = COMPUTE + "/servers/" + s.id;
    try {
      if (action === "delete") await api("DELETE", path);
      else if (action === "start") await api("POST", path + "/action", {"os-start": null});
      else if (action === "shutdown") await api("POST", path + "/action", {"os-stop": null});
      else if (action === "reboot") await api("POST", path + "/action", {reboot: {type: "SOFT"}});
      else if (action === "hard-reboot") {
        await api("POST", path + "/action", {reboot: {type: "HARD"}});
      } else if (action === "resize") {
        await api("POST", path + "/action", {resize: {flavorRef: extra}});
      } else if (action === "console") {
        const c = await api("POST", path + "/action", {"os-getVNCConsole": {type: "novnc"}});
        window.open(c.console.url, "_blank", "noopener");
        return;
      }
      notice(fmt(_("%(action)s: requested for %(name)s."),
                 {action: ACTION_LABELS[action], name: s.name}));
      if (action === "delete" && location.hash !== "#/machines") location.hash = "#/machines";
    } catch (e) {
      notice(e.message);
    }
    poke();
  }

  // -- views --------------------------------------------------------------------------------
  const views = {};
  let current = null;  // {name, arg}
  function route() {
    if (!state.token) return;
    const m = /^#\/(\w+)(?:\/(.+))?$/.exec(location.hash) || [null, "machines", null];
    current = {name: views[m[1]] ? m[1] : "machines", arg: m[2] ? decodeURIComponent(m[2]) : null};
    for (const a of document.querySelectorAll("#nav a")) {
      if (a.id === "nav-" + current.name) a.setAttribute("aria-current", "page");
      else a.removeAttribute("aria-current");
    }
    render(true);
  }
  window.addEventListener("hashchange", route);
  function render(first) {
    const v = views[current.name];
    const node = v(current.arg, first);
    if (node) {
      $("view").replaceChildren(node);
      if (first) $("main").focus({preventScroll: true});
    }
  }
  // Poll results re-render the views that show servers; forms being edited are kept.
  function refresh() {
    if (!current) return;
    if (current.name === "machines") render(false);
    else if (current.name === "machine") updateMachine();
    else if (current.name === "overview") render(false);
  }

  views.machines = function () {
    const all = [...state.servers.values()].sort((a, b) => a.name.localeCompare(b.name) ||
                                                         a.id.localeCompare(b.id));
    const pages = Math.max(1, Math.ceil(all.length / PAGE_SIZE));
    state.page = Math.min(state.page, pages - 1);
    const rows = all.slice(state.page * PAGE_SIZE, (state.page + 1) * PAGE_SIZE).map((s) =>
      h("tr", {"data-id": s.id},
        h("td", {}, h("a", {href: "#/machine/" + s.id, class: "name"}, s.name)),
        h("td", {}, statusBadge(s), progressBar(s)),
        h("td", {}, addresses(s).filter((a) => a.version === 4).map((a) => a.addr).join(", ")),
        h("td", {}, (flavorOf(s) || {}).name || "")));
    const pager = pages > 1 ? h("div", {class: "pager"},
      h("button", {type: "button", disabled: state.page === 0,
                   onclick: () => { state.page -= 1; render(false); }}, _("Previous")),
      h("span", {}, fmt(_("Page %(n)s of %(total)s"), {n: state.page + 1, total: pages})),
      h("button", {type: "button", disabled: state.page >= pages - 1,
                   onclick: () => { state.page += 1; render(false); }}, _("Next"))) : null;
    return h("section", {id: "machines"},
      h("div", {class: "head"}, h("h1", {}, _("Machines")),
        h("a", {href: "#/create", class: "button primary", id: "new-machine"},
          _("New machine"))),
      all.length === 0 ? h("p", {class: "empty"}, _("You have no machines yet.")) :
        h("table", {class: "list", id: "machines-table"},
          h("thead", {}, h("tr", {}, h("th", {scope: "col"}, _("Name")),
            h("th", {scope: "col"}, _("Status")), h("th", {scope: "col"}, _("IPv4")),
            h("th", {scope: "col"}, _("Flavor")))),
          h("tbody", {}, rows)),
      pager);
  };

  // The machine view: a fixed skeleton; updateMachine() fills what polls change, so an
  // open metadata editor or rename box is not thrown away by an update.
  views.machine = function (id) {
    const s = state.servers.get(id);
    if (!s) return h("p", {}, _("This machine does not exist (any more)."));
    const node = h("section", {id: "machine", "data-id": id},
      h("div", {class: "head"},
        h("h1", {id: "m-name"}, s.name),
        h("button", {type: "button", id: "rename", onclick: () => rename(s.id)}, _("Rename"))),
      h("div", {id: "m-status"}),
      h("p", {id: "m-fault", class: "error", role: "alert", hidden: true}),
      h("div", {id: "m-actions", class: "actions"}),
      h("h2", {}, _("How to connect")),
      h("div", {id: "m-connect"}),
      h("h2", {}, _("Addresses")),
      h("div", {id: "m-addresses"}),
      h("h2", {}, _("Networks")),
      h("div", {id: "m-networks"}),
      h("h2", {}, _("Metadata")),
      metadataEditor(s));
    setTimeout(updateMachine, 0);
    return node;
  };
  function updateMachine() {
    const s = state.servers.get(current.arg);
    // gone, or it just appeared (the view opened before the first poll saw it)
    if (!s || !$("machine")) { render(false); return; }
    if (!$("rename-input")) $("m-name").textContent = s.name;
    const f = flavorOf(s), img = imageOf(s);
    $("m-status").replaceChildren(statusBadge(s), " ", progressBar(s) || "",
      h("p", {class: "meta"}, [img && img.name, f && fmt(_("%(cpu)s CPU, %(ram)s MB RAM, %(disk)s GB disk"),
        {cpu: f.vcpus, ram: f.ram, disk: f.disk})].filter(Boolean).join(" · ")));
    const fault = $("m-fault");
    if (s.status === "ERROR" && s.fault) {
      fault.textContent = fmt(_("The build failed: %(msg)s. Delete this machine and try again; if it fails again, tell the administrators."), {msg: s.fault.message});
      show(fault, true);
    } else show(fault, false);
    const acts = actionsFor(s).map((a) => a === "resize" ? resizeControl(s) :
      h("button", {type: "button", id: "act-" + a, class: a === "delete" ? "danger" : "",
                   onclick: () => doAction(s, a)}, ACTION_LABELS[a]));
    $("m-actions").replaceChildren(...acts);
    const addrs = addresses(s);
    $("m-addresses").replaceChildren(addrs.length === 0 ? h("p", {}, _("No address yet.")) :
      h("ul", {class: "addresses"}, addrs.map((a) => h("li", {},
        h("code", {}, a.addr), " ", h("span", {class: "meta"}, "IPv" + a.version + " · " + a.net),
        " ", copyButton(a.addr, fmt(_("Copy %(addr)s"), {addr: a.addr}))))));
    const v4 = addrs.find((a) => a.version === 4) || addrs[0];
    $("m-connect").replaceChildren(v4 && s.status === "ACTIVE" ?
      h("p", {}, h("code", {id: "ssh-hint"}, "ssh " + loginUser(s) + "@" + v4.addr), " ",
        copyButton("ssh " + loginUser(s) + "@" + v4.addr)) :
      h("p", {class: "meta"}, _("Once the machine runs and has an address, connect with ssh.")));
    networksOfMachine(s);
  }
  // The flavor chosen for a resize survives the redraws of the machine view (each change
  // of the server that a poll brings draws its actions again).
  let resizeChoice = {server: null, flavor: null};
  function resizeControl(s) {
    const cur = flavorOf(s);
    const remember = (ev) => { resizeChoice = {server: s.id, flavor: ev.target.value}; };
    const sel = h("select", {id: "resize-flavor", "aria-label": _("New flavor"),
                             onchange: remember},
      state.flavors.filter((f) => !cur || f.id !== cur.id).map((f) =>
        h("option", {value: f.id}, flavorLabel(f))));
    if (resizeChoice.server === s.id &&
        Array.from(sel.options).some((o) => o.value === resizeChoice.flavor)) {
      sel.value = resizeChoice.flavor;
    }
    return h("span", {class: "inline"}, sel,
      h("button", {type: "button", id: "act-resize", onclick: async () => {
        const f = state.flavors.find((x) => x.id === sel.value);
        if (!f || !(await confirmDialog(fmt(_("Resize %(name)s to %(flavor)s? A running machine is restarted."),
          {name: s.name, flavor: flavorLabel(f)})))) return;
        doAction(s, "resize", f.id);  // (confirmed here, with the flavor named)
      }}, ACTION_LABELS.resize));
  }
  function flavorLabel(f) {
    return fmt(_("%(name)s: %(cpu)s CPU, %(ram)s MB, %(disk)s GB"),
               {name: f.name, cpu: f.vcpus, ram: f.ram, disk: f.disk});
  }
  function rename(id) {
    const s = state.servers.get(id);
    const input = h("input", {id: "rename-input", value: s.name, "aria-label": _("New name"),
                              maxlength: 255});
    const form = h("form", {class: "inline", onsubmit: async (ev) => {
      ev.preventDefault();
      try {
        const r = await api("PUT", COMPUTE + "/servers/" + id, {server: {name: input.value}});
        state.servers.set(id, Object.assign(s, {name: r.server ? r.server.name : input.value}));
        notice(_("Renamed."));
      } catch (e) { notice(e.message); return; }
      $("m-name").replaceChildren(s.name);
      poke();
    }}, input, h("button", {type: "submit", id: "rename-save"}, _("Save")),
      h("button", {type: "button", onclick: () => $("m-name").replaceChildren(s.name)},
        _("Cancel")));
    $("m-name").replaceChildren(form);
    input.focus();
    input.select();
  }
  function metadataEditor(s) {
    const body = h("tbody", {});
    const addRow = (k, v) => body.append(h("tr", {},
      h("td", {}, h("input", {class: "meta-key", value: k, "aria-label": _("Key"),
                              list: "meta-keys"})),
      h("td", {}, h("input", {class: "meta-value", value: v, "aria-label": _("Value")})),
      h("td", {}, h("button", {type: "button", class: "remove",
                               onclick: (ev) => ev.target.closest("tr").remove()}, _("Remove")))));
    for (const [k, v] of Object.entries(s.metadata || {})) addRow(k, v);
    return h("form", {id: "metadata", onsubmit: async (ev) => {
      ev.preventDefault();
      const meta = {};
      for (const tr of body.querySelectorAll("tr")) {
        const k = tr.querySelector(".meta-key").value.trim();
        if (k) meta[k] = tr.querySelector(".meta-value").value;
      }
      try {
        const r = await api("PUT", COMPUTE + "/servers/" + s.id + "/metadata", {metadata: meta});
        s.metadata = r.metadata;
        notice(_("Metadata saved."));
      } catch (e) { notice(e.message); }
      poke();
    }},
      h("datalist", {id: "meta-keys"}, ["OS", "Role", "Location", "Owner"].map((k) =>
        h("option", {value: k}))),
      h("table", {class: "list"}, h("thead", {}, h("tr", {}, h("th", {scope: "col"}, _("Key")),
        h("th", {scope: "col"}, _("Value")), h("th", {}))), body),
      h("div", {class: "buttons"},
        h("button", {type: "button", id: "meta-add", onclick: () => addRow("", "")},
          _("Add an item")),
        h("button", {type: "submit", id: "meta-save", class: "primary"}, _("Save metadata"))));
  }

  // -- networks -----------------------------------------------------------------------
  async function listNetworks() {
    const [n, s] = await Promise.all([api("GET", NETWORK + "/networks"),
                                      api("GET", NETWORK + "/subnets")]);
    const subnets = s.subnets || [];
    return (n.networks || []).map((net) => Object.assign(net,
      {subnetList: subnets.filter((x) => x.network_id === net.id)}));
  }
  async function portsOf(serverId) {
    // the network API's ports carry the firewall profile (os-interface's do not)
    const r = await api("GET", NETWORK + "/ports?device_id=" + encodeURIComponent(serverId));
    return r.ports || [];
  }
  let machineNetsFor = null;
  async function networksOfMachine(s) {
    // fetched once per visit and after attach/detach (interfaces change rarely)
    if (machineNetsFor === s.id + s.updated) return;
    machineNetsFor = s.id + s.updated;
    let ports, nets;
    try { [ports, nets] = await Promise.all([portsOf(s.id), listNetworks()]); }
    catch (e) { return; }
    const box = $("m-networks");
    if (!box) return;
    const byId = new Map(nets.map((n) => [n.id, n]));
    const attached = new Set(ports.map((p) => p.network_id));
    const choices = nets.filter((n) => !attached.has(n.id));
    const sel = h("select", {id: "attach-network", "aria-label": _("Network to attach")},
      choices.map((n) => h("option", {value: n.id}, n.name || n.id)));
    box.replaceChildren(
      ...[h("ul", {class: "nics"}, ports.map((p) => {
        const n = byId.get(p.network_id);
        return h("li", {"data-net": p.network_id}, (n && n.name) || p.network_id, " ",
          h("span", {class: "meta"}, (p.fixed_ips || []).map((x) => x.ip_address).join(", ")),
          " ", n && n["router:external"] ? firewallControl(s, p["SNF:firewall_profile"]) : null,
          " ",
          h("button", {type: "button", class: "detach", onclick: async () => {
            if (!(await confirmDialog(fmt(_("Detach %(name)s from %(net)s?"),
              {name: s.name, net: (n && n.name) || p.network_id})))) return;
            try {
              await api("DELETE", COMPUTE + "/servers/" + s.id + "/os-interface/" + p.id);
              notice(_("Detaching…"));
            } catch (e) { notice(e.message); }
            machineNetsFor = null;
            poke();
          }}, _("Detach")));
      })),
      choices.length ? h("form", {class: "inline", onsubmit: async (ev) => {
        ev.preventDefault();
        try {
          await api("POST", COMPUTE + "/servers/" + s.id + "/os-interface",
                    {interfaceAttachment: {net_id: sel.value}});
          notice(_("Attaching…"));
        } catch (e) { notice(e.message); }
        machineNetsFor = null;
        poke();
      }}, sel, h("button", {type: "submit", id: "attach"}, _("Attach"))) : null]
        .filter(Boolean));
  }
  function firewallControl(s, profile) {
    const sel = h("select", {"aria-label": _("Firewall profile"), class: "firewall"},
      [["DISABLED", _("Unprotected (firewall off)")], ["PROTECTED", _("Basically protected")],
       ["ENABLED", _("Fully protected")]].map(([v, t]) =>
        h("option", {value: v, selected: v === profile}, t)));
    sel.addEventListener("change", async () => {
      try {
        await api("POST", COMPUTE + "/servers/" + s.id + "/action",
                  {firewallProfile: {profile: sel.value}});
        notice(_("Firewall profile requested."));
      } catch (e) { notice(e.message); }
    });
    return h("label", {}, _("Firewall: "), sel);
  }

  views.networks = function () {
    const box = h("section", {id: "networks"}, h("h1", {}, _("Networks")),
                  h("p", {class: "meta"}, _("Loading…")));
    listNetworks().then((nets) => {
      const rows = nets.map((n) => h("tr", {"data-id": n.id},
        h("td", {}, n.name || n.id),
        h("td", {}, n["router:external"] ? _("Public") : _("Private")),
        h("td", {}, n.subnetList.map((x) => x.cidr).join(", ")),
        h("td", {}, n.status),
        h("td", {}, n["router:external"] ? null : [
          h("button", {type: "button", class: "rename-net", onclick: async () => {
            const name = window.prompt(_("New name"), n.name);
            if (!name) return;
            try { await api("PUT", NETWORK + "/networks/" + n.id, {network: {name}}); }
            catch (e) { notice(e.message); }
            render(false);
          }}, _("Rename")), " ",
          h("button", {type: "button", class: "danger delete-net", onclick: async () => {
            if (!(await confirmDialog(fmt(_("Delete the network %(name)s?"), {name: n.name}))))
              return;
            try { await api("DELETE", NETWORK + "/networks/" + n.id); notice(_("Deleted.")); }
            catch (e) { notice(e.message); }
            render(false);
          }}, _("Delete"))])));
      const name = h("input", {id: "net-name", required: true});
      const cidr = h("input", {id: "net-cidr", value: "192.168.%(n)s.0/24".replace(
        "%(n)s", String(10 + Math.floor(Math.random() * 200))), required: true});
      box.replaceChildren(h("h1", {}, _("Networks")),
        h("table", {class: "list", id: "networks-table"}, h("thead", {}, h("tr", {},
          [_("Name"), _("Kind"), _("Subnet"), _("Status"), ""].map((t) =>
            h("th", {scope: "col"}, t)))), h("tbody", {}, rows)),
        h("h2", {}, _("New private network")),
        h("form", {id: "net-create", class: "card", onsubmit: async (ev) => {
          ev.preventDefault();
          try {
            const r = await api("POST", NETWORK + "/networks", {network: {name: name.value}});
            await api("POST", NETWORK + "/subnets", {subnet: {
              network_id: r.network.id, cidr: cidr.value, ip_version: 4}});
            notice(_("Network created."));
          } catch (e) { notice(e.message); }
          render(false);
        }},
          h("label", {for: "net-name"}, _("Name")), name,
          h("label", {for: "net-cidr"}, _("Subnet (CIDR)")), cidr,
          h("button", {type: "submit", id: "net-submit", class: "primary"}, _("Create"))));
    }).catch((e) => box.replaceChildren(h("p", {class: "error"}, e.message)));
    return box;
  };

  // -- SSH keys -------------------------------------------------------------------------
  async function listKeys() {
    const r = await api("GET", COMPUTE + "/os-keypairs");
    return (r.keypairs || []).map((k) => k.keypair);
  }
  function privateKeyBox(name, key) {
    const url = URL.createObjectURL(new Blob([key], {type: "application/x-pem-file"}));
    return h("div", {class: "card once", id: "private-key"},
      h("p", {}, _("The private key is shown only now: download it and keep it safe.")),
      h("a", {href: url, download: "id_" + name.replace(/[^\w.-]/g, "_"), class: "button primary",
              id: "private-key-download"}, _("Download the private key")), " ",
      copyButton(key));
  }
  views.keys = function () {
    const box = h("section", {id: "keys"}, h("h1", {}, _("SSH keys")));
    const out = h("div", {});
    const load = () => listKeys().then((keys) => {
      out.replaceChildren(keys.length === 0 ? h("p", {class: "empty"}, _("No keys yet.")) :
        h("table", {class: "list", id: "keys-table"}, h("tbody", {}, keys.map((k) =>
          h("tr", {"data-name": k.name}, h("td", {}, k.name), h("td", {}, h("code", {}, k.fingerprint)),
            h("td", {}, h("button", {type: "button", class: "danger", onclick: async () => {
              if (!(await confirmDialog(fmt(_("Delete the key %(name)s?"), {name: k.name}))))
                return;
              try { await api("DELETE", COMPUTE + "/os-keypairs/" + encodeURIComponent(k.name)); }
              catch (e) { notice(e.message); }
              load();
            }}, _("Delete"))))))));
    }).catch((e) => out.replaceChildren(h("p", {class: "error"}, e.message)));
    const name = h("input", {id: "key-name", required: true});
    const pub = h("textarea", {id: "key-public", rows: 3,
      placeholder: _("Paste a public key to import it; leave empty to generate a new pair.")});
    const result = h("div", {});
    box.append(out, h("h2", {}, _("Add a key")), h("form", {class: "card", id: "key-form",
      onsubmit: async (ev) => {
        ev.preventDefault();
        const body = {keypair: {name: name.value.trim()}};
        if (pub.value.trim()) body.keypair.public_key = pub.value.trim();
        try {
          const r = await api("POST", COMPUTE + "/os-keypairs", body);
          result.replaceChildren(r.keypair.private_key ?
            privateKeyBox(r.keypair.name, r.keypair.private_key) : "");
          notice(_("Key added."));
          name.value = ""; pub.value = "";
        } catch (e) { notice(e.message); }
        load();
      }}, h("label", {for: "key-name"}, _("Name")), name,
      h("label", {for: "key-public"}, _("Public key")), pub,
      h("button", {type: "submit", class: "primary", id: "key-submit"}, _("Add"))), result);
    load();
    return box;
  };

  // -- quota -----------------------------------------------------------------------------
  async function limits() { return (await api("GET", COMPUTE + "/limits", undefined, SNF_HEADERS)).limits.absolute; }
  function quotaRows(a) {
    return [[_("Machines"), a.totalInstancesUsed, a.maxTotalInstances, ""],
            [_("CPUs"), a.totalCoresUsed, a.maxTotalCores, ""],
            [_("RAM"), a.totalRAMUsed, a.maxTotalRAMSize, " MB"],
            [_("Disk"), a["SNF:totalDiskUsed"], a["SNF:maxTotalDiskSize"], " GB"],
            [_("SSH keys"), a["SNF:totalKeypairsUsed"], a.maxTotalKeypairs, ""]]
      .filter((r) => r[2] !== undefined && r[2] !== null)
      .map(([label, used, max, unit]) => h("tr", {},
        h("th", {scope: "row"}, label),
        h("td", {}, h("meter", {min: 0, max: Math.max(max, 1), value: used || 0,
                                high: max * 0.8, "aria-label": label})),
        h("td", {}, fmt(_("%(used)s of %(max)s"), {used: (used || 0) + unit, max: max + unit}))));
  }
  function machineCounts() {
    const counts = {};
    for (const s of state.servers.values()) counts[s.status] = (counts[s.status] || 0) + 1;
    return Object.entries(counts).map(([st, n]) =>
      fmt("%(n)s %(st)s", {n: n, st: STATUS_WORDS[st] || st})).join(", ") ||
      _("You have no machines yet.");
  }
  views.overview = function (arg, first) {
    if (!first && $("overview")) {  // a poll: the counts change, the quota is refetched
      $("counts").textContent = machineCounts();
    }
    const q = h("table", {class: "quota", id: "quota"});
    limits().then((a) => ($("quota") || q).replaceChildren(...quotaRows(a)))
      .catch((e) => notice(e.message));
    if (!first && $("overview")) return null;
    return h("section", {id: "overview"}, h("h1", {}, _("Overview")),
      h("p", {id: "counts"}, machineCounts()), h("h2", {}, _("Quota and usage")), q);
  };

  // -- the create wizard --------------------------------------------------------------------
  views.create = function () {
    const box = h("section", {id: "create"}, h("h1", {}, _("New machine")),
                  h("p", {class: "meta"}, _("Loading…")));
    Promise.all([limits(), listKeys(), listNetworks()]).then(([lim, keys, nets]) =>
      box.replaceChildren(h("h1", {}, _("New machine")), wizard(lim, keys, nets)))
      .catch((e) => box.replaceChildren(h("p", {class: "error"}, e.message)));
    return box;
  };
  function wizard(lim, keys, nets) {
    const images = state.images.filter((i) => i.status === "ACTIVE");
    const imageSel = h("select", {id: "w-image", required: true}, images.map((i) =>
      h("option", {value: i.id}, fmt("%(name)s (%(os)s, %(size)s MB, %(owner)s)", {
        name: i.name, os: (i.metadata || {}).OS || "?", size: mb(i["OS-EXT-IMG-SIZE:size"] || 0),
        owner: i["SNF:public"] === false ? _("yours") : _("system")}))));
    const flavorSel = h("select", {id: "w-flavor", required: true});
    const flavorNote = h("p", {class: "meta", id: "w-flavor-note"});
    const left = {cores: lim.maxTotalCores - lim.totalCoresUsed,
                  ram: lim.maxTotalRAMSize - lim.totalRAMUsed,
                  disk: (lim["SNF:maxTotalDiskSize"] || Infinity) - (lim["SNF:totalDiskUsed"] || 0),
                  servers: lim.maxTotalInstances - lim.totalInstancesUsed};
    const fillFlavors = () => {
      const img = images.find((i) => i.id === imageSel.value) || {};
      const fits = state.flavors.filter((f) => !f["OS-FLV-DISABLED:disabled"] &&
        f.disk >= (img.minDisk || 0) && f.ram >= (img.minRam || 0));
      const allowed = fits.filter((f) => f.vcpus <= left.cores && f.ram <= left.ram &&
                                         f.disk <= left.disk);
      flavorSel.replaceChildren(...allowed.map((f) => h("option", {value: f.id}, flavorLabel(f))));
      flavorNote.textContent = left.servers <= 0 ? _("Your quota allows no more machines.") :
        fits.length > allowed.length ? fmt(_("%(n)s flavors need more than your quota leaves (%(cores)s CPUs, %(ram)s MB RAM, %(disk)s GB disk)."),
          {n: fits.length - allowed.length, cores: left.cores, ram: left.ram, disk: left.disk}) : "";
    };
    imageSel.addEventListener("change", fillFlavors);
    fillFlavors();
    const img0 = images[0];
    const name = h("input", {id: "w-name", required: true, maxlength: 255,
      value: img0 ? fmt(_("My %(os)s server"), {os: (img0.metadata || {}).OS || img0.name}) : ""});
    const keyMode = h("select", {id: "w-key-mode"},
      h("option", {value: "none"}, _("No key")),
      keys.length ? h("option", {value: "pick"}, _("One of my keys")) : null,
      h("option", {value: "import"}, _("Import a public key")),
      h("option", {value: "generate"}, _("Generate a new key pair")));
    const keyPick = h("select", {id: "w-key-pick", "aria-label": _("Key")},
      keys.map((k) => h("option", {value: k.name}, k.name)));
    const keyName = h("input", {id: "w-key-name", "aria-label": _("New key's name"),
                                placeholder: _("New key's name")});
    const keyPub = h("textarea", {id: "w-key-public", rows: 3, "aria-label": _("Public key")});
    const syncKey = () => {
      show(keyPick, keyMode.value === "pick");
      show(keyName, keyMode.value === "import" || keyMode.value === "generate");
      show(keyPub, keyMode.value === "import");
    };
    keyMode.addEventListener("change", syncKey);
    syncKey();
    const netBoxes = nets.map((n) => h("label", {class: "check"},
      h("input", {type: "checkbox", class: "w-net", value: n.id,
                  checked: n["router:external"] ? true : null}),
      " ", n.name || n.id, " ", h("span", {class: "meta"},
        n["router:external"] ? _("public") : _("private"))));
    const meta = h("textarea", {id: "w-metadata", rows: 2, placeholder: "Role=web"});
    const userData = h("textarea", {id: "w-userdata", rows: 3,
                                    placeholder: "#cloud-config"});
    const err = h("p", {class: "error", role: "alert", hidden: true, id: "w-error"});
    const result = h("div", {id: "w-result"});
    const submit = h("button", {type: "submit", id: "w-submit", class: "primary"},
                     _("Create the machine"));
    const form = h("form", {id: "wizard", class: "card", onsubmit: async (ev) => {
      ev.preventDefault();
      show(err, false);
      const f = state.flavors.find((x) => x.id === flavorSel.value);
      if (!f) { err.textContent = _("No flavor fits this image within your quota."); show(err, true); return; }
      if (!(await confirmDialog(fmt(_("Create %(name)s with %(flavor)s?"),
        {name: name.value, flavor: flavorLabel(f)})))) return;
      submit.disabled = true;
      const server = {name: name.value, imageRef: imageSel.value, flavorRef: f.id};
      let privateKey = null;
      try {
        if (keyMode.value === "pick") server.key_name = keyPick.value;
        else if (keyMode.value !== "none") {
          const body = {keypair: {name: keyName.value.trim()}};
          if (keyMode.value === "import") body.keypair.public_key = keyPub.value.trim();
          const r = await api("POST", COMPUTE + "/os-keypairs", body);
          server.key_name = r.keypair.name;
          privateKey = r.keypair.private_key || null;
        }
        const chosen = [...form.querySelectorAll(".w-net:checked")].map((c) => ({uuid: c.value}));
        server.networks = chosen.length ? chosen : "none";
        const m = {};
        for (const line of meta.value.split("\n")) {
          const i = line.indexOf("=");
          if (i > 0) m[line.slice(0, i).trim()] = line.slice(i + 1).trim();
        }
        if (Object.keys(m).length) server.metadata = m;
        if (userData.value) {
          server.user_data = btoa(String.fromCharCode(...new TextEncoder().encode(userData.value)));
        }
        const r = await api("POST", COMPUTE + "/servers", {server});
        state.lastActivity = Date.now();
        // shown at once as queued; the next poll brings the server's own fields
        state.servers.set(r.server.id, {id: r.server.id, name: server.name, status: "BUILD",
          progress: 0, addresses: {}, metadata: server.metadata || {},
          image: {id: server.imageRef}, flavor: {id: server.flavorRef}});
        result.replaceChildren(h("div", {class: "card once"},
          h("p", {}, fmt(_("%(name)s is being built."), {name: name.value}), " ",
            h("a", {href: "#/machine/" + r.server.id, id: "w-goto"}, _("Watch it"))),
          r.server.adminPass ? h("p", {}, _("Root password (shown only now): "),
            h("code", {id: "w-password"}, r.server.adminPass), " ",
            copyButton(r.server.adminPass)) : null),
          privateKey ? privateKeyBox(server.key_name, privateKey) : "");
        form.replaceChildren(result);
        poke();
      } catch (e) {
        err.textContent = e.message;
        show(err, true);
        submit.disabled = false;
      }
    }},
      h("label", {for: "w-image"}, _("Image")), imageSel,
      h("label", {for: "w-flavor"}, _("Flavor")), flavorSel, flavorNote,
      h("label", {for: "w-name"}, _("Name")), name,
      h("label", {for: "w-key-mode"}, _("SSH key")), keyMode, keyPick, keyName, keyPub,
      h("fieldset", {}, h("legend", {}, _("Networks")), netBoxes),
      h("label", {for: "w-metadata"}, _("Metadata (one key=value a line)")), meta,
      h("label", {for: "w-userdata"}, _("User data")), userData,
      err, submit);
    return form;
  }

  // -- start -------------------------------------------------------------------------------
  document.addEventListener("DOMContentLoaded", () => {
    $("signin").addEventListener("submit", signIn);
    $("signout").addEventListener("click", signOut);
    let saved = null;
    try { saved = JSON.parse(sessionStorage.getItem("snf-ui") || "null"); } catch (e) { saved = null; }
    if (saved && saved.token) {
      state.token = saved.token;
      state.user = saved.user;
      start();
    } else forget();
  });
})();
