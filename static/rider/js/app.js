// The rider's screen: assigned orders, live over /ws/rider/, with the order screen, position
// sharing, and the purge of every local trace of an order when access to it ends.
import { Alerts } from "../../common/alerts.js";
import { api, el, toast } from "../../common/api.js";
import { CallManager } from "../../common/rtc.js";
import { LiveSocket } from "../../common/socket.js";
import { ACTIVE, TIER_LABELS, formatClock, statusLabel, withBusy } from "./format.js";
import { Tracker, describeAck } from "./geo.js";
import { OrderView } from "./order-view.js";
import { purgeOrderRecords, saveOrder, savedOrders, wipeSiteData } from "./store.js";
import { ScreenWake } from "./wakelock.js";
import { fmt, gettext, ngettext, sentence } from "../../common/ui.js";

const cfg = JSON.parse(document.getElementById("rider-config").textContent);
const OPEN_KEY = "rider.open";
const SAVED_MAX_AGE_MS = 24 * 3600 * 1000;

const $ = (id) => document.getElementById(id);
const ui = {
  list: $("order-list"),
  empty: $("orders-empty"),
  listSection: $("orders-section"),
  detail: $("order-detail"),
  duty: $("duty-toggle"),
  geoStatus: $("geo-status"),
  geoAck: $("geo-ack"),
  geoQueue: $("geo-queue"),
  geoDenied: $("geo-denied"),
};

const state = {
  orders: new Map(),
  onDuty: Boolean(cfg.on_duty),
  view: null, // the open OrderView
  purged: new Set(), // ids purged in this page: late answers for them are dropped
  fetching: new Map(),
  fetchedAt: new Map(),
  opened: false,
  deniedClosed: false, // the rider closed the location-blocked sheet: not shown again on this page
};

// --- Orders in memory, on the device, and on screen ---------------------------------------
const alerts = new Alerts();
const ALERT_TEXT = { order: gettext("New order"), call: gettext("Incoming call") };

// What to do next first: picked up, then ready, then assigned; nearest first within; then newest.
const NEXT_RANK = { picked_up: 0, ready: 1, assigned: 2 };
function sorted() {
  const rank = (o) => NEXT_RANK[o.status] ?? 3;
  const far = (o) => (o.destination && o.destination.distance_m !== null && o.destination.distance_m !== undefined
    ? o.destination.distance_m : Infinity);
  return [...state.orders.values()].sort((a, b) => rank(a) - rank(b) || far(a) - far(b) || b.id - a.id);
}

function activeIds() {
  return sorted().filter((o) => ACTIVE.includes(o.status)).map((o) => o.id);
}

function upsert(order, { save = true } = {}) {
  if (state.purged.has(order.id)) return;
  const isNew = !state.orders.has(order.id);
  state.orders.set(order.id, order);
  if (save) saveOrder(order).catch(() => {});
  if (state.view && state.view.id === order.id) state.view.update(order);
  renderList();
  sync();
  return isNew;
}

function renderList() {
  const orders = sorted();
  ui.empty.textContent = gettext("No orders assigned to you right now. New orders appear here by themselves.");
  ui.empty.hidden = orders.length > 0;
  ui.list.replaceChildren(...orders.map((o) => el("li", { class: "order-card", "data-order": String(o.id) },
    // Named by its own text (WCAG 2.5.3: what it shows is what a voice user says), the words between for a listener.
    el("button", { type: "button", class: "order-open", onclick: () => openOrder(o.id) },
    el("span", { class: "visually-hidden" }, gettext("Pickup ")),
    el("span", { class: "card-code" }, o.pickup_code),
    el("span", { class: "visually-hidden" }, gettext(" at ")),
    el("span", { class: "card-main" },
      el("span", { class: "card-store" }, o.store.name),
      el("span", { class: "visually-hidden" }, ", "),
      el("span", { class: "card-meta" },
        el("span", { class: "badge", "data-status": o.status }, statusLabel(o.status)), " ",
        el("span", { class: "badge tier-badge", "data-tier": o.destination.tier }, TIER_LABELS[o.destination.tier] || "")),
    ),
    el("span", { class: "card-go", "aria-hidden": "true" }, "›")))));
}

