// Staff handheld page: sign in with a token, live alerts over Server-Sent Events,
// acknowledge/resolve, offline devices, door and label actions, and (where the store
// runs unmanned checkout) the bills to review. Plain JS, no build step.
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
  view: "alerts",
  unmanned: null, // GET /unmanned, or null where the store has no unmanned checkout
  reviews: [], // pending reviews, oldest first
  review: null, // the one open: { data, qty: Map(gtin → qty), added: [gtin], busy }
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
  Object.assign(state, { token: null, me: null, stream: null, unmanned: null, reviews: [] });
  state.alerts.clear();
  closeReview();
  $("tabs").hidden = true;
  showView("alerts");
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
  if (alert.kind === "unmanned_review") loadReviews().catch(() => { /* shown on the next try */ });
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
    await loadUnmanned();
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

// -- views --------------------------------------------------------------------

function showView(view) {
  state.view = view;
  for (const tab of document.querySelectorAll("#tabs .tab")) {
    const on = tab.dataset.view === view;
    tab.classList.toggle("active", on);
    tab.setAttribute("aria-selected", String(on));
  }
  $("view-alerts").hidden = view !== "alerts";
  $("view-reviews").hidden = view !== "reviews";
  if (view === "reviews") loadReviews().catch((error) => toast(error.message, true));
}

// -- unmanned checkout: bills to review ----------------------------------------

async function loadUnmanned() {
  try {
    state.unmanned = await api("/unmanned");
  } catch {
    state.unmanned = null; // 404: this store has no unmanned checkout
  }
  $("tabs").hidden = !state.unmanned;
  if (!state.unmanned) {
    if (state.view !== "alerts") showView("alerts");
    return;
  }
  await loadReviews();
}

async function loadReviews() {
  if (!state.unmanned) return;
  const page = await api("/unmanned/reviews?status=pending&limit=200");
  state.reviews = page.items;
  renderReviews();
  const open = state.review;
  if (open && !open.busy && !state.reviews.some((r) => r.id === open.data.id)) {
    closeReview();
    toast("That bill was decided on another phone.");
  }
}

function money(minor, currency) {
  try {
    return new Intl.NumberFormat(undefined, { style: "currency", currency }).format(minor / 100);
  } catch {
    return `${(minor / 100).toFixed(2)} ${currency}`;
  }
}

const percent = (confidence) => `${Math.round(confidence * 100)} %`;
const sureness = (confidence) => (confidence < 0.5 ? "critical" : confidence < 0.9 ? "warning" : "ok");

function renderReviews() {
  $("reviews").replaceChildren(...state.reviews.map(reviewItem));
  $("review-count").textContent = String(state.reviews.length);
  $("tab-review-count").textContent = String(state.reviews.length);
  $("reviews-empty").hidden = state.reviews.length > 0;
}

function reviewItem(review) {
  const bill = review.bill;
  return el("li", { class: sureness(bill.confidence), dataset: { reviewId: review.id } },
    el("div", { class: "alert-top" },
      el("span", { class: `chip ${sureness(bill.confidence)}` }, `${percent(bill.confidence)} sure`),
      el("span", { class: "alert-meta" }, [review.session || "no session", ago(review.created)]
        .join(" · "))),
    el("div", { class: "alert-title" }, review.reason),
    el("ul", { class: "mini-lines" }, ...bill.lines.map((ln) => el("li", {},
      el("span", {}, `${ln.qty} × ${ln.name}`),
      el("span", { class: `chip ${sureness(ln.confidence)}` }, percent(ln.confidence))))),
    el("div", { class: "review-foot" },
      el("strong", { class: "total" }, money(bill.total, bill.currency)),
      el("button", {
        class: "primary open", type: "button", onclick: () => openReview(review.id),
      }, "Review")));
}

