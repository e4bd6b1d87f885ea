// The dispatcher's board: a live map (stores, riders, approximate order areas), the open orders with
// assign and break-glass controls, the riders on duty, and alerts.
// Data comes from the API. Socket frames carry no PII: order events only trigger a re-fetch,
// rider.position frames (and rider.positions batches) move a marker, alert frames go to the alerts panel.
import { Alerts } from "../../common/alerts.js";
import { api, ApiError, ago, el, toast } from "../../common/api.js";
import { CallManager } from "../../common/rtc.js";
import { LiveSocket } from "../../common/socket.js";
import { fmt, gettext, messageFor, ngettext, sentence } from "../../common/ui.js";

const $ = (id) => document.getElementById(id);
const cfg = JSON.parse($("board-config").textContent);

const STATUS = {
  created: gettext("New"),
  assigned: gettext("Rider assigned"),
  ready: gettext("Ready at store"),
  picked_up: gettext("On the way"),
  delivered: gettext("Delivered"),
  cancelled: gettext("Cancelled"),
};
const FLAGS = {
  teleport: gettext("jumped more than 5 km at once"),
  speed: gettext("moved faster than a rider can"),
  clock_skew: gettext("sent a time in the future"),
  frozen: gettext("repeated one exact position"),
};
const POSITION_MIN_MS = 1000; // at most one marker move a second per rider
const MAX_ALERTS = 50;

const state = {
  orders: [],
  riders: new Map(), // id -> {id, name, on_duty, lat, lng, at}
  stores: new Map(),
  loaded: false,
  known: new Set(), // order ids seen so far, to highlight new ones
};

// --- Small helpers ------------------------------------------------------------------------------
function errorText(err, fallback) {
  if (!(err instanceof ApiError)) return fallback;
  if (err.errors && typeof err.errors === "object") {
    const first = Object.values(err.errors).flat()[0];
    if (typeof first === "string") return first;
  }
  return messageFor(err, fallback);
}

function setBusy(button, busy, label) {
  if (busy) {
    button.dataset.label = button.textContent;
    button.setAttribute("aria-busy", "true");
    button.setAttribute("aria-disabled", "true");
    if (label) button.textContent = label;
  } else {
    button.removeAttribute("aria-busy");
    button.removeAttribute("aria-disabled");
    if (button.dataset.label) button.textContent = button.dataset.label;
  }
}

const isBusy = (button) => button.getAttribute("aria-busy") === "true";

function timeOf(iso) {
  return new Date(iso).toLocaleTimeString(document.documentElement.lang || [], { hour: "2-digit", minute: "2-digit" });
}

function orderById(id) {
  return state.orders.find((o) => o.id === id) || null;
}

function announce(text) {
  const node = $("board-announce");
  node.textContent = "";
  setTimeout(() => { node.textContent = text; }, 50);
}

// --- Map ------------------------------------------------------------------------------------------
const mapState = { map: null, stores: null, riders: new Map(), orders: new Map(), fitted: false };

function mapNote(text) {
  const note = $("map-note");
  note.textContent = text;
  note.hidden = !text;
}

function mapInit() {
  const L = window.L;
  const container = $("map");
  if (!L) {
    container.dataset.map = "unavailable";
    mapNote(gettext("The map could not load. The tables list every store, rider and order."));
    return;
  }
  const map = L.map(container, { zoomControl: true, attributionControl: true }).setView([51.51, -0.11], 13);
  // Leaflet's credit without its inline flag image: plain text and a link that axe (and a reader) can check.
  map.attributionControl.setPrefix('<a href="https://leafletjs.com">Leaflet</a>');
  map.createPane("orders").classList.add("pane-orders");
  map.createPane("riders").classList.add("pane-riders");
  const tiles = L.tileLayer(cfg.tiles, { maxZoom: 19, attribution: cfg.attribution });
  let failed = false;
  const unavailable = () => {
    if (failed) return;
    failed = true;
    container.dataset.tiles = "unavailable";
    mapNote(gettext("Map tiles unavailable. Stores, riders and order areas are still shown in the right places."));
  };
  tiles.on("tileerror", unavailable);
  // /tiles/ answers a 1-pixel placeholder when the tile server cannot be reached (config/tiles.py): no failed load.
  tiles.on("tileload", (e) => {
    if (e.tile && e.tile.naturalWidth === 1) {
      e.tile.style.display = "none"; // nothing to draw: not an image stretched to 256 px either
      unavailable();
    }
    else if (!failed) container.dataset.tiles = "ok";
  });
  tiles.addTo(map);
  mapState.map = map;
  mapState.stores = L.layerGroup().addTo(map);
  container.dataset.map = "ready";
}