function openOrder(id, { focus = true } = {}) {
  const order = state.orders.get(id);
  if (!order) return;
  if (state.view && state.view.id !== id) closeOrder({ keepKey: true });
  if (!state.view) {
    state.view = new OrderView(order, {
      cfg, lastFix: tracker.lastFix, rtc,
      onBack: () => closeOrder(),
      onChanged: (orderId) => fetchOrder(orderId),
      onHere: () => tracker.here().then((ack) => {
        toast(ack.accepted ? gettext("Sent: you are here.") : fmt(gettext("Not used: %(reason)s"), { reason: describeAck(ack) }), ack.accepted ? "ok" : "error");
        return ack;
      }),
    });
    ui.detail.replaceChildren(state.view.root);
  }
  try { sessionStorage.setItem(OPEN_KEY, String(id)); } catch { /* storage disabled */ }
  ui.detail.hidden = false;
  ui.listSection.hidden = true;
  if (focus) state.view.focus();
}

function closeOrder({ keepKey = false } = {}) {
  if (state.view) state.view.destroy();
  state.view = null;
  ui.detail.hidden = true;
  ui.detail.replaceChildren();
  ui.listSection.hidden = false;
  if (!keepKey) {
    try { sessionStorage.removeItem(OPEN_KEY); } catch { /* storage disabled */ }
  }
}

function autoOpen() {
  if (state.view) return;
  let wanted = null;
  try { wanted = Number(sessionStorage.getItem(OPEN_KEY)) || null; } catch { /* storage disabled */ }
  if (wanted && state.orders.has(wanted)) { openOrder(wanted, { focus: false }); return; }
  const active = activeIds();
  if (active.length === 1 && !state.opened) {
    state.opened = true;
    openOrder(active[0], { focus: false });
  }
}

// --- Fetching ---------------------------------------------------------------------------------
async function fetchOrder(id) {
  if (state.fetching.has(id)) {
    state.fetching.set(id, "again"); // an event arrived meanwhile: fetch once more after this one
    return;
  }
  state.fetching.set(id, "once");
  try {
    do {
      state.fetching.set(id, "once");
      try {
        state.fetchedAt.set(id, Date.now());
        const order = await api(`/api/rider/orders/${id}/`);
        if (upsert(order)) {
          alerts.raise({ id: `order-${order.id}`, order: order.id, title: ALERT_TEXT.order,
            text: fmt(gettext("pickup number %(code)s at %(store)s."), { code: order.pickup_code, store: order.store.name }) });
          autoOpen();
        }
      } catch (err) {
        if (err.status === 404) { await purge(id, gettext("This order is no longer yours. Its details were removed.")); return; }
        if (err.status !== 0) toast(fmt(gettext("Could not refresh the order: %(reason)s"), { reason: err.detail }), "error");
        return;
      }
    } while (state.fetching.get(id) === "again");
  } finally {
    state.fetching.delete(id);
  }
}

async function refreshList() {
  try {
    const orders = await api("/api/rider/orders/");
    const ids = new Set(orders.map((o) => o.id));
    for (const id of [...state.orders.keys()]) {
      if (!ids.has(id)) await purge(id, null);
    }
    orders.forEach((o) => upsert(o));
    renderList();
    ui.listSection.dataset.loaded = "true";
    autoOpen();
  } catch (err) {
    ui.empty.textContent = err.status === 0
      ? gettext("No connection. Showing what this phone saved; it updates when you are back online.")
      : fmt(gettext("Could not load your orders: %(reason)s"), { reason: err.detail });
    ui.empty.hidden = false;
  }
}

async function loadSaved() {
  try {
    const now = Date.now();
    for (const order of await savedOrders()) {
      if (now - (order.saved_at || 0) > SAVED_MAX_AGE_MS) { await purgeOrderRecords(order.id); continue; }
      upsert(order, { save: false });
    }
  } catch { /* nothing saved */ }
}