async function openReview(id) {
  try {
    const data = await api(`/unmanned/reviews/${encodeURIComponent(id)}`);
    if (data.status !== "pending") {
      toast(`That bill is already ${data.status.replace("_", " ")}.`, true);
      await loadReviews();
      return;
    }
    const qty = new Map(data.bill.lines.map((ln) => [ln.gtin, ln.qty]));
    // A dispute (several shoppers could have taken it): staff name the one who did.
    state.review = { data, qty, added: [], busy: false, taker: null };
    $("review-rest").checked = false;
    $("review-note").value = "";
    $("add-gtin").value = "";
    renderReview();
    $("reviews-section").hidden = true;
    $("review").hidden = false;
    window.scrollTo(0, 0);
  } catch (error) {
    toast(error.message, true);
  }
}

function closeReview() {
  state.review = null;
  $("review").hidden = true;
  $("reviews-section").hidden = false;
}

// The lines staff changed, as POST .../correct wants them: each item's whole quantity.
function corrections() {
  const { data, qty, added } = state.review;
  const out = data.bill.lines.filter((ln) => qty.get(ln.gtin) !== ln.qty)
    .map((ln) => ({ gtin: ln.gtin, qty: qty.get(ln.gtin) }));
  return out.concat(added.filter((g) => qty.get(g) > 0).map((g) => ({ gtin: g, qty: qty.get(g) })));
}

function renderReview() {
  const { data, added, busy } = state.review;
  const bill = data.bill;
  const staff = Boolean(state.me && state.me.alerts);
  const edits = corrections();
  const dispute = data.candidates.length > 0;
  $("review-title").textContent = dispute ? "Who took it?" : `Bill of ${data.session || "no session"}`;
  $("review-who").hidden = !dispute;
  $("review-candidates").replaceChildren(...data.candidates.map((sid, i) => {
    const pick = el("input", { type: "radio", name: "taker", value: sid });
    pick.checked = state.review.taker === sid;
    pick.disabled = !staff;
    pick.addEventListener("change", () => { state.review.taker = sid; renderReview(); });
    return el("label", { class: "check candidate" }, pick,
      `${sid}${i === 0 ? " (the hub's best guess)" : ""}`);
  }));
  $("review-meta").textContent = [ago(data.created), bill.device, bill.member && `member ${bill.member}`]
    .filter(Boolean).join(" · ");
  // Why it is here: the sensors' reasons, or the exit's (an emergency, a declined payment).
  const why = data.reason === bill.reasons.join("; ") ? bill.reasons : [data.reason, ...bill.reasons];
  $("review-reasons").replaceChildren(...why.map((text) => el("li", {}, text)));
  // The session's other reviews: what a waiting or failed one asks is owed there already.
  const also = data.also || [];
  $("review-also-box").hidden = also.length === 0;
  $("review-also").replaceChildren(...also.map((o) => el("li", { dataset: { reviewId: o.id } },
    `${o.lines.map((ln) => `${ln.qty} × ${ln.gtin}`).join(", ") || "nothing"}`
    + ` · ${o.status.replace("_", " ")} · ${o.reason}`)));
  $("review-lines").replaceChildren(
    ...bill.lines.map((ln) => lineRow(ln.gtin, ln.name, ln, staff, bill.currency)),
    ...added.map((g) => lineRow(g, `Item ${g.replace(/^0+/, "")}`, null, staff, bill.currency)),
  );
  $("review-total").textContent = money(bill.total, bill.currency)
    + (edits.length ? " as billed; the correction is priced when saved" : "");
  $("review-edit").hidden = !staff;
  const named = !dispute || state.review.taker !== null;
  $("confirm-button").disabled = busy || edits.length > 0 || !named;
  $("save-button").disabled = busy || edits.length === 0 || !named;
  $("dismiss-button").disabled = busy;
}

