// The rider's screen: assigned orders, live over /ws/rider/, with the order screen, position
// sharing, and the purge of every local trace of an order when access to it ends.
import { Alerts } from "../../common/alerts.js";
import { api } from "../../common/api.js";
import { $, toast } from "../../common/dom.js";
import { CallManager } from "../../common/rtc.js";
import { LiveSocket } from "../../common/socket.js";
import { withBusy } from "./format.js";
import { Tracker } from "./geo.js";
import { activeIds, distanceDue, renderList } from "./order-list.js";
import { OrderView } from "./order-view.js";
import { Offers } from "./offers.js";
import { Returns } from "./returns.js";
import { hereToast, positionStatus } from "./position-status.js";
import { initSafety } from "./safety.js";
import { purgeCaches, purgeOrderRecords, purgeStorage, saveOrder, savedOrders, wireLogout } from "./store.js";
import { ScreenWake } from "./wakelock.js";
import { fmt, gettext } from "../../common/ui.js";

const cfg = JSON.parse(document.getElementById("rider-config").textContent);
const OPEN_KEY = "rider.open";
const SAVED_MAX_AGE_MS = 24 * 3600 * 1000;

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

function upsert(order, { save = true } = {}) {
  if (state.purged.has(order.id)) return;
  const isNew = !state.orders.has(order.id);
  state.orders.set(order.id, order);
  if (save) saveOrder(order).catch(() => {});
  if (state.view && state.view.id === order.id) state.view.update(order);
  renderList(ui, state.orders, openOrder);
  sync();
  return isNew;
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
      onFailed: (orderId, result) => failed(orderId, result),
      onHere: () => tracker.here().then((ack) => {
        hereToast(ack);
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
  const active = activeIds(state.orders);
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
    renderList(ui, state.orders, openOrder);
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
  renderList(ui, state.orders, openOrder);
  sync();
  await purgeOrderRecords(id).catch(() => {});
  await purgeCaches(id);
  purgeStorage(id, OPEN_KEY);
  document.body.dataset.purged = [...state.purged].join(",");
  if (had && message) toast(message, "info");
}

// --- Offers: jobs put to this rider, answered on their cards -------------------------------------
const offers = new Offers({ before: ui.listSection, onAccepted: (orderId) => {
  state.purged.delete(Number(orderId));
  fetchOrder(Number(orderId));
} });
// --- A delivery that could not be made: the order is gone from this phone; the bag goes back ----------
const returns = new Returns($("returns-section"), $("return-list"));

async function failed(id, result) {
  await purge(id, result.status === "failed"
    ? gettext("Reported. Keep the bag: dispatch may send you out again, or it goes back to the store. The order's details were removed from your phone.")
    : gettext("Reported. Bring the bag back to the store. The order's details were removed from your phone."));
  await returns.refresh();
  if (result.status === "returning") $("returns-section").scrollIntoView({ block: "start" });
}

// Why an order left this phone (the `order.revoked` frame's reason code).
const PURGE_TEXT = {
  delivered: gettext("Delivery finished: this order's details were removed from your phone."),
  cancelled: gettext("This order was cancelled: its details were removed from your phone."),
  reassigned: gettext("This order went to another rider: its details were removed from your phone."),
  failed: gettext("Delivery not completed: this order's details were removed from your phone."),
};
PURGE_TEXT.returning = PURGE_TEXT.failed;
PURGE_TEXT.returned = PURGE_TEXT.failed;

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
    if (rtc.calls.handle(msg)) {
      if (msg.type === "call.calling" && state.orders.has(Number(msg.order))) fetchOrder(Number(msg.order)); // one more call
      return;
    }
    if (msg.type === "returns.changed") { returns.refresh(); return; }
    if (offers.handle(msg)) return;
    if (safety.handle(msg)) return;
    if (state.view && state.view.handleChat(msg)) return;
    if (msg.type === "order.revoked") {
      purge(msg.order, PURGE_TEXT[msg.reason] || PURGE_TEXT.delivered);
    } else if (typeof msg.type === "string" && /^call\.(incoming|ringing)$/.test(msg.type)) {
      alerts.raise({ id: `call-${msg.session || msg.order}`, order: msg.order ?? null, title: ALERT_TEXT.call,
        text: msg.order && state.orders.has(Number(msg.order)) ? `pickup ${state.orders.get(Number(msg.order)).pickup_code}` : "" });
    } else if (msg.type === "location.ack") {
      tracker.ack({ ...msg, via: "socket" });
    } else if (msg.type === "rider.duty") { // on or off duty from any device: every open page follows at once
      state.onDuty = msg.on_duty === true;
      renderDuty();
      sync();
    } else if (typeof msg.type === "string" && msg.type.startsWith("order.") && msg.order) {
      if (msg.type === "order.assigned") state.purged.delete(Number(msg.order)); // assigned (again) to you
      fetchOrder(Number(msg.order));
    }
  },
  onOpen() {
    opens += 1;
    rtc.calls.reconnected();
    if (opens > 1 && state.view) state.view.loadChats();
    if (opens > 1) safety.reconnected();
    tracker.drain();
    tracker.reconnected(); // the app's location state again: the server marked the closed socket offline
    if (opens > 1) refreshList(); // back after a gap: catch up on anything resume could not tell
    offers.refresh({ alert: opens > 1 });
    if (opens > 1) returns.refresh();
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

const safety = initSafety({ cfg, calls: rtc.calls, send, lastFix: () => tracker.lastFix });

// --- Position ------------------------------------------------------------------------------------
const tracker = new Tracker({
  socket,
  activeOrders: () => activeIds(state.orders),
  ...positionStatus(ui, state, () => refreshDistance()),
});

let distanceTimer = null;
function refreshDistance() {
  clearTimeout(distanceTimer);
  const { due, soonest } = distanceDue(state.orders, state.fetchedAt);
  due.forEach((id) => fetchOrder(id));
  if (soonest < Infinity) distanceTimer = setTimeout(refreshDistance, soonest);
}

const wake = new ScreenWake((on) => { document.body.dataset.wakelock = on ? "on" : "off"; });

function sync() {
  const active = activeIds(state.orders);
  tracker.want(state.onDuty, gettext("Off duty: your position is not shared."), { sparse: active.length === 0 });
  wake.set([...state.orders.values()].some((o) => o.status === "picked_up"));
}

// --- Duty ------------------------------------------------------------------------------------------
function renderDuty() {
  ui.duty.setAttribute("aria-pressed", String(state.onDuty));
  ui.duty.querySelector(".duty-label").textContent = state.onDuty ? gettext("On duty") : gettext("Off duty");
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
      hereToast(ack);
    }));
  } catch { /* toast shown */ }
}));

// --- Logout: clear everything this page can clear, then log out ----------------------------------
wireLogout(() => {
  tracker.want(false);
  socket.close();
  closeOrder();
  state.orders.clear();
  returns.clear();
});

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
await returns.refresh();
document.body.dataset.ready = "true";