function drawStores() {
  const L = window.L;
  if (!mapState.map) return;
  mapState.stores.clearLayers();
  for (const s of state.stores.values()) {
    L.marker([s.lat, s.lng], {
      icon: L.divIcon({ className: "mk-store", html: "", iconSize: [20, 20], iconAnchor: [10, 10] }),
      title: s.name,
      keyboard: false,
    }).bindTooltip(s.name, { direction: "top", offset: [0, -10] }).addTo(mapState.stores);
  }
}

function drawOrders() {
  const L = window.L;
  if (!mapState.map) return;
  const live = new Set();
  for (const o of state.orders) {
    if (!o.approx || o.approx.lat == null) continue;
    live.add(o.id);
    const label = fmt(gettext("%(code)s · %(area)s (approximate) · %(status)s"), { code: o.pickup_code, area: o.area, status: STATUS[o.status] || o.status });
    let circle = mapState.orders.get(o.id);
    if (!circle) {
      circle = L.circle([o.approx.lat, o.approx.lng], {
        radius: 500, pane: "orders", className: "mk-order", color: "#b85a0d", weight: 2, fillColor: "#f47738",
        fillOpacity: 0.12, dashArray: "6 4",
      }).bindTooltip(label).addTo(mapState.map);
      mapState.orders.set(o.id, circle);
    } else {
      circle.setLatLng([o.approx.lat, o.approx.lng]);
      circle.setTooltipContent(label);
    }
    const node = circle.getElement();
    if (node) {
      node.dataset.order = o.id;
      node.dataset.status = o.status;
    }
  }
  for (const [id, circle] of mapState.orders) {
    if (!live.has(id)) {
      circle.remove();
      mapState.orders.delete(id);
    }
  }
}

function placeRider(rider) {
  const L = window.L;
  if (!mapState.map) return;
  let marker = mapState.riders.get(rider.id);
  if (rider.lat == null || rider.lng == null || rider.on_duty === false) {
    if (marker) {
      marker.remove();
      mapState.riders.delete(rider.id);
    }
    return;
  }
  if (!marker) {
    marker = L.circleMarker([rider.lat, rider.lng], {
      radius: 9, pane: "riders", className: "mk-rider", color: "#ffffff", weight: 3, fillColor: "#1d70b8",
      fillOpacity: 1,
    }).bindTooltip(rider.name, { permanent: true, direction: "right", offset: [10, 0], className: "rider-label" });
    marker.addTo(mapState.map);
    mapState.riders.set(rider.id, marker);
  } else {
    marker.setLatLng([rider.lat, rider.lng]);
    marker.setTooltipContent(rider.name);
  }
  const node = marker.getElement();
  if (node) {
    node.dataset.rider = rider.id;
    node.dataset.lat = rider.lat;
    node.dataset.lng = rider.lng;
  }
}

function dropStaleRiderMarkers() {
  for (const [id, marker] of mapState.riders) {
    if (!state.riders.has(id)) {
      marker.remove();
      mapState.riders.delete(id);
    }
  }
}

function fitOnce() {
  const L = window.L;
  if (!mapState.map || mapState.fitted) return;
  const bounds = L.latLngBounds([]);
  state.stores.forEach((s) => bounds.extend([s.lat, s.lng]));
  state.riders.forEach((r) => { if (r.lat != null) bounds.extend([r.lat, r.lng]); });
  mapState.orders.forEach((circle) => bounds.extend(circle.getBounds()));
  if (!bounds.isValid()) return;
  mapState.fitted = true;
  mapState.map.fitBounds(bounds, { padding: [30, 30], maxZoom: 15 });
}