function lineRow(gtin, name, line, staff, currency) {
  const n = state.review.qty.get(gtin);
  const changed = line ? n !== line.qty : n > 0;
  const seen = line ? [...new Set(line.evidence.map((e) => `${e.source} ${e.device}`))] : [];
  const meta = [gtin, line ? money(line.amount, currency) : "added by you", ...seen].join(" · ");
  const stepper = el("div", { class: "stepper" });
  if (staff) {
    const less = el("button", {
      class: "minus", type: "button", "aria-label": `One less ${name}`,
      onclick: () => step(gtin, -1),
    }, "−");
    less.disabled = n === 0;
    stepper.append(less);
  }
  stepper.append(el("output", { class: "qty" }, String(n)));
  if (staff) {
    stepper.append(el("button", {
      class: "plus", type: "button", "aria-label": `One more ${name}`,
      onclick: () => step(gtin, 1),
    }, "+"));
  }
  return el("li", {
    class: `line${changed ? " changed" : ""}${n === 0 ? " removed" : ""}`, dataset: { gtin },
  },
  el("div", { class: "line-main" },
    el("div", { class: "device-name" }, name,
      line ? el("span", { class: `chip ${sureness(line.confidence)}` }, percent(line.confidence))
        : el("span", { class: "chip" }, "added")),
    el("div", { class: "device-meta" }, meta),
    line && changed ? el("div", { class: "device-meta was" }, `billed: ${line.qty}`) : null),
  stepper);
}

function step(gtin, by) {
  const { qty } = state.review;
  qty.set(gtin, Math.min(999, Math.max(0, qty.get(gtin) + by)));
  renderReview();
}

function addItem() {
  const typed = $("add-gtin").value.replace(/\s+/g, "");
  if (!/^(\d{8}|\d{12,14})$/.test(typed)) {
    toast("A GTIN has 8, 12, 13 or 14 digits.", true);
    return;
  }
  const gtin = typed.padStart(14, "0");
  const { qty, added } = state.review;
  if (!qty.has(gtin)) {
    qty.set(gtin, 0);
    added.push(gtin);
  }
  $("add-gtin").value = "";
  step(gtin, 1);
}

async function decide(action, body) {
  const open = state.review;
  open.busy = true;
  renderReview();
  try {
    const done = await api(`/unmanned/reviews/${encodeURIComponent(open.data.id)}/${action}`, {
      method: "POST", body,
    });
    const currency = open.data.bill.currency;
    if (done.status === "payment_failed") toast(`Payment failed: ${done.error || "declined"}`, true);
    else if (done.status === "dismissed") toast("Dismissed: nothing is charged.");
    else toast(done.charged === null ? "Nothing to charge." : `Charged ${money(done.charged, currency)}.`);
    closeReview();
  } catch (error) {
    toast(error.message, true);
    if (state.review === open) {
      open.busy = false;
      renderReview();
    }
  }
  await loadReviews().catch((error) => toast(error.message, true));
}

function noted() {
  const note = $("review-note").value.trim();
  return note ? { note } : {};
}

// For a dispute: who took it, and whether another took the rest (corrections only).
function taker(correcting) {
  const open = state.review;
  if (!open.data.candidates.length) return {};
  const out = { session: open.taker };
  if (correcting) out.keep_rest = $("review-rest").checked;
  return out;
}

// -- start --------------------------------------------------------------------

function start() {
  document.addEventListener("pointerdown", unlockAudio, { passive: true });
  $("sign-out").addEventListener("click", () => signOut());
  for (const tab of document.querySelectorAll("#tabs .tab")) {
    tab.addEventListener("click", () => showView(tab.dataset.view));
  }
  $("review-back").addEventListener("click", () => closeReview());
  $("add-form").addEventListener("submit", (event) => {
    event.preventDefault();
    addItem();
  });
  $("confirm-button").addEventListener("click", () => decide("confirm", { ...noted(), ...taker(false) }));
  $("save-button").addEventListener("click", () => (
    decide("correct", { lines: corrections(), ...noted(), ...taker(true) })));
  $("dismiss-button").addEventListener("click", () => {
    const body = noted();
    if (!body.note) {
      toast("Write why in the note to dismiss a bill.", true);
      $("review-note").focus();
      return;
    }
    decide("dismiss", body);
  });
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
  setInterval(() => { if (state.me) { renderAlerts(); renderDevices(); renderReviews(); } }, 30000);
  const saved = localStorage.getItem(TOKEN_KEY);
  if (saved) signIn(saved).catch((error) => signOut(error.message));
  else signOut();
}

start();
