// The riders on duty: the list, and their live positions (coalesced to one marker move a second per rider).
import { ago, api, el } from "../../../common/api.js";
import { $ } from "../../../common/dom.js";
import { gettext } from "../../../common/ui.js";
import { dropStaleRiderMarkers, placeRider } from "./map.js";
import { scheduleRiders } from "./sync.js";
import { renderAllRows } from "./table.js";
import { state } from "./state.js";

const POSITION_MIN_MS = 1000; // at most one marker move a second per rider

export function renderRiders() {
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

export async function loadRiders() {
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
    scheduleRiders(); // a rider we do not know yet: fetch the name
  }
  // Batches from several server processes may interleave: never move a marker back in time.
  if (rider.at && msg.at && new Date(msg.at) < new Date(rider.at)) return;
  Object.assign(rider, { lat: msg.lat, lng: msg.lng, at: msg.at });
  placeRider(rider);
  const seen = document.querySelector(`#riders li[data-rider="${rider.id}"] .rider-seen`);
  if (seen) seen.textContent = ` · seen ${ago(rider.at)} ago`;
}