// --- Riders -----------------------------------------------------------------------------------------
function renderRiders() {
  const list = $("riders");
  const riders = [...state.riders.values()].filter((r) => r.on_duty !== false);
  $("riders-count").textContent = `(${riders.length})`;
  if (!riders.length) {
    list.replaceChildren(el("li", { class: "muted" }, gettext("Nobody is on duty.")));
    return;
  }
  list.replaceChildren(...riders.map((r) => {
    const held = state.orders.filter((o) => o.rider && o.rider.id === r.id).map((o) => o.pickup_code);
    return el("li", { dataset: { rider: r.id } },
      el("span", { class: "rider-name" }, r.name),
      el("span", { class: "muted" }, held.length ? ` · order${held.length > 1 ? "s" : ""} ${held.join(", ")}` : " · free"),
      el("span", { class: "muted rider-seen" }, r.at ? ` · seen ${ago(r.at)} ago` : " · no position yet"));
  }));
}

async function loadRiders() {
  const riders = await api("/api/dispatch/riders/");
  const fresh = new Map(riders.map((r) => [r.id, r]));
  // Keep a live position that is newer than the list's (the list is saved at most every 5 s).
  for (const [id, r] of fresh) {
    const old = state.riders.get(id);
    if (old && old.at && (!r.at || new Date(old.at) > new Date(r.at))) Object.assign(r, { lat: old.lat, lng: old.lng, at: old.at });
  }
  state.riders = fresh;
  dropStaleRiderMarkers();
  state.riders.forEach(placeRider);
  renderRiders();
  renderAllRows();
}

// Positions: coalesced per rider, so a burst never moves a marker more than once a second.
const lastMove = new Map();
const pendingMove = new Map();

function onPosition(msg) {
  if (typeof msg.lat !== "number" || typeof msg.lng !== "number") return;
  const wait = POSITION_MIN_MS - (performance.now() - (lastMove.get(msg.rider) || -Infinity));
  if (wait <= 0) {
    applyPosition(msg);
    return;
  }
  const pending = pendingMove.get(msg.rider);
  if (pending) {
    pending.msg = msg;
    return;
  }
  const entry = { msg };
  pendingMove.set(msg.rider, entry);
  setTimeout(() => {
    pendingMove.delete(msg.rider);
    applyPosition(entry.msg);
  }, wait);
}

function applyPosition(msg) {
  lastMove.set(msg.rider, performance.now());
  let rider = state.riders.get(msg.rider);
  if (!rider) {
    rider = { id: msg.rider, name: `Rider ${msg.rider}`, on_duty: true };
    state.riders.set(rider.id, rider);
    scheduleRiders(); // a rider we do not know yet: fetch the name
  }
  // Batches from several server processes may interleave: never move a marker back in time.
  if (rider.at && msg.at && new Date(msg.at) < new Date(rider.at)) return;
  Object.assign(rider, { lat: msg.lat, lng: msg.lng, at: msg.at });
  placeRider(rider);
  const seen = document.querySelector(`#riders li[data-rider="${rider.id}"] .rider-seen`);
  if (seen) seen.textContent = ` · seen ${ago(rider.at)} ago`;
}

// --- Orders table -------------------------------------------------------------------------------------
const rows = new Map(); // order id -> {tr, cells..., select, assignBtn, glassBtn}

function cell(label, ...children) {
  return el("td", { dataset: { label } }, ...children);
}

