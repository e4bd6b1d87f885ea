// The board's data: the orders (one fetch at a time; events that arrive meanwhile cause one more) and the
// riders, each debounced so a burst of socket frames costs one request; and the riders' live positions.
import { api, errorText } from "../../../common/api.js";
import { $, ago, toast } from "../../../common/dom.js";
import { fmt, gettext } from "../../../common/ui.js";
import { dropStaleRiderMarkers, drawOrders, placeRider, placeRiders } from "./map.js";
import { renderRiders } from "./riders.js";
import { renderAllRows, renderOrders } from "./table.js";
import { late, state } from "./state.js";

const POSITION_MIN_MS = 1000; // at most one marker move a second per rider

// The filters as the API's query string (only those set), e.g. "?store=2&q=27".
export function filterQuery(filters = state.filters) {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(filters)) if (value) params.set(key, value);
  const text = params.toString();
  return text ? `?${text}` : "";
}

export async function fetchOrders() {
  return api(`/api/dispatch/orders/${filterQuery()}`);
}

// Draw a list of orders already fetched: the table (in chunks), the map's areas, the riders' loads.
let shownOrders = "";
export async function showOrders(orders) {
  const text = JSON.stringify([state.filters, orders]);
  if (text === shownOrders && !state.refiltered) return; // the same list again (a catch-up that found nothing new)
  shownOrders = text;
  state.orders = orders;
  const drawn = renderOrders();
  const areas = drawOrders();
  renderRiders();
  await Promise.all([drawn, areas]);
}

export async function loadOrders() {
  await showOrders(await fetchOrders());
}

// One fetch at a time; events that arrive meanwhile cause one more.
let inflight = null;
let again = false;
export function refreshOrders() {
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
export function scheduleOrders() {
  clearTimeout(ordersTimer);
  ordersTimer = setTimeout(refreshOrders, 150);
}

let ridersTimer = null;
export function scheduleRiders() {
  clearTimeout(ridersTimer);
  ridersTimer = setTimeout(() => loadRiders().catch(() => {}), 500);
}

export async function loadRiders() {
  showRiders(await api("/api/dispatch/riders/"));
}

let ridersSignature = "";
let shownRiders = "";
export function showRiders(riders) {
  const text = JSON.stringify(riders);
  if (text === shownRiders) { // the same list again: only the "seen … ago" times move on
    renderRiders();
    return;
  }
  shownRiders = text;
  const fresh = new Map(riders.map((r) => [r.id, r]));
  // Keep a live position that is newer than the list's (the list is saved at most every 5 s).
  for (const [id, r] of fresh) {
    const old = state.riders.get(id);
    if (old && old.at && (!r.at || new Date(old.at) > new Date(r.at))) Object.assign(r, { lat: old.lat, lng: old.lng, at: old.at });
  }
  state.riders = fresh;
  // The rows rebuild their choice of riders only when a name or a duty changed, not on every list.
  const signature = JSON.stringify(riders.map((r) => [r.id, r.name, r.on_duty]));
  if (signature !== ridersSignature) {
    ridersSignature = signature;
    state.ridersVersion += 1;
  }
  dropStaleRiderMarkers();
  placeRiders([...state.riders.values()]);
  renderRiders();
  renderAllRows();
  if (late.ridersShown) late.ridersShown();
}

// The channel layer's drops, summed over every server: shown, so that "never silently dropped" is seen.
export async function loadOverload() {
  const data = await api("/api/dispatch/overload/");
  const total = data.all_servers ? data.all_servers.dropped : data.dropped;
  const box = $("board-overload");
  box.dataset.dropped = String(total);
  $("overload-count").textContent = String(total);
  const groups = Object.entries((data.all_servers || data).by_group || {}).map(([g, n]) => `${g}: ${n}`).join(", ");
  box.title = groups ? fmt(gettext("By kind of receiver: %(groups)s"), { groups }) : box.title;
}

// Positions: coalesced per rider, so a burst never moves a marker more than once a second.
const lastMove = new Map();
const pendingMove = new Map();

export function onPosition(msg) {
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

export function applyPosition(msg) {
  lastMove.set(msg.rider, performance.now());
  let rider = state.riders.get(msg.rider);
  if (!rider) {
    rider = { id: msg.rider, name: `Rider ${msg.rider}`, on_duty: true };
    state.riders.set(rider.id, rider);
    state.ridersVersion += 1;
    scheduleRiders(); // a rider we do not know yet: fetch the name
  }
  // Batches from several server processes may interleave: never move a marker back in time.
  if (rider.at && msg.at && new Date(msg.at) < new Date(rider.at)) return;
  Object.assign(rider, { lat: msg.lat, lng: msg.lng, at: msg.at });
  placeRider(rider);
  const seen = document.querySelector(`#riders li[data-rider="${rider.id}"] .rider-seen`);
  if (seen) seen.textContent = ` · seen ${ago(rider.at)} ago`;
}

late.scheduleOrders = scheduleOrders;
late.refreshOrders = refreshOrders;