// --- Purge: every local trace of one order ----------------------------------------------------
async function purge(id, message) {
  id = Number(id);
  state.purged.add(id);
  alerts.ack(`order-${id}`);
  const had = state.orders.delete(id);
  if (state.view && state.view.id === id) closeOrder();
  renderList();
  sync();
  await purgeOrderRecords(id).catch(() => {});
  await purgeCaches(id);
  purgeStorage(id);
  document.body.dataset.purged = [...state.purged].join(",");
  if (had && message) toast(message, "info");
}

async function purgeCaches(id) {
  if (!self.caches) return;
  try {
    for (const name of await caches.keys()) {
      const cache = await caches.open(name);
      for (const request of await cache.keys()) {
        const path = new URL(request.url).pathname;
        if (path.startsWith("/api/") || path.includes(`/orders/${id}/`)) await cache.delete(request);
      }
    }
  } catch { /* Cache Storage unavailable */ }
}

function purgeStorage(id) {
  const pattern = new RegExp(`(^|[.:/_-])order[.:/_-]?${id}($|[.:/_-])`);
  for (const storage of [sessionStorage, localStorage]) {
    try {
      for (const key of Object.keys(storage)) {
        if (pattern.test(key)) storage.removeItem(key);
      }
    } catch { /* storage disabled */ }
  }
  try {
    if (sessionStorage.getItem(OPEN_KEY) === String(id)) sessionStorage.removeItem(OPEN_KEY);
  } catch { /* storage disabled */ }
}

// --- Live socket --------------------------------------------------------------------------------
let opens = 0;
const send = (message) => socket.send(message);
const rtc = {
  send,
  calls: new CallManager({ send, me: "rider", onPhone: (orderId) => {
    const button = document.querySelector(`article.order[data-order='${orderId}'] [data-action=call]`);
    if (button) button.click();
  } }),
};
const socket = new LiveSocket("/ws/rider/", {
  onEvent(msg) {
    if (rtc.calls.handle(msg)) return;
    if (state.view && state.view.handleChat(msg)) return;
    if (msg.type === "order.revoked") {
      purge(msg.order, gettext("Delivery finished: this order's details were removed from your phone."));
    } else if (typeof msg.type === "string" && /^call\.(incoming|ringing)$/.test(msg.type)) {
      alerts.raise({ id: `call-${msg.session || msg.order}`, order: msg.order ?? null, title: ALERT_TEXT.call,
        text: msg.order && state.orders.has(Number(msg.order)) ? `pickup ${state.orders.get(Number(msg.order)).pickup_code}` : "" });
    } else if (msg.type === "location.ack") {
      tracker.ack({ ...msg, via: "socket" });
    } else if (typeof msg.type === "string" && msg.type.startsWith("order.") && msg.order) {
      if (msg.type === "order.assigned") state.purged.delete(Number(msg.order)); // assigned (again) to you
      fetchOrder(Number(msg.order));
    }
  },
  onOpen() {
    opens += 1;
    rtc.calls.reconnected();
    if (opens > 1 && state.view) state.view.loadChats();
    tracker.drain();
    if (opens > 1) refreshList(); // back after a gap: catch up on anything resume could not tell
  },
});

// Back from offline with the old socket still open: start a fresh one, which resumes from the last
// seq (anything missed while offline) and shows "Live" again.
window.addEventListener("online", () => {
  if (socket.ws && socket.ws.readyState === WebSocket.OPEN) socket.ws.close(1000, "network changed");
});

ui.geoDenied.querySelector("[data-dismiss]").addEventListener("click", () => {
  state.deniedClosed = true;
  ui.geoDenied.hidden = true;
});

// --- Position ------------------------------------------------------------------------------------
const tracker = new Tracker({
  socket,
  activeOrders: activeIds,
  onState({ state: s, text }) {
    ui.geoStatus.textContent = text;
    ui.geoStatus.dataset.state = s;
    ui.geoDenied.hidden = s !== "denied" || state.deniedClosed;
  },
  onFix(fix) {
    if (state.view) state.view.setFix(fix);
  },
  onAck(ack) {
    // A fix replayed after a gap is expected, not an error: said neutrally.
    const late = !ack.accepted && ["seq", "stale", "late"].includes(ack.reason);
    ui.geoAck.dataset.late = String(late);
    ui.geoAck.textContent = late
      ? fmt(gettext("Position from %(time)s sent after the connection came back."), { time: formatClock(ack.at) })
      : sentence(fmt(gettext("Last position %(time)s: %(result)s"), { time: formatClock(ack.at), result: describeAck(ack) }));
    ui.geoAck.dataset.accepted = String(Boolean(ack.accepted));
    ui.geoAck.dataset.seq = String(ack.seq);
    if (ack.accepted) refreshDistance();
  },
  onQueue(n) {
    ui.geoQueue.hidden = n === 0;
    ui.geoQueue.textContent = fmt(ngettext("%(n)s position waiting to send.", "%(n)s positions waiting to send.", n), { n });
    ui.geoQueue.dataset.count = String(n);
  },
});