function buildRow(order) {
  const id = order.id;
  const r = {};
  r.code = el("th", { scope: "row", class: "code", dataset: { label: gettext("Pickup no.") } });
  r.store = cell(gettext("Store"));
  r.statusBadge = el("span", { class: "badge" });
  r.age = el("span", { class: "muted age" });
  r.status = cell(gettext("Status"), r.statusBadge, " ", r.age);
  r.area = cell(gettext("Area"));
  r.customerName = el("span", { class: "customer-name" });
  r.customerPhone = el("span", { class: "muted" });
  r.items = el("span", { class: "muted items" });
  r.customer = cell(gettext("Customer"), r.customerName, el("br"), r.customerPhone, el("br"), r.items);
  r.rider = cell(gettext("Rider"));
  r.selectLabel = el("label", { for: `assign-${id}`, class: "visually-hidden" });
  r.select = el("select", { id: `assign-${id}`, name: "rider", class: "assign-select" });
  r.select.addEventListener("change", () => { r.select.dataset.dirty = "1"; });
  r.assignBtn = el("button", { type: "button", class: "btn btn-primary assign-btn", dataset: { assign: id } });
  r.assignBtn.addEventListener("click", () => assign(id));
  r.assignNote = el("span", { class: "muted", hidden: true }, gettext("Collected: cannot reassign"));
  r.assign = cell(gettext("Assign"), el("div", { class: "assign" }, r.selectLabel, r.select, r.assignBtn), r.assignNote);
  r.glassHidden = el("span", { class: "visually-hidden" });
  r.glassBtn = el("button", { type: "button", class: "btn btn-glass", dataset: { glass: id } }, gettext("Break glass"), r.glassHidden);
  r.glassBtn.addEventListener("click", () => openGlass(id));
  r.logBtn = el("button", { type: "button", class: "btn btn-quiet", dataset: { log: id } }, gettext("Calls and messages"));
  r.logBtn.addEventListener("click", () => openLog(id, r.logBtn));
  r.tr = el("tr", { dataset: { order: id } }, r.code, r.store, r.status, r.area, r.customer, r.rider, r.assign,
    cell(gettext("Emergency"), r.glassBtn, " ", r.logBtn));
  return r;
}

function riderOptions(order) {
  const riders = [...state.riders.values()].filter((r) => r.on_duty !== false);
  const options = [el("option", { value: "" }, riders.length ? gettext("Choose a rider") : gettext("No riders on duty"))];
  for (const r of riders) {
    const current = order.rider && order.rider.id === r.id;
    options.push(el("option", { value: r.id }, current ? fmt(gettext("%(name)s (current)"), { name: r.name }) : r.name));
  }
  if (order.rider && !state.riders.has(order.rider.id)) {
    options.push(el("option", { value: order.rider.id, disabled: true }, fmt(gettext("%(name)s (off duty)"), { name: order.rider.name })));
  }
  return options;
}

function updateRow(r, order) {
  const previous = r.order;
  r.order = order;
  r.tr.dataset.status = order.status;
  r.tr.dataset.rider = order.rider ? order.rider.id : "";
  r.code.textContent = order.pickup_code;
  r.store.textContent = order.store.name;
  r.statusBadge.textContent = STATUS[order.status] || order.status;
  r.statusBadge.dataset.status = order.status;
  r.age.textContent = `${ago(order.created_at)} ago`;
  r.area.textContent = order.area;
  r.customerName.textContent = order.customer.display_name;
  r.customerPhone.textContent = order.customer.phone_masked;
  const items = order.items || {};
  r.items.textContent = `${items.count} item${items.count === 1 ? "" : "s"}${items.sensitive_summary ? `, ${items.sensitive_summary}` : ""}`;
  r.rider.replaceChildren(order.rider ? el("span", { class: "rider-name" }, order.rider.name)
    : el("span", { class: "unassigned" }, gettext("Unassigned")));
  r.selectLabel.textContent = fmt(gettext("Rider for order %(code)s"), { code: order.pickup_code });
  r.glassHidden.textContent = fmt(gettext(" for order %(code)s"), { code: order.pickup_code });

  const locked = order.status === "picked_up";
  r.select.disabled = locked;
  r.assignBtn.hidden = locked;
  r.assignNote.hidden = !locked;
  r.assignBtn.textContent = isBusy(r.assignBtn) ? r.assignBtn.textContent : (order.rider ? gettext("Reassign") : gettext("Assign"));
  // Rebuild the choices unless the dispatcher is in the middle of choosing.
  const signature = JSON.stringify([[...state.riders.values()].map((x) => [x.id, x.name, x.on_duty]), order.rider]);
  const choosing = r.select.dataset.dirty === "1" || document.activeElement === r.select;
  if (signature !== r.signature && !choosing) {
    r.signature = signature;
    r.select.replaceChildren(...riderOptions(order));
    r.select.value = order.rider ? String(order.rider.id) : "";
  }
  if (previous && (previous.status !== order.status || (previous.rider || {}).id !== (order.rider || {}).id)) {
    flash(r.tr, "is-updated");
  }
}

