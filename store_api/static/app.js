// Staff handheld page: sign in with a token, live alerts over Server-Sent Events,
// acknowledge/resolve, offline devices, door and label actions. Plain JS, no build step.
"use strict";

const TOKEN_KEY = "storehub.token";
const SEVERITY_RANK = { critical: 0, warning: 1, info: 2 };
// The floor actions this page offers, by device kind (the token's scope decides if shown).
const ACTIONS = {
  door: { command: "open", label: "Open door", args: { seconds: 5 } },
  esl: { command: "led", label: "Flash LED", args: {} },
};

const state = {
  token: null,
  me: null,
  alerts: new Map(),
  fresh: new Set(), // ids of alerts that just arrived: animated once
  devices: [],
  stream: null,
  retry: null,
  audio: null,
};

const $ = (id) => document.getElementById(id);

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}

// -- talking to the API -------------------------------------------------------

class ApiError extends Error {}

async function api(path, { method = "GET", body } = {}) {
  const headers = { Authorization: `Bearer ${state.token}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(path, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
  });
  let data = null;
  try { data = await res.json(); } catch { /* empty or not JSON */ }
  if (res.status === 401) {
    signOut("Your token was not accepted. Please sign in again.");
    throw new ApiError("signed out");
  }
  if (!res.ok) throw new ApiError((data && data.detail) || `${res.status} ${res.statusText}`);
  return data;
}

// -- sign in / out ------------------------------------------------------------

async function signIn(token) {
  state.token = token;
  const res = await fetch("/me", { headers: { Authorization: `Bearer ${token}` } });
  if (!res.ok) {
    state.token = null;
    const why = res.status === 401 ? "That token is not valid (or was revoked)."
      : `The hub answered ${res.status}. Try again.`;
    throw new ApiError(why);
  }
  state.me = await res.json();
  localStorage.setItem(TOKEN_KEY, token);
  $("who-name").textContent = state.me.name;
  $("who").hidden = false;
  $("signin").hidden = true;
  $("app").hidden = false;
  connect();
}

function signOut(message) {
  localStorage.removeItem(TOKEN_KEY);
  if (state.stream) state.stream.close();
  clearTimeout(state.retry);
  Object.assign(state, { token: null, me: null, stream: null });
  state.alerts.clear();
  $("who").hidden = true;
  $("app").hidden = true;
  $("signin").hidden = false;
  $("token").value = "";
  const error = $("signin-error");
  error.textContent = message || "";
  error.hidden = !message;
}

// -- the live stream ----------------------------------------------------------

function connect() {
  if (state.stream) state.stream.close();
  const url = `/stream?types=alert,presence&token=${encodeURIComponent(state.token)}`;
  const stream = new EventSource(url);
  state.stream = stream;
  stream.addEventListener("hello", () => {
    setLive(true);
    refresh(); // anything raised before the stream opened
  });
  stream.addEventListener("alert", (event) => onAlert(JSON.parse(event.data)));
  stream.addEventListener("presence", () => loadDevices());
  stream.addEventListener("lagged", () => refresh());
  stream.addEventListener("error", () => {
    setLive(false);
    if (stream.readyState === EventSource.CLOSED && state.token) {
      // Closed for good (e.g. the hub restarted or the token was revoked): check and retry.
      state.retry = setTimeout(async () => {
        try { await api("/me"); connect(); } catch { /* signOut already ran on 401 */ }
      }, 3000);
    }
  });
}

function setLive(live) {
  const dot = $("live-dot");
  dot.classList.toggle("live", live);
  dot.classList.toggle("down", !live);
  dot.title = live ? "Live" : "Reconnecting…";
  $("banner").hidden = live;
  $("banner").textContent = live ? "" : "Reconnecting to the store hub…";
}

function onAlert({ change, alert }) {
  if (alert.status === "resolved") state.alerts.delete(alert.id);
  else state.alerts.set(alert.id, alert);
  if (change === "raised") state.fresh.add(alert.id);
  renderAlerts();
  if (change === "raised" || (change === "updated" && alert.escalated_to && !alert.acked_by
      && alert.escalated_at === alert.updated)) {
    notify(alert);
  }
}

async function refresh() {
  try {
    const page = await api("/alerts?status=live&limit=200");
    state.alerts = new Map(page.items.map((a) => [a.id, a]));
    renderAlerts();
    await loadDevices();
  } catch (error) {
    if (state.token) toast(error.message, true);
  }
}

async function loadDevices() {
  state.devices = await api("/devices");
  renderDevices();
}

// -- sound, vibration, toasts -------------------------------------------------

function unlockAudio() {
  const Ctx = window.AudioContext || window.webkitAudioContext;
  if (!Ctx) return;
  if (!state.audio) state.audio = new Ctx();
  if (state.audio.state === "suspended") state.audio.resume();
}

function beep(times) {
  const ctx = state.audio;
  if (!ctx || ctx.state !== "running") return;
  for (let i = 0; i < times; i++) {
    const start = ctx.currentTime + i * 0.28;
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.type = "sine";
    osc.frequency.value = 880;
    gain.gain.setValueAtTime(0.0001, start);
    gain.gain.exponentialRampToValueAtTime(0.35, start + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, start + 0.22);
    osc.connect(gain).connect(ctx.destination);
    osc.start(start);
    osc.stop(start + 0.25);
  }
}

function notify(alert) {
  beep(alert.severity === "critical" ? 3 : 1);
  if (navigator.vibrate) {
    try { navigator.vibrate(alert.severity === "critical" ? [300, 120, 300, 120, 300] : [200]); }
    catch { /* not allowed without a gesture */ }
  }
  toast(`New alert: ${alert.title}`);
}

let toastTimer = null;
function toast(message, bad = false) {
  const node = $("toast");
  node.textContent = message;
  node.classList.toggle("bad", bad);
  node.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { node.hidden = true; }, 3500);
}

// -- rendering ----------------------------------------------------------------

function ago(ts) {
  const s = Math.max(0, Date.now() / 1000 - ts);
  if (s < 60) return "just now";
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return new Date(ts * 1000).toLocaleDateString();
}

function byUrgency(a, b) {
  if (a.status !== b.status) return a.status === "open" ? -1 : 1;
  const rank = SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity];
  return rank || b.ts - a.ts;
}

function renderAlerts() {
  const list = $("alerts");
  const alerts = [...state.alerts.values()].sort(byUrgency);
  list.replaceChildren(...alerts.map(alertItem));
  state.fresh.clear(); // animated once, on the render that brought them
  $("alert-count").textContent = String(alerts.length);
  $("alerts-empty").hidden = alerts.length > 0;
  document.title = alerts.length ? `(${alerts.length}) Store alerts` : "Store alerts";
}

function alertItem(alert) {
  const where = [alert.device, alert.zone && `zone ${alert.zone}`].filter(Boolean).join(" · ");
  const meta = [where, ago(alert.ts), alert.count > 1 ? `×${alert.count}` : null]
    .filter(Boolean).join(" · ");
  const who = [
    alert.acked_by ? `Acknowledged by ${alert.acked_by}` : null,
    alert.assignee ? `Assigned to ${alert.assignee}` : null,
  ].filter(Boolean).join(" · ");
  const item = el("li", {
    class: `${alert.severity} ${alert.status}${state.fresh.has(alert.id) ? " fresh" : ""}`,
    dataset: { alertId: alert.id, status: alert.status },
  },
  el("div", { class: "alert-top" },
    el("span", { class: `chip ${alert.severity}` }, alert.severity),
    alert.status === "acknowledged"
      ? el("span", { class: "chip status-acknowledged" }, "acknowledged") : null,
    alert.escalated_to ? el("span", { class: "chip escalated" }, `↑ ${alert.escalated_to}`) : null),
  el("div", { class: "alert-title" }, alert.title),
  el("div", { class: "alert-meta" }, meta),
  who ? el("div", { class: "alert-meta" }, who) : null);
  if (state.me && state.me.alerts) item.append(alertActions(alert));
  return item;
}

function alertActions(alert) {
  const box = el("div", { class: "alert-actions" });
  if (alert.status === "open") {
    box.append(el("button", {
      class: "primary ack", type: "button", onclick: (e) => change(e, alert, "ack"),
    }, "Acknowledge"));
  }
  box.append(el("button", {
    class: "good resolve", type: "button", onclick: (e) => change(e, alert, "resolve"),
  }, "Resolve"));
  if (alert.assignee !== state.me.name) {
    box.append(el("button", {
      class: "take", type: "button",
      onclick: (e) => change(e, alert, "assign", { assignee: state.me.name }),
    }, "Take it"));
  }
  return box;
}

async function change(event, alert, action, body) {
  const button = event.currentTarget;
  button.disabled = true;
  try {
    const updated = await api(`/alerts/${encodeURIComponent(alert.id)}/${action}`, {
      method: "POST", body,
    });
    onAlert({ change: "updated", alert: updated });
  } catch (error) {
    button.disabled = false;
    toast(error.message, true);
  }
}

function allowed(kind) {
  const action = ACTIONS[kind];
  if (!action || !state.me) return null;
  const cmds = state.me.commands;
  return cmds.includes("*") || cmds.includes(`${kind}/${action.command}`) ? action : null;
}

function renderDevices() {
  const down = state.devices.filter((d) => d.status === "offline" || d.status === "unknown")
    .sort((a, b) => (a.status === b.status ? 0 : a.status === "offline" ? -1 : 1));
  $("offline").replaceChildren(...down.map((d) => deviceItem(d,
    d.status === "offline" ? `offline ${d.since ? ago(d.since) : ""}` : "never seen")));
  $("offline-count").textContent = String(down.length);
  $("offline-empty").hidden = down.length > 0;
  const actionable = state.devices.filter((d) => allowed(d.kind));
  $("actions").replaceChildren(...actionable.map((d) => deviceItem(d, d.status, allowed(d.kind))));
  $("actions-section").hidden = actionable.length === 0;
}

function deviceItem(device, status, action) {
  const meta = [device.kind, device.zone && `zone ${device.zone}`, status]
    .filter(Boolean).join(" · ");
  const item = el("li", { dataset: { deviceId: device.id } },
    el("div", {},
      el("div", { class: "device-name" }, device.name || device.id),
      el("div", { class: "device-meta" }, meta)));
  if (action) {
    item.append(el("button", {
      class: "primary", type: "button", onclick: (e) => command(e, device, action),
    }, action.label));
  }
  return item;
}

async function command(event, device, action) {
  const button = event.currentTarget;
  button.disabled = true;
  try {
    const outcome = await api(
      `/devices/${encodeURIComponent(device.id)}/commands/${action.command}`,
      { method: "POST", body: { args: action.args } },
    );
    const ok = outcome.outcome === "ok";
    toast(ok ? `${device.name || device.id}: done` : `${device.id}: ${outcome.outcome}`
      + (outcome.error ? ` (${outcome.error})` : ""), !ok);
  } catch (error) {
    toast(error.message, true);
  } finally {
    button.disabled = false;
  }
}

// -- start --------------------------------------------------------------------

function start() {
  document.addEventListener("pointerdown", unlockAudio, { passive: true });
  $("sign-out").addEventListener("click", () => signOut());
  $("signin-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    unlockAudio();
    const button = $("signin-button");
    button.disabled = true;
    $("signin-error").hidden = true;
    try {
      await signIn($("token").value.trim());
    } catch (error) {
      $("signin-error").textContent = error.message;
      $("signin-error").hidden = false;
    } finally {
      button.disabled = false;
    }
  });
  setInterval(() => { if (state.me) { renderAlerts(); renderDevices(); } }, 30000);
  const saved = localStorage.getItem(TOKEN_KEY);
  if (saved) signIn(saved).catch((error) => signOut(error.message));
  else signOut();
}

start();