// Before the street tier the page has no destination point: the server's distance is re-read now
// and then (an area-tier read reveals nothing new and is cheap).
const DISTANCE_EVERY_MS = 15000;
const DISTANCE_FIRST_MS = 2000;
let distanceTimer = null;
function refreshDistance() {
  clearTimeout(distanceTimer);
  let soonest = Infinity;
  for (const order of state.orders.values()) {
    if (!ACTIVE.includes(order.status) || order.destination.tier !== "area") continue;
    const unknown = order.destination.distance_m === null;
    const wait = (unknown ? DISTANCE_FIRST_MS : DISTANCE_EVERY_MS) - (Date.now() - (state.fetchedAt.get(order.id) || 0));
    if (wait <= 0) fetchOrder(order.id);
    else if (unknown) soonest = Math.min(soonest, wait); // no distance on screen yet: do not wait for a move
  }
  if (soonest < Infinity) distanceTimer = setTimeout(refreshDistance, soonest);
}

const wake = new ScreenWake((on) => { document.body.dataset.wakelock = on ? "on" : "off"; });

function sync() {
  const active = activeIds();
  tracker.want(state.onDuty && active.length > 0, state.onDuty
    ? gettext("No active order: your position is not shared.")
    : gettext("Off duty: your position is not shared."));
  wake.set([...state.orders.values()].some((o) => o.status === "picked_up"));
}

// --- Duty ------------------------------------------------------------------------------------------
function renderDuty() {
  ui.duty.setAttribute("aria-pressed", String(state.onDuty));
  ui.duty.querySelector(".duty-label").textContent = state.onDuty ? gettext("On duty") : "Off duty";
}

ui.duty.addEventListener("click", async () => {
  const want = !state.onDuty;
  try {
    const data = await withBusy(ui.duty, () => api("/api/rider/duty/", { method: "POST", body: { on_duty: want } }),
      { ok: want ? gettext("You are on duty.") : gettext("You are off duty. Your position is no longer shared.") });
    state.onDuty = data.on_duty;
    renderDuty();
    sync();
  } catch { /* toast shown */ }
});

document.querySelectorAll("[data-here]").forEach((button) => button.addEventListener("click", async () => {
  try {
    await withBusy(button, () => tracker.here().then((ack) => {
      toast(ack.accepted ? gettext("Sent: you are here.") : fmt(gettext("Not used: %(reason)s"), { reason: describeAck(ack) }), ack.accepted ? "ok" : "error");
    }));
  } catch { /* toast shown */ }
}));

// --- Logout: clear everything this page can clear, then log out ----------------------------------
const logout = document.querySelector("form[data-logout]");
if (logout) {
  logout.addEventListener("submit", async (event) => {
    if (logout.dataset.wiped) return;
    event.preventDefault();
    const button = logout.querySelector("button");
    if (button) { button.setAttribute("aria-busy", "true"); button.disabled = true; }
    tracker.want(false);
    socket.close();
    closeOrder();
    state.orders.clear();
    try { await wipeSiteData(); } catch { /* log out anyway */ }
    logout.dataset.wiped = "1";
    logout.submit();
  });
}

// --- Service worker ------------------------------------------------------------------------------
if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register(cfg.sw, { scope: cfg.scope }).catch(() => {
    /* the app works without it, only not offline */
  });
}

// --- Start ------------------------------------------------------------------------------------------
renderDuty();
await loadSaved();
autoOpen();
await refreshList();
document.body.dataset.ready = "true";