function flash(tr, cls) {
  tr.classList.remove(cls);
  void tr.offsetWidth; // restart the animation
  tr.classList.add(cls);
  setTimeout(() => tr.classList.remove(cls), 6000);
}

function renderOrders() {
  const body = $("orders");
  const wanted = new Set(state.orders.map((o) => o.id));
  for (const [id, r] of rows) {
    if (!wanted.has(id)) {
      if (r.tr.contains(document.activeElement)) $("orders-heading").focus();
      r.tr.remove();
      rows.delete(id);
    }
  }
  let cursor = body.firstElementChild;
  const fresh = [];
  for (const order of state.orders) {
    let r = rows.get(order.id);
    if (!r) {
      r = buildRow(order);
      rows.set(order.id, r);
      if (state.loaded && !state.known.has(order.id)) fresh.push(order);
    }
    updateRow(r, order);
    if (r.tr === cursor) {
      cursor = cursor.nextElementSibling;
    } else {
      body.insertBefore(r.tr, cursor); // moves only rows that are out of place
    }
    state.known.add(order.id);
  }
  for (const order of fresh) {
    flash(rows.get(order.id).tr, "is-new");
  }
  if (fresh.length) {
    announce(fresh.length === 1
      ? fmt(gettext("New order %(code)s at %(store)s."), { code: fresh[0].pickup_code, store: fresh[0].store.name })
      : fmt(ngettext("%(n)s new order.", "%(n)s new orders.", fresh.length), { n: fresh.length }));
  }
  $("orders-empty").hidden = state.orders.length > 0;
  $("orders-table").hidden = state.orders.length === 0;
  $("orders-count").textContent = `(${state.orders.length})`;
  renderSummary();
}

function renderAllRows() {
  for (const r of rows.values()) updateRow(r, r.order);
}

function renderSummary() {
  const open = state.orders.length;
  const unassigned = state.orders.filter((o) => !o.rider).length;
  const riders = [...state.riders.values()].filter((r) => r.on_duty !== false).length;
  $("board-summary").textContent = [
    fmt(ngettext("%(n)s open order", "%(n)s open orders", open), { n: open }),
    fmt(gettext("%(n)s unassigned"), { n: unassigned }),
    fmt(ngettext("%(n)s rider on duty", "%(n)s riders on duty", riders), { n: riders }),
  ].join(" · ");
}

async function loadOrders() {
  state.orders = await api("/api/dispatch/orders/");
  renderOrders();
  drawOrders();
  renderRiders();
}

// One fetch at a time; events that arrive meanwhile cause one more.
let inflight = null;
let again = false;
function refreshOrders() {
  if (inflight) {
    again = true;
    return inflight;
  }
  inflight = (async () => {
    try {
      do {
        again = false;
        await loadOrders();
      } while (again);
    } catch (err) {
      toast(errorText(err, gettext("Could not refresh the orders.")), "error");
    } finally {
      inflight = null;
    }
  })();
  return inflight;
}

let ordersTimer = null;
function scheduleOrders() {
  clearTimeout(ordersTimer);
  ordersTimer = setTimeout(refreshOrders, 150);
}

let ridersTimer = null;
function scheduleRiders() {
  clearTimeout(ridersTimer);
  ridersTimer = setTimeout(() => loadRiders().catch(() => {}), 500);
}

async function assign(orderId) {
  const r = rows.get(orderId);
  const order = orderById(orderId);
  if (!r || !order || isBusy(r.assignBtn)) return;
  const riderId = Number(r.select.value);
  if (!riderId) {
    toast(fmt(gettext("Choose a rider for order %(code)s first."), { code: order.pickup_code }), "error");
    r.select.focus();
    return;
  }
  if (order.rider && order.rider.id === riderId) {
    toast(sentence(fmt(gettext("Order %(code)s is already with %(rider)s"), { code: order.pickup_code, rider: order.rider.name })), "info");
    return;
  }
  const reassign = Boolean(order.rider);
  setBusy(r.assignBtn, true, order.rider ? gettext("Reassigning…") : gettext("Assigning…"));
  try {
    const updated = await api(`/api/dispatch/orders/${orderId}/assign/`, { method: "POST", body: { rider: riderId } });
    r.select.dataset.dirty = "";
    setBusy(r.assignBtn, false);
    state.orders = state.orders.map((o) => (o.id === orderId ? updated : o));
    updateRow(r, updated);
    drawOrders();
    renderRiders();
    renderSummary();
    toast(sentence(fmt(reassign ? gettext("Order %(code)s reassigned to %(rider)s") : gettext("Order %(code)s assigned to %(rider)s"),
      { code: updated.pickup_code, rider: updated.rider ? updated.rider.name : gettext("the rider") })), "ok");
    scheduleOrders();
  } catch (err) {
    setBusy(r.assignBtn, false);
    toast(fmt(reassign ? gettext("Order %(code)s was not reassigned: %(reason)s") : gettext("Order %(code)s was not assigned: %(reason)s"),
      { code: order.pickup_code, reason: errorText(err, gettext("please try again.")) }), "error");
    scheduleOrders();
  }
}

// --- Break glass: the contact lives only in the contact dialog's DOM, only while it is valid. ------------
const glass = { dialog: $("glass-dialog"), form: $("glass-form"), orderId: null, opener: null };
const contact = { dialog: $("contact-dialog"), timer: null, expires: 0, opener: null };

function fieldError(id, input, text) {
  const node = $(id);
  node.textContent = text || "";
  node.hidden = !text;
  if (input) {
    if (text) input.setAttribute("aria-invalid", "true");
    else input.removeAttribute("aria-invalid");
  }
}

function resetGlassForm() {
  glass.form.reset();
  fieldError("glass-reason-error", $("glass-reason"), "");
  fieldError("glass-confirm-error", $("glass-confirm"), "");
  $("glass-error").hidden = true;
  $("glass-error").textContent = "";
}

function openGlass(orderId) {
  const order = orderById(orderId);
  if (!order) return;
  glass.orderId = orderId;
  glass.opener = rows.get(orderId)?.glassBtn || null;
  resetGlassForm();
  $("glass-title").textContent = fmt(gettext("Break glass: order %(code)s"), { code: order.pickup_code });
  glass.dialog.showModal();
  $("glass-reason").focus();
}

// The interaction log of one order, for safety review (roles, hashed ids, times and outcomes only).
async function openLog(orderId, opener) {
  const dialog = $("log-dialog");
  const order = orderById(orderId);
  $("log-title").textContent = fmt(gettext("Calls and messages: order %(code)s"), { code: order ? order.pickup_code : orderId });
  $("log-error").hidden = true;
  $("log-rows").replaceChildren(el("tr", {}, el("td", { colspan: "7" }, gettext("Loading…"))));
  if (!dialog.dataset.wired) {
    dialog.dataset.wired = "1";
    dialog.querySelector("[data-close]").addEventListener("click", () => dialog.close());
  }
  dialog.addEventListener("close", () => restoreFocus(opener), { once: true });
  dialog.showModal();
  try {
    const rows = await api(`/api/dispatch/orders/${orderId}/interactions/`);
    const party = (p) => `${p.role}${p.id ? ` (${p.id.slice(0, 6)})` : ""}`;
    $("log-rows").replaceChildren(...(rows.length ? rows.map((r) => el("tr", { dataset: { kind: r.kind } },
      el("td", {}, timeOf(r.started_at)), el("td", {}, { call: gettext("In-app call"), phone: gettext("Phone (proxy)"), chat: gettext("Message") }[r.kind] || r.kind),
      el("td", {}, party(r.from)), el("td", {}, party(r.to)),
      el("td", {}, r.duration_s == null ? "–" : fmt(gettext("%(s)s s"), { s: r.duration_s })), el("td", {}, r.outcome || r.state),
      el("td", {}, r.ended_by || "–"))) : [el("tr", {}, el("td", { colspan: "7" }, gettext("No calls or messages yet.")))]));
  } catch (err) {
    $("log-error").hidden = false;
    $("log-error").textContent = errorText(err, gettext("Could not load the log."));
  }
}

function restoreFocus(opener) {
  (opener && opener.isConnected ? opener : $("orders-heading")).focus();
}

glass.dialog.addEventListener("close", () => {
  resetGlassForm();
  if (!contact.dialog.open) restoreFocus(glass.opener);
});
glass.dialog.querySelector("[data-close]").addEventListener("click", () => glass.dialog.close());

glass.form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const submit = $("glass-submit");
  if (isBusy(submit)) return;
  const reasonInput = $("glass-reason");
  const confirmInput = $("glass-confirm");
  const reason = reasonInput.value.trim();
  const reasonProblem = reason.length < 10 ? gettext("Enter a reason of at least 10 characters.") : "";
  const confirmProblem = confirmInput.checked ? "" : gettext("Confirm that this is an emergency.");
  fieldError("glass-reason-error", reasonInput, reasonProblem);
  fieldError("glass-confirm-error", confirmInput, confirmProblem);
  $("glass-error").hidden = true;
  if (reasonProblem || confirmProblem) {
    (reasonProblem ? reasonInput : confirmInput).focus();
    return;
  }
  const order = orderById(glass.orderId);
  setBusy(submit, true, gettext("Revealing…"));
  try {
    const data = await api(`/api/dispatch/orders/${glass.orderId}/break-glass/`, { method: "POST", body: { reason } });
    setBusy(submit, false);
    const opener = glass.opener;
    glass.dialog.close();
    showContact(data, order, opener);
    toast(gettext("Contact revealed. This was logged."), "ok");
  } catch (err) {
    setBusy(submit, false);
    let text = errorText(err, gettext("Could not reveal the contact. Please try again."));
    if (err instanceof ApiError && err.status === 429) text = fmt(gettext("Quota reached: %(reason)s"), { reason: text });
    if (err instanceof ApiError && err.status === 400 && err.errors && err.errors.reason) {
      fieldError("glass-reason-error", reasonInput, text);
      reasonInput.focus();
    } else {
      const box = $("glass-error");
      box.textContent = text;
      box.hidden = false;
    }
    toast(text, "error");
  }
});

function formatRemaining(ms) {
  const s = Math.max(0, Math.ceil(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

// An emergency join: with the break-glass grant live, dispatch may call the rider or the customer in the app.
let calls = null;
document.querySelectorAll("[data-rtc-join]").forEach((button) => button.addEventListener("click", () => {
  const orderId = contact.orderId;
  contact.dialog.close();
  if (calls && orderId) calls.start(orderId, button.dataset.rtcJoin);
}));

function showContact(data, order, opener) {
  forgetContact();
  contact.orderId = order ? order.id : null;
  contact.opener = opener;
  contact.expires = new Date(data.expires_at).getTime();
  $("contact-title").textContent = fmt(gettext("Emergency contact: order %(code)s"), { code: order ? order.pickup_code : "" });
  $("contact-name").textContent = data.name;
  const phone = $("contact-phone");
  phone.textContent = data.phone;
  phone.href = `tel:${String(data.phone).replace(/[^+\d]/g, "")}`;
  $("contact-until").textContent = timeOf(data.expires_at);
  const tick = () => {
    const left = contact.expires - Date.now();
    if (left <= 0) {
      contact.dialog.close();
      toast(gettext("The emergency contact expired and was cleared from this page."), "info");
      return;
    }
    $("contact-remaining").textContent = formatRemaining(left);
  };
  tick();
  contact.timer = setInterval(tick, 1000);
  contact.dialog.showModal();
  $("contact-title").focus();
}

function forgetContact() {
  clearInterval(contact.timer);
  contact.timer = null;
  contact.expires = 0;
  $("contact-name").textContent = "";
  const phone = $("contact-phone");
  phone.textContent = "";
  phone.removeAttribute("href");
  $("contact-remaining").textContent = "";
  $("contact-until").textContent = "";
}

contact.dialog.addEventListener("close", () => {
  forgetContact();
  restoreFocus(contact.opener);
});
contact.dialog.querySelector("[data-close]").addEventListener("click", () => contact.dialog.close());
window.addEventListener("pagehide", forgetContact);

// --- Alerts ----------------------------------------------------------------------------------------------
function riderName(id) {
  const r = state.riders.get(id);
  return r ? r.name : `rider #${id}`;
}

function orderCode(id) {
  const o = orderById(id);
  return o ? o.pickup_code : `#${id}`;
}

function describeAlert(msg) {
  if (msg.kind === "spoofing") {
    const flags = (msg.flags || []).map((f) => FLAGS[f] || f).join(gettext(", ")) || gettext("an impossible position");
    return [gettext("Suspicious location"), fmt(gettext("%(rider)s (order %(order)s) %(flags)s. The position was ignored."),
      { rider: riderName(msg.rider), order: orderCode(msg.order), flags })];
  }
  if (msg.kind === "pickup_failures") {
    const store = state.stores.get(msg.store);
    return [gettext("Failed pickups"), fmt(ngettext("%(count)s failed handoff attempt at %(store)s. Check the counter.",
      "%(count)s failed handoff attempts at %(store)s. Check the counter.", msg.count),
      { count: msg.count, store: store ? store.name : `#${msg.store}` })];
  }
  return [gettext("Alert"), String(msg.kind || "unknown")];
}

// Kept in localStorage by id until acknowledged, so a reload never loses one.
const alertsBar = new Alerts({ persistKey: "dispatch.alerts" });

function addAlert(msg) {
  const [title, text] = describeAlert(msg);
  alertsBar.raise({ id: msg.id ?? msg.seq ?? `${msg.kind}:${msg.order ?? ""}:${msg.rider ?? ""}:${msg.count ?? ""}:${Date.now()}`,
    order: msg.order ?? null, title, text });
  const now = new Date();
  const item = el("li", { class: "alert", dataset: { kind: msg.kind || "", order: msg.order ?? "", rider: msg.rider ?? "" } },
    el("time", { datetime: now.toISOString() }, now.toLocaleTimeString(document.documentElement.lang || [], { hour: "2-digit", minute: "2-digit" })), " ",
    el("strong", {}, `${title}: `), text);
  const list = $("alerts");
  list.prepend(item);
  while (list.children.length > MAX_ALERTS) list.lastElementChild.remove();
  $("alerts-empty").hidden = true;
  $("alerts-clear").hidden = false;
}

$("alerts-clear").addEventListener("click", () => {
  $("alerts").replaceChildren();
  $("alerts-empty").hidden = false;
  $("alerts-clear").hidden = true;
  $("alerts-heading").focus();
});

// --- Live ----------------------------------------------------------------------------------------------------
function onEvent(msg) {
  if (!msg || !msg.type) return;
  if (msg.type === "rider.position") onPosition(msg);
  else if (msg.type === "rider.positions") (Array.isArray(msg.riders) ? msg.riders : []).forEach(onPosition);
  else if (msg.type === "alert") addAlert(msg);
  else if (msg.type.startsWith("order.")) scheduleOrders();
}

async function start() {
  mapInit();
  const [stores, riders] = await Promise.allSettled([api("/api/stores/"), loadRiders()]);
  if (stores.status === "fulfilled") {
    state.stores = new Map(stores.value.map((s) => [s.id, s]));
    drawStores();
  }
  if (riders.status === "rejected") toast(errorText(riders.reason, gettext("Could not load the riders.")), "error");
  try {
    await loadOrders();
  } catch (err) {
    $("board-summary").textContent = fmt(gettext("Could not load the orders: %(reason)s. Retrying when the connection is back."),
      { reason: errorText(err, gettext("no connection")) });
  }
  state.loaded = true;
  fitOnce();
  document.body.dataset.ready = "true";
  const socket = new LiveSocket("/ws/dispatch/", {
    onEvent(msg) {
      if (calls.handle(msg)) return;
      onEvent(msg);
    },
    onOpen() { scheduleOrders(); scheduleRiders(); calls.reconnected(); }, // catch up after a reconnect
  });
  calls = new CallManager({ send: (m) => socket.send(m), me: "dispatch" });
  // The list also refreshes slowly, for duty changes and the "seen … ago" times.
  setInterval(() => { loadRiders().catch(() => {}); }, 30000);
  setInterval(() => { for (const r of rows.values()) r.age.textContent = `${ago(r.order.created_at)} ago`; }, 30000);
}

start();
